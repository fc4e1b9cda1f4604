// The key reducer: htop's keys to view-state changes and effects, without a terminal.
import { describe, expect, it } from 'vitest';
import { column, COLUMNS, fitColumns } from '../../src/columns';
import type { ProcessRow } from '../../src/model';
import { SCHEMA } from '../../src/subsystems';
import { reduce, setupItems, SIGNALS, type Key, type UiState } from '../../src/views/keys';
import { buildLines, initialState } from '../../src/views/viewstate';

const ALL = new Set([...SCHEMA.groups.map((g) => g.name), ...SCHEMA.groups.map((g) => g.source)]);
const proc = (pid: number, over: Partial<ProcessRow> = {}): ProcessRow => ({
  pid, startNs: pid, ppid: 1, uid: 0, user: pid % 2 ? 'root' : 'bob', comm: `c${pid}`, cmdline: `cmd${pid}`, threads: 1, state: 'S', kthread: false,
  source: 'bpf', exited: false, exitCode: null, late: false, v: new Float64Array(SCHEMA.slots), spanNs: 1e9, avail: ALL, threadsDetail: [], ext: {}, ...over,
});

function ui(over: Partial<UiState> = {}): UiState {
  return {
    view: initialState({ sort: 'pid' }), mode: 'table', input: '', menu: 0, signal: null, targets: [], paused: false, cumulative: false,
    delayMs: 1000, columns: ['pid', 'user', 'cpu', 'oncpu', 'cmd'], monochrome: false, drill: null, message: null, ...over,
  };
}

/** Feed keys; the context is rebuilt from the state each time, as the TUI does. */
function press(u: UiState, rows: ProcessRow[], ...keys: (string | Key)[]) {
  const effects = [];
  for (const k of keys) {
    const lines = buildLines(rows, u.view);
    const sel = Math.max(0, lines.findIndex((l) => l.key === u.view.sel));
    const users = [...new Set(rows.map((r) => r.user))].sort();
    const r = reduce(u, typeof k === 'string' ? (k.length === 1 ? { ch: k } : { name: k }) : k, { lines, sel, page: 3, users });
    u = r.ui;
    effects.push(...r.effects);
  }
  const lines = buildLines(rows, u.view);
  return { u, effects, lines, selPid: lines[Math.max(0, lines.findIndex((l) => l.key === u.view.sel))]?.proc.pid };
}

const rows = [1, 2, 3, 4, 5, 6, 7, 8].map((p) => proc(p, p === 5 ? { comm: 'nginx', cmdline: 'nginx: worker' } : {}));

