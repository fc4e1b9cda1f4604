// The TUI's pure parts (no terminal, no BPF): sizes, meters, header layout,
// the sort indicator. Every line must be exactly as wide as asked, or blessed
// would wrap or leave stale cells.
import { describe, expect, it } from 'vitest';
import { DEFAULT_COLUMNS, column, headerLine } from '../../src/columns';
import { UserError } from '../../src/errors';
import type { Interval } from '../../src/model';
import { printable } from '../../src/format';
import { cpuMeter, fmtUptime, headerBlock, headerLayout, infoLines, segments } from '../../src/views/header';
import { checkTerminal } from '../../src/views/terminal';
import { footerLine, rowCells, titleLine } from '../../src/views/tui';
import { SUBSYSTEMS, SCHEMA } from '../../src/subsystems';
import { CPU } from '../../src/subsystems/cpu';

/** Visible text of a blessed-tagged string. */
const visible = (s: string) => s.replace(/\{\/?(bold|[a-z]+-[fb]g)\}|\{\/\}/g, '').replace(/\{open\}/g, '{').replace(/\{close\}/g, '}');

function interval(ncpu: number, busy: (i: number) => number | null): Interval {
  const intervalNs = 1e9;
  const cpus = busy(0) === null ? null : Array.from({ length: ncpu }, (_, i) => ({ busyNs: busy(i)! * 1e7, idleNs: intervalNs - busy(i)! * 1e7 }));
  return {
    wallMs: Date.UTC(2026, 0, 1, 12, 0, 0),
    monoNs: (2 * 86400 + 3723) * 1e9,
    intervalNs,
    elapsedNs: 5e9,
    ncpu,
    cumulative: false,
    subsystems: SUBSYSTEMS,
    avail: new Set(),
    ext: {},
    cpus,
    system: {
      busyNs: null,
      idleNs: null,
      exited: 3,
      forks: 4,
      execs: 2,
      tasks: 120,
      threads: 300,
      running: 2,
      lostThreads: 0,
      bpf: { runNs: 2.5e6, events: 12345, lost: 0, sampled: false },
      loadavg: [0.5, 1.25, 2],
      mem: { totalBytes: 8 * 2 ** 30, availableBytes: 6 * 2 ** 30, swapTotalBytes: 0, swapFreeBytes: 0 },
      unattributed: new Float64Array(SCHEMA.slots),
    },
    processes: [],
  };
}

describe('checkTerminal', () => {
  it('refuses anything smaller than 80x24 with one line', () => {
    expect(() => checkTerminal({ isTTY: true, columns: 60, rows: 10 })).toThrow(new UserError('terminal too small (60x10); need at least 80x24'));
    expect(() => checkTerminal({ isTTY: true, columns: 80, rows: 23 })).toThrow(UserError);
    expect(() => checkTerminal({ isTTY: true, columns: 80, rows: 24 })).not.toThrow();
  });
  it('refuses a pipe', () => {
    expect(() => checkTerminal({ isTTY: false })).toThrow(/needs a terminal; use --batch or --json/);
  });
});

describe('cpuMeter', () => {
  it('is exactly as wide as asked, whatever the value', () => {
    for (const w of [14, 20, 37, 98]) {
      for (const p of [undefined, null, 0, 0.04, 23.4, 99.96, 100, 180]) expect(visible(cpuMeter(' 0', p, w))).toHaveLength(w);
    }
  });
  it('draws bars in proportion and the value at the right', () => {
    const m = visible(cpuMeter('0', 50, 24)); // 21 cells inside the brackets
    expect(m).toMatch(/^0\[\|{11} +50\.0%\]$/);
    expect(visible(cpuMeter('0', 100, 24))).toBe(`0[${'|'.repeat(17)}100%]`);
    expect(visible(cpuMeter('0', 0, 24))).toBe(`0[${' '.repeat(17)}0.0%]`);
  });
  it('says n/a without a source, never a fabricated 0', () => {
    expect(visible(cpuMeter('0', null, 24))).toBe(`0[${' '.repeat(18)}n/a]`);
  });
});

