// The interactive view: an htop-style screen drawn with blessed. It gets
// intervals and rows from a source the CLI composed, keeps the UI state
// (keys.ts reduces keys to it, viewstate.ts turns rows into lines) and
// renders: header, column titles, the table, the footer, and one overlay
// (menus, help, setup, drill-down) at a time.
//
// Cost model (README "Performance"): widgets are created once; a row's
// text is built at most once per interval and only for rows on screen; the
// screen is drawn at most once per turn of the event loop.
//
// Terminal ownership: everything that can end the process (q, F10, Ctrl-C,
// SIGINT/SIGTERM/SIGHUP/SIGQUIT, a sampling error, an uncaught exception, exit)
// goes through restore(), which is idempotent and the only place that hands
// the terminal back (normal screen, cursor, line mode, mouse reporting off).
import blessed from 'blessed';
import fs from 'node:fs';
import tty from 'node:tty';
import { cgroupRows, type CgroupRow, type Pressure } from '../cgroups';
import { CgroupResolver, withAncestors } from '../cgroupfs';
import { cgroupColumns, column, COLUMNS, fitColumns, headerLine, type Column } from '../columns';
import type { Config } from '../config';
import { fit, fmtDuration, printable, printableLines } from '../format';
import type { Logger } from '../log';
import type { Interval, ProcessRow } from '../model';
import type { Cue, RowLike } from '../subsystems/types';
import { cgroupDrillLines, drillLines, helpLines, menuLines, Sparks } from './panels';
import { CHROME_ROWS, escapeTags, headerBlock, headerLayout, replayLines, type ReplayPosition, type TimelinePoint } from './header';
import { MIN_HEIGHT, MIN_WIDTH } from './terminal';
import { reduce, setupItems, SIGNALS, type Effect, type Key, type UiState } from './keys';
import { signalIfSame } from '../signal';
import { ASCII, buildCgroupLines, buildLines, initialState, isTagged, lineTarget, pruneTags, scrollTop, selectedIndex, UNICODE, type Line } from './viewstate';

export { cpuMeter, fmtUptime, headerBlock, headerLayout, infoLines, segments, escapeTags } from './header';

/** What the view is fed: intervals and rows, and a few controls. The CLI composes it (a Session). */
export interface TuiSource {
  start(onInterval: (iv: Interval, rows: ProcessRow[]) => void, onError: (e: unknown) => void): void;
  stop(): void;
  setDelay(ms: number): void;
  /** rates <-> totals; the last interval re-shown (null before the first) */
  setCumulative(on: boolean): { iv: Interval; rows: ProcessRow[] } | null;
  /** ebtop's own userspace CPU over the last interval, % of one CPU */
  readonly selfCpuPct: number;
  /** a recording (ebtop replay): where it is, and moving in it; absent for a live session */
  readonly seek?: Seekable;
}

/** A source that moves in time: the TUI shows the recorded moment and a timeline, and t/T/space/g move it. */
export interface Seekable {
  position(): ReplayPosition;
  step(dir: 1 | -1): void;
  /** to the interval shown at wall time t (ms) */
  jump(wallMs: number): void;
  /** a typed time ("03:12", "-10m", an ISO date) to wall ms, relative to the shown moment; null when unreadable */
  parseTime(text: string): number | null;
  togglePlay(): void;
  timeline(): TimelinePoint[];
}

export interface TuiOptions {
  log: Logger;
  ncpu: number;
  cumulative: boolean;
  /** settings: from the config file over the defaults, and the flags over those */
  config: Config;
  /** a warning for the footer (e.g. a corrupt config file) */
  warning: string | null;
  /** persist settings (F2, d, sort...) */
  save(c: Config): void;
  /** threads shown under their process from the start (--threads; H toggles) */
  threads: boolean;
  /** the cgroup view from the start (--group-by cgroup; v toggles) */
  cgroups?: boolean;
  describe(e: unknown): string;
}

export { checkTerminal, MIN_HEIGHT, MIN_WIDTH } from './terminal';

/** Cue -> blessed tags [colour, monochrome] ('': no mark). */
const CUE_TAGS: Record<Cue, [string, string]> = {
  saturated: ['red-fg', 'bold'], latency: ['yellow-fg', 'underline'], retrans: ['magenta-fg', 'bold'], idle: ['gray-fg', ''], waiting: ['bold', 'bold'],
};

