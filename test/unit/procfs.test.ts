import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { TaskRecord } from '../../src/abi';
import { bootToMonotonicNs, parseProcStat, parseProcTask, ProcTaskReader } from '../../src/procfs';

describe('/proc parsers', () => {
  it('reads /proc/stat idle+iowait in ns', () => {
    const stat = 'cpu  10 0 10 300 5 0 0 0 0 0\ncpu0 5 0 5 100 2 0 0 0 0 0\ncpu1 5 0 5 200 3 0 0 0 0 0\nintr 1\n';
    expect(parseProcStat(stat)).toEqual([102e7, 203e7]);
  });

  it('puts /proc start times (boot-time ticks) on the monotonic clock BPF uses', () => {
    // suspended for 100 s: boot time runs 100 s ahead of the monotonic clock
    expect(bootToMonotonicNs('1100.00 50.00\n', 1000e9)).toBe(100e9);
    // no suspend: the 10 ms resolution of /proc/uptime is not an offset
    expect(bootToMonotonicNs('1000.01 50.00\n', 1000e9)).toBe(0);
    const stat = '42 (my (odd) name) S 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 150000 0 0';
    const t = parseProcTask(42, 43, stat, 'Uid:\t0\t1000\t1000\t1000\n', 140000, 100e9);
    // started 1500 s after boot = 1400 s of monotonic time; its process 1300 s
    expect([t.startNs, t.pstartNs]).toEqual([1400e9, 1300e9]);
    expect([t.pid, t.tid, t.ppid, t.uid, t.comm, t.state]).toEqual([42, 43, 1, 1000, 'my (odd) name', 1]);
  });
});

describe('ProcTaskReader (threads of processes BPF cannot see, from /proc)', () => {
  it('takes a thread from its cache only for the same process: a tid reused by another keeps nothing of the earlier one', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => child.on('spawn', resolve));
      await new Promise((resolve) => setTimeout(resolve, 300)); // asleep: its schedstat no longer moves
      const pid = child.pid!;
      const r = new ProcTaskReader();
      const [first] = r.read(pid);
      r.sweep();
      expect([first.pid, first.tid, first.comm]).toEqual([pid, pid, 'sleep']);
      // the cache as an earlier process whose thread had this tid left it, with
      // the same schedstat line (a thread that barely ran reads the same)
      const last = (r as unknown as { last: Map<number, { schedstat: string; pid: number; pstart: number; rec: TaskRecord }> }).last;
      const e = last.get(pid)!;
      last.set(pid, { ...e, pid: pid + 1, pstart: e.pstart - 100, rec: { ...e.rec, pid: pid + 1, pstartNs: e.rec.pstartNs - 1e9, comm: 'earlier' } });
      const [again] = r.read(pid);
      expect([again.pid, again.comm, again.pstartNs]).toEqual([pid, 'sleep', first.pstartNs]);
      // its own process, unchanged: the cached record (one read instead of four)
      expect(r.read(pid)[0]).toBe(again);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
