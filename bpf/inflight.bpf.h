/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Block requests in flight, keyed by their struct request's address: who
 * started each one and when, from its start to its completion (bpf/disk.bpf.c).
 * In a header of its own so bpf/selftest.bpf.c runs this very code on chosen
 * addresses and times (test/kernel/inflight.test.ts).
 *
 * First choice, a slot: a fixed array indexed by a hash of the address, each
 * slot holding the address it serves. An array lookup is inlined by the
 * verifier (a few ns); a hash map's update and delete cost ~300 ns a request.
 * A slot changes hands only by compare-and-exchange on its address word (BPF
 * atomics, 5.12+), so two CPUs never both take it:
 *   free (0) -> 1 (being written) -> addr (published, xchg) -> 0 at completion.
 * A request whose slot another request holds goes to the hash (disk_inflight),
 * as every request did before: bounded, a start the full hash refuses counted.
 * A completion looks in the slot first, then in the hash.
 *
 * Nothing leaks: a struct request belongs to its tag for good, so the start of
 * its next life takes back its own slot (or replaces its own hash entry)
 * where a completion was never seen (a request merged away, or in flight when
 * ebtop attached, or completed before ebtop attached and never started since).
 * A slot whose request started longer ago than any request lives
 * (req_stale_s: the block layer times requests out after 30 s; a device gone)
 * is taken over by the next request that hashes to it; userspace sweeps the
 * hash's such entries (src/subsystems/disk.ts sweepInflight).
 *
 * `slots` is a constant at every call: the programs of kernels without BPF
 * compare-and-exchange (before 5.12, whose verifier refuses the instruction
 * even in code it never walks) are built with slots = false and use the hash
 * alone.
 */
#ifndef EBTOP_INFLIGHT_BPF_H
#define EBTOP_INFLIGHT_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "ebtop.h"

#ifndef E2BIG
#define E2BIG 7
#endif

/* Slots: a power of two, set with req_slot_mask before load (src/subsystems/disk.ts). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct ebtop_disk_slot);
} disk_slots SEC(".maps");

/* The requests whose slot was held by another: libbpf-tools biolatency's
 * design, a hash keyed by the address. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct ebtop_disk_req);
} disk_inflight SEC(".maps");

const volatile __u32 req_slot_mask = 16383;
/* Longer than any request lives: its slot may be taken over (the hash's entries: swept). */
const volatile __u32 req_stale_s = 600;

#define SLOT_BUSY 1ULL /* no struct request lives at address 1 */

/*
 * The low 32 bits of an address, as a number. A tp_btf argument is a typed
 * pointer, on which the verifier allows no arithmetic but adding an offset;
 * a 32-bit move of it gives a privileged program a plain scalar (a raw_tp
 * argument is one already). Comparing, storing and exchanging the pointer
 * itself are allowed as they are.
 */
static __always_inline __u64 addr_low32(__u64 key)
{
	__u64 v;
	asm volatile("r0 = %1; w0 = w0; %0 = r0" : "=r"(v) : "r"(key) : "r0");
	return v;
}

/* Fibonacci hashing: addresses of one tag set are a fixed stride apart; the
 * product's high bits spread them over the slots. */
static __always_inline struct ebtop_disk_slot *inflight_slot(__u64 key)
{
	__u32 i = (__u32)((addr_low32(key) * 0x9E3779B97F4A7C15ULL) >> 40) & req_slot_mask;
	return bpf_map_lookup_elem(&disk_slots, &i);
}

/* Whether this life of the request (`born`: its rq->start_time_ns, 0 when the
 * block layer keeps none) is recorded already: a requeued request inserted
 * again, or issued after its insert (before 6.5). */
static __always_inline bool inflight_started(__u64 key, __u64 born, bool slots)
{
	if (!born)
		return false;
	if (slots) {
		struct ebtop_disk_slot *s = inflight_slot(key);
		if (s && *(volatile __u64 *)&s->rq == key)
			return s->req.born == born;
	}
	struct ebtop_disk_req *h = bpf_map_lookup_elem(&disk_inflight, &key);
	return h && h->born == born;
}

/* Records a request's start: 0 in its slot, 1 in the hash, -E2BIG (or another
 * error) when the full hash refused it. Replaces what an earlier life of the
 * same struct left. */
static __always_inline int inflight_put(__u64 key, const struct ebtop_disk_req *v, bool slots)
{
	if (slots) {
		struct ebtop_disk_slot *s = inflight_slot(key);
		if (s) {
			__u64 held = *(volatile __u64 *)&s->rq;
			/* free; its own from an earlier life; or another's, published, that
			 * started longer ago than any request lives */
			bool take = !held || held == key ||
				    (held != SLOT_BUSY && (__s64)(v->start_ns - s->req.start_ns) > (__s64)req_stale_s * 1000000000LL);
			if (take && __sync_val_compare_and_swap(&s->rq, held, SLOT_BUSY) == held) {
				s->req = *v;
				/* published with a full barrier: whoever sees the address sees the entry */
				__sync_lock_test_and_set(&s->rq, key);
				return 0;
			}
		}
	}
	/* replacing an entry never fails: only a new key can find the map full */
	int err = bpf_map_update_elem(&disk_inflight, &key, v, BPF_ANY);
	return err ? err : 1;
}

/* A request completes: its start record, removed. False when none was found
 * (it started before ebtop attached, or its start was refused), or when its
 * slot was taken over under it as stale (a request older than req_stale_s). */
static __always_inline bool inflight_take(__u64 key, struct ebtop_disk_req *out, bool slots)
{
	if (slots) {
		struct ebtop_disk_slot *s = inflight_slot(key);
		if (s && *(volatile __u64 *)&s->rq == key) {
			*out = s->req;
			return __sync_val_compare_and_swap(&s->rq, key, 0) == key;
		}
	}
	struct ebtop_disk_req *h = bpf_map_lookup_elem(&disk_inflight, &key);
	if (!h)
		return false;
	*out = *h;
	bpf_map_delete_elem(&disk_inflight, &key);
	return true;
}

#endif
