import { describe, expect, it } from 'vitest';
import { COLUMNS, column, DEFAULT_COLUMNS, headerLine, rowLine, sortRows, sourcesFor } from '../../src/columns';
import { fmtCount, fmtDuration, fmtPct } from '../../src/format';
import type { ProcessRow } from '../../src/model';
import { SCHEMA } from '../../src/subsystems';
import { CPU } from '../../src/subsystems/cpu';

const ALL = new Set(SCHEMA.groups.map((g) => g.name));

const row = (pid: number, oncpuNs: number, cmdline = 'x', avail: ReadonlySet<string> = ALL): ProcessRow => {
  const v = new Float64Array(SCHEMA.slots);
  v[CPU.at.oncpu_ns] = oncpuNs;
  v[CPU.at.nvcsw] = 12345;
  v[CPU.at.nivcsw] = 3;
  return {
    pid, startNs: 0, ppid: 1, uid: 0, user: 'root', comm: 'x', cmdline, threads: 1, state: 'S', kthread: false, source: 'bpf',
    exited: false, exitCode: null, late: false, v, spanNs: 1e9, avail, threadsDetail: [],
  };
};

describe('columns and formatting', () => {
  it('formats durations, counts and percentages compactly', () => {
    expect(fmtDuration(950)).toBe('950ns');
    expect(fmtDuration(12_300)).toBe('12.3us');
    expect(fmtDuration(4_560_000)).toBe('4.56ms');
    expect(fmtDuration(1_230_000_000)).toBe('1.23s');
    expect(fmtDuration(123e9)).toBe('2m03s');
    expect(fmtDuration(999_990_000)).toBe('1.00s');
    expect(fmtDuration(999_960)).toBe('1.00ms');
    expect(fmtDuration(9_999)).toBe('10.0us');
    expect(fmtCount(999)).toBe('999');
    expect(fmtCount(12_345)).toBe('12.3k');
    expect(fmtPct(99.44)).toBe('99.4');
    expect(fmtPct(200.2)).toBe('200');
  });

  it('renders every row to exactly the requested width', () => {
    const cols = DEFAULT_COLUMNS.map(column);
    for (const w of [80, 120, 200]) {
      expect(headerLine(cols, w).length).toBe(w);
      expect(rowLine(cols, row(1, 5e8, 'a'.repeat(300)), w).length).toBe(w);
    }
    expect(rowLine(cols, row(1, 0, 'a\nb\x1b[2J'), 80)).not.toMatch(/[\n\x1b]/);
    expect(headerLine(cols, 200)).toMatch(/^\s+PID USER\s+CPU%\s+ONCPU\s+RUNQ\s+OFFCPU\s+DISK-R\s+DISK-W\s+IO-LAT\s+NET-TX\s+NET-RX\s+RETX%\s+WAIT\s+CMD/);
  });

  it('sorts in each column\'s natural direction, pid as tie-break', () => {
    const rows = [row(3, 10), row(1, 30), row(2, 30)];
    expect(sortRows(rows, column('cpu')).map((r) => r.pid)).toEqual([1, 2, 3]);
    expect(sortRows(rows, column('cpu'), true).map((r) => r.pid)).toEqual([3, 1, 2]);
    expect(sortRows(rows, column('pid')).map((r) => r.pid)).toEqual([1, 2, 3]);
  });

  it('declares each column once', () => {
    expect(new Set(COLUMNS.map((c) => c.id)).size).toBe(COLUMNS.length);
  });

  it('shows n/a where a column\'s source is not attached, and sorts those rows last', () => {
    const cols = ['pid', 'cpu', 'csw'].map(column);
    const none = row(9, 5e8, 'x', new Set());
    expect(rowLine(cols, none, 40).trim().split(/\s+/)).toEqual(['9', 'n/a', 'n/a']);
    expect(rowLine(cols, row(9, 5e8), 40).trim().split(/\s+/)).toEqual(['9', '50.0', '12.3k/3']);
    expect(sortRows([none, row(1, 0)], column('cpu')).map((r) => r.pid)).toEqual([1, 9]);
  });

  it('asks only for the sources of the columns shown', () => {
    expect([...sourcesFor(['pid', 'user', 'cmd'].map(column))]).toEqual([]);
    expect([...sourcesFor(['pid', 'cpu', 'offcpu'].map(column))]).toEqual(['cpu.counters']);
  });
});

describe('every formatter fits its column', () => {
  it('for zero, tiny, huge and fractional values in every slot, rates and totals', () => {
    const values = [0, 1, 7.5, 999, 1_000_000, 987_654_321, 12e9, 3.6e12, 2 ** 52];
    for (const x of values) {
      for (const totals of [false, true]) {
        const v = new Float64Array(SCHEMA.slots).fill(x);
        const r = { ...row(4_194_303, x), v, totals, spanNs: x === 0 ? 0 : 1e9, rssBytes: x, memPct: x > 100 ? 100 : x, threads: Math.min(x, 1e6), user: 'averylongusername', cgroup: 'c'.repeat(40) };
        for (const c of COLUMNS) {
          if (!c.width || c.align === 'left') continue; // names are cut to width; numbers must fit
          const text = c.text(r);
          expect(text.length, `${c.id} = '${text}' for ${x}${totals ? ' (totals)' : ''}`).toBeLessThanOrEqual(c.width);
        }
      }
    }
  });
});
