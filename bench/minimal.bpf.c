// SPDX-License-Identifier: GPL-2.0
/*
 * The reference `make bench` holds ebtop's per-switch cost against: the
 * least any tool that knows why tasks wait must run per context switch. A
 * program on sched_switch stores the switched-out task's timestamp in its
 * task-local storage; one on sched_wakeup stores the woken task's. Nothing
 * else: no classification, no records, no counters.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} minimal_ts SEC(".maps");

SEC("tp_btf/sched_switch")
int BPF_PROG(minimal_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u64 *ts = bpf_task_storage_get(&minimal_ts, prev, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (ts)
		*ts = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(minimal_wakeup, struct task_struct *p)
{
	__u64 *ts = bpf_task_storage_get(&minimal_ts, p, 0, 0);
	if (ts)
		*ts = bpf_ktime_get_ns();
	return 0;
}
