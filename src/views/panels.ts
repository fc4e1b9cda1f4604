// The TUI's overlays as pure text: menus, help, the drill-down of one
// process (identity, each subsystem's section, threads, children with their
// family totals, 60 s sparklines) and of one cgroup (its pressure, its
// processes and their threads). Tagged lines, each at most screen-wide.
import { PSI_RESOURCES, type CgroupRow } from '../cgroups';
import { column, fitColumns, headerLine, rowLine, sortRows } from '../columns';
import { fit, fmtBytes, fmtPct, printable } from '../format';
import type { Interval, ProcessRow } from '../model';
import { startedText } from '../procstart';
import type { RowLike, Values } from '../subsystems/types';
import { escapeTags } from './header';
import { buildForest, type Line } from './viewstate';

const HELP: [string, string][] = [
  ['Arrows PgUp PgDn Home End', 'move the selection (it follows the process across refreshes)'],
  ['<- ->', 'scroll the columns sideways'],
  ['F6  < >', 'sort column (menu, previous, next); click a title to sort by it'],
  ['I', 'invert the sort order'],
  ['P  M  T', 'sort by CPU%, resident memory, on-CPU time'],
  ['F3  /', 'search: jump to the next match of the name or command line'],
  ['F4  \\', 'filter: keep only matching processes (Esc clears)'],
  ['u', 'show one user\'s processes'],
  ['F5  t', 'tree view; a collapsed family shows its total, exited children included'],
  ['+  -', 'expand / collapse the selected family'],
  ['H', 'threads under their process'],
  ['K', 'hide / show kernel threads'],
  ['x', 'hide / show processes that exited this interval'],
  ['v', 'processes <-> cgroups: one line per service, container or pod (tree: t)'],
  ['c', 'rates <-> totals since ebtop started'],
  ['Space  U', 'tag the selected process / untag all'],
  ['F9  k', 'send a signal to the tagged or selected processes (asks first)'],
  ['Enter', 'drill into the selected process, or list the cgroup\'s processes (Esc returns)'],
  ['z', 'pause / resume the display (sampling goes on)'],
  ['d', 'refresh interval'],
  ['F2', 'setup: columns, colours, refresh (saved)'],
  ['F1  h  ?', 'this help'],
  ['F10  q', 'quit'],
];

export function helpLines(width: number): string[] {
  const out = [` {bold}ebtop keys{/bold} (any key closes)`, ''];
  for (const [k, what] of HELP) out.push(` {cyan-fg}${escapeTags(k.padEnd(26))}{/cyan-fg}${escapeTags(fit(what, Math.max(0, width - 28), 'left'))}`);
  out.push('', ` Colour cues: {red-fg}red{/red-fg} CPU saturation (run-queue wait high against on-CPU time), {yellow-fg}yellow{/yellow-fg} I/O latency spike,`);
  out.push(` {magenta-fg}magenta{/magenta-fg} retransmissions, dimmed: exited this interval. NO_COLOR or --no-color: bold/underline instead.`);
  out.push(` WAIT: {bold}bold{/bold} contention, I/O or the run queue (lock, disk, net, runq), {gray-fg}dimmed{/gray-fg} idleness (idle, sleep, poll, cond, child, signal).`);
  return out;
}

/** A menu: a title and items, the highlighted one in reverse, scrolled to stay visible. */
export function menuLines(title: string, items: string[], sel: number, width: number, maxHeight: number): string[] {
  const h = Math.max(1, Math.min(items.length, maxHeight - 1));
  const top = Math.max(0, Math.min(sel - Math.floor(h / 2), items.length - h));
  const out = [`{black-fg}{green-bg}${escapeTags(fit(printable(` ${title}`), width, 'left'))}{/green-bg}{/black-fg}`];
  for (let i = top; i < top + h; i++) {
    const text = escapeTags(fit(printable(` ${items[i]}`), width, 'left')); // user names come from the system
    out.push(i === sel ? `{black-fg}{cyan-bg}${text}{/cyan-bg}{/black-fg}` : text);
  }
  return out;
}

/**
 * 60 samples of each subsystem's spark series, per process. Recorded every
 * refresh for every process (any may be drilled into later), so without
 * garbage: one ring of LEN x series per process, found by pid (its start
 * time tells a reused pid apart), swept by generation.
 */
export class Sparks {
  static readonly LEN = 60;
  private specs: { label: string; value(r: Values): number; fmt(v: number): string }[] = [];
  private byPid = new Map<number, { startNs: number; gen: number; ring: Float64Array; n: number }>();
  private gen = 0;
  private readonly scratch: { v: Float64Array; spanNs: number; avail: ReadonlySet<string> } = { v: new Float64Array(0), spanNs: 0, avail: new Set() };

