// The header block, as htop draws it: per-CPU meters, memory and swap
// meters, and the summary (tasks, load, exits, each subsystem's system
// figures, ebtop's own cost). Pure: an interval in, tagged lines out, each
// exactly screen-wide.
import os from 'node:os';
import { fmtBytes, fmtCount, fmtDuration, fmtPct, printable } from '../format';
import type { Interval } from '../model';
import { CPU } from '../subsystems/cpu';

/** A styled run of text; style is a blessed tag name ('bold', 'cyan-fg', ...) or empty. */
export type Segment = [text: string, style?: string];

/** Rows below the header: a blank line, the column titles, the footer. */
export const CHROME_ROWS = 3;
/** Rows of the process table the header layout leaves at least. */
const MIN_TABLE_ROWS = 5;
/** Narrowest CPU meter: ` 63[|| 100%]`. */
const MIN_METER_WIDTH = 14;
/** Meters after the CPUs: memory and swap. */
const EXTRA_METERS = 2;

export function escapeTags(s: string): string {
  return s.indexOf('{') < 0 && s.indexOf('}') < 0 ? s : s.replace(/[{}]/g, (c) => (c === '{' ? '{open}' : '{close}'));
}

/** Segments to a tagged string of exactly `width` visible characters (truncated or padded). */
export function segments(parts: Segment[], width: number): string {
  let out = '';
  let left = width;
  for (const [raw, style] of parts) {
    if (left <= 0) break;
    const text = printable(raw.length > left ? raw.slice(0, left) : raw);
    left -= text.length;
    const esc = escapeTags(text);
    out += style ? `{${style}}${esc}{/${style}}` : esc;
  }
  return left > 0 ? out + ' '.repeat(left) : out;
}

/**
 * One htop-style meter, `label[||||||     23.4%]`, exactly `width` visible
 * characters. pct null: the source is unavailable (shows n/a); undefined: no
 * interval yet (empty). `text` replaces the percentage (e.g. 1.2G/8.0G).
 */
export function cpuMeter(label: string, pct: number | null | undefined, width: number, text?: string, colour = 'green-fg'): string {
  const inner = Math.max(0, width - label.length - 2);
  const value = pct === null ? 'n/a' : pct === undefined ? '' : (text ?? `${fmtPct(pct)}%`);
  const shown = value.length > inner ? '' : value;
  const filled = pct ? Math.min(inner, Math.round((inner * Math.min(100, Math.max(0, pct))) / 100)) : 0;
  const barRoom = inner - shown.length;
  const bars = Math.min(filled, barRoom);
  let s = `{cyan-fg}${label}{/cyan-fg}{bold}[{/bold}`;
  if (bars > 0) s += `{${colour}}${'|'.repeat(bars)}{/${colour}}`;
  s += ' '.repeat(barRoom - bars);
  s += shown;
  return s + '{bold}]{/bold}';
}

export interface HeaderLayout {
  /** CPU meter columns */
  cols: number;
  /** CPU meter rows */
  rows: number;
  /** true: the summary sits right of the meters (few CPUs); false: under them, two per line */
  beside: boolean;
  /** true: too many CPUs for the screen, one average meter instead */
  average: boolean;
  /** total header rows */
  height: number;
}

export function headerLayout(ncpu: number, width: number, height: number, infoLines = 7): HeaderLayout {
  if (ncpu <= 8) {
    return { cols: 1, rows: ncpu, beside: true, average: false, height: Math.max(ncpu + EXTRA_METERS, infoLines) };
  }
  const infoRows = Math.ceil(infoLines / 2) + 1; // + the memory/swap line
  const maxRows = Math.max(1, height - infoRows - CHROME_ROWS - MIN_TABLE_ROWS);
  const maxCols = Math.max(1, Math.floor(width / MIN_METER_WIDTH));
  const cols = Math.max(2, Math.ceil(ncpu / maxRows));
  if (cols > maxCols) return { cols: 1, rows: 1, beside: false, average: true, height: 1 + infoRows };
  const rows = Math.ceil(ncpu / cols);
  return { cols, rows, beside: false, average: false, height: rows + infoRows };
}