describe('key reducer', () => {
  it('moves the selection with arrows, pages, Home and End', () => {
    expect(press(ui(), rows, 'down', 'down').selPid).toBe(3);
    expect(press(ui(), rows, 'pagedown', 'pagedown').selPid).toBe(7);
    expect(press(ui(), rows, 'end', 'up').selPid).toBe(7);
    expect(press(ui(), rows, 'end', 'home').selPid).toBe(1);
  });

  it('sorts: < > move along the shown columns, I inverts, P M T jump, a title click sorts or inverts', () => {
    expect(press(ui(), rows, '>').u.view.sort).toBe('user');
    expect(press(ui(), rows, '>', '>', '<').u.view.sort).toBe('user');
    expect(press(ui(), rows, 'I').u.view.invert).toBe(true);
    expect(press(ui(), rows, 'P').u.view.sort).toBe('cpu');
    expect(press(ui(), rows, 'T').u.view.sort).toBe('oncpu');
    expect(press(ui(), rows, 'M').u.view.sort).toBe('mem');
    expect(press(ui(), rows, { click: { column: 'oncpu' } }).u.view).toMatchObject({ sort: 'oncpu', invert: false });
    expect(press(ui(), rows, { click: { column: 'pid' } }).u.view).toMatchObject({ sort: 'pid', invert: true });
    const f6 = press(ui(), rows, 'f6', 'down', 'down', 'enter');
    expect([f6.u.mode, f6.u.view.sort]).toEqual(['table', 'cpu']);
  });

  it('/ jumps to the next match without narrowing; \\ narrows, Esc clears', () => {
    const s = press(ui(), rows, '/', 'n', 'g');
    expect(s.selPid).toBe(5);
    expect(s.lines).toHaveLength(8);
    const f = press(ui(), rows, '\\', 'n', 'g', 'i', 'enter');
    expect(f.lines.map((l) => l.proc.pid)).toEqual([5]);
    expect(f.u.mode).toBe('table');
    expect(press(f.u, rows, 'escape').lines).toHaveLength(8);
  });

  it('u narrows to one user', () => {
    const s = press(ui(), rows, 'u', 'down', 'enter');
    expect(s.u.view.user).toBe('bob');
    expect(s.lines.map((l) => l.proc.pid)).toEqual([2, 4, 6, 8]);
    expect(press(s.u, rows, 'u', 'home', 'enter').lines).toHaveLength(8);
  });

  it('k asks which signal and for confirmation before sending it to the selected or tagged processes', () => {
    const s = press(ui(), rows, 'down', 'k', 'enter', 'y');
    expect(s.effects).toEqual([{ kind: 'signal', targets: [{ pid: 2, startNs: 2 }], signal: 15 }]);
    const kill = press(ui(), rows, ' ', ' ', 'f9', 'down', 'enter', 'y');
    expect(kill.effects).toEqual([{ kind: 'signal', targets: [{ pid: 1, startNs: 1 }, { pid: 2, startNs: 2 }], signal: SIGNALS[1][0] }]);
    expect(press(ui(), rows, 'k', 'enter', 'n').effects).toEqual([]);
    expect(press(ui(), rows, ' ', 'U').u.view.tagged.size).toBe(0);
  });

  it('a tag names the process by pid and start: pid 1 started again is not tagged, and gets no signal', () => {
    const tagged = press(ui(), rows, ' ').u;
    expect(tagged.view.tagged).toEqual(new Map([[1, 1]]));
    const reused = rows.map((r) => (r.pid === 1 ? { ...r, startNs: 999 } : r));
    // the old tag stays pid 1 started at 1: the signal check refuses the new pid 1
    expect(press(tagged, reused, 'k', 'enter', 'y').effects).toEqual([{ kind: 'signal', targets: [{ pid: 1, startNs: 1 }], signal: 15 }]);
    // space on the new pid 1 tags it (not untags the old one)
    expect(press({ ...tagged, view: { ...tagged.view, sel: null } }, reused, ' ').u.view.tagged).toEqual(new Map([[1, 999]]));
  });

  it('c toggles totals, d sets the refresh, z pauses, t/F5 the tree, H threads, K kernel, x exited, q quits', () => {
    expect(press(ui(), rows, 'c').effects).toEqual([{ kind: 'cumulative', on: true }]);
    const d = press(ui(), rows, 'd', 'backspace', 'backspace', 'backspace', '2', '.', '5', 'enter');
    expect(d.effects).toEqual([{ kind: 'delay', ms: 2500 }, { kind: 'save' }]);
    // beyond the settings file's bounds (0.1 s .. 1 h): refused, nothing saved
    for (const bad of ['0.01', '99999', 'x']) {
      const r = press(ui(), rows, 'd', 'backspace', ...bad.split(''), 'enter');
      expect(r.effects).toEqual([]);
      expect(r.u.message).toMatch(/^not a refresh interval: .* \(0\.1 to 3600 seconds\)$/);
    }
    expect(press(ui(), rows, 'z').u.paused).toBe(true);
    expect(press(ui(), rows, 't').u.view.tree).toBe(true);
    expect(press(ui(), rows, 'f5', 'f5').u.view.tree).toBe(false);
    expect(press(ui(), rows, 'H').u.view.threads).toBe(true);
    expect(press(ui(), rows, 'K').u.view.hideKernel).toBe(true);
    expect(press(ui(), rows, 'x').u.view.hideExited).toBe(true);
    expect(press(ui(), rows, 'q').effects).toEqual([{ kind: 'quit' }]);
    expect(press(ui(), rows, 'f10').effects).toEqual([{ kind: 'quit' }]);
  });

  it('Enter drills into the selected process; Esc comes back to the same selection', () => {
    const s = press(ui(), rows, 'down', 'down', 'enter');
    expect([s.u.mode, s.u.drill]).toEqual(['drill', 'p3:3']);
    const back = press(s.u, rows, 'escape');
    expect([back.u.mode, back.selPid]).toEqual(['table', 3]);
  });

  it('F2 removes a column and reorders them, and asks to save', () => {
    const u0 = ui();
    const at = setupItems(u0).indexOf('user');
    const keys: string[] = ['f2', ...Array(at).fill('down'), ' '];
    const s = press(u0, rows, ...keys, 'escape');
    expect(s.u.columns).toEqual(['pid', 'cpu', 'oncpu', 'cmd']);
    expect(s.effects).toContainEqual({ kind: 'save' });
    const moved = press(u0, rows, 'f2', ...Array(setupItems(u0).indexOf('oncpu')).fill('down'), '[', 'escape');
    expect(moved.u.columns).toEqual(['pid', 'user', 'oncpu', 'cpu', 'cmd']);
  });

  it('+ and - expand and collapse the selected family in the tree', () => {
    const fam = [proc(1, { ppid: 0 }), proc(2, { ppid: 1 }), proc(3, { ppid: 2 })];
    const s = press(ui({ view: initialState({ sort: 'pid', tree: true }) }), fam, 'down', '-');
    expect(s.lines.map((l) => l.proc.pid)).toEqual([1, 2]);
    expect(press(s.u, fam, '+').lines).toHaveLength(3);
  });
});

describe('column fitting', () => {
  it('drops columns from the right so CMD keeps 20 characters; ← → scroll past PID', () => {
    const cols = ['pid', 'user', 'cpu', 'oncpu', 'runq', 'offcpu', 'csw', 'cmd'].map(column);
    const ids = (w: number, h = 0) => fitColumns(cols, w, h).map((c) => c.id);
    expect(ids(200)).toEqual(['pid', 'user', 'cpu', 'oncpu', 'runq', 'offcpu', 'csw', 'cmd']);
    expect(ids(60)).toEqual(['pid', 'user', 'cpu', 'oncpu', 'cmd']);
    expect(ids(60, 2)).toEqual(['pid', 'oncpu', 'runq', 'offcpu', 'cmd']);
    for (const w of [40, 60, 80, 120]) {
      const f = fitColumns(cols, w);
      expect(f.reduce((n, c) => n + c.width + 1, 0) + 20).toBeLessThanOrEqual(w + 1);
    }
  });

  it('every column\'s title fits its width', () => {
    for (const c of COLUMNS) if (c.width) expect(c.title.length, c.id).toBeLessThanOrEqual(c.width);
  });
});