  add(iv: Interval, rows: ProcessRow[]): void {
    const specs = iv.subsystems.flatMap((s) => s.sparks ?? []);
    if (specs.length !== this.specs.length || specs.some((p, i) => p !== this.specs[i])) {
      this.specs = specs;
      this.byPid.clear();
    }
    const k = specs.length;
    const gen = ++this.gen;
    const v = this.scratch;
    v.spanNs = iv.intervalNs;
    for (const r of rows) {
      let s = this.byPid.get(r.pid);
      if (!s || s.startNs !== r.startNs) this.byPid.set(r.pid, (s = { startNs: r.startNs, gen, ring: new Float64Array(Sparks.LEN * k), n: 0 }));
      s.gen = gen;
      // rates whatever the view shows: this interval's values over the interval
      v.v = r.delta;
      v.avail = r.avail;
      const at = (s.n % Sparks.LEN) * k;
      for (let i = 0; i < k; i++) {
        const val = specs[i].value(v);
        s.ring[at + i] = Number.isFinite(val) ? val : 0;
      }
      s.n++;
    }
    for (const [pid, s] of this.byPid) if (s.gen !== gen) this.byPid.delete(pid);
  }

  /** label, last value, and the oldest-first values of a process's series */
  get(p: { pid: number; startNs: number }): { label: string; last: string; values: number[] }[] {
    const s = this.byPid.get(p.pid);
    if (!s || s.startNs !== p.startNs) return [];
    const k = this.specs.length;
    const count = Math.min(s.n, Sparks.LEN);
    return this.specs.map((spec, i) => {
      const values: number[] = [];
      for (let j = s.n - count; j < s.n; j++) values.push(s.ring[(j % Sparks.LEN) * k + i]);
      return { label: spec.label, last: count ? spec.fmt(values[values.length - 1]) : '-', values };
    });
  }
}

const BLOCKS = ' ▁▂▃▄▅▆▇█';

/** Values as a sparkline of block characters (ASCII digits without Unicode), scaled to their max. */
export function sparkline(values: number[], width: number, unicode = true): string {
  const vals = values.slice(-width);
  const max = Math.max(...vals, 0);
  const chars = unicode ? BLOCKS : ' .:-=+*#%@';
  const s = vals.map((v) => (max > 0 ? chars[Math.min(chars.length - 1, Math.round((v / max) * (chars.length - 1)))] : chars[0])).join('');
  return s.padStart(width);
}

/** The drill-down of one process: identity, each subsystem's section, threads, children, sparklines. */
export function drillLines(line: Line, iv: Interval, rows: ProcessRow[], width: number, height: number, sparks: Sparks, unicode: boolean): string[] {
  const p = line.proc;
  const out: string[] = [];
  const head = (t: string) => out.push(`{black-fg}{green-bg}${escapeTags(fit(printable(` ${t}`), width, 'left'))}{/green-bg}{/black-fg}`);
  const text = (t: string) => out.push(escapeTags(fit(printable(t), width, 'left')));
  head(`PID ${p.pid}  ${p.comm}${p.exited ? `  (exited${p.exitCode !== null ? `, status ${p.exitCode}` : ''}${p.late ? ', late charges' : ''})` : ''}   Esc: back`);
  text(` ${p.cmdline}`);
  text(` user ${p.user}  ppid ${p.ppid}  state ${p.state}  threads ${p.threads}  RES ${fmtBytes(p.rssBytes)}  cgroup ${p.cgroup || '-'}  started ${startedText(p.pid, p.startNs)}`);
  for (const s of iv.subsystems) {
    const lines = s.drill?.(p, iv, width);
    if (lines?.length) for (const l of lines) out.push(l);
  }
  const series = sparks.get(p);
  if (series.length) {
    head(`Last ${Sparks.LEN} s`);
    for (const s of series) out.push(` ${escapeTags(s.label.padEnd(8))}${sparkline(s.values, Math.max(10, width - 24), unicode)} ${escapeTags(s.last.padStart(12))}`);
  }
  const cols = fitColumns(['pid', 'cpu', 'oncpu', 'runq', 'offcpu', 'disk_r', 'disk_w', 'net_tx', 'net_rx', 'wait', 'cmd'].filter(has).map(column), width);
  const rowText = (r: RowLike) => escapeTags(fit(cols.map((c) => fit(c.needs === null || r.avail.has(c.needs) ? c.text(r) : 'n/a', c.width || 20, c.align)).join(' '), width, 'left'));
  const title = escapeTags(fit(cols.map((c) => fit(c.title, c.width || 20, c.align)).join(' '), width, 'left'));
  if (p.threadsDetail.length) {
    head(`Threads (${p.threadsDetail.length})`);
    out.push(`{bold}${title}{/bold}`);
    const threads = p.threadsDetail.map((t): RowLike => ({ ...p, pid: t.tid, comm: t.comm, cmdline: t.comm, exited: t.exited, v: t.v, spanNs: t.spanNs }));
    const cpuCol = column('cpu');
    threads.sort((a, b) => Number(cpuCol.value(b)) - Number(cpuCol.value(a)) || a.pid - b.pid);
    for (const t of threads.slice(0, 12)) out.push(rowText(t));
    if (threads.length > 12) text(` ... ${threads.length - 12} more`);
  }
  const node = findNode(buildForest(rows, iv.cumulative), p);
  if (node && node.kids.length) {
    head(`Children (${node.kids.length}), with their families`);
    out.push(`{bold}${title}{/bold}`);
    for (const k of node.kids.slice(0, 10)) out.push(rowText({ ...k.row, v: k.family, cmdline: `${k.row.cmdline}${k.size > 1 ? `  (+${k.size - 1})` : ''}` }));
    if (node.kids.length > 10) text(` ... ${node.kids.length - 10} more`);
    const fam: RowLike = { ...p, v: node.family };
    text(` family total: CPU ${column('cpu').text(fam)}%  on-CPU ${column('oncpu').text(fam)}  (${node.size} processes, exited ones included)`);
  }
  return out.slice(0, height);
}