/** Per-CPU busy %, or null when there is no idle source. */
export function cpuPcts(iv: Interval): number[] | null {
  if (!iv.cpus) return null;
  return iv.cpus.map((c) => (iv.intervalNs > 0 ? (c.busyNs / iv.intervalNs) * 100 : 0));
}

function pctSmall(p: number): string {
  return p < 10 ? p.toFixed(2) : fmtPct(p);
}

/** Seconds as htop shows uptime: 01:02:03, or 3 days, 01:02:03. */
export function fmtUptime(seconds: number): string {
  const s = Math.floor(seconds);
  const hms = [Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60), s % 60].map((v) => String(v).padStart(2, '0')).join(':');
  const days = Math.floor(s / 86400);
  return days ? `${days} day${days > 1 ? 's' : ''}, ${hms}` : hms;
}

/** What the header shows besides the interval. */
export interface HeaderInfo {
  /** ebtop's own userspace CPU over the last interval, % of one CPU */
  selfCpuPct: number;
  delayMs: number;
  paused?: boolean;
  /** a recorded interval (ebtop replay): its machine's uptime then, not this one's now */
  recorded?: boolean;
}

/** Processes that exited in the interval and their CPU time (late rows are not new exits). */
export function exitedCpu(iv: Interval): { count: number; oncpuNs: number } {
  let oncpuNs = 0;
  for (const p of iv.processes) if (p.exited && !p.late) oncpuNs += p.v[CPU.at.oncpu_ns];
  return { count: iv.system.exited, oncpuNs };
}

/** The summary block: tasks, load, exits, each subsystem's figures, ebtop's own cost, the interval. */
export function infoLines(iv: Interval | null, info: HeaderInfo): Segment[][] {
  const L = 'cyan-fg';
  if (!iv) {
    return [
      [['Tasks: ', L], ['-']],
      [['Load average: ', L], ['-']],
      [['Exited this interval: ', L], ['-']],
      [['Overhead: ', L], ['-']],
      [['Interval: ', L], [`first sample in ${fmtDuration(info.delayMs * 1e6)}`]],
    ];
  }
  const s = iv.system;
  const bpfPct = iv.intervalNs > 0 ? (s.bpf.runNs / iv.intervalNs) * 100 : 0;
  const time = new Date(iv.wallMs).toTimeString().slice(0, 8);
  const ex = exitedCpu(iv);
  const lines: Segment[][] = [
    [['Tasks: ', L], [String(s.tasks), 'bold'], [', '], [String(s.threads), 'bold'], [' thr; '], [String(s.running), 'green-fg'], [' running']],
    [['Load average: ', L], ...(s.loadavg ? s.loadavg.map((l, i): Segment => [`${l.toFixed(2)} `, i === 0 ? 'bold' : '']) : [['n/a'] as Segment]), ['  Uptime: '], [fmtUptime(info.recorded ? iv.monoNs / 1e9 : os.uptime()), 'bold']],
    [['Exited this interval: ', L], [String(ex.count), 'bold'], [` (${fmtDuration(ex.oncpuNs)} CPU)`], ['  forks '], [String(s.forks), 'bold'], ['  execs '], [String(s.execs), 'bold']],
  ];
  for (const sub of iv.subsystems) {
    const sum = sub.summary?.(iv);
    if (sum) lines.push([[`${sum.label}: `, L], [sum.text, 'bold']]);
  }
  // ~: estimated from a window of the interval (statistics sampled on a busy machine, bpfstats.ts)
  const est = s.bpf.sampled ? '~' : '';
  const bpf: Segment[] = [['Overhead: ', L], ['ebtop '], [`${fmtPct(info.selfCpuPct)}%`, 'bold'], [' + bpf '], [`${est}${pctSmall(bpfPct)}%`, 'bold'], [` cpu, ${est}${fmtCount(s.bpf.events)} runs, `], [String(s.bpf.lost), s.bpf.lost > 0 ? 'red-fg' : 'bold'], [' lost']];
  if (s.lostThreads > 0) bpf.push([', '], [String(s.lostThreads), 'yellow-fg'], [' vanished']);
  // over the budget (--budget): what was shed in the interval, whose columns are n/a for it
  if (iv.shed?.length) bpf.push([', shed: '], [iv.shed.join(', '), 'yellow-fg']);
  lines.push(bpf);
  lines.push(
    iv.cumulative
      ? [['Since start: ', L], [fmtDuration(iv.elapsedNs), 'bold'], [`  ${time}`], ...(info.paused ? [['  PAUSED', 'red-fg'] as Segment] : [])]
      : [['Interval: ', L], [fmtDuration(iv.intervalNs), 'bold'], [`  ${time}`], ...(info.paused ? [['  PAUSED', 'red-fg'] as Segment] : [])],
  );
  return lines;
}

