// The drill-down's sparkline history: per process, oldest first, capped at
// Sparks.LEN, reset for a reused pid, forgotten for a process no longer listed.
import { describe, expect, it } from 'vitest';
import { Sparks } from '../../src/views/panels';
import type { Interval, ProcessRow } from '../../src/model';

const spec = { label: 'X', value: (r: { v: Float64Array; spanNs: number }) => (r.v[0] * 1e9) / r.spanNs, fmt: (v: number) => v.toFixed(0) };
const iv = { subsystems: [{ sparks: [spec] }], intervalNs: 1e9 } as unknown as Interval;
const row = (pid: number, startNs: number, x: number) => ({ pid, startNs, delta: Float64Array.of(x), avail: new Set<string>() }) as unknown as ProcessRow;

describe('Sparks', () => {
  it('keeps each process its own values, oldest first, last formatted', () => {
    const s = new Sparks();
    for (let i = 1; i <= 3; i++) s.add(iv, [row(10, 5, i), row(11, 7, 10 * i)]);
    expect(s.get({ pid: 10, startNs: 5 })).toEqual([{ label: 'X', last: '3', values: [1, 2, 3] }]);
    expect(s.get({ pid: 11, startNs: 7 })[0].values).toEqual([10, 20, 30]);
  });

  it('keeps the last LEN values only', () => {
    const s = new Sparks();
    for (let i = 0; i < Sparks.LEN + 5; i++) s.add(iv, [row(10, 5, i)]);
    const v = s.get({ pid: 10, startNs: 5 })[0].values;
    expect(v.length).toBe(Sparks.LEN);
    expect(v[0]).toBe(5);
    expect(v[v.length - 1]).toBe(Sparks.LEN + 4);
  });

  it('starts over for a new process with a reused pid, and forgets processes no longer listed', () => {
    const s = new Sparks();
    s.add(iv, [row(10, 5, 1), row(11, 7, 2)]);
    s.add(iv, [row(10, 6, 9)]);
    expect(s.get({ pid: 10, startNs: 5 })).toEqual([]);
    expect(s.get({ pid: 10, startNs: 6 })[0].values).toEqual([9]);
    expect(s.get({ pid: 11, startNs: 7 })).toEqual([]);
  });
});
