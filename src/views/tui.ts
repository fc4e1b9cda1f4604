// The interactive view: an htop-style screen drawn with blessed.
//
// Cost model (see DESIGN.md, "Userspace budget"): rendering is most of ebtop's
// CPU, so the widgets are created once (one screen, a header box, a column
// header row, one box for the rows, a footer), each row string is built at most
// once per interval and only for the rows that fit on screen, and the screen is
// drawn at most once per turn of the event loop (one interval, or a burst of
// keys, gives one render).
//
// Terminal ownership: everything that can end the process (q, F10, Ctrl-C,
// SIGINT/SIGTERM/SIGHUP/SIGQUIT, a sampling error, an uncaught exception, exit)
// goes through restore(), which is idempotent and the only place that stops
// the session and hands the terminal back.
import blessed from 'blessed';
import fs from 'node:fs';
import os from 'node:os';
import tty from 'node:tty';
import { DEFAULT_COLUMNS, column, headerLine, rowLine, sortRows, sourcesFor, threadAsRow, type Column } from '../columns';
import { describe } from '../collector';
import { UserError } from '../errors';
import { fmtCount, fmtDuration, fmtPct } from '../format';
import type { Logger } from '../log';
import type { Interval, ProcessRow } from '../model';
import { onlineCpuCount } from '../procfs';
import { Session } from '../session';

export interface TuiOptions {
  log: Logger;
  delayMs: number;
  cumulative: boolean;
  pids?: Set<number>;
  sort: string;
  threads: boolean;
  /** subsystems switched off (--no-<name>) */
  disabled?: ReadonlySet<string>;
}

export const MIN_WIDTH = 80;
export const MIN_HEIGHT = 15;

/** Lines of the summary block next to (or under) the CPU meters. */
const INFO_LINES = 6;
/** Rows below the header: a blank line, the column titles, the footer. */
const CHROME_ROWS = 3;
/** Rows of the process table the header layout leaves at least. */
const MIN_TABLE_ROWS = 5;
/** Narrowest CPU meter: ` 63[|| 100%]`. */
const MIN_METER_WIDTH = 14;

// ---------------------------------------------------------------- pure parts

/** Throws a UserError when the terminal cannot hold the view; called before blessed takes it over. */
export function checkTerminal(out: { isTTY?: boolean; columns?: number; rows?: number }): void {
  if (!out.isTTY) throw new UserError('the interactive view needs a terminal; use --batch or --json');
  const w = out.columns ?? 0;
  const h = out.rows ?? 0;
  if (w < MIN_WIDTH || h < MIN_HEIGHT) throw new UserError(`terminal too small (${w}x${h}); need at least ${MIN_WIDTH}x${MIN_HEIGHT}`);
}

/** A styled run of text; style is a blessed tag name ('bold', 'cyan-fg', ...) or empty. */
export type Segment = [text: string, style?: string];

/** Segments to a tagged string of exactly `width` visible characters (truncated or padded). */
export function segments(parts: Segment[], width: number): string {
  let out = '';
  let left = width;
  for (const [raw, style] of parts) {
    if (left <= 0) break;
    const text = raw.length > left ? raw.slice(0, left) : raw;
    left -= text.length;
    const esc = escapeTags(text);
    out += style ? `{${style}}${esc}{/${style}}` : esc;
  }
  return left > 0 ? out + ' '.repeat(left) : out;
}

export function escapeTags(s: string): string {
  return s.indexOf('{') < 0 && s.indexOf('}') < 0 ? s : s.replace(/[{}]/g, (c) => (c === '{' ? '{open}' : '{close}'));
}

/**
 * One htop-style meter, `label[||||||     23.4%]`, exactly `width` visible
 * characters. pct null: the source is unavailable (shows n/a); undefined: no
 * interval yet (empty).
 */