/** Memory and swap meters: used (total - available) of total. */
function memMeters(iv: Interval | null, width: number): [string, string] {
  const m = iv?.system.mem;
  if (!m || !m.totalBytes) return [cpuMeter('Mem', iv ? null : undefined, width), cpuMeter('Swp', iv ? null : undefined, width)];
  const used = m.totalBytes - m.availableBytes;
  const swapUsed = m.swapTotalBytes - m.swapFreeBytes;
  return [
    cpuMeter('Mem', (used / m.totalBytes) * 100, width, `${fmtBytes(used)}/${fmtBytes(m.totalBytes)}`),
    cpuMeter('Swp', m.swapTotalBytes ? (swapUsed / m.swapTotalBytes) * 100 : 0, width, `${fmtBytes(swapUsed)}/${fmtBytes(m.swapTotalBytes)}`, 'red-fg'),
  ];
}

/** The whole header block as tagged lines, each `width` visible characters. */
export function headerBlock(iv: Interval | null, ncpu: number, info: HeaderInfo, width: number, height: number): string[] {
  const text = infoLines(iv, info);
  const lay = headerLayout(ncpu, width, height, text.length);
  const pcts = iv ? cpuPcts(iv) : undefined; // undefined: waiting; null: n/a
  const pctOf = (i: number) => (pcts === undefined ? undefined : pcts === null ? null : (pcts[i] ?? null));
  const digits = String(Math.max(0, ncpu - 1)).length;
  const lines: string[] = [];
  if (lay.beside) {
    const half = Math.floor(width / 2);
    const meterW = half - 2;
    const infoW = width - half - 2;
    const mem = memMeters(iv, meterW);
    for (let r = 0; r < lay.height; r++) {
      const label = ` ${String(r).padStart(Math.max(digits, 2))}`;
      const meter = r < ncpu ? cpuMeter(label, pctOf(r), meterW) : r < ncpu + EXTRA_METERS ? mem[r - ncpu] : ' '.repeat(meterW);
      const t = r < text.length ? segments(text[r], infoW) : ' '.repeat(infoW);
      lines.push(` ${meter}  ${t} `);
    }
    return lines;
  }
  if (lay.average) {
    let avg: number | null | undefined = pcts === undefined ? undefined : null;
    if (pcts) avg = pcts.reduce((a, b) => a + b, 0) / Math.max(1, pcts.length);
    lines.push(` ${cpuMeter(`avg of ${ncpu} cpus`, avg, width - 2)} `);
  } else {
    const colW = Math.floor((width - 1) / lay.cols);
    for (let r = 0; r < lay.rows; r++) {
      let line = ' ';
      for (let c = 0; c < lay.cols; c++) {
        const i = c * lay.rows + r; // column-major, like htop
        line += i < ncpu ? cpuMeter(String(i).padStart(digits), pctOf(i), colW - 1) + ' ' : ' '.repeat(colW);
      }
      lines.push(line + ' '.repeat(Math.max(0, width - 1 - lay.cols * colW)));
    }
  }
  const half = Math.floor(width / 2);
  const [mem, swp] = memMeters(iv, half - 2);
  lines.push(` ${mem} ${swp}${' '.repeat(Math.max(0, width - 2 - (half - 2) - (half - 2)))}`);
  for (let i = 0; i < text.length; i += 2) {
    const left = segments(text[i], half - 2);
    const right = i + 1 < text.length ? segments(text[i + 1], width - half) : ' '.repeat(width - half);
    lines.push(` ${left} ${right}`);
  }
  return lines;
}

