// SPDX-License-Identifier: GPL-2.0
/*
 * CPU subsystem. The kernel already keeps exact per-thread counters
 * (sum_exec_runtime, run_delay, pcount, nvcsw, nivcsw, nr_migrations); we read
 * them with a task iterator each refresh instead of re-counting them on every
 * switch. Hooks exist only for what a snapshot cannot see:
 *  - the exact final counters of an exiting thread (its last switch-out: at
 *    sched_process_exit sum_exec_runtime can be a tick stale),
 *  - the switch-in time of the running thread, so a snapshot of a thread that
 *    is on a CPU is not a tick stale either,
 *  - exec (new comm and argv, which /proc no longer has once it exits) and fork.
 */
#include "common.bpf.h"
#include "wait.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 capture_args = 1;
/* sched_switch passes prev_state from 5.18 on; before, prev->__state is read
 * (set from the BTF argument count of btf_trace_sched_switch before load). */
const volatile __u32 switch_has_prev_state = 1;
/* Per-thread state in a tid hash instead of task-local storage (common.bpf.h). */
const volatile __u32 use_thread_hash = 0;
const volatile __u32 test_reject = 0;

/* Indexed by CPU; sized to the number of possible CPUs before load. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EBTOP_MAX_CPUS);
	__type(key, __u32);
	__type(value, struct ebtop_cpu_run);
} cpu_run SEC(".maps");

/* The object's BTF records only the types of globals, maps and function
 * signatures: these make the ring records' layouts checkable from
 * userspace (test/unit/layout.test.ts). */
const volatile struct ebtop_exec btf_exec_layout __attribute__((used));
const volatile struct ebtop_fork btf_fork_layout __attribute__((used));

/*
 * The wait classifier's run-time switch (src/budget.ts sheds it under load):
 * it rides inline in sched_switch and the iterator, so it cannot be detached
 * like a hook; `wait_enabled` is frozen at load. 0: on (the default);
 * WAIT_SHED: off; WAIT_PURGE: off, and the iterator discards every open
 * interval (userspace runs it once before switching back on: an interval
 * opened before the shed may have ended unseen, and would count running time
 * as waiting). One array lookup, inlined by the verifier, per switch.
 */
#define WAIT_SHED 1
#define WAIT_PURGE 2
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} wait_gate SEC(".maps");

static __always_inline __u32 wait_gate_now(void)
{
	__u32 zero = 0;
	__u32 *g = bpf_map_lookup_elem(&wait_gate, &zero);
	return g ? *g : 0;
}

/* The iterator's record: too big for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ebtop_task);
} task_scratch SEC(".maps");

/* Snapshotting another CPU's running thread by more than this means the
 * switch-in we saw is not the one it is running under: trust the kernel. */
#define MAX_CORRECTION_NS (20 * 1000 * 1000ULL)

/* btf: t is a BTF pointer, read with plain loads (common.bpf.h KREAD). */
static __always_inline void read_counters(struct task_struct *t, struct ebtop_cpu_counters *c, bool btf)
{
	c->oncpu_ns = KREAD(btf, t, se.sum_exec_runtime);
	c->runq_ns = KREAD(btf, t, sched_info.run_delay);
	c->slices = KREAD(btf, t, sched_info.pcount);
	c->nvcsw = KREAD(btf, t, nvcsw);
	c->nivcsw = KREAD(btf, t, nivcsw);
	c->migrations = KREAD(btf, t, se.nr_migrations);
}

/* hops: pointer chains (t->real_parent->tgid) with plain loads too. Each
 * costs the verifier ~0.8 ms at load (common.bpf.h KREAD), 12 ms for this
 * function; worth it in the iterator (~600 ns per thread per refresh
 * saved), not for the exit record (once per thread). */
