// Processes grouped by a key (a command name, a user, a cgroup, a service):
// each group's vector is its members' values combined slot by slot by the
// schema's rules (sums; min or max where a slot declares it), members that
// exited in the interval included, so a group's figures add up to its
// processes' and nothing that lived between two refreshes is lost. Pure: the
// views, the JSON and the exporter group the same way.
import type { ProcessRow } from './model';
import { SCHEMA } from './subsystems';
import { combineInto } from './subsystems/schema';

export interface GroupRow {
  key: string;
  /** the members' combined values (their `v`: this interval's, or totals with --cumulative) */
  v: Float64Array;
  /** this interval's combined values, whatever `v` shows */
  delta: Float64Array;
  members: ProcessRow[];
  /** members alive at the end of the interval */
  live: number;
  /** resident memory of the live members (a gauge: shared pages counted once per process, as ps does) */
  rssBytes: number;
  threads: number;
}

/** Groups in first-seen order; `keyOf` returning null leaves a row out. */
export function groupRows(rows: readonly ProcessRow[], keyOf: (r: ProcessRow) => string | null): GroupRow[] {
  const by = new Map<string, GroupRow>();
  for (const r of rows) {
    const key = keyOf(r);
    if (key === null) continue;
    let g = by.get(key);
    if (!g) {
      g = { key, v: new Float64Array(SCHEMA.slots), delta: new Float64Array(SCHEMA.slots), members: [], live: 0, rssBytes: 0, threads: 0 };
      by.set(key, g);
    }
    combineInto(SCHEMA, g.v, r.v);
    combineInto(SCHEMA, g.delta, r.delta);
    g.members.push(r);
    if (!r.exited) {
      g.live++;
      g.rssBytes += r.rssBytes;
      g.threads += r.threads;
    }
  }
  return [...by.values()];
}
