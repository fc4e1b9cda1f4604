import { describe, expect, it } from 'vitest';
import { bootToMonotonicNs, parseProcStat, parseProcTask } from '../../src/procfs';

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
