/* SPDX-License-Identifier: GPL-2.0 */
/* Maps and helpers shared by every ebtop BPF program. */
#ifndef EBTOP_COMMON_BPF_H
#define EBTOP_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "ebtop.h"

#define PF_KTHREAD 0x00200000
#define TASK_DEAD_STATE 0x80

/* One ring buffer for every record that cannot wait for the next snapshot
 * (exits, execs, forks). Size set from userspace before load. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ebtop_stats);
} stats SEC(".maps");

static __always_inline struct ebtop_stats *own_stats(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&stats, &zero);
}

/* Wake the reader only when the ring is half full: userspace drains it once
 * per refresh anyway, so a wakeup per record would only cost CPU. */
static __always_inline void submit(void *rec)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 size = bpf_ringbuf_query(&events, BPF_RB_RING_SIZE);
	bpf_ringbuf_submit(rec, avail > size / 2 ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
	struct ebtop_stats *s = own_stats();
	if (s)
		s->records++;
}

static __always_inline void *reserve(__u64 size)
{
	void *rec = bpf_ringbuf_reserve(&events, size, 0);
	if (!rec) {
		struct ebtop_stats *s = own_stats();
		if (s)
			s->lost++;
	}
	return rec;
}

/* task->__state was task->state before 5.14. */
struct task_struct___pre514 {
	long state;
} __attribute__((preserve_access_index));

static __always_inline __u32 task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___pre514 *)t, state);
}

#endif
