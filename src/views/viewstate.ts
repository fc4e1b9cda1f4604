// The process table's view state and what it shows: sort, filters, tree with
// family rollups, threads, tags, selection and scroll, as pure functions of
// (rows, state); the same for the cgroup view (one line per cgroup, a tree by
// hierarchy whose nodes sum their subtree). No terminal here; the TUI renders
// the lines this returns.
import { cgroupForest, type CgroupNode, type CgroupRow, type Pressure } from '../cgroups';
import { column, sortRows } from '../columns';
import type { ProcessRow } from '../model';
import { SCHEMA } from '../subsystems';
import { combineInto } from '../subsystems/schema';
import type { RowLike } from '../subsystems/types';

export interface ViewState {
  /** sort column id */
  sort: string;
  invert: boolean;
  /** narrow to rows whose command matches ('' = all) */
  filter: string;
  /** narrow to one user (null = all) */
  user: string | null;
  tree: boolean;
  /** process keys whose subtree is collapsed (tree view) */
  collapsed: ReadonlySet<string>;
  /** threads under their process */
  threads: boolean;
  hideKernel: boolean;
  /** hide processes that exited in the interval (they still count in family rollups) */
  hideExited: boolean;
  /** tagged processes (space): pid -> start (startNs), so a tag never passes to a later process given the same pid */
  tagged: ReadonlyMap<number, number>;
  /** selected line's key; null: the first line */
  sel: string | null;
  /** first line shown */
  top: number;
  /** columns scrolled off to the left (after PID), ← → */
  hscroll: number;
  /** one line per cgroup instead of per process (v) */
  cgroups: boolean;
}

export function initialState(over: Partial<ViewState> = {}): ViewState {
  return {
    sort: 'cpu',
    invert: false,
    filter: '',
    user: null,
    tree: false,
    collapsed: new Set(),
    threads: false,
    hideKernel: false,
    hideExited: false,
    tagged: new Map(),
    sel: null,
    top: 0,
    hscroll: 0,
    cgroups: false,
    ...over,
  };
}

/** One line of the table: a process, a thread under it, or a collapsed family. */
export interface Line {
  /** selection identity: p<pid>:<start> for a process, t<tid> for a thread */
  key: string;
  /** what the columns render: the process, a thread (as a row), or the family total when collapsed */
  row: RowLike;
  proc: ProcessRow;
  thread: boolean;
  /** tree drawing before the command: indentation and branch */
  prefix: string;
  /** tree view: has children; collapsed: its row is the family total */
  children: number;
  collapsed: boolean;
}

export const procKey = (r: ProcessRow) => `p${r.pid}:${r.startNs}`;

/** Case-insensitive match on command name and line. */
export function matches(r: RowLike, text: string): boolean {
  if (!text) return true;
  const t = text.toLowerCase();
  return r.comm.toLowerCase().includes(t) || r.cmdline.toLowerCase().includes(t);
}

interface Node {
  row: ProcessRow;
  kids: Node[];
  /** own + descendants (exited ones included), combined slot by slot */
  family: Float64Array;
  /** processes in the family, itself included */
  size: number;
}

/**
 * Parent/child structure of the interval's processes. A process whose parent
 * is not in the interval is a root. Family totals include every descendant,
 * shown or not (exited in the interval, filtered, kernel threads hidden).
 */
export function buildForest(rows: ProcessRow[], cumulative = false): Node[] {
  const byPid = new Map<number, Node>();
  for (const r of rows) {
    // an exited process and a new one with its pid: the live one is the parent of later children
    const prev = byPid.get(r.pid);
    if (!prev || prev.row.exited) byPid.set(r.pid, { row: r, kids: [], family: r.v, size: 1 });
  }
  const nodes = rows.map((r) => (byPid.get(r.pid)!.row === r ? byPid.get(r.pid)! : { row: r, kids: [], family: r.v, size: 1 }));
  const roots: Node[] = [];
  for (const n of nodes) {
    const parent = n.row.ppid !== n.row.pid ? byPid.get(n.row.ppid) : undefined;
    if (parent && parent !== n && !isAncestor(n, parent, byPid)) parent.kids.push(n);
    else roots.push(n);
  }
  for (const r of roots) rollup(r, cumulative);
  return roots;
}