describe('segments', () => {
  it('pads, truncates and escapes braces', () => {
    expect(visible(segments([['ab', 'bold'], ['{x}']], 8))).toBe('ab{x}   ');
    expect(visible(segments([['abcdef', 'cyan-fg'], ['gh']], 4))).toBe('abcd');
  });
});

describe('printable', () => {
  it('keeps a command line on one row and escape sequences away from the terminal', () => {
    expect(printable('node -e\nconsole.log(1)\t\x1b[2J\x9b1m')).toBe('node -e console.log(1)  [2J 1m');
    expect(printable('plain ünïcode')).toBe('plain ünïcode');
  });
});

describe('headerLayout / headerBlock', () => {
  it('puts few CPUs beside the summary, like htop, memory and swap under them', () => {
    expect(headerLayout(2, 200, 50, 6)).toMatchObject({ beside: true, rows: 2, height: 6 });
    expect(headerLayout(8, 80, 24, 6)).toMatchObject({ beside: true, rows: 8, height: 10 });
  });
  it('spreads many CPUs over columns and keeps room for the table', () => {
    for (const [ncpu, w, h] of [
      [16, 80, 24],
      [64, 200, 50],
      [64, 80, 24],
      [128, 200, 50],
    ]) {
      const l = headerLayout(ncpu, w, h);
      expect(l.average || l.cols * l.rows >= ncpu).toBe(true);
      expect(h - l.height - 3).toBeGreaterThanOrEqual(5);
    }
    expect(headerLayout(512, 80, 24).average).toBe(true);
  });
  it('draws every header line exactly screen-wide', () => {
    for (const ncpu of [1, 2, 4, 8, 12, 64, 512]) {
      for (const [w, h] of [
        [80, 24],
        [200, 50],
        [133, 41],
      ]) {
        for (const iv of [null, interval(ncpu, (i) => (i * 7) % 101), interval(ncpu, () => null)]) {
          const info = { selfCpuPct: 0.4, delayMs: 1000 };
          const lines = headerBlock(iv, ncpu, info, w, h);
          expect(lines).toHaveLength(headerLayout(ncpu, w, h, infoLines(iv, info).length).height);
          for (const l of lines) expect(visible(l)).toHaveLength(w);
        }
      }
    }
  });
  it('shows tasks, exits with their CPU, and ebtop overhead (bpf run time as % of one cpu)', () => {
    const iv = interval(2, () => 10);
    const exited = (ms: number, late = false) => {
      const v = new Float64Array(SCHEMA.slots);
      v[CPU.at.oncpu_ns] = ms * 1e6;
      return { exited: true, late, v } as unknown as Interval['processes'][number];
    };
    iv.processes = [exited(20), exited(30), exited(1000, true)];
    const text = infoLines(iv, { selfCpuPct: 0.4, delayMs: 1000 }).map((l) => visible(segments(l, 80)).trimEnd());
    expect(text).toContain('Tasks: 120, 300 thr; 2 running');
    expect(text).toContain('Exited this interval: 3 (50.0ms CPU)  forks 4  execs 2');
    expect(text.find((l) => l.startsWith('Load average: '))).toMatch(/^Load average: 0\.50 1\.25 2\.00 {3}Uptime: \d\d:\d\d:\d\d/);
    expect(text).toContain('Overhead: ebtop 0.4% + bpf 0.25% cpu, 12.3k runs, 0 lost');
    // statistics sampled on a busy machine: the figures are estimates
    iv.system.bpf.sampled = true;
    const est = infoLines(iv, { selfCpuPct: 0.4, delayMs: 1000 }).map((l) => visible(segments(l, 80)).trimEnd());
    expect(est).toContain('Overhead: ebtop 0.4% + bpf ~0.25% cpu, ~12.3k runs, 0 lost');
    const meters = headerBlock(interval(2, (i) => [23.4, 100][i]), 2, { selfCpuPct: 0, delayMs: 1000 }, 80, 24).map(visible);
    expect(meters[0]).toMatch(/^ {3}0\[\|+ +23\.4%\]/);
    expect(meters[1]).toMatch(/^ {3}1\[\|+100%\]/);
    expect(meters[2]).toMatch(/^ Mem\[\|+ +2\.00G\/8\.00G\]/);
    expect(meters[3]).toMatch(/^ Swp\[ +0\/0\]/);
  });
});

