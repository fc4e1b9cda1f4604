import { describe, expect, it } from 'vitest';
import { parseProcStat, parseTimerList } from '../../src/procfs';

const cpuSection = (cpu: number, stopped: number, entry: number, sleep: number, iowait: number) => `cpu: ${cpu}
 clock 0:
  .base:       00000000376a4a63
active timers:
 #0: <000000003b1f2e09>, tick_nohz_handler, S:01
  .tick_stopped   : ${stopped}
  .idle_jiffies   : 4294
  .idle_calls     : 92591
  .idle_sleeps    : 90000
  .idle_entrytime : ${entry} nsecs
  .idle_waketime  : 0 nsecs
  .idle_exittime  : 1000 nsecs
  .idle_sleeptime : ${sleep} nsecs
  .iowait_sleeptime: ${iowait} nsecs
  .last_jiffies   : 4294
`;

describe('/proc parsers', () => {
  it('sums idle and iowait per CPU, adding an ongoing idle period only when the tick is stopped', () => {
    const text = `Timer List Version: v0.10\nnow at 5000 nsecs\n\n${cpuSection(0, 0, 9000, 700, 30)}\n${cpuSection(1, 1, 9000, 500, 0)}`;
    expect(parseTimerList(text, 10000)).toEqual([730, 500 + 1000]);
  });

  it('returns null for a timer_list without tick data', () => {
    expect(parseTimerList('Timer List Version: v0.10\n', 1)).toBeNull();
  });

  it('reads /proc/stat idle+iowait in ns', () => {
    const stat = 'cpu  10 0 10 300 5 0 0 0 0 0\ncpu0 5 0 5 100 2 0 0 0 0 0\ncpu1 5 0 5 200 3 0 0 0 0 0\nintr 1\n';
    expect(parseProcStat(stat)).toEqual([102e7, 203e7]);
  });
});