/** Guards against a parent cycle (pid reuse can make one): would `n` be an ancestor of `parent`? */
function isAncestor(n: Node, parent: Node, byPid: Map<number, Node>): boolean {
  for (let p: Node | undefined = parent, hops = 0; p && hops < 4096; hops++) {
    if (p === n) return true;
    const up: Node | undefined = p.row.ppid !== p.row.pid ? byPid.get(p.row.ppid) : undefined;
    p = up === p ? undefined : up;
  }
  return false;
}

/**
 * Family totals. Over an interval the children that exited in it are rows of
 * their own; since attach (cumulative) every exited descendant is in its
 * ancestor's deadKids, the exited rows of this interval included.
 */
function rollup(n: Node, cumulative: boolean): void {
  const dead = cumulative ? n.row.deadKids : null;
  if (!n.kids.length && !dead) return;
  const fam = new Float64Array(n.row.v.length);
  fam.set(n.row.v);
  if (dead) combineInto(SCHEMA, fam, dead);
  let size = 1;
  for (const k of n.kids) {
    rollup(k, cumulative);
    if (!(cumulative && k.row.exited)) combineInto(SCHEMA, fam, k.family);
    size += k.size;
  }
  n.family = fam;
  n.size = size;
}

/** A row showing a whole family: the parent's identity, the family's numbers. */
function familyRow(n: Node): RowLike {
  return { ...n.row, v: n.family, threads: n.row.threads };
}

/** A thread shown as a row of its process's table. */
function threadRow(p: ProcessRow, t: ProcessRow['threadsDetail'][number], prefix: string): RowLike {
  return { ...p, pid: t.tid, comm: t.comm, exited: t.exited, v: t.v, spanNs: t.spanNs, cmdline: `${prefix}${t.comm}`, threads: 1 };
}

export interface Glyphs {
  /** branch to a child that has later siblings / to the last one / the line past an earlier one */
  tee: string;
  last: string;
  bar: string;
}

export const UNICODE: Glyphs = { tee: '├─ ', last: '└─ ', bar: '│  ' };
export const ASCII: Glyphs = { tee: '|- ', last: '`- ', bar: '|  ' };