describe('titleLine', () => {
  const cols = DEFAULT_COLUMNS.map(column);
  it('marks the sort column and its direction within the column widths', () => {
    const t = titleLine(cols, column('cpu'), true, 120, true);
    expect(visible(t)).toHaveLength(120);
    expect(visible(t)).toBe(headerLine(cols, 120).replace('  CPU%', ' ▼CPU%'));
    expect(t).toContain('{cyan-bg} ▼CPU%{/cyan-bg}');
    expect(visible(titleLine(cols, column('pid'), false, 120, false))).toContain('   ^PID USER');
  });
  it('highlights a column too narrow for an arrow', () => {
    const withState = [column('pid'), column('state'), ...cols.slice(1)];
    const t = titleLine(withState, column('state'), false, 120, true);
    expect(visible(t)).toBe(headerLine(withState, 120));
    expect(t).toContain('{cyan-bg}S{/cyan-bg}');
  });
});

describe('uptime', () => {
  it("a recorded interval shows its machine's uptime then (its monotonic clock), a live one this machine's now", () => {
    const iv = interval(2, () => 10);
    const up = (recorded: boolean) => infoLines(iv, { selfCpuPct: 0, delayMs: 1000, recorded }).map((l) => visible(segments(l, 80)).trimEnd()).find((l) => l.startsWith('Load average: '))!;
    expect(up(true)).toMatch(/Uptime: 2 days, 01:02:03$/);
    expect(up(false)).not.toMatch(/Uptime: 2 days, 01:02:03$/);
  });
});

describe('fmtUptime', () => {
  it('formats like htop', () => {
    expect(fmtUptime(3723.9)).toBe('01:02:03');
    expect(fmtUptime(86400 + 59)).toBe('1 day, 00:00:59');
    expect(fmtUptime(3 * 86400)).toBe('3 days, 00:00:00');
  });
});

describe('rowCells', () => {
  const cols = ['pid', 'cpu', 'runq', 'cmd'].map(column);
  const row = (runqMs: number, oncpuMs: number) => {
    const v = new Float64Array(SCHEMA.slots);
    v[CPU.at.oncpu_ns] = oncpuMs * 1e6;
    v[CPU.at.runq_ns] = runqMs * 1e6;
    return { pid: 7, ppid: 1, uid: 0, user: 'root', comm: 'x', cmdline: 'x {y}', threads: 1, state: 'R', kthread: false, exited: false, rssBytes: 0, memPct: 0, cgroup: '', v, spanNs: 1e9, avail: new Set(['cpu']) };
  };
  it('is exactly screen-wide, escapes braces, and colours a saturated CPU red (bold in monochrome)', () => {
    const iv = interval(2, () => 10);
    const sat = rowCells(cols, row(600, 300), iv, 60, false);
    expect(visible(sat)).toHaveLength(60);
    expect(visible(sat)).toMatch(/x \{y\}/);
    expect(sat).toMatch(/\{red-fg\}/);
    expect(rowCells(cols, row(600, 300), iv, 60, true)).toMatch(/\{bold\}/);
    expect(rowCells(cols, row(1, 300), iv, 60, false)).not.toMatch(/\{red-fg\}/);
  });
});
