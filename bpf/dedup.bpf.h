/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Counting an event once with two programs on one tracepoint (bpf/net.bpf.c):
 * the kernel skips a tracing program that fires while the same program runs
 * on that CPU (bpf_trace_run's per-program `active`), so each counting hook
 * has a second program, attached after the first, for the events the first
 * was skipped for. The first leaves the event's token; the second does the
 * work only when its own event's token is not there.
 *
 * The token slot is per CPU *and per context level* (task, interrupt): between the first program storing its token and the second running,
 * an interrupt can fire the same tracepoint on that CPU, and its two programs
 * then run at the interrupt level, in a slot of their own. With one slot per
 * CPU its first program overwrote the token and the interrupted event's
 * second program did the event again. An interrupt completes before the code
 * it interrupted goes on, and the interrupt level does not interrupt itself
 * with these tracepoints (irq_level), so a level's slot is only ever written
 * by the event in progress at that level. The second
 * program clears the token it consumed; the first clears the slots above its
 * own level, where a nested event whose second program the kernel skipped
 * (it was running below) left a token that could otherwise match a later
 * event of that level carrying the same token.
 */
#ifndef EBTOP_DEDUP_BPF_H
#define EBTOP_DEDUP_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define DEDUP_LEVELS 2
#define DEDUP_HOOKS 2

struct dedup_tokens {
	__u64 tok[DEDUP_LEVELS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DEDUP_HOOKS);
	__type(key, __u32);
	__type(value, struct dedup_tokens);
} dedup_handled SEC(".maps") __weak;

/* The size of a task's kernel stack (x86_64 and arm64 without KASAN). */
#define DEDUP_THREAD_SIZE (16 << 10)

/*
 * 0 when this program runs on the current task's kernel stack (task context),
 * 1 on another stack: softirqs, hardirqs and NMIs run on the CPU's own
 * interrupt stacks (x86_64; arm64 from 5.15). preempt_count() would tell the
 * levels apart but needs a per-CPU kernel symbol, which the kernel resolves
 * only with CONFIG_KALLSYMS_ALL. Interrupt levels share a slot: the TCP
 * hooks fire in task or softirq context, never in a hardirq, so nothing
 * interrupts a softirq between its two programs with the same tracepoint.
 * The address of a stack variable is compared, never dereferenced (root
 * only, as all of ebtop). A program's two runs for one event are at the same
 * depth of the same stack, so they always agree.
 */
static __always_inline __u32 irq_level(void)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u64 lo = (__u64)BPF_CORE_READ(t, stack);
	/* the frame's address as a number: read back from where it is stored
	 * (arithmetic on a frame pointer with an unknown value is refused) */
	void *here = &lo;
	__u64 at = 0;
	bpf_probe_read_kernel(&at, sizeof(at), &here);
	return at - lo < DEDUP_THREAD_SIZE ? 0 : 1;
}

static __always_inline struct dedup_tokens *dedup_tokens(__u32 hook)
{
	return bpf_map_lookup_elem(&dedup_handled, &hook);
}

static __always_inline void dedup_clear_above(struct dedup_tokens *d, __u32 level)
{
	if (level < 1)
		d->tok[1] = 0;
}

/* The first program of a counting hook at context `level`: clear the levels
 * above, the work, then its token. */
#define DEDUP_FIRST_AT(hook, token, level, work)                                    \
	({                                                                          \
		__u32 _l = (level) & (DEDUP_LEVELS - 1);                            \
		struct dedup_tokens *_d = dedup_tokens(hook);                       \
		if (_d)                                                             \
			dedup_clear_above(_d, _l);                                  \
		work;                                                               \
		if (_d)                                                             \
			_d->tok[_l] = (__u64)(token);                               \
		0;                                                                  \
	})

/* The second: the work only for an event the first did not handle at this level. */
#define DEDUP_SECOND_AT(hook, token, level, work)                                   \
	({                                                                          \
		__u32 _l = (level) & (DEDUP_LEVELS - 1);                            \
		struct dedup_tokens *_d = dedup_tokens(hook);                       \
		if (_d && _d->tok[_l] == (__u64)(token))                            \
			_d->tok[_l] = 0;                                            \
		else                                                                \
			work;                                                       \
		0;                                                                  \
	})

#define DEDUP_FIRST(hook, token, work) DEDUP_FIRST_AT(hook, token, irq_level(), work)
#define DEDUP_SECOND(hook, token, work) DEDUP_SECOND_AT(hook, token, irq_level(), work)

#endif