function has(id: string): boolean {
  try {
    column(id);
    return true;
  } catch {
    return false;
  }
}

function findNode(roots: ReturnType<typeof buildForest>, p: ProcessRow): ReturnType<typeof buildForest>[number] | null {
  const stack = [...roots];
  while (stack.length) {
    const n = stack.pop()!;
    if (n.row === p) return n;
    stack.push(...n.kids);
  }
  return null;
}

/**
 * The drill-down of one cgroup: its path and name, its pressure over the
 * interval, and its processes (exited ones of the interval included) with
 * their threads, in the table's sort order and shown columns.
 */
export function cgroupDrillLines(c: CgroupRow, iv: Interval, columnIds: string[], sortId: string, invert: boolean, width: number, height: number): string[] {
  const out: string[] = [];
  const head = (t: string) => out.push(`{black-fg}{green-bg}${escapeTags(fit(printable(` ${t}`), width, 'left'))}{/green-bg}{/black-fg}`);
  const text = (t: string) => out.push(escapeTags(fit(printable(t), width, 'left')));
  const exited = c.members.filter((r) => r.exited).length;
  head(`cgroup ${c.name}   Esc: back`);
  text(` ${c.path}`);
  text(` processes ${c.members.length - exited} live, ${exited} exited this interval  threads ${c.threads}  RES ${fmtBytes(c.rssBytes)}  CPU ${column('cpu').text(c)}%  on-CPU ${column('oncpu').text(c)}`);
  const p = c.pressure;
  if (p === undefined || p === null) text(` pressure: ${c.path.includes(':/') ? 'none (a cgroup v1 group has no pressure files)' : 'no pressure files'}`);
  else
    text(
      ` pressure (share of the interval stalled, some / full): ` +
        PSI_RESOURCES.map((k) => `${k} ${p[k] ? `${fmtPct(p[k]!.somePct)}%/${p[k]!.fullPct === null ? '-' : `${fmtPct(p[k]!.fullPct!)}%`}` : '-'}`).join('  '),
    );
  const cols = fitColumns(columnIds.filter(has).map(column), width);
  const rowText = (r: RowLike) => escapeTags(printable(rowLine(cols, r, width)));
  head(`Processes (${c.members.length}) and their threads`);
  out.push(`{bold}${escapeTags(headerLine(cols, width))}{/bold}`);
  for (const r of sortRows(c.members, column(sortId), invert)) {
    if (out.length >= height) break;
    out.push(rowText(r));
    if (r.threadsDetail.length > 1)
      for (const t of r.threadsDetail) out.push(rowText({ ...r, pid: t.tid, comm: t.comm, cmdline: `  ${t.comm}`, exited: t.exited, v: t.v, spanNs: t.spanNs }));
  }
  return out.slice(0, height);
}
