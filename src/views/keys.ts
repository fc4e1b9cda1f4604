// Keys to actions: a pure reducer from (UI state, key) to a new UI state and
// the effects the TUI carries out (quit, send a signal, change the refresh,
// save the config). htop's keys where htop has one. Tested without a terminal.
import { COLUMNS } from '../columns';
import { DELAY_RANGE, delayMs } from '../delay';
import { findNext, lineTarget, signalTargets, toggleTag, type Line, type Target, type ViewState } from './viewstate';

export type Mode = 'table' | 'search' | 'filter' | 'delay' | 'jump' | 'user' | 'sort' | 'signal' | 'confirm' | 'help' | 'setup' | 'drill';

export interface UiState {
  view: ViewState;
  mode: Mode;
  /** text being typed (search, filter, delay) */
  input: string;
  /** highlighted item of the open menu (user, sort, signal, setup) */
  menu: number;
  /** the signal chosen, awaiting confirmation */
  signal: number | null;
  /** the processes it goes to */
  targets: Target[];
  /** display frozen (z); sampling goes on */
  paused: boolean;
  /** totals since attach instead of rates (c) */
  cumulative: boolean;
  delayMs: number;
  /** shown column ids, in order (F2 edits them) */
  columns: string[];
  monochrome: boolean;
  /** the process drilled into (Enter), by line key */
  drill: string | null;
  /** a message for the footer until the next key */
  message: string | null;
}

export interface Key {
  /** blessed's key name: 'up', 'f6', 'enter', 'escape', 'backspace', ... */
  name?: string;
  /** the character typed */
  ch?: string;
  /** mouse: a click on the title row at this column id, a click on table row n, or the wheel */
  click?: { column?: string; row?: number; wheel?: -1 | 1 };
}

export type Effect =
  | { kind: 'quit' }
  | { kind: 'signal'; targets: Target[]; signal: number }
  | { kind: 'delay'; ms: number }
  | { kind: 'cumulative'; on: boolean }
  | { kind: 'save' }
  // a recording (ebtop replay): one interval back or forward, to a typed time, play/pause
  | { kind: 'step'; dir: 1 | -1 }
  | { kind: 'jump'; text: string }
  | { kind: 'play' };

export interface KeyContext {
  lines: Line[];
  /** index of the selected line */
  sel: number;
  /** table rows on screen */
  page: number;
  /** users present, for the `u` menu */
  users: string[];
  /** the source is a recording: t/T step, space plays, g jumps; nothing is signalled */
  replay?: boolean;
}

export const SIGNALS: [number, string][] = [
  [15, 'SIGTERM'],
  [9, 'SIGKILL'],
  [1, 'SIGHUP'],
  [2, 'SIGINT'],
  [3, 'SIGQUIT'],
  [19, 'SIGSTOP'],
  [18, 'SIGCONT'],
  [10, 'SIGUSR1'],
  [12, 'SIGUSR2'],
];

/** The F2 setup list: colours, refresh, then every column (shown ones first, in order). */
export function setupItems(ui: UiState): string[] {
  const rest = COLUMNS.map((c) => c.id).filter((id) => !ui.columns.includes(id));
  return ['colours', 'refresh', ...ui.columns, ...rest];
}

const DELAYS = [250, 500, 1000, 2000, 3000, 5000, 10000];

