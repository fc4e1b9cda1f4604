// The two-program count of bpf/dedup.bpf.h (TCP retransmits and resets,
// bpf/net.bpf.c), run by BPF_PROG_TEST_RUN through bpf/selftest.bpf.c: an
// event's first program in task context, then an interrupt firing both
// programs for another event, then the first event's second program. It must
// not do the first event again; events its first program was skipped for, it
// must. The sequence gives each run its context level; irq_level(), which
// finds it in the real hooks, is checked on its own.
import { spawn } from 'node:child_process';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { selftestSkipReason, useSelftest } from '../helpers/kernel';

const skip = selftestSkipReason();

const TASK = 0;
const IRQ = 1;

describe.skipIf(skip)('two-program dedup: an interrupt between the programs (BPF_PROG_TEST_RUN)', () => {
  const { native, obj } = useSelftest(skip);

  const args = (...v: number[]) => {
    const b = Buffer.alloc(8 * v.length);
    v.forEach((x, i) => b.writeBigUInt64LE(BigInt(x), i * 8));
    return b;
  };
  /** 1 when the program did the event's work; every run on CPU 0, as the same CPU's sequence. */
  const run = (prog: 'dedup_first' | 'dedup_second', token: number, level: number) => native.testRun(obj(), prog, args(token, level), 0, 0);

  it('irq_level: 0 on the task\'s stack; 1 in an interrupt taken in the kernel (an IPI from another CPU)', async () => {
    for (let i = 0; i < 20; i++) expect(native.testRun(obj(), 'irq_level_of', args(0), 0, 0)).toBe(TASK);
    if (os.cpus().length < 2) return;
    // an interrupt of user mode runs on the interrupted task's stack (x86_64): 0 then, rightly,
    // since no kernel code of that task is in progress. A CPU hog in user mode on CPU 0 would
    // take every IPI there: dd pinned to CPU 0 keeps it in the kernel (clearing 1 MiB buffers)
    // most of the time it runs, whatever else shares the CPU.
    const dd = spawn('taskset', ['-c', '0', 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=1M'], { stdio: 'ignore' });
    try {
      const levels: number[] = [];
      const until = Date.now() + 3000;
      while (Date.now() < until && levels.filter((l) => l === IRQ).length < 5) {
        levels.push(native.testRun(obj(), 'irq_level_of', args(0), 0, 1));
        if (levels.length % 50 === 0) await new Promise((r) => setTimeout(r, 10));
      }
      expect(levels.every((l) => l === TASK || l === IRQ)).toBe(true);
      expect(levels.filter((l) => l === IRQ).length).toBeGreaterThan(0);
    } finally {
      dd.kill('SIGKILL');
    }
  });

  it('the interrupted event is done once, the interrupt\'s own once', () => {
    expect(run('dedup_first', 0xe1, TASK)).toBe(1);
    expect(run('dedup_first', 0xf1, IRQ)).toBe(1);
    expect(run('dedup_second', 0xf1, IRQ)).toBe(0); // the interrupt's first program did it
    expect(run('dedup_second', 0xe1, TASK)).toBe(0); // and so did the interrupted one's
  });

  it('an event whose first program was skipped is done by the second, at either level', () => {
    expect(run('dedup_second', 0xe2, TASK)).toBe(1);
    expect(run('dedup_second', 0xf2, IRQ)).toBe(1);
    // a consumed token is not matched again: the same token's next event, its first program skipped
    expect(run('dedup_first', 0xe3, TASK)).toBe(1);
    expect(run('dedup_second', 0xe3, TASK)).toBe(0);
    expect(run('dedup_second', 0xe3, TASK)).toBe(1);
  });

  it('a token a nested event left (its second program skipped) is cleared by the next first program below it', () => {
    expect(run('dedup_first', 0xf4, IRQ)).toBe(1); // its second program never runs
    expect(run('dedup_first', 0xe4, TASK)).toBe(1);
    expect(run('dedup_second', 0xf4, IRQ)).toBe(1); // a later interrupt's event with that token, its first program skipped
    expect(run('dedup_second', 0xe4, TASK)).toBe(0);
  });
});
