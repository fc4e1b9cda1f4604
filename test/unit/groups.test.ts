// Grouping rows: a group's values are its members' combined by the schema's
// rules, exited members included; live-only gauges; rows keyed null left out.
import { describe, expect, it } from 'vitest';
import { groupRows } from '../../src/groups';
import type { ProcessRow } from '../../src/model';
import { SCHEMA } from '../../src/subsystems';
import { COMBINE_MAX, COMBINE_SUM } from '../../src/subsystems/schema';

function row(pid: number, comm: string, fill: number, exited = false): ProcessRow {
  const v = new Float64Array(SCHEMA.slots).fill(fill);
  return { pid, comm, exited, v, delta: v, rssBytes: 100 * pid, threads: 2 } as unknown as ProcessRow;
}

describe('groupRows', () => {
  it('sums (or maxes, where a slot says) members, the exited included; gauges over the live; null keys left out', () => {
    const rows = [row(1, 'a', 1), row(2, 'b', 5), row(3, 'a', 2, true), row(4, 'x', 9)];
    const gs = groupRows(rows, (r) => (r.comm === 'x' ? null : r.comm));
    expect(gs.map((g) => g.key)).toEqual(['a', 'b']);
    const a = gs[0];
    const sum = SCHEMA.combine.indexOf(COMBINE_SUM);
    expect(a.v[sum]).toBe(3);
    const max = SCHEMA.combine.indexOf(COMBINE_MAX);
    if (max >= 0) expect(a.v[max]).toBe(2);
    expect(a.members.map((r) => r.pid)).toEqual([1, 3]);
    expect(a.live).toBe(1);
    expect(a.rssBytes).toBe(100);
    expect(a.threads).toBe(2);
    expect(Array.from(a.delta)).toEqual(Array.from(a.v));
  });
});