export function cpuMeter(label: string, pct: number | null | undefined, width: number): string {
  const inner = Math.max(0, width - label.length - 2);
  const text = pct === null ? 'n/a' : pct === undefined ? '' : `${fmtPct(pct)}%`;
  const shown = text.length > inner ? '' : text;
  const filled = pct ? Math.min(inner, Math.round((inner * Math.min(100, Math.max(0, pct))) / 100)) : 0;
  const barRoom = inner - shown.length;
  const bars = Math.min(filled, barRoom);
  let s = `{cyan-fg}${label}{/cyan-fg}{bold}[{/bold}`;
  if (bars > 0) s += `{green-fg}${'|'.repeat(bars)}{/green-fg}`;
  s += ' '.repeat(barRoom - bars);
  s += shown;
  return s + '{bold}]{/bold}';
}

export interface HeaderLayout {
  /** meter columns */
  cols: number;
  /** meter rows */
  rows: number;
  /** true: the summary sits right of the meters (few CPUs); false: under them, two per line */
  beside: boolean;
  /** true: too many CPUs for the screen, one average meter instead */
  average: boolean;
  /** total header rows */
  height: number;
}

export function headerLayout(ncpu: number, width: number, height: number): HeaderLayout {
  if (ncpu <= 8) {
    return { cols: 1, rows: ncpu, beside: true, average: false, height: Math.max(ncpu, INFO_LINES) };
  }
  const infoRows = Math.ceil(INFO_LINES / 2);
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

/** The summary block: tasks, load, exits, ebtop's own overhead, BPF health, interval. */
export function infoLines(iv: Interval | null, selfCpuPct: number, delayMs: number): Segment[][] {
  const L = 'cyan-fg';
  if (!iv) {
    return [[['Tasks: ', L], ['-']], [['Load average: ', L], ['-']], [['Exited: ', L], ['-']], [['Overhead: ', L], ['-']], [['BPF: ', L], ['-']], [['Interval: ', L], [`first sample in ${fmtDuration(delayMs * 1e6)}`]]];
  }
  const s = iv.system;
  const bpfPct = iv.intervalNs > 0 ? (s.bpf.runNs / iv.intervalNs) * 100 : 0;
  const time = new Date(iv.wallMs).toTimeString().slice(0, 8);
  const bpf: Segment[] = [['BPF: ', L], [fmtCount(s.bpf.events), 'bold'], [' runs, '], [String(s.bpf.lost), s.bpf.lost > 0 ? 'red-fg' : 'bold'], [' lost']];
  if (s.lostThreads > 0) bpf.push([', '], [String(s.lostThreads), 'yellow-fg'], [' vanished']);
  return [
    [['Tasks: ', L], [String(s.tasks), 'bold'], [', '], [String(s.threads), 'bold'], [' thr; '], [String(s.running), 'green-fg'], [' running']],
    [['Load average: ', L], ...(s.loadavg ? s.loadavg.map((l, i): Segment => [`${l.toFixed(2)} `, i === 0 ? 'bold' : '']) : [['n/a'] as Segment]), ['  Uptime: '], [fmtUptime(os.uptime()), 'bold']],
    [['Exited: ', L], [String(s.exited), 'bold'], ['  forks '], [String(s.forks), 'bold'], ['  execs '], [String(s.execs), 'bold']],
    [['Overhead: ', L], ['ebtop '], [`${fmtPct(selfCpuPct)}%`, 'bold'], [' + bpf '], [`${pctSmall(bpfPct)}%`, 'bold'], [' cpu']],
    bpf,
    iv.cumulative
      ? [['Since start: ', L], [fmtDuration(iv.elapsedNs), 'bold'], [`  ${time}`]]
      : [['Interval: ', L], [fmtDuration(iv.intervalNs), 'bold'], [`  ${time}`]],
  ];
}

/** The whole header block as tagged lines, each `width` visible characters. */
export function headerBlock(iv: Interval | null, ncpu: number, selfCpuPct: number, delayMs: number, width: number, height: number): string[] {
  const lay = headerLayout(ncpu, width, height);
  const pcts = iv ? cpuPcts(iv) : undefined; // undefined: waiting; null: n/a
  const info = infoLines(iv, selfCpuPct, delayMs);
  const pctOf = (i: number) => (pcts === undefined ? undefined : pcts === null ? null : (pcts[i] ?? null));
  const digits = String(Math.max(0, ncpu - 1)).length;
  const lines: string[] = [];
  if (lay.beside) {
    const half = Math.floor(width / 2);
    const meterW = half - 2;
    const infoW = width - half - 2;
    for (let r = 0; r < lay.height; r++) {
      const meter = r < ncpu ? cpuMeter(` ${String(r).padStart(digits)}`, pctOf(r), meterW) : ' '.repeat(meterW);
      const text = r < info.length ? segments(info[r], infoW) : ' '.repeat(infoW);
      lines.push(` ${meter}  ${text} `);
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
  for (let i = 0; i < info.length; i += 2) {
    const left = segments(info[i], half - 2);
    const right = i + 1 < info.length ? segments(info[i + 1], width - half) : ' '.repeat(width - half);
    lines.push(` ${left} ${right}`);
  }
  return lines;
}

/**
 * The column titles as a tagged line: the sort column gets its own
 * background and an arrow for the direction where its cell has room.
 */
export function titleLine(cols: Column[], sortBy: Column, descending: boolean, width: number, unicode: boolean): string {
  const arrow = descending ? (unicode ? '▼' : 'v') : unicode ? '▲' : '^';
  const shown = cols.map((c) => {
    if (c.id !== sortBy.id) return c;
    const room = c.width === 0 || c.title.length < c.width;
    return room ? { ...c, title: c.align === 'right' ? arrow + c.title : c.title + arrow } : c;
  });
  const plain = headerLine(shown, width);
  // Cell spans as columns.ts lays them out: widths joined by single spaces, the 0-width one takes the rest.
  let pos = 0;
  for (let i = 0; i < shown.length; i++) {
    const c = shown[i];
    if (i > 0) pos += 1;
    const w = c.width || Math.max(0, width - pos);
    if (c.id === sortBy.id) {
      const end = Math.min(plain.length, pos + w);
      return `${plain.slice(0, pos)}{cyan-bg}${plain.slice(pos, end)}{/cyan-bg}${plain.slice(end)}`;
    }
    pos += w;
  }
  return plain; // sorting by a column that is not shown
}

export const KEYS: Array<[key: string, label: string]> = [
  ['F6', 'SortBy'],
  ['<>', 'Column'],
  ['I', 'Invert'],
  ['P', 'CPU%'],
  ['T', 'ONCPU'],
  ['H', 'Threads'],
  ['K', 'Kernel'],
  ['F10', 'Quit'],
];

function footerLine(sortBy: Column, descending: boolean, threads: boolean | null, hideKernel: boolean, width: number): string {
  // threads null: no per-thread rows were collected (no --threads), so no H key
  const keys = threads === null ? KEYS.filter(([k]) => k !== 'H') : KEYS;
  let s = '';
  for (const [k, label] of keys) s += `{white-fg}{black-bg}${escapeTags(k)}{/black-bg}{/white-fg}${label.padEnd(label.length + 1)}`;
  const state = `sort ${sortBy.title} ${descending ? 'desc' : 'asc'}${threads ? ', threads' : ''}${hideKernel ? ', kernel hidden' : ''} `;
  const used = keys.reduce((n, [k, l]) => n + k.length + l.length + 1, 0);
  return used + state.length <= width ? s + ' '.repeat(width - used - state.length) + state : s;
}

// ---------------------------------------------------------------- the view

interface Item {
  /** selection identity: p<pid> for a process, t<tid> for one of its threads */
  key: string;
  row: ProcessRow;
  /** the row's text for the current width, built on first display */
  line?: string;
}

export function runTui(opts: TuiOptions): void {
  const { log } = opts;
  // Everything that can fail with a one-line message happens before the screen exists.
  checkTerminal(process.stdout);
  const cols = DEFAULT_COLUMNS.map(column);
  // threads: the model builds per-thread rows only when asked (for --threads / H);
  // sources: only what the shown columns need is attached
  const sessionOpts = { log, delayMs: opts.delayMs, cumulative: opts.cumulative, pids: opts.pids, threads: opts.threads, sources: sourcesFor(cols), disabled: opts.disabled };
  const session = new Session(sessionOpts);

  let screen: blessed.Widgets.Screen | undefined;
  let restored = false;
  let renderPending: NodeJS.Immediate | undefined;

  /** The one place that ends the session and gives the terminal back. Idempotent. */
  const restore = (): void => {
    if (restored) return;
    restored = true;
    if (renderPending) clearImmediate(renderPending);
    try {
      session.stop();
    } catch (e) {
      log.error({ err: e }, 'closing the session failed');
    }
    if (!screen) return;
    try {
      screen.destroy(); // normal buffer, cursor shown, keypad off, raw mode off
    } catch (e) {
      log.error({ err: e }, 'restoring the terminal through blessed failed');
      try {
        if (process.stdin.isTTY && process.stdin.isRaw) process.stdin.setRawMode(false);
        process.stdout.write('\x1b[?1049l\x1b[?25h\x1b[0m');
      } catch {
        /* the terminal is gone (SIGHUP) */
      }
    }
  };
  const quit = (code: number, message?: string): never => {
    restore();
    if (message) process.stderr.write(`${message}\n`);
    process.exit(code);
  };
  const crash = (e: unknown): void => {
    log.fatal({ err: e }, 'crash');
    quit(1, `ebtop: internal error: ${e instanceof Error ? e.message : String(e)} (see the log)`);
  };

  process.on('exit', restore);
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGQUIT'] as const) {
    process.on(sig, () => {
      log.info({ signal: sig }, 'quit on signal');
      quit(0);
    });
  }
  // The terminal went away (ssh dropped, window closed). Nothing is left to
  // restore, and Node 20 aborts at exit when it cannot reset a hung-up tty
  // (nodejs/node#51519, fixed in later releases by #58200): close the tty
  // descriptors so its exit-time reset skips them.
  const ttyFds = [0, 1, 2].filter((fd) => tty.isatty(fd));
  process.on('SIGHUP', () => {
    log.info({ signal: 'SIGHUP' }, 'quit on hangup');
    restore();
    for (const fd of ttyFds) {
      try {
        fs.closeSync(fd);
      } catch {
        /* already gone */
      }
    }
    process.exit(0);
  });

  let sortBy = column(opts.sort);
  let invert = false;
  let showThreads = opts.threads;
  /** htop's K: hide kernel threads */
  let hideKernel = false;

  let iv: Interval | null = null;
  let rows: ProcessRow[] = [];
  let items = new Map<ProcessRow, Item>();
  let view: Item[] = [];
  let selKey: string | null = null;
  let selIdx = 0;
  let top = 0;
  let ncpu = onlineCpuCount();

  let header!: blessed.Widgets.BoxElement;
  let titles!: blessed.Widgets.BoxElement;
  let body!: blessed.Widgets.BoxElement;
  let footer!: blessed.Widgets.BoxElement;
  let unicode = false;
  /** tag for de-emphasised text (exited rows): grey where the terminal has it */
  let dim = 'gray-fg';

  try {
    screen = blessed.screen({
      input: process.stdin,
      output: process.stdout,
      smartCSR: true,
      useBCE: true,
      fullUnicode: false,
      warnings: false,
      title: 'ebtop',
      autoPadding: false,
    });
    const tput = (screen.program as unknown as { tput: unknown }).tput as { unicode?: boolean; brokenACS?: boolean; colors: number; numbers?: Record<string, number> };
    unicode = Boolean(tput.unicode || tput.numbers?.U8 === 1);
    // A UTF-8 terminal draws box characters itself: skip blessed's ACS
    // translation (what NCURSES_NO_UTF8_ACS=1 does for ncurses).
    if (unicode) tput.brokenACS = true;
    // blessed cannot parse ncurses 6 terminfo files (extended number format,
    // e.g. tmux-256color on Debian 12+) and falls back to its 8-colour xterm
    // entry, which would draw grey as black. Trust the terminal's own claim.
    if (tput.colors < 256 && (/256col|direct/.test(process.env.TERM ?? '') || /truecolor|24bit/.test(process.env.COLORTERM ?? ''))) {
      tput.colors = Math.max(tput.colors, 256);
    }
    dim = tput.colors >= 16 ? 'gray-fg' : 'blue-fg';
    const box = (o: blessed.Widgets.BoxOptions) => blessed.box({ parent: screen, left: 0, width: '100%', tags: true, wrap: false, ...o });
    header = box({ top: 0, height: 1 });
    titles = box({ top: 1, height: 1, style: { fg: 'black', bg: 'green' } });
    body = box({ top: 2, height: 1 });
    footer = box({ bottom: 0, height: 1, style: { fg: 'black', bg: 'cyan' } });
  } catch (e) {
    restore();
    throw e;
  }
  const scr = screen;

  const debug = log.isLevelEnabled('debug');
  const descending = () => sortBy.descending !== invert;

  /** Sort and flatten the current rows; the selection follows its key. */
  const rebuildView = () => {
    const next: Item[] = [];
    for (const r of sortRows(rows, sortBy, invert)) {
      if (hideKernel && r.kthread) continue;
      let it = items.get(r);
      if (!it) items.set(r, (it = { key: `p${r.pid}:${r.startNs}`, row: r }));
      next.push(it);
      if (showThreads && r.threadsDetail.length > 1) {
        // Sort the threads, then draw the tree: the last one gets the closing branch.
        const byTid = new Map(r.threadsDetail.map((t) => [t.tid, t] as const));
        const sorted = sortRows(r.threadsDetail.map((t) => threadAsRow(r, t, false, unicode)), sortBy, invert);
        sorted.forEach((row, i) => {
          const last = i === sorted.length - 1;
          next.push({ key: `t${row.pid}`, row: last ? threadAsRow(r, byTid.get(row.pid)!, true, unicode) : row });
        });
      }
    }
    view = next;
    const found = selKey === null ? -1 : view.findIndex((it) => it.key === selKey);
    selIdx = found >= 0 ? found : Math.max(0, Math.min(selIdx, view.length - 1));
    selKey = view[selIdx]?.key ?? null;
  };

  const bodyRows = () => Math.max(1, (body.height as number) || 1);

  const layout = () => {
    const width = scr.width as number;
    const height = scr.height as number;
    const lay = headerLayout(ncpu, width, height);
    header.top = 0;
    header.height = lay.height;
    titles.top = lay.height + 1;
    body.top = lay.height + 2;
    body.height = Math.max(1, height - lay.height - CHROME_ROWS);
    for (const it of items.values()) it.line = undefined;
    for (const it of view) it.line = undefined; // thread rows are not in items
  };

  const draw = () => {
    renderPending = undefined;
    if (restored) return;
    const t0 = debug ? process.hrtime.bigint() : 0n;
    const width = scr.width as number;
    const height = scr.height as number;
    header.setContent(headerBlock(iv, ncpu, session.selfCpuPct, opts.delayMs, width, height).join('\n'));
    titles.setContent(titleLine(cols, sortBy, descending(), width, unicode));
    footer.setContent(footerLine(sortBy, descending(), opts.threads ? showThreads : null, hideKernel, width));
    const n = bodyRows();
    if (!iv) {
      body.setContent(` collecting the first interval (${fmtDuration(opts.delayMs * 1e6)})...`);
    } else {
      if (selIdx < top) top = selIdx;
      if (selIdx >= top + n) top = selIdx - n + 1;
      top = Math.max(0, Math.min(top, view.length - n));
      const out: string[] = [];
      const end = Math.min(view.length, top + n);
      for (let i = top; i < end; i++) {
        const it = view[i];
        it.line ??= escapeTags(rowLine(cols, it.row, width));
        if (i === selIdx) out.push(`{black-fg}{cyan-bg}${it.line}{/cyan-bg}{/black-fg}`);
        else if (it.row.exited) out.push(`{${dim}}${it.line}{/${dim}}`);
        else out.push(it.line);
      }
      body.setContent(out.join('\n'));
    }
    scr.render();
    if (debug) log.debug({ ms: Number(process.hrtime.bigint() - t0) / 1e6, rows: view.length }, 'draw');
  };

  /** Coalesce: one render per turn of the event loop, whatever asked for it. */
  const requestDraw = () => {
    if (!renderPending && !restored) renderPending = setImmediate(draw);
  };

  const moveSel = (to: number) => {
    if (!view.length) return;
    selIdx = Math.max(0, Math.min(view.length - 1, to));
    selKey = view[selIdx].key;
    requestDraw();
  };
  const setSort = (c: Column) => {
    if (c.id !== sortBy.id) invert = false;
    sortBy = c;
    rebuildView();
    requestDraw();
  };
  const shiftSort = (step: number, wrap: boolean) => {
    const i = cols.findIndex((c) => c.id === sortBy.id);
    let j = i < 0 ? (step > 0 ? 0 : cols.length - 1) : i + step;
    if (wrap) j = (j + cols.length) % cols.length;
    else j = Math.max(0, Math.min(cols.length - 1, j));
    setSort(cols[j]);
  };

  scr.on('keypress', (ch: string | undefined, key: { name?: string; full?: string } | undefined) => {
    const name = key?.name;
    if (ch === 'q' || name === 'f10' || key?.full === 'C-c') return void quit(0);
    switch (name) {
      case 'up':
        return moveSel(selIdx - 1);
      case 'down':
        return moveSel(selIdx + 1);
      case 'pageup':
        return moveSel(selIdx - bodyRows());
      case 'pagedown':
        return moveSel(selIdx + bodyRows());
      case 'home':
        return moveSel(0);
      case 'end':
        return moveSel(view.length - 1);
      case 'f6':
        return shiftSort(1, true);
    }
    switch (ch) {
      case '<':
      case ',':
        return shiftSort(-1, false);
      case '>':
      case '.':
        return shiftSort(1, false);
      case 'P':
        return setSort(column('cpu'));
      case 'T':
        return setSort(column('oncpu'));
      case 'I':
        invert = !invert;
        rebuildView();
        return requestDraw();
      case 'K':
        hideKernel = !hideKernel;
        rebuildView();
        return requestDraw();
      case 'H':
        if (!opts.threads) return; // per-thread rows are only collected with --threads
        showThreads = !showThreads;
        rebuildView();
        return requestDraw();
    }
  });
  scr.on('resize', () => {
    layout();
    requestDraw();
  });

  try {
    layout();
    draw();
    log.info({ delayMs: opts.delayMs, sort: sortBy.id }, 'tui started');
    session.start(
      (next, filtered) => {
        iv = next;
        rows = filtered;
        items = new Map();
        if (next.ncpu !== ncpu) {
          ncpu = next.ncpu;
          layout();
        }
        rebuildView();
        requestDraw();
      },
      (e) => {
        log.error({ err: e }, 'sampling failed');
        quit(1, `ebtop: ${describe(e)}`);
      },
    );
  } catch (e) {
    restore(); // give the terminal back before cli.ts prints the error
    throw e;
  }
}
