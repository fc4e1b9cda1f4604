// Every process-table column, declared once: title, width, sort direction,
// the source it needs, how to format and compare it. Views only pick ids.
import { fit, fmtCount, fmtDuration, fmtPct, printable } from './format';
import type { ProcessRow, ThreadRow } from './model';

export interface Column {
  id: string;
  title: string;
  width: number;
  align: 'left' | 'right';
  /** true: biggest first when the user sorts by it */
  descending: boolean;
  /** the capability source this column's numbers come from (see --caps) */
  source: string;
  help: string;
  format(r: ProcessRow): string;
  compare(a: ProcessRow, b: ProcessRow): number;
}

const num = (get: (r: ProcessRow) => number) => (a: ProcessRow, b: ProcessRow) => get(a) - get(b);
const str = (get: (r: ProcessRow) => string) => (a: ProcessRow, b: ProcessRow) => get(a).localeCompare(get(b));

export const COLUMNS: Column[] = [
  { id: 'pid', title: 'PID', width: 7, align: 'right', descending: false, source: 'cpu.counters', help: 'process id', format: (r) => String(r.pid), compare: num((r) => r.pid) },
  { id: 'ppid', title: 'PPID', width: 7, align: 'right', descending: false, source: 'cpu.counters', help: 'parent process id', format: (r) => String(r.ppid), compare: num((r) => r.ppid) },
  { id: 'user', title: 'USER', width: 9, align: 'left', descending: false, source: 'cpu.counters', help: 'effective user', format: (r) => printable(r.user), compare: str((r) => r.user) },
  { id: 'state', title: 'S', width: 1, align: 'left', descending: false, source: 'cpu.counters', help: 'state of the main thread (X: exited this interval)', format: (r) => r.state, compare: str((r) => r.state) },
  { id: 'threads', title: 'THR', width: 4, align: 'right', descending: true, source: 'cpu.counters', help: 'live threads', format: (r) => fmtCount(r.threads), compare: num((r) => r.threads) },
  { id: 'cpu', title: 'CPU%', width: 6, align: 'right', descending: true, source: 'cpu.counters', help: 'on-CPU time / interval (100% = one CPU)', format: (r) => fmtPct(r.cpuPct), compare: num((r) => r.oncpuNs) },
  { id: 'oncpu', title: 'ONCPU', width: 8, align: 'right', descending: true, source: 'cpu.counters', help: 'on-CPU time in the interval', format: (r) => fmtDuration(r.oncpuNs), compare: num((r) => r.oncpuNs) },
  { id: 'runq', title: 'RUNQ', width: 8, align: 'right', descending: true, source: 'cpu.counters', help: 'time runnable but waiting for a CPU', format: (r) => fmtDuration(r.runqNs), compare: num((r) => r.runqNs) },
  { id: 'offcpu', title: 'OFFCPU', width: 8, align: 'right', descending: true, source: 'cpu.counters', help: 'time alive but neither running nor runnable (summed over threads)', format: (r) => fmtDuration(r.offcpuNs), compare: num((r) => r.offcpuNs) },
  { id: 'csw', title: 'CSW v/iv', width: 11, align: 'right', descending: true, source: 'cpu.counters', help: 'voluntary / involuntary context switches', format: (r) => `${fmtCount(r.nvcsw)}/${fmtCount(r.nivcsw)}`, compare: num((r) => r.nvcsw + r.nivcsw) },
  { id: 'migr', title: 'MIGR', width: 6, align: 'right', descending: true, source: 'cpu.counters', help: 'migrations between CPUs', format: (r) => fmtCount(r.migrations), compare: num((r) => r.migrations) },
  { id: 'cmd', title: 'CMD', width: 0, align: 'left', descending: false, source: 'lifecycle.exec', help: 'command line (width: the rest of the line)', format: (r) => printable(r.cmdline || r.comm), compare: str((r) => r.cmdline || r.comm) },
];

export const DEFAULT_COLUMNS = ['pid', 'user', 'state', 'cpu', 'oncpu', 'runq', 'offcpu', 'csw', 'migr', 'threads', 'cmd'];

export function column(id: string): Column {
  const c = COLUMNS.find((x) => x.id === id);
  if (!c) throw new Error(`unknown column ${id}`);
  return c;
}

/** A thread shown as a row of its process's table (cmd: its branch in the tree). */
export function threadAsRow(proc: ProcessRow, t: ThreadRow, last: boolean, unicode: boolean): ProcessRow {
  const branch = unicode ? (last ? '└─' : '├─') : last ? '`-' : '|-';
  return { ...proc, ...t, pid: t.tid, cmdline: `  ${branch} ${t.comm}`, threads: 1, threadsDetail: [] };
}

/** Sort rows by a column; ties broken by pid so the order is stable between refreshes. */
export function sortRows(rows: ProcessRow[], by: Column, invert = false): ProcessRow[] {
  const dir = (by.descending ? -1 : 1) * (invert ? -1 : 1);
  return rows.slice().sort((a, b) => dir * by.compare(a, b) || a.pid - b.pid);
}

export function headerLine(cols: Column[], width: number): string {
  return renderCells(cols, width, (c) => c.title);
}

export function rowLine(cols: Column[], r: ProcessRow, width: number): string {
  return renderCells(cols, width, (c) => c.format(r));
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
