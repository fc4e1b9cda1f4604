/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one ABI header: every struct that crosses the kernel/userspace boundary.
 * Fixed-width types and explicit padding only; the addon exports sizeof/offsetof
 * of every field (native/layout.h) and a test holds src/abi.ts equal to it.
 */
#ifndef EBTOP_H
#define EBTOP_H

#define EBTOP_COMM_LEN 16
#define EBTOP_ARGS_LEN 256
#define EBTOP_MAX_CPUS 1024

/* Record types; every record starts with `__u32 type`. */
#define EBTOP_REC_TASK 1 /* bpf_iter/task snapshot of one live thread */
#define EBTOP_REC_EXIT 2 /* final counters of a thread, at its last switch-out */
#define EBTOP_REC_EXEC 3 /* a process called execve */
#define EBTOP_REC_FORK 4 /* a thread or process was created */

/* ebtop_task.flags */
#define EBTOP_F_KTHREAD 0x1    /* PF_KTHREAD */
#define EBTOP_F_ZOMBIE 0x2     /* exit_state set: exited, not yet reaped */
#define EBTOP_F_RUNNING 0x4    /* on a CPU when snapshotted */
#define EBTOP_F_CORRECTED 0x8  /* oncpu_ns corrected from the switch-in time */
#define EBTOP_F_GROUP_DEAD 0x10 /* exit record: last thread of its process to exit */

/* Counters the kernel keeps per thread (task_struct), monotonically increasing. */
struct ebtop_cpu_counters {
	__u64 oncpu_ns;   /* se.sum_exec_runtime */
	__u64 runq_ns;    /* sched_info.run_delay */
	__u64 slices;     /* sched_info.pcount */
	__u64 nvcsw;      /* voluntary context switches */
	__u64 nivcsw;     /* involuntary context switches */
	__u64 migrations; /* se.nr_migrations */
};

/* EBTOP_REC_TASK (iterator) and EBTOP_REC_EXIT (ring buffer). */
struct ebtop_task {
	__u32 type;
	__u32 tid;
	__u32 pid;  /* tgid */
	__u32 ppid; /* real_parent's tgid */
	__u32 uid;  /* effective uid */
	__u32 flags;
	__u32 state;     /* task __state */
	__s32 exit_code; /* task->exit_code (wait status encoding) */
	__u64 start_ns;  /* task->start_time, CLOCK_MONOTONIC: identity with tid */
	__u64 time_ns;   /* exit records: when it exited, CLOCK_MONOTONIC; snapshots: 0 */
	struct ebtop_cpu_counters cpu;
	char comm[EBTOP_COMM_LEN];
};

/* EBTOP_REC_EXEC (ring buffer). args: NUL-separated argv, truncated. */
struct ebtop_exec {
	__u32 type;
	__u32 tid;
	__u32 pid;
	__u32 old_tid; /* a non-leader thread that execs takes over the leader's tid */
	__u32 args_len;
	__u32 pad;
	__u64 start_ns;
	__u64 time_ns;
	char comm[EBTOP_COMM_LEN];
	char args[EBTOP_ARGS_LEN];
};

/* EBTOP_REC_FORK (ring buffer). */
struct ebtop_fork {
	__u32 type;
	__u32 tid;
	__u32 pid;
	__u32 ppid; /* the forking process's tgid */
	__u64 start_ns;
	__u64 time_ns;
	char comm[EBTOP_COMM_LEN];
};

/* Per-CPU: which thread was switched in, when, and its runtime then. */
struct ebtop_cpu_run {
	__u32 tid;
	__u32 pad;
	__u64 in_ns;
	__u64 oncpu_at_in;
};

/* Per-CPU counters of the BPF side itself. */
struct ebtop_stats {
	__u64 records; /* records submitted to the ring buffer */
	__u64 lost;    /* records dropped: ring buffer full */
};

#define EBTOP_ASSERT_SIZE(t, n) _Static_assert(sizeof(struct t) == (n), #t " size changed: update src/abi.ts")
EBTOP_ASSERT_SIZE(ebtop_cpu_counters, 48);
EBTOP_ASSERT_SIZE(ebtop_task, 112);
EBTOP_ASSERT_SIZE(ebtop_exec, 312);
EBTOP_ASSERT_SIZE(ebtop_fork, 48);
EBTOP_ASSERT_SIZE(ebtop_cpu_run, 24);
EBTOP_ASSERT_SIZE(ebtop_stats, 16);

#endif