export function reduce(ui: UiState, key: Key, ctx: KeyContext): { ui: UiState; effects: Effect[] } {
  const effects: Effect[] = [];
  const next = (over: Partial<UiState>, view?: Partial<ViewState>): { ui: UiState; effects: Effect[] } => ({
    ui: { ...ui, message: null, ...over, view: view ? { ...ui.view, ...view } : ui.view },
    effects,
  });
  const name = key.name;
  const ch = key.ch;
  const selLine = ctx.lines[ctx.sel];
  const moveTo = (i: number) => {
    if (!ctx.lines.length) return next({});
    const j = Math.max(0, Math.min(ctx.lines.length - 1, i));
    return next({}, { sel: ctx.lines[j].key });
  };

  // ---- text input (search, filter, refresh interval, a time in a recording)
  if (ui.mode === 'search' || ui.mode === 'filter' || ui.mode === 'delay' || ui.mode === 'jump') {
    if (name === 'escape') return next({ mode: 'table', input: '' }, ui.mode === 'filter' ? { filter: '' } : {});
    if (name === 'enter') {
      if (ui.mode === 'jump') {
        effects.push({ kind: 'jump', text: ui.input });
        return next({ mode: 'table', input: '' });
      }
      if (ui.mode === 'delay') {
        const ms = delayMs(ui.input);
        if (ms === null) return next({ mode: 'table', input: '', message: `not a refresh interval: ${ui.input} (${DELAY_RANGE})` });
        effects.push({ kind: 'delay', ms }, { kind: 'save' });
        return next({ mode: 'table', input: '', delayMs: ms });
      }
      return next({ mode: 'table' });
    }
    let input = ui.input;
    if (name === 'backspace') input = input.slice(0, -1);
    else if (ch && ch >= ' ' && ch !== '\x7f') input += ch;
    else if (ui.mode === 'search' && (name === 'f3' || name === 'down')) {
      const i = findNext(ctx.lines, ctx.sel, input);
      return i >= 0 ? next({}, { sel: ctx.lines[i].key }) : next({ message: `not found: ${input}` });
    } else return next({});
    if (ui.mode === 'filter') return next({ input }, { filter: input, sel: null, top: 0 });
    if (ui.mode === 'search') {
      // jump as you type: the first match from the selection on
      const i = findNext(ctx.lines, ctx.sel - 1 < 0 ? ctx.lines.length - 1 : ctx.sel - 1, input);
      return i >= 0 ? next({ input }, { sel: ctx.lines[i].key }) : next({ input });
    }
    return next({ input });
  }

  // ---- menus
  if (ui.mode === 'user' || ui.mode === 'sort' || ui.mode === 'signal' || ui.mode === 'setup') {
    const items = ui.mode === 'user' ? ['(all users)', ...ctx.users] : ui.mode === 'sort' ? ui.columns : ui.mode === 'signal' ? SIGNALS.map(([n, s]) => `${n} ${s}`) : setupItems(ui);
    const n = items.length;
    if (name === 'escape' || (ui.mode === 'setup' && (name === 'f2' || ch === 'q'))) {
      if (ui.mode === 'setup') effects.push({ kind: 'save' });
      return next({ mode: 'table' });
    }
    if (name === 'up') return next({ menu: Math.max(0, ui.menu - 1) });
    if (name === 'down') return next({ menu: Math.min(n - 1, ui.menu + 1) });
    if (name === 'home') return next({ menu: 0 });
    if (name === 'end') return next({ menu: n - 1 });
    if (ui.mode === 'setup') return setupKey(ui, key, items, effects);
    if (name !== 'enter') return next({});
    if (ui.mode === 'user') return next({ mode: 'table' }, { user: ui.menu === 0 ? null : items[ui.menu], sel: null, top: 0 });
    if (ui.mode === 'sort') return next({ mode: 'table' }, { sort: items[ui.menu], invert: false });
    const [signal] = SIGNALS[ui.menu];
    return next({ mode: 'confirm', signal });
  }
  if (ui.mode === 'confirm') {
    if (ch === 'y' || ch === 'Y') {
      effects.push({ kind: 'signal', targets: ui.targets, signal: ui.signal! });
      return next({ mode: 'table', signal: null, targets: [] }, { tagged: new Map() });
    }
    return next({ mode: 'table', signal: null, targets: [], message: 'nothing sent' });
  }
  if (ui.mode === 'help') return next({ mode: 'table' });
  if (ui.mode === 'drill') {
    // back to the table with its selection and scroll as they were
    if (name === 'escape' || name === 'enter' || name === 'backspace' || ch === 'q') return next({ mode: 'table', drill: null });
    if (name === 'f10') effects.push({ kind: 'quit' });
    return next({});
  }

  // ---- mouse
  if (key.click) {
    const c = key.click;
    if (c.column) return reduce(ui, { name: '__sortby', ch: c.column }, ctx);
    if (c.row !== undefined) return moveTo(c.row);
    if (c.wheel) return moveTo(ctx.sel + c.wheel * 3);
  }

  // ---- the table
  const shownSort = ui.columns.includes(ui.view.sort) ? ui.columns : [...ui.columns, ui.view.sort];
  const shiftSort = (step: number) => {
    const cols = ui.columns;
    const i = cols.indexOf(ui.view.sort);
    const j = Math.max(0, Math.min(cols.length - 1, (i < 0 ? 0 : i) + step));
    return next({}, { sort: cols[j], invert: false });
  };
  if (name === '__sortby') {
    const id = ch!;
    return next({}, id === ui.view.sort ? { invert: !ui.view.invert } : { sort: id, invert: false });
  }
  if (ctx.replay) {
    // atop's and below's time keys; the tree stays on F5, sort by time on the column menu
    if (ch === 't' || ch === 'T') {
      effects.push({ kind: 'step', dir: ch === 't' ? -1 : 1 });
      return next({});
    }
    if (ch === ' ') {
      effects.push({ kind: 'play' });
      return next({});
    }
    if (ch === 'g' || ch === 'j') return next({ mode: 'jump', input: '' });
    if (ch === 'k' || name === 'f9') return next({ message: 'a replay sends no signals: its processes are recorded, not live' });
  }
  switch (name) {
    case 'up':
      return moveTo(ctx.sel - 1);
    case 'down':
      return moveTo(ctx.sel + 1);
    case 'pageup':
      return moveTo(ctx.sel - ctx.page);
    case 'pagedown':
      return moveTo(ctx.sel + ctx.page);
    case 'home':
      return moveTo(0);
    case 'end':
      return moveTo(ctx.lines.length - 1);
    case 'left':
      return next({}, { hscroll: Math.max(0, ui.view.hscroll - 1) });
    case 'right':
      return next({}, { hscroll: Math.min(Math.max(0, ui.columns.length - 3), ui.view.hscroll + 1) });
    case 'f1':
      return next({ mode: 'help' });
    case 'f2':
      return next({ mode: 'setup', menu: 0 });
    case 'f3':
      if (ui.input) {
        const i = findNext(ctx.lines, ctx.sel, ui.input);
        if (i >= 0) return next({}, { sel: ctx.lines[i].key });
      }
      return next({ mode: 'search', input: '' });
    case 'f4':
      return next({ mode: 'filter', input: ui.view.filter });
    case 'f5':
      return next({}, { tree: !ui.view.tree });
    case 'f6':
      return next({ mode: 'sort', menu: Math.max(0, shownSort.indexOf(ui.view.sort)) });
    case 'f9':
      return openSignal();
    case 'f10':
      effects.push({ kind: 'quit' });
      return next({});
    case 'enter':
      return selLine ? next({ mode: 'drill', drill: selLine.key }) : next({});
    case 'escape':
      return ui.view.filter ? next({}, { filter: '' }) : next({});
  }
  switch (ch) {
    case 'q':
      effects.push({ kind: 'quit' });
      return next({});
    case 'h':
    case '?':
      return next({ mode: 'help' });
    case '/':
      return next({ mode: 'search', input: '' });
    case '\\':
      return next({ mode: 'filter', input: ui.view.filter });
    case 'u':
      return next({ mode: 'user', menu: ui.view.user ? Math.max(0, ctx.users.indexOf(ui.view.user) + 1) : 0 });
    case 't':
      return next({}, { tree: !ui.view.tree });
    case '+':
    case '=':
    case '-': {
      if (!selLine || !ui.view.tree || selLine.thread) return next({});
      const c = new Set(ui.view.collapsed);
      const key = selLine.key; // a process's procKey, a cgroup's path
      if (ch === '-') c.add(key);
      else c.delete(key);
      return next({}, { collapsed: c });
    }
    case '<':
    case ',':
      return shiftSort(-1);
    case '>':
    case '.':
      return shiftSort(1);
    case 'I':
      return next({}, { invert: !ui.view.invert });
    case 'P':
      return next({}, { sort: 'cpu', invert: false });
    case 'M':
      return next({}, { sort: 'mem', invert: false });
    case 'T':
      return next({}, { sort: 'oncpu', invert: false });
    case 'H':
      return next({}, { threads: !ui.view.threads });
    case 'K':
      return next({}, { hideKernel: !ui.view.hideKernel });
    case 'x':
      return next({}, { hideExited: !ui.view.hideExited });
    case 'v':
      // processes <-> cgroups; a line's key says which it is, so the selection starts over
      return next({}, { cgroups: !ui.view.cgroups, sel: null, top: 0 });
    case 'c':
      effects.push({ kind: 'cumulative', on: !ui.cumulative });
      return next({ cumulative: !ui.cumulative });
    case 'z':
      return next({ paused: !ui.paused });
    case 'd':
      return next({ mode: 'delay', input: String(ui.delayMs / 1000) });
    case ' ': {
      if (ui.view.cgroups) return next({ message: 'a cgroup line is not a process: Enter lists its processes' });
      if (!selLine || selLine.proc.exited) return moveTo(ctx.sel + 1);
      const i = Math.min(ctx.lines.length - 1, ctx.sel + 1);
      return next({}, { tagged: toggleTag(ui.view.tagged, lineTarget(selLine)), sel: ctx.lines[i]?.key ?? ui.view.sel });
    }
    case 'U':
      return next({}, { tagged: new Map() });
    case 'k':
      return openSignal();
  }
  return next({});

  function openSignal() {
    // a cgroup line's row is no process (its PID column counts processes): only tagged processes
    if (ui.view.cgroups && !ui.view.tagged.size) return next({ message: 'a cgroup line is not a process: tag processes in the process view (v)' });
    const targets = signalTargets(ctx.lines, ui.view, ctx.sel);
    if (!targets.length) return next({ message: 'no live process selected' });
    return next({ mode: 'signal', menu: 0, targets });
  }

  function setupKey(u: UiState, k: Key, items: string[], fx: Effect[]): { ui: UiState; effects: Effect[] } {
    const item = items[u.menu];
    const set = (over: Partial<UiState>) => ({ ui: { ...u, message: null, ...over }, effects: fx });
    if (item === 'colours' && (k.ch === ' ' || k.name === 'enter')) return set({ monochrome: !u.monochrome });
    if (item === 'refresh' && (k.ch === '+' || k.ch === '-' || k.name === 'right' || k.name === 'left')) {
      const up = k.ch === '+' || k.name === 'right';
      const i = DELAYS.findIndex((d) => d >= u.delayMs);
      const at = i < 0 ? DELAYS.length - 1 : i;
      const ms = DELAYS[Math.max(0, Math.min(DELAYS.length - 1, up ? (DELAYS[at] > u.delayMs ? at : at + 1) : at - 1))];
      fx.push({ kind: 'delay', ms });
      return set({ delayMs: ms });
    }
    if (item === 'colours' || item === 'refresh') return set({});
    const shown = u.columns.includes(item);
    if (k.ch === ' ' || k.name === 'enter') {
      if (item === 'pid' || item === 'cmd') return set({ message: `${item.toUpperCase()} stays` });
      const columns = shown ? u.columns.filter((c) => c !== item) : [...u.columns.filter((c) => c !== 'cmd'), item, ...(u.columns.includes('cmd') ? ['cmd'] : [])];
      const menu = setupItems({ ...u, columns }).indexOf(item);
      return set({ columns, menu });
    }
    if (shown && (k.ch === '[' || k.ch === ']' || k.name === 'f7' || k.name === 'f8')) {
      const i = u.columns.indexOf(item);
      const j = k.ch === '[' || k.name === 'f7' ? i - 1 : i + 1;
      if (j < 1 || j >= u.columns.length || u.columns[j] === 'cmd' || item === 'pid' || item === 'cmd') return set({});
      const columns = [...u.columns];
      [columns[i], columns[j]] = [columns[j], columns[i]];
      return set({ columns, menu: u.menu + (j - i) });
    }
    return set({});
  }
}