static __always_inline void fill_task(struct ebtop_task *r, struct task_struct *t, __u32 type, __u64 now, bool btf, bool hops)
{
	r->type = type;
	r->tid = KREAD(btf, t, pid);
	r->pid = KREAD(btf, t, tgid);
	r->ppid = KREAD(hops, t, real_parent, tgid);
	r->uid = KREAD(hops, t, cred, euid.val);
	r->state = task_state(t, btf);
	r->exit_code = KREAD(btf, t, exit_code);
	r->start_ns = KREAD(btf, t, start_time);
	r->pstart_ns = KREAD(hops, t, group_leader, start_time);
	r->time_ns = now;
	r->rss_pages = task_rss_pages(t, hops);
	r->cgroup_id = KREAD(hops, t, cgroups, dfl_cgrp, kn, id);
	__u32 flags = 0;
	if (KREAD(btf, t, flags) & PF_KTHREAD)
		flags |= EBTOP_F_KTHREAD;
	if (KREAD(btf, t, exit_state))
		flags |= EBTOP_F_ZOMBIE;
	r->flags = flags;
	read_counters(t, &r->cpu, btf);
	/* zeroed first: bytes after the NUL must not differ between two dumps */
	__builtin_memset(r->comm, 0, sizeof(r->comm));
	BPF_CORE_READ_STR_INTO(&r->comm, t, comm);
}

/* Every subsystem's per-thread group, as the thread's state holds it now. */
static __always_inline void fill_thread(struct ebtop_task *r, struct ebtop_thread *th)
{
	if (th)
		r->thr = th->c;
	else
		__builtin_memset(&r->thr, 0, sizeof(r->thr));
}

SEC("iter/task")
int dump_task(struct bpf_iter__task *ctx)
{
	struct task_struct *t = ctx->task;
	__u32 zero = 0;
	struct ebtop_task *r = bpf_map_lookup_elem(&task_scratch, &zero);

	if (!t || !r)
		return 0;
	TEST_REJECT(TEST_REJECT_CORE);
	__u64 now = bpf_ktime_get_ns();
	/* time_ns stays 0: an idle thread's record is then byte-identical
	 * between two snapshots, which lets userspace skip decoding it. */
	fill_task(r, t, EBTOP_REC_TASK, 0, true, true);
	struct ebtop_thread *th = thread_get(t, false);
	__u32 gate = wait_enabled ? wait_gate_now() : WAIT_SHED;
	if (!gate)
		th = wait_iter(t, th, r->state, now);
	else if (gate == WAIT_PURGE && th) {
		th->c.wait.open_since_ns = 0;
		th->c.wait.open_cat = 0;
	}
	fill_thread(r, th);
	if (!gate)
		wait_iter_record(t, th, &r->thr.wait, now);

	if (BPF_CORE_READ(t, on_cpu)) {
		__u32 cpu = task_cpu_of(t, true);
		struct ebtop_cpu_run *run = bpf_map_lookup_elem(&cpu_run, &cpu);

		r->flags |= EBTOP_F_RUNNING;
		if (run && run->tid == r->tid && run->in_ns && run->in_ns <= now &&
		    run->oncpu_at_in <= r->cpu.oncpu_ns) {
			__u64 exact = run->oncpu_at_in + (now - run->in_ns);
			if (exact >= r->cpu.oncpu_ns && exact - r->cpu.oncpu_ns < MAX_CORRECTION_NS) {
				r->cpu.oncpu_ns = exact;
				r->flags |= EBTOP_F_CORRECTED;
			}
		}
	}
	bpf_seq_write(ctx->meta->seq, r, sizeof(*r));
	return 0;
}