/** Everything the table shows, in order. */
export function buildLines(rows: ProcessRow[], st: ViewState, glyphs: Glyphs = UNICODE, cumulative = false): Line[] {
  const by = column(st.sort);
  const shown = (r: ProcessRow) => !(st.hideKernel && r.kthread) && !(st.hideExited && r.exited) && (st.user === null || r.user === st.user);
  const out: Line[] = [];
  const pushThreads = (p: ProcessRow, indent: string) => {
    if (!st.threads || p.threadsDetail.length < 2) return;
    const ts = sortRows(
      p.threadsDetail.map((t) => threadRow(p, t, '')),
      by,
      st.invert,
    );
    ts.forEach((t, i) => {
      const pre = indent + (i === ts.length - 1 ? glyphs.last : glyphs.tee);
      out.push({ key: `t${t.pid}`, row: { ...t, cmdline: `${pre}${t.comm}` }, proc: p, thread: true, prefix: pre, children: 0, collapsed: false });
    });
  };
  if (!st.tree) {
    for (const r of sortRows(rows, by, st.invert)) {
      if (!shown(r) || !matches(r, st.filter)) continue;
      out.push({ key: procKey(r), row: r, proc: r, thread: false, prefix: '', children: 0, collapsed: false });
      pushThreads(r, '  ');
    }
    return out;
  }
  // Tree: a filter keeps a match's ancestors so the family stays readable.
  const roots = buildForest(rows, cumulative);
  const keep = new Set<Node>();
  const mark = (n: Node): boolean => {
    let any = shown(n.row) && matches(n.row, st.filter);
    for (const k of n.kids) if (mark(k)) any = true;
    if (any && shown(n.row)) keep.add(n);
    return any && shown(n.row);
  };
  for (const r of roots) mark(r);
  const order = (ns: Node[]) => {
    const byRow = new Map(ns.map((n) => [n.row, n] as const));
    return sortRows(
      ns.map((n) => n.row),
      by,
      st.invert,
    ).map((r) => byRow.get(r)!);
  };
  const walk = (n: Node, indent: string, branch: string) => {
    const key = procKey(n.row);
    // a family: children now, or (since attach) children that exited
    const collapsed = (n.kids.length > 0 || n.family !== n.row.v) && st.collapsed.has(key);
    const prefix = indent + branch;
    const row = collapsed ? familyRow(n) : n.row;
    out.push({ key, row: prefix ? { ...row, cmdline: `${prefix}${row.cmdline || row.comm}` } : row, proc: n.row, thread: false, prefix, children: n.kids.length, collapsed });
    const childIndent = indent + (branch === glyphs.tee ? glyphs.bar : branch ? '   ' : '');
    pushThreads(n.row, childIndent + (n.kids.length ? glyphs.bar : '   '));
    if (collapsed) return;
    const kids = order(n.kids.filter((k) => keep.has(k)));
    kids.forEach((k, i) => walk(k, childIndent, i === kids.length - 1 ? glyphs.last : glyphs.tee));
  };
  for (const r of order(roots.filter((n) => keep.has(n)))) walk(r, '', '');
  return out;
}

/** A cgroup line's key: its path (a process line's starts with p, a thread's with t). */
export const cgroupKey = (path: string) => `c${path}`;

/**
 * The cgroup view's lines. Flat: one line per cgroup holding processes, its
 * own members' sums. Tree: the hierarchy with the ancestors, each line its
 * subtree's sums (the kernel's files for a cgroup count its descendants too);
 * a filter (name or path) keeps a match's ancestors; `collapsed` hides a
 * subtree. Exited processes count in their cgroup's sums (hideExited hides
 * cgroups whose processes all exited), kernel threads' cgroup too unless hidden.
 */
export function buildCgroupLines(flat: CgroupRow[], st: ViewState, nameOf: (path: string) => string, glyphs: Glyphs = UNICODE, pressureOf?: (path: string) => Pressure | null | undefined): Line[] {
  const by = column(st.sort);
  const withPressure = (r: CgroupRow) => {
    if (pressureOf) r.pressure = pressureOf(r.path);
    return r;
  };
  const hit = (r: CgroupRow) => !st.filter || matches(r, st.filter) || r.path.toLowerCase().includes(st.filter.toLowerCase());
  const shown = (r: CgroupRow) => !(st.hideExited && r.pid === 0 && r.processes > 0);
  const line = (r: CgroupRow, prefix: string, children: number, collapsed: boolean): Line => ({
    key: cgroupKey(r.path),
    row: prefix ? { ...r, cmdline: `${prefix}${r.name}` } : r,
    proc: r,
    thread: false,
    prefix,
    children,
    collapsed,
  });
  if (!st.tree) return sortRows(flat.map(withPressure), by, st.invert).filter((r) => shown(r) && hit(r)).map((r) => line(r, '', 0, false));
  const out: Line[] = [];
  const keep = new Set<CgroupNode>();
  const mark = (n: CgroupNode): boolean => {
    withPressure(n.row);
    let any = hit(n.row) && shown(n.row);
    for (const k of n.kids) if (mark(k)) any = true;
    if (any) keep.add(n);
    return any;
  };
  const roots = cgroupForest(flat, nameOf);
  for (const r of roots) mark(r);
  const order = (ns: CgroupNode[]) => {
    const byRow = new Map(ns.map((n) => [n.row, n] as const));
    return sortRows(ns.map((n) => n.row), by, st.invert).map((r) => byRow.get(r)!);
  };
  const walk = (n: CgroupNode, indent: string, branch: string) => {
    const collapsed = n.kids.length > 0 && st.collapsed.has(cgroupKey(n.row.path));
    out.push(line(n.row, indent + branch, n.kids.length, collapsed));
    if (collapsed) return;
    const childIndent = indent + (branch === glyphs.tee ? glyphs.bar : branch ? '   ' : '');
    const kids = order(n.kids.filter((k) => keep.has(k)));
    kids.forEach((k, i) => walk(k, childIndent, i === kids.length - 1 ? glyphs.last : glyphs.tee));
  };
  for (const r of order(roots.filter((n) => keep.has(n)))) walk(r, '', '');
  return out;
}

