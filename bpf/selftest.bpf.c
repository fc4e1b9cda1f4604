// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only object (built beside ebtop.bpf.o, never linked into it): C
 * functions of the programs run by BPF_PROG_TEST_RUN from
 * test/kernel/buckets.test.ts, so the test holds the compiled C itself, not
 * a TypeScript copy of it. raw_tp programs: test-runnable from 5.10 (a
 * SEC("syscall") program would need 5.14); never attached.
 */
#include "latency.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* ctx[0]: a latency in ns; returns its histogram bucket. */
SEC("raw_tp")
int lat_bucket_of(__u64 *ctx)
{
	return lat_bucket(ctx[0]);
}

/* bpf/dedup.bpf.h's pair on hook 0 with token ctx[0] at context level ctx[1]
 * (given: a test cannot choose what a CPU was doing when interrupted):
 * returns 1 when it did the event's work. */
#include "dedup.bpf.h"

SEC("raw_tp")
int dedup_first(__u64 *ctx)
{
	int done = 0;
	DEDUP_FIRST_AT(0, ctx[0], ctx[1], done = 1);
	return done;
}

SEC("raw_tp")
int dedup_second(__u64 *ctx)
{
	int done = 0;
	DEDUP_SECOND_AT(0, ctx[0], ctx[1], done = 1);
	return done;
}

/* The context level irq_level() finds where the test run runs. */
SEC("raw_tp")
int irq_level_of(__u64 *ctx)
{
	return irq_level();
}

/* bpf/inflight.bpf.h, the table of requests in flight, with slots (5.12+:
 * the test helper leaves these programs out where the kernel has no BPF
 * cmpxchg). ctx: key (a request's address), born, start_ns, owner pid. */
#include "inflight.bpf.h"

/* 0: recorded in its slot, 1: in the hash, 2: refused */
SEC("raw_tp")
int inflight_put_of(__u64 *ctx)
{
	struct ebtop_disk_req v = { .born = ctx[1], .start_ns = ctx[2], .owner = { .pid = ctx[3] } };
	int r = inflight_put(ctx[0], &v, true);
	return r < 0 ? 2 : r;
}

/* the owner pid of the request's record, removed; 0xffff: none */
SEC("raw_tp")
int inflight_take_of(__u64 *ctx)
{
	struct ebtop_disk_req v;
	return inflight_take(ctx[0], &v, true) ? v.owner.pid : 0xffff;
}

/* 1: this life (born) of the request is recorded */
SEC("raw_tp")
int inflight_started_of(__u64 *ctx)
{
	return inflight_started(ctx[0], ctx[1], true);
}