/* btf: prev and next are BTF pointers (tp_btf), read with plain loads. */
static __always_inline int on_switch(void *ctx, bool preempt, struct task_struct *prev, struct task_struct *next, __u32 prev_state,
				     bool btf)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 cpu = bpf_get_smp_processor_id();
	struct ebtop_cpu_run *run = bpf_map_lookup_elem(&cpu_run, &cpu);
	__u32 next_tid = KREAD(btf, next, pid);

	if (wait_enabled && !wait_gate_now()) {
		/* before `run` moves on to next: it still tells when prev was switched in */
		__u32 tid = KREAD(btf, prev, pid);
		bool ran = run && run->tid == tid && run->in_ns;
		/* prev is the current task; wait_switch reads it with plain loads,
		 * so it needs a BTF pointer: tp_btf's own argument, or (raw_tp)
		 * bpf_get_current_task_btf() where the kernel has it (5.11) */
		if (btf) {
			wait_switch(ctx, prev, prev, preempt, prev_state, tid, ran, ran ? run->in_ns : 0, now);
			wait_switch_in(next, next_tid, task_rq_btf(prev), true, now);
		} else if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_current_task_btf)) {
			struct task_struct *cur = bpf_get_current_task_btf();
			wait_switch(ctx, prev, cur, preempt, prev_state, tid, ran, ran ? run->in_ns : 0, now);
			wait_switch_in(next, next_tid, task_rq_btf(cur), false, now);
		}
	}
	if (run) {
		run->tid = next_tid;
		run->in_ns = now;
		run->oncpu_at_in = KREAD(btf, next, se.sum_exec_runtime);
	}
	if (!(prev_state & TASK_DEAD_STATE))
		return 0;

	/* prev will never run again: its counters are final now. */
	struct ebtop_task *r = reserve(sizeof(*r));
	if (!r)
		return 0;
	fill_task(r, prev, EBTOP_REC_EXIT, now, btf, false);
	fill_thread(r, thread_get(prev, false));
	thread_forget(prev);
	if (BPF_CORE_READ(prev, signal, live.counter) == 0)
		r->flags |= EBTOP_F_GROUP_DEAD;
	submit(r);
	return 0;
}

/* ctx[3] is only read when the tracepoint has it: with the constant false
 * the verifier never sees that access. */
SEC("tp_btf/sched_switch")
int switch_btf(__u64 *ctx)
{
	struct task_struct *prev = (void *)ctx[1], *next = (void *)ctx[2];
	return on_switch(ctx, (bool)ctx[0], prev, next, switch_has_prev_state ? (__u32)ctx[3] : task_state(prev, true), true);
}

/* Fallback for kernels without tp_btf (BTF-enabled raw tracepoints). */
SEC("raw_tp/sched_switch")
int switch_raw(__u64 *ctx)
{
	struct task_struct *prev = (void *)ctx[1], *next = (void *)ctx[2];
	return on_switch(ctx, (bool)ctx[0], prev, next, switch_has_prev_state ? (__u32)ctx[3] : task_state(prev, false), false);
}

static __always_inline int on_exec(struct task_struct *p, pid_t old_tid)
{
	struct ebtop_exec *r = reserve(sizeof(*r));
	if (!r)
		return 0;
	r->type = EBTOP_REC_EXEC;
	r->tid = BPF_CORE_READ(p, pid);
	r->pid = BPF_CORE_READ(p, tgid);
	r->old_tid = old_tid;
	r->pad = 0;
	r->start_ns = BPF_CORE_READ(p, start_time);
	r->time_ns = bpf_ktime_get_ns();
	BPF_CORE_READ_STR_INTO(&r->comm, p, comm);
	r->args_len = 0;
	if (capture_args) {
		struct mm_struct *mm = BPF_CORE_READ(p, mm);
		unsigned long start = BPF_CORE_READ(mm, arg_start);
		unsigned long end = BPF_CORE_READ(mm, arg_end);
		__u64 len = end > start ? end - start : 0;
		if (len > EBTOP_ARGS_LEN)
			len = EBTOP_ARGS_LEN;
		/* Runs in the exec'ing task: its fresh argv is mapped and present. */
		if (len && bpf_probe_read_user(r->args, len, (void *)start) == 0)
			r->args_len = len;
	}
	submit(r);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(exec_btf, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return on_exec(p, old_pid);
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(exec_raw, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return on_exec(p, old_pid);
}

static __always_inline int on_fork(struct task_struct *parent, struct task_struct *child)
{
	struct ebtop_fork *r = reserve(sizeof(*r));
	if (!r)
		return 0;
	r->type = EBTOP_REC_FORK;
	r->tid = BPF_CORE_READ(child, pid);
	r->pid = BPF_CORE_READ(child, tgid);
	r->ppid = BPF_CORE_READ(parent, tgid);
	r->start_ns = BPF_CORE_READ(child, start_time);
	r->time_ns = bpf_ktime_get_ns();
	BPF_CORE_READ_STR_INTO(&r->comm, child, comm);
	submit(r);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(fork_btf, struct task_struct *parent, struct task_struct *child)
{
	return on_fork(parent, child);
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(fork_raw, struct task_struct *parent, struct task_struct *child)
{
	return on_fork(parent, child);
}