/** The selected line's index: the line with the selection's key, else the nearest valid index. */
export function selectedIndex(lines: Line[], st: ViewState, fallback = 0): number {
  if (st.sel !== null) {
    const i = lines.findIndex((l) => l.key === st.sel);
    if (i >= 0) return i;
  }
  return Math.max(0, Math.min(fallback, lines.length - 1));
}

/** Keep the selection on screen: the first line to show for `height` rows. */
export function scrollTop(top: number, sel: number, height: number, count: number): number {
  let t = top;
  if (sel < t) t = sel;
  if (sel >= t + height) t = sel - height + 1;
  return Math.max(0, Math.min(t, Math.max(0, count - height)));
}

/** The next line after the selection (wrapping) whose command matches `text`, or -1. */
export function findNext(lines: Line[], from: number, text: string): number {
  if (!text) return -1;
  for (let k = 1; k <= lines.length; k++) {
    const i = (from + k) % lines.length;
    if (matches(lines[i].proc, text)) return i;
  }
  return -1;
}

/** A process a signal is meant for: pid and start, its identity. */
export interface Target {
  pid: number;
  startNs: number;
}

/**
 * What a line's tag and signal name: its process. A thread line too: kill(2)
 * on a thread's id signals its whole process anyway, and the process has the
 * start time that tells it from a later one with the same pid.
 */
export const lineTarget = (l: Line): Target => ({ pid: l.proc.pid, startNs: l.proc.startNs });

export const isTagged = (st: ViewState, t: Target): boolean => st.tagged.get(t.pid) === t.startNs;

/** The tags with `t` tagged or untagged. */
export function toggleTag(tagged: ReadonlyMap<number, number>, t: Target): ReadonlyMap<number, number> {
  const out = new Map(tagged);
  if (out.get(t.pid) === t.startNs) out.delete(t.pid);
  else out.set(t.pid, t.startNs);
  return out;
}

/**
 * The tags of processes still alive in `rows` (as htop drops a tag when its
 * process exits): a tag whose process exited, or whose pid now has a process
 * with another start, goes. The same map when nothing went.
 */
export function pruneTags(tagged: ReadonlyMap<number, number>, rows: ProcessRow[]): ReadonlyMap<number, number> {
  if (!tagged.size) return tagged;
  const live = new Set<number>();
  for (const r of rows) if (!r.exited && tagged.get(r.pid) === r.startNs) live.add(r.pid);
  if (live.size === tagged.size) return tagged;
  const out = new Map<number, number>();
  for (const [pid, start] of tagged) if (live.has(pid)) out.set(pid, start);
  return out;
}

/** The processes a signal goes to: the tagged ones, else the selected process. */
export function signalTargets(lines: Line[], st: ViewState, sel: number): Target[] {
  if (st.tagged.size) return [...st.tagged].map(([pid, startNs]) => ({ pid, startNs }));
  const l = lines[sel];
  if (!l || l.proc.exited) return [];
  return [lineTarget(l)];
}
