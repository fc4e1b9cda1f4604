// Every process-table column, declared once: the process identity columns
// here, the counter columns in their subsystems (src/subsystems). Views only
// pick ids; a column whose group's source is not attached shows n/a.
import { PSI_RESOURCES, type Pressure } from './cgroups';
import { fit, fmtCount, fmtPct, printable } from './format';
import type { ProcessRow, ThreadRow } from './model';
import { SCHEMA, SUBSYSTEMS } from './subsystems';
import type { Column, RowLike } from './subsystems/types';

export type { Column } from './subsystems/types';

const meta = (c: Omit<Column, 'needs' | 'descending' | 'align'> & Partial<Column>): Column => ({ needs: null, descending: false, align: 'right', ...c });

const CORE: Column[] = [
  meta({ id: 'pid', title: 'PID', width: 7, help: 'process id', text: (r) => String(r.pid), value: (r) => r.pid }),
  meta({ id: 'ppid', title: 'PPID', width: 7, help: 'parent process id', text: (r) => String(r.ppid), value: (r) => r.ppid }),
  meta({ id: 'user', title: 'USER', width: 9, align: 'left', help: 'effective user', text: (r) => printable(r.user), value: (r) => r.user }),
  meta({ id: 'state', title: 'S', width: 1, align: 'left', help: 'state of the main thread (X: exited this interval)', text: (r) => r.state, value: (r) => r.state }),
  meta({ id: 'threads', title: 'THR', width: 5, descending: true, help: 'live threads', text: (r) => fmtCount(r.threads), value: (r) => r.threads }),
];
const CMD = meta({ id: 'cmd', title: 'CMD', width: 0, align: 'left', help: 'command line (width: the rest of the line)', text: (r) => printable(r.cmdline || r.comm), value: (r) => r.cmdline || r.comm });

export const COLUMNS: Column[] = [...CORE, ...SUBSYSTEMS.flatMap((s) => s.columns), CMD];

export const DEFAULT_COLUMNS = ['pid', 'user', 'cpu', 'oncpu', 'runq', 'offcpu', 'disk_r', 'disk_w', 'io_lat', 'net_tx', 'net_rx', 'retx', 'wait', 'cmd'];

export function column(id: string): Column {
  const c = COLUMNS.find((x) => x.id === id) ?? CGROUP_ONLY.find((x) => x.id === id);
  if (!c) throw new Error(`unknown column ${id}`);
  return c;
}

/** The hook sources the given columns need (htop's field flags: only what is shown is collected). */
export function sourcesFor(cols: Column[]): Set<string> {
  const out = new Set<string>();
  for (const c of cols) if (c.needs) out.add(SCHEMA.groups.find((g) => g.name === c.needs)?.source ?? c.needs);
  return out;
}

/** The cell of a row: n/a where the column's source is not attached. */
export function cell(c: Column, r: RowLike): string {
  return c.needs === null || r.avail.has(c.needs) ? c.text(r) : 'n/a';
}

/** A thread shown as a row of its process's table (cmd: its branch in the tree). */
export function threadAsRow(proc: ProcessRow, t: ThreadRow, last: boolean, unicode: boolean): ProcessRow {
  const branch = unicode ? (last ? '└─' : '├─') : last ? '`-' : '|-';
  return { ...proc, pid: t.tid, comm: t.comm, exited: t.exited, v: t.v, spanNs: t.spanNs, cmdline: `  ${branch} ${t.comm}`, threads: 1, threadsDetail: [] };
}

/** Sort rows by a column; ties broken by pid so the order is stable between refreshes. */
export function sortRows<R extends RowLike>(rows: R[], by: Column, invert = false): R[] {
  const dir = (by.descending ? -1 : 1) * (invert ? -1 : 1);
  const key = (r: RowLike) => (by.needs === null || r.avail.has(by.needs) ? by.value(r) : -Infinity);
  return rows.slice().sort((a, b) => {
    const x = key(a);
    const y = key(b);
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return dir * c || a.pid - b.pid;
  });
}

/**
 * The columns that fit `width`: PID stays first, `hscroll` columns after it
 * are scrolled off (← →), then columns are dropped from the right until the
 * command line keeps at least `minCmd` characters.
 */
export function fitColumns(cols: Column[], width: number, hscroll = 0, minCmd = 20): Column[] {
  const cmd = cols.find((c) => c.width === 0);
  const fixed = cols.filter((c) => c.width !== 0);
  const first = fixed.length && fixed[0].id === 'pid' ? [fixed[0]] : [];
  const rest = fixed.slice(first.length).slice(Math.max(0, hscroll));
  const out = [...first];
  let used = first.reduce((n, c) => n + c.width + 1, 0);
  const reserve = cmd ? minCmd : 0;
  for (const c of rest) {
    if (used + c.width + 1 + reserve > width) break;
    out.push(c);
    used += c.width + 1;
  }
  if (cmd) out.push(cmd);
  return out;
}

export function headerLine(cols: Column[], width: number): string {
  return renderCells(cols, width, (c) => c.title);
}

export function rowLine(cols: Column[], r: RowLike, width: number): string {
  return renderCells(cols, width, (c) => cell(c, r));
}

function renderCells(cols: Column[], width: number, text: (c: Column) => string): string {
  let out = '';
  for (const c of cols) {
    if (out) out += ' ';
    const w = c.width || Math.max(0, width - out.length);
    out += fit(text(c), w, c.align);
  }
  return out.length > width ? out.slice(0, width) : out;
}

/** A cgroup's pressure over the interval (cgroup rows only): some-stalled % of cpu / memory / io; - where the file is absent or not read before. */
const PSI: Column = meta({
  id: 'psi',
  title: 'PSI cpu/mem/io',
  width: 14,
  descending: true,
  help: "the cgroup's pressure: % of the interval some of its tasks stalled on CPU / memory / I/O (cpu|memory|io.pressure)",
  text: (r) => {
    const p = (r as RowLike & { pressure?: Pressure | null }).pressure;
    return p ? PSI_RESOURCES.map((k) => (p[k] ? fmtPct(p[k]!.somePct) : '-')).join('/') : '-';
  },
  value: (r) => {
    const p = (r as RowLike & { pressure?: Pressure | null }).pressure;
    return p ? PSI_RESOURCES.reduce((s, k) => s + (p[k]?.somePct ?? 0), 0) : -1;
  },
});

/** Columns only cgroup rows have (sortable by a click on their title; not offered for processes in F2). */
export const CGROUP_ONLY: Column[] = [PSI];

/**
 * The columns of the cgroup view (and `--group-by cgroup`): the same counter
 * columns; PID is the cgroup's live processes, CMD its name (the tree drawn
 * before it), its pressure before the name; the process-only ones left out.
 */
export function cgroupColumns(cols: Column[]): Column[] {
  const out: Column[] = [];
  for (const c of cols) {
    if (c.id === 'pid') out.push({ ...c, title: 'PROCS', help: 'live processes in the cgroup (its subtree in the tree view)' });
    else if (c.id === 'cmd') out.push(PSI, { ...c, title: 'CGROUP', help: 'the cgroup: unit, container or pod, else its last path part' });
    else if (c.id !== 'ppid' && c.id !== 'user' && c.id !== 'state' && c.id !== 'cgroup') out.push(c);
  }
  return out;
}