/** Cue -> blessed tag, in colour or (monochrome) as bold/underline; '' for none. */
export function cueTag(cue: Cue, mono: boolean): string {
  return CUE_TAGS[cue][mono ? 1 : 0];
}

/** One table row, cells coloured by their cues, exactly `width` visible characters. */
export function rowCells(cols: Column[], r: RowLike, iv: Interval | null, width: number, mono: boolean): string {
  let out = '';
  let used = 0;
  for (const c of cols) {
    if (used) {
      out += ' ';
      used++;
    }
    const w = c.width || Math.max(0, width - used);
    const text = fit(c.needs === null || r.avail.has(c.needs) ? c.text(r) : 'n/a', w, c.align);
    const cue = iv && c.cue && (c.needs === null || r.avail.has(c.needs)) ? c.cue(r, iv) : null;
    const esc = escapeTags(text);
    const tag = cue ? cueTag(cue, mono) : '';
    out += tag ? `{${tag}}${esc}{/${tag}}` : esc;
    used += w;
    if (used >= width) break;
  }
  return used < width ? out + ' '.repeat(width - used) : out;
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

/** Which column a click at x on the title row hit. */
export function columnAt(cols: Column[], x: number, width: number): Column | null {
  let pos = 0;
  for (const c of cols) {
    const w = c.width || Math.max(0, width - pos);
    if (x >= pos && x < pos + w + 1) return c;
    pos += w + 1;
  }
  return null;
}

export const KEYS: Array<[key: string, label: string]> = [
  ['F1', 'Help'],
  ['F2', 'Setup'],
  ['F3', 'Search'],
  ['F4', 'Filter'],
  ['F5', 'Tree'],
  ['F6', 'SortBy'],
  ['F9', 'Kill'],
  ['F10', 'Quit'],
];

/** The footer: key hints and the view's state, or the prompt of the input being typed, or a message. */
export function footerLine(ui: UiState, sortTitle: string, width: number, warning: string | null): string {
  const prompt = (label: string, text: string) => `{black-bg}{white-fg}${escapeTags(label)}{/white-fg}{/black-bg} ${escapeTags(fit(text, Math.max(0, width - label.length - 1), 'left'))}`;
  if (ui.mode === 'search') return prompt('Search:', ui.input + '_');
  if (ui.mode === 'filter') return prompt('Filter:', ui.input + '_');
  if (ui.mode === 'delay') return prompt('Refresh (s):', ui.input + '_');
  if (ui.mode === 'jump') return prompt('Go to (03:12, -10m, +30s, 2026-12-03T03:12):', ui.input + '_');
  if (ui.mode === 'confirm') return prompt('Confirm:', `send ${SIGNALS.find(([n]) => n === ui.signal)?.[1]} to ${ui.targets.length > 1 ? `${ui.targets.length} processes` : `pid ${ui.targets[0]?.pid}`}? [y/N]`);
  const msg = ui.message ?? warning;
  if (msg) return prompt('!', msg);
  let s = '';
  let used = 0;
  for (const [k, label] of KEYS) {
    s += `{white-fg}{black-bg}${escapeTags(k)}{/black-bg}{/white-fg}${label} `;
    used += k.length + label.length + 1;
  }
  const v = ui.view;
  const state =
    `sort ${sortTitle} ${v.invert ? 'inv' : ''}`.trimEnd() +
    (v.tree ? ', tree' : '') +
    (v.threads ? ', threads' : '') +
    (v.hideKernel ? ', kernel hidden' : '') +
    (v.hideExited ? ', exited hidden' : '') +
    (v.cgroups ? ', cgroups' : '') +
    (v.filter ? `, filter "${v.filter}"` : '') +
    (v.user ? `, user ${v.user}` : '') +
    (v.tagged.size ? `, ${v.tagged.size} tagged` : '') +
    (ui.cumulative ? ', totals' : '') +
    (ui.paused ? ', PAUSED' : '') +
    ' ';
  return used + state.length <= width ? s + ' '.repeat(width - used - state.length) + escapeTags(state) : s;
}

export function runTui(opts: TuiOptions, source: TuiSource): void {
  const { log } = opts;
  let screen: blessed.Widgets.Screen | undefined;
  let restored = false;
  let renderPending: NodeJS.Immediate | undefined;

  /** The one place that ends the session and gives the terminal back. Idempotent. */
  const restore = (): void => {
    if (restored) return;
    restored = true;
    if (renderPending) clearImmediate(renderPending);
    try {
      source.stop();
    } catch (e) {
      log.error({ err: e }, 'closing the session failed');
    }
    if (!screen) return;
    try {
      screen.program.disableMouse();
      screen.destroy(); // normal buffer, cursor shown, keypad off, raw mode off
    } catch (e) {
      log.error({ err: e }, 'restoring the terminal through blessed failed');
      try {
        if (process.stdin.isTTY && process.stdin.isRaw) process.stdin.setRawMode(false);
        process.stdout.write('\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1049l\x1b[?25h\x1b[0m');
      } catch {
        /* the terminal is gone (SIGHUP) */
      }
    }
  };
  const quit = (code: number, message?: string): never => {
    restore();
    if (message) process.stderr.write(`${printable(message)}\n`);
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

  const cfg = opts.config;
  let ui: UiState = {
    view: initialState({ sort: cfg.sort, invert: cfg.invert, tree: cfg.tree, threads: opts.threads, cgroups: Boolean(opts.cgroups) }),
    mode: 'table',
    input: '',
    menu: 0,
    signal: null,
    targets: [],
    paused: false,
    cumulative: opts.cumulative,
    delayMs: cfg.delayMs,
    columns: cfg.columns,
    monochrome: cfg.monochrome,
    drill: null,
    message: null,
  };
  let warning = opts.warning;
  let iv: Interval | null = null;
  /** a recording's timeline (replay), read once */
  let timeline: TimelinePoint[] | undefined;
  let rows: ProcessRow[] = [];
  let lines: Line[] = [];
  /** a line's rendered text for the current interval and width */
  let texts = new Map<Line, string>();
  let ncpu = opts.ncpu;
  const sparks = new Sparks();
  /** the cgroup view's state (v): made on first use; a recording's paths are v2 paths, not this host's */
  let cg: { resolver: CgroupResolver; flat: CgroupRow[]; pressure: Map<string, Pressure | null> } | null = null;

  let header!: blessed.Widgets.BoxElement;
  let titles!: blessed.Widgets.BoxElement;
  let body!: blessed.Widgets.BoxElement;
  let footer!: blessed.Widgets.BoxElement;
  let overlay!: blessed.Widgets.BoxElement;
  let unicode = false;
  /** tag for de-emphasised text (exited rows): grey where the terminal has it */
  let dim = 'gray-fg';

  try {
    screen = blessed.screen({
      input: process.stdin,
      output: process.stdout,
      smartCSR: true,
      // Not BCE: blessed's erase-line lookahead scans to the end of the line
      // from every blank cell (quadratic in a row's blank runs); with it a
      // 200x50 table cost ~10 ms of interpreted JS per draw here, 0.6 ms
      // without. Blanks are then written as spaces: more bytes, same screen.
      useBCE: false,
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
    // Every widget comes from here, and everything a widget shows goes through
    // its setContent: the one way text leaves for the terminal. Unsafe
    // characters become spaces there (printableLines: C0 but the newline, DEL,
    // C1, bidi), whatever built the line, so no process name, path or message
    // reaches the terminal as escape sequences. blessed tags are escaped where
    // lines are built (escapeTags).
    const box = (o: blessed.Widgets.BoxOptions) => {
      const b = blessed.box({ parent: screen, left: 0, width: '100%', tags: true, wrap: false, ...o });
      const set = b.setContent.bind(b);
      b.setContent = (content: string) => set(printableLines(content));
      return b;
    };
    header = box({ top: 0, height: 1 });
    titles = box({ top: 1, height: 1, style: { fg: 'black', bg: 'green' }, clickable: true } as blessed.Widgets.BoxOptions);
    body = box({ top: 2, height: 1, clickable: true } as blessed.Widgets.BoxOptions);
    footer = box({ bottom: 0, height: 1, style: { fg: 'black', bg: 'cyan' } });
    overlay = box({ top: 0, height: 1, hidden: true, style: { fg: 'white', bg: 'black' } });
    screen.enableMouse();
  } catch (e) {
    restore();
    throw e;
  }
  const scr = screen;
  const debug = log.isLevelEnabled('debug');

  const mono = () => ui.monochrome || Boolean(process.env.NO_COLOR);
  const shownColumns = (): Column[] => (ui.view.cgroups ? cgroupColumns(ui.columns.map(column)) : ui.columns.map(column));
  const fitted = () => fitColumns(shownColumns(), scr.width as number, ui.view.hscroll);
  const bodyRows = () => Math.max(1, (body.height as number) || 1);
  const tooSmall = () => (scr.width as number) < MIN_WIDTH || (scr.height as number) < MIN_HEIGHT;

  /**
   * The cgroup view's rows, once per interval (and when toggled on): the
   * grouping, then the pressure of the cgroups it shows (read only then:
   * htop's rule, collect what is shown).
   */
  const regroup = (readPressure: boolean) => {
    if (!ui.view.cgroups) return;
    const resolver = cg?.resolver ?? new CgroupResolver(source.seek ? '' : undefined);
    const flat = cgroupRows(rows, resolver.pathOf(rows), resolver.nameOf);
    const paths = ui.view.tree ? withAncestors(flat.map((r) => r.path)) : flat.map((r) => r.path);
    // a key press regroups the same interval: the pressure read for it stays
    cg = { resolver, flat, pressure: source.seek ? new Map() : readPressure || !cg ? resolver.pressure.read(paths) : cg.pressure };
  };
  const rebuild = () => {
    const glyphs = unicode ? UNICODE : ASCII;
    if (ui.view.cgroups && cg) lines = buildCgroupLines(cg.flat, ui.view, cg.resolver.nameOf, glyphs, (p) => cg!.pressure.get(p));
    else lines = buildLines(rows, ui.view, glyphs, iv?.cumulative ?? false);
    texts = new Map();
  };
  const selIndex = () => selectedIndex(lines, ui.view, ui.view.top);

  const layout = (headerLines: number) => {
    const width = scr.width as number;
    const height = scr.height as number;
    const lay = headerLayout(ncpu, width, height, headerLines);
    header.top = 0;
    header.height = lay.height;
    titles.top = lay.height + 1;
    body.top = lay.height + 2;
    body.height = Math.max(1, height - lay.height - CHROME_ROWS);
    overlay.top = 0;
    overlay.height = height - 1;
    texts = new Map();
  };

  const colour = (tag: string, text: string) => (mono() ? text : `{${tag}}${text}{/${tag}}`);

  const draw = () => {
    renderPending = undefined;
    if (restored) return;
    const t0 = debug ? process.hrtime.bigint() : 0n;
    const width = scr.width as number;
    const height = scr.height as number;
    if (tooSmall()) {
      // below the minimum: one centred message instead of a broken screen
      for (const w of [header, titles, footer, overlay]) w.hide();
      body.top = 0;
      body.height = height;
      const msg = `terminal too small (${width}x${height}): ebtop needs ${MIN_WIDTH}x${MIN_HEIGHT}`;
      const pad = Math.max(0, Math.floor((width - msg.length) / 2));
      body.setContent('\n'.repeat(Math.max(0, Math.floor(height / 2))) + ' '.repeat(pad) + escapeTags(msg.slice(0, width)));
      scr.render();
      return;
    }
    for (const w of [header, titles, footer]) w.show();
    const head = headerBlock(iv, ncpu, { selfCpuPct: source.selfCpuPct, delayMs: ui.delayMs, paused: ui.paused, recorded: Boolean(source.seek) }, width, height);
    if (source.seek) head.unshift(...replayLines(source.seek.position(), (timeline ??= source.seek.timeline()), width, unicode));
    layout(head.length);
    header.setContent(head.join('\n'));
    const cols = fitted();
    const sortCol = column(ui.view.sort);
    titles.setContent(titleLine(cols, sortCol, sortCol.descending !== ui.view.invert, width, unicode));
    footer.setContent(footerLine(ui, sortCol.title, width, warning));
    const n = bodyRows();
    const sel = selIndex();
    if (!iv) {
      body.setContent(` collecting the first interval (${fmtDuration(ui.delayMs * 1e6)})...`);
    } else {
      const top = scrollTop(ui.view.top, sel, n, lines.length);
      if (top !== ui.view.top) ui = { ...ui, view: { ...ui.view, top } };
      const out: string[] = [];
      const end = Math.min(lines.length, top + n);
      for (let i = top; i < end; i++) {
        const l = lines[i];
        let text = texts.get(l);
        if (text === undefined) texts.set(l, (text = rowCells(cols, l.row, iv, width, mono())));
        const tagged = isTagged(ui.view, lineTarget(l));
        if (i === sel) out.push(`{black-fg}{cyan-bg}${text.replace(/\{\/?[a-z-]+\}/g, (t) => (/^\{\/?(open|close)\}$/.test(t) ? t : ''))}{/cyan-bg}{/black-fg}`);
        else if (tagged) out.push(colour('yellow-fg', `{bold}${text}{/bold}`));
        else if (l.proc.exited) out.push(mono() ? text : `{${dim}}${text}{/${dim}}`);
        else out.push(text);
      }
      body.setContent(out.join('\n'));
    }
    drawOverlay(width, height);
    scr.render();
    if (debug) log.debug({ ms: Number(process.hrtime.bigint() - t0) / 1e6, rows: lines.length }, 'draw');
  };

  const drawOverlay = (width: number, height: number) => {
    let content: string[] | null = null;
    let top = 0;
    let boxH = height - 1;
    const sel = selIndex();
    if (ui.mode === 'help') content = helpLines(width);
    else if (ui.mode === 'drill' && iv && ui.view.cgroups) {
      const l = lines.find((x) => x.key === ui.drill);
      content = l ? cgroupDrillLines(l.proc as CgroupRow, iv, ui.columns, ui.view.sort, ui.view.invert, width, height - 1) : [' the cgroup has no processes any more'];
    } else if (ui.mode === 'drill' && iv) {
      const l = lines.find((x) => x.key === ui.drill) ?? lines[sel];
      content = l ? drillLines(l, iv, rows, width, height - 1, sparks, unicode) : [' the process is gone'];
    } else if (ui.mode === 'user' || ui.mode === 'sort' || ui.mode === 'signal' || ui.mode === 'setup') {
      const users = [...new Set(rows.map((r) => r.user))].sort();
      const items =
        ui.mode === 'user'
          ? ['(all users)', ...users]
          : ui.mode === 'sort'
            ? ui.columns.map((id) => column(id).title)
            : ui.mode === 'signal'
              ? SIGNALS.map(([num, name]) => `${String(num).padStart(2)} ${name}`)
              : setupItems(ui).map((id) =>
                  id === 'colours'
                    ? `Colours: ${ui.monochrome ? 'monochrome' : 'colour'}   (space toggles)`
                    : id === 'refresh'
                      ? `Refresh: ${(ui.delayMs / 1000).toFixed(2)} s   (+/- change)`
                      : `[${ui.columns.includes(id) ? 'x' : ' '}] ${column(id).title.padEnd(9)} ${column(id).help}`,
                );
      const title =
        ui.mode === 'user' ? 'Show processes of user' : ui.mode === 'sort' ? 'Sort by' : ui.mode === 'signal' ? `Send signal to ${ui.targets.map((t) => t.pid).join(', ')}` : 'Setup: space shows/hides a column, [ ] move it, Esc saves';
      content = menuLines(title, items, ui.menu, width, height - 2);
      boxH = content.length;
      top = Math.max(0, height - 1 - boxH);
    }
    if (!content) {
      overlay.hide();
      return;
    }
    overlay.top = top;
    overlay.height = boxH;
    overlay.setContent(content.slice(0, boxH).join('\n'));
    overlay.show();
    overlay.setFront();
  };

  /** Coalesce: one render per turn of the event loop, whatever asked for it. */
  const requestDraw = () => {
    if (!renderPending && !restored) renderPending = setImmediate(draw);
  };

  const currentConfig = (): Config => ({ columns: ui.columns, sort: ui.view.sort, invert: ui.view.invert, tree: ui.view.tree, monochrome: ui.monochrome, delayMs: ui.delayMs });

  const apply = (effects: Effect[]) => {
    for (const fx of effects) {
      if (fx.kind === 'quit') return void quit(0);
      if (fx.kind === 'delay') source.setDelay(fx.ms);
      if (fx.kind === 'step') source.seek?.step(fx.dir);
      if (fx.kind === 'play') source.seek?.togglePlay();
      if (fx.kind === 'jump' && source.seek) {
        const ms = source.seek.parseTime(fx.text);
        if (ms === null) ui = { ...ui, message: `not a time: ${fx.text} (03:12, -10m, +30s, or an ISO date)` };
        else source.seek.jump(ms);
      }
      if (fx.kind === 'cumulative') {
        const again = source.setCumulative(fx.on);
        if (again) {
          iv = again.iv;
          rows = again.rows;
        }
      }
      if (fx.kind === 'save') {
        try {
          opts.save(currentConfig());
          warning = null;
        } catch (e) {
          warning = `settings not saved: ${(e as Error).message}`;
        }
      }
      if (fx.kind === 'signal') {
        // each pid checked against its start right before the kill: a pid
        // freed and reused since it was chosen is skipped, not signalled
        const sent: number[] = [];
        const failed: string[] = [];
        for (const t of fx.targets) {
          const r = signalIfSame(t.pid, t.startNs, fx.signal);
          if (r === 'sent') sent.push(t.pid);
          else failed.push(`${t.pid} (${r === 'gone' ? 'exited' : r === 'reused' ? 'pid reused by another process' : r})`);
        }
        const what = [sent.length ? `sent to ${sent.join(', ')}` : '', failed.length ? `not sent to ${failed.join(', ')}` : ''].filter(Boolean).join('; ');
        ui = { ...ui, message: `signal ${fx.signal} ${what}` };
        log.info({ targets: fx.targets, signal: fx.signal, sent, failed }, 'signal');
      }
    }
  };

  const press = (key: Key) => {
    const before = ui;
    const r = reduce(ui, key, { lines, sel: selIndex(), page: bodyRows(), users: [...new Set(rows.map((x) => x.user))].sort(), replay: !!source.seek });
    ui = r.ui;
    const v0 = before.view;
    const v1 = ui.view;
    const saveAfter = v0.sort !== v1.sort || v0.invert !== v1.invert || v0.tree !== v1.tree || before.columns !== ui.columns || before.monochrome !== ui.monochrome;
    apply(r.effects);
    if (v0 !== v1 || before.columns !== ui.columns || r.effects.some((e) => e.kind === 'cumulative')) {
      if (v0.hscroll !== v1.hscroll || before.columns !== ui.columns || before.monochrome !== ui.monochrome) texts = new Map();
      if (v0.cgroups !== v1.cgroups || (v1.cgroups && v0.tree !== v1.tree) || r.effects.some((e) => e.kind === 'cumulative')) regroup(false);
      if (v0.sel !== v1.sel && v0.sort === v1.sort && v0.cgroups === v1.cgroups && v0.filter === v1.filter && v0.user === v1.user && v0.tree === v1.tree && v0.threads === v1.threads && v0.collapsed === v1.collapsed && v0.hideKernel === v1.hideKernel && v0.hideExited === v1.hideExited && v0.invert === v1.invert && v0.tagged === v1.tagged) {
        // only the selection moved: no re-sort
      } else rebuild();
    }
    if (saveAfter && !r.effects.some((e) => e.kind === 'save')) apply([{ kind: 'save' }]);
    requestDraw();
  };

  // blessed sends Enter twice, as 'enter' and then 'return': only the first counts
  const SPECIAL = /^(up|down|left|right|pageup|pagedown|home|end|enter|escape|backspace|delete|tab|f\d+)$/;
  scr.on('keypress', (ch: string | undefined, key: { name?: string; full?: string } | undefined) => {
    if (key?.full === 'C-c') return void quit(0);
    if (key?.name === 'return') return;
    const name = key?.name && SPECIAL.test(key.name) ? key.name : undefined;
    if (name) press({ name });
    else if (ch) press({ ch });
  });
  titles.on('click', (data: { x: number }) => {
    const c = columnAt(fitted(), data.x - (titles.aleft as number), scr.width as number);
    if (c) press({ click: { column: c.id } });
  });
  body.on('click', (data: { y: number }) => {
    const i = ui.view.top + (data.y - (body.atop as number));
    if (i >= 0 && i < lines.length) press({ click: { row: i } });
  });
  body.on('wheeldown', () => press({ click: { wheel: 1 } }));
  body.on('wheelup', () => press({ click: { wheel: -1 } }));
  scr.on('resize', () => {
    texts = new Map();
    requestDraw();
  });

  try {
    rebuild();
    draw();
    log.info({ delayMs: ui.delayMs, sort: ui.view.sort }, 'tui started');
    source.start(
      (next, filtered) => {
        sparks.add(next, filtered);
        // tags of processes that exited go (paused too: a tag must not outlive its process)
        const tagged = pruneTags(ui.view.tagged, filtered);
        if (tagged !== ui.view.tagged) {
          ui = { ...ui, view: { ...ui.view, tagged } };
          requestDraw();
        }
        if (ui.paused) return;
        iv = next;
        rows = filtered;
        if (next.ncpu !== ncpu) ncpu = next.ncpu;
        regroup(true);
        rebuild();
        requestDraw();
      },
      (e) => {
        log.error({ err: e }, 'sampling failed');
        quit(1, `ebtop: ${opts.describe(e)}`);
      },
    );
  } catch (e) {
    restore(); // give the terminal back before cli.ts prints the error
    throw e;
  }
}

/** Every column the setup screen offers, for the help text. */
export const ALL_COLUMNS = COLUMNS;
