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