/** Where a recording is (ebtop replay): its bounds, the shown moment, and its system totals per frame. */
export interface ReplayPosition {
  wallMs: number;
  intervalNs: number;
  firstMs: number;
  lastMs: number;
  playing: boolean;
  /** the shown interval's place among the recording's (1-based), and their number */
  ordinal: number;
  intervals: number;
}

export interface TimelinePoint {
  wallMs: number;
  cpu: number;
  diskBytes: number;
  netBytes: number;
}

const localTime = (ms: number) => {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
};

/**
 * The replay lines over the header: the recorded moment shown, then the
 * whole recording's CPU, disk and network as one row each (the highest value
 * in each column of time, scaled to the row's peak), the shown moment marked.
 */
export function replayLines(pos: ReplayPosition, points: TimelinePoint[], width: number, unicode: boolean): string[] {
  const state = pos.playing ? 'playing' : 'paused';
  const head = ` REPLAY ${localTime(pos.wallMs)} (${fmtDuration(pos.intervalNs)} interval ending then, ${pos.ordinal} of ${pos.intervals}) · ${state} · recorded ${localTime(pos.firstMs)} to ${localTime(pos.lastMs)} · t/T step  space play  g jump`;
  const lines = [`{bold}${escapeTags(fitText(head, width))}{/bold}`];
  const label = 5;
  const cols = Math.max(1, width - label - 14); // room for ' peak 123.4 MiB'
  const span = Math.max(1, pos.lastMs - pos.firstMs);
  const colOf = (ms: number) => Math.max(0, Math.min(cols - 1, Math.floor(((ms - pos.firstMs) / span) * cols)));
  const here = colOf(pos.wallMs);
  const levels = unicode ? ' ▁▂▃▄▅▆▇█' : ' .:-=+*#@';
  for (const [name, get, fmt] of [
    ['CPU', (p: TimelinePoint) => p.cpu, (v: number) => `${(v * 100).toFixed(0)}%`],
    ['Disk', (p: TimelinePoint) => p.diskBytes, fmtBytes],
    ['Net', (p: TimelinePoint) => p.netBytes, fmtBytes],
  ] as const) {
    const col = new Array<number>(cols).fill(0);
    let peak = 0;
    // each interval fills the columns of its own span (a short recording has more columns than intervals)
    for (let i = 0; i < points.length; i++) {
      const v = get(points[i]);
      if (!(v > 0)) continue;
      const to = colOf(points[i].wallMs);
      const from = i > 0 ? Math.min(to, colOf(points[i - 1].wallMs) + 1) : to;
      for (let c = from; c <= to; c++) if (v > col[c]) col[c] = v;
      if (v > peak) peak = v;
    }
    const chars = col.map((v) => levels[peak > 0 ? Math.min(levels.length - 1, Math.ceil((v / peak) * (levels.length - 1))) : 0]);
    const bar = chars.map((c, i) => (i === here ? `{inverse}${escapeTags(c)}{/inverse}` : escapeTags(c))).join('');
    lines.push(` ${name.padEnd(label - 1)}${bar} ${escapeTags(peak > 0 ? `peak ${fmt(peak)}` : '')}`);
  }
  return lines;
}

function fitText(s: string, width: number): string {
  return s.length <= width ? s : s.slice(0, Math.max(0, width));
}
