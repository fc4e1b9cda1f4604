/* SPDX-License-Identifier: GPL-2.0 */
/* The latency histogram's bucket function (struct ebtop_disk_latency), in a
 * header of its own so bpf/selftest.bpf.c can run the very code disk.bpf.c
 * runs (test/kernel/buckets.test.ts). Helper-free: loads on every kernel. */
#ifndef EBTOP_LATENCY_BPF_H
#define EBTOP_LATENCY_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "ebtop.h"

/* floor(log2(v)) for v > 0, without loops (BPF has no count-leading-zeros). */
static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0, s;
	s = (v > 0xFFFFFFFFULL) << 5; v >>= s; r |= s;
	s = (v > 0xFFFF) << 4; v >>= s; r |= s;
	s = (v > 0xFF) << 3; v >>= s; r |= s;
	s = (v > 0xF) << 2; v >>= s; r |= s;
	s = (v > 0x3) << 1; v >>= s; r |= s;
	return r | (__u32)(v >> 1);
}

/* The bucket of `ns` (ebtop.h: EBTOP_LAT_*). */
static __always_inline __u32 lat_bucket(__u64 ns)
{
	if (ns < (1 << EBTOP_LAT_MIN_SHIFT))
		return 0;
	__u32 p = log2_u64(ns);
	__u32 i = 1 + 4 * (p - EBTOP_LAT_MIN_SHIFT) + ((ns >> (p - 2)) & 3);
	return i < EBTOP_LAT_BUCKETS ? i : EBTOP_LAT_BUCKETS - 1;
}

static __always_inline void lat_add(struct ebtop_disk_latency *l, __u64 ns)
{
	l->lat_count++;
	l->lat_sum_ns += ns;
	if (!l->lat_min_ns || ns < l->lat_min_ns)
		l->lat_min_ns = ns;
	if (ns > l->lat_max_ns)
		l->lat_max_ns = ns;
	/* the mask keeps the verifier sure of the bound (EBTOP_LAT_BUCKETS is a power of two) */
	l->lat[lat_bucket(ns) & (EBTOP_LAT_BUCKETS - 1)]++;
}

#endif
