// SPDX-License-Identifier: GPL-2.0
/*
 * Wait subsystem: closes each blocked interval at the thread's wakeup, so the
 * run-queue wait that follows stays in sched_info.run_delay and on-CPU +
 * run-queue + waits add up to wall time (closing at switch-in would count the
 * run-queue wait twice). The switch-out part (classify, open) is inline in the
 * core's one sched_switch program (bpf/wait.bpf.h).
 *
 * `ebtop offcpu` loads the *_stacks variant instead: the same close, plus the
 * kernel stack of the woken thread (where it slept) for the asked processes.
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

/* end_clk: the clock of the run queue p is being woken onto, just updated (0: unknown). */
static __always_inline int on_wakeup(struct task_struct *p, __u64 end_clk, bool stacks)
{
	struct ebtop_thread *th = thread_get(p, false);
	if (!th || !th->c.wait.open_since_ns)
		return 0;
	/* The run-queue clocks close the interval when both ends have one;
	 * ktime (~25 ns on kvm-clock, a sixth of this program) only when not,
	 * or for a stack record. */
	bool clocks = th->wait.since_clk && end_clk > th->wait.since_clk;
	__u64 now = stacks || !clocks ? bpf_ktime_get_ns() : 0;
	if (stacks) {
		__u64 since = th->c.wait.open_since_ns;
		offcpu_record(p, th, th->c.wait.open_cat, now > since ? now - since : 0);
	}
	wait_close(th, now, end_clk);
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(wakeup_btf, struct task_struct *p)
{
	return on_wakeup(p, rq_clock_btf(task_rq_btf(p)), false);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(wakeup_raw, struct task_struct *p)
{
	__u64 clk = 0;
	if (bpf_core_field_exists(struct cfs_rq, rq))
		clk = BPF_CORE_READ(p, se.cfs_rq, rq, clock);
	return on_wakeup(p, clk, false);
}

/* `?`: not loaded unless asked for (libbpf autoload off) */
SEC("?tp_btf/sched_wakeup")
int BPF_PROG(wakeup_stacks_btf, struct task_struct *p)
{
	return on_wakeup(p, rq_clock_btf(task_rq_btf(p)), true);
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
