// Memory and cgroup, declared as data: resident memory and the cgroup come
// with every task record (the iterator reads the task's mm counters and its
// cgroup v2 id), so they need no hook of their own and cannot be switched off.
import { fmtBytes, fmtPct, printable } from '../format';
import type { Column, JsonField, RowLike, Subsystem } from './types';

const col = (c: Omit<Column, 'needs' | 'descending' | 'align'> & Partial<Column>): Column => ({ needs: null, descending: true, align: 'right', ...c });

const columns: Column[] = [
  col({ id: 'mem', title: 'RES', width: 6, help: 'resident memory (file + anon + shmem pages; the counters shared part, within a few hundred KiB of /proc)', text: (r) => fmtBytes(r.rssBytes), value: (r) => r.rssBytes }),
  col({ id: 'memp', title: 'MEM%', width: 5, help: 'resident memory / total memory', text: (r) => fmtPct(r.memPct), value: (r) => r.rssBytes }),
  col({ id: 'cgroup', title: 'CGROUP', width: 16, align: 'left', descending: false, help: "cgroup v2 path's last part: the container or unit", text: (r) => printable(r.cgroup), value: (r) => r.cgroup }),
];

/** Process-level only: threads share the mm and the cgroup. */
const field = (key: string, get: (r: RowLike) => unknown): JsonField => ({ key, needs: null, thread: false, get: (r) => get(r as RowLike) });
const json: JsonField[] = [
  field('rss_bytes', (r) => r.rssBytes),
  field('mem_pct', (r) => Math.round(r.memPct * 100) / 100),
  field('cgroup', (r) => r.cgroup),
];

export const mem: Subsystem = {
  name: 'mem',
  what: 'resident memory and cgroup (from the task records: always on)',
  optional: false,
  hooks: [],
  groups: [],
  columns,
  json,
};
