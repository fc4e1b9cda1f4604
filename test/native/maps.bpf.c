/* SPDX-License-Identifier: GPL-2.0 */
/* Maps (and no programs) for test/unit/native.test.ts: the addon's map calls
 * against the map types they must handle. Compiled by the test itself. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} percpu_hash SEC(".maps");

/* Hash seed 0, so the test can choose keys that share one bucket: more than
 * a batch chunk of them makes the kernel answer ENOSPC. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_ZERO_SEED);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} crowded SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1000);
	__type(key, __u32);
	__type(value, __u64);
} array SEC(".maps");

/* No batch ops at all, and get_next_key gives every index whether or not it
 * holds a device: the key-by-key walk, with lookups that find nothing. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u32); /* ifindex */
} devmap SEC(".maps");

char LICENSE[] SEC("license") = "GPL";
