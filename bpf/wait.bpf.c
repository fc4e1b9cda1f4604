// SPDX-License-Identifier: GPL-2.0
/*
 * Wait subsystem, its own programs. The blocked intervals themselves are
 * opened and closed inline in the core's one sched_switch program
 * (bpf/wait.bpf.h: classified at the switch-out, closed at the switch-in
 * from the thread's sched_info, so the run-queue wait between the wakeup and
 * the switch-in stays in run_delay only); sched_wakeup is not hooked. Here:
 * a new thread's fork-to-first-wakeup gap (sched_wakeup_new), and for
 * `ebtop offcpu` only (not loaded otherwise) the kernel stack of a woken
 * thread of the asked processes, where it slept.
 */
#include "wait.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 wait_enabled = 0;
const volatile __u32 offcpu_stacks = 0;
/* `ebtop offcpu --min-block`: shorter intervals are not recorded with stacks. */
const volatile __u64 offcpu_min_block_ns = 1000000;

const volatile struct ebtop_offcpu btf_offcpu_layout __attribute__((used));

static __always_inline void offcpu_record(struct task_struct *p, struct ebtop_thread *th, __u32 cat, __u64 block_ns)
{
	__u32 tgid = p->tgid;
	if (block_ns < offcpu_min_block_ns || !bpf_map_lookup_elem(&offcpu_pids, &tgid))
		return;
	struct ebtop_offcpu *r = reserve(sizeof(*r));
	if (!r)
		return;
	r->type = EBTOP_REC_OFFCPU;
	r->tid = p->pid;
	r->pid = tgid;
	r->cat = cat;
	r->block_ns = block_ns;
	BPF_CORE_READ_STR_INTO(&r->comm, p, comm);
	/* Taken at wakeup, the woken thread's stack still shows where it slept. */
	long n = bpf_get_task_stack(p, r->kstack, sizeof(r->kstack), 0);
	r->kframes = n > 0 ? n / sizeof(__u64) : 0;
	r->uframes = 0;
	struct offcpu_ustack *us = bpf_task_storage_get(&offcpu_ustack, p, 0, 0);
	if (us) {
		__u32 u = us->frames;
		if (u > EBTOP_STACK_DEPTH)
			u = EBTOP_STACK_DEPTH;
		__builtin_memcpy(r->ustack, us->ips, sizeof(r->ustack));
		r->uframes = u;
		us->frames = 0;
	}
	submit(r);
}

/*
 * `ebtop offcpu`: the woken thread's kernel stack (where it slept) and its
 * blocked time so far. The interval is left open: the switch-in closes it.
 */
SEC("?tp_btf/sched_wakeup")
int BPF_PROG(wakeup_stacks_btf, struct task_struct *p)
{
	struct ebtop_thread *th = thread_get(p, false);
	if (!th || !th->c.wait.open_since_ns)
		return 0;
	__u64 now = bpf_ktime_get_ns(), since = th->c.wait.open_since_ns;
	offcpu_record(p, th, th->c.wait.open_cat, now > since ? now - since : 0);
	return 0;
}

/*
 * A new thread is alive from its start_time (fork) but neither runnable nor
 * blocked until wake_up_new_task: that gap is counted as other, so a
 * short-lived thread's times still add up to its wall time.
 */
static __always_inline int on_wakeup_new(struct task_struct *p)
{
	__u64 start = BPF_CORE_READ(p, start_time), now = bpf_ktime_get_ns();
	if (!start || now <= start)
		return 0;
	struct ebtop_thread *th = thread_get(p, true);
	if (th)
		th->c.wait.other_ns += now - start;
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(wakeup_new_btf, struct task_struct *p)
{
	return on_wakeup_new(p);
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(wakeup_new_raw, struct task_struct *p)
{
	return on_wakeup_new(p);
}
