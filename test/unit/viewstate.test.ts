// The table's view state without a terminal: sort, filters, tree with family
// rollups (exited descendants included), threads, selection, search, scroll.
import { describe, expect, it } from 'vitest';
import type { ProcessRow, ThreadRow } from '../../src/model';
import { SCHEMA } from '../../src/subsystems';
import { CPU, cpuPct } from '../../src/subsystems/cpu';
import { ASCII, buildLines, findNext, initialState, isTagged, lineTarget, pruneTags, scrollTop, selectedIndex, signalTargets, toggleTag, type ViewState } from '../../src/views/viewstate';

const ALL = new Set([...SCHEMA.groups.map((g) => g.name), ...SCHEMA.groups.map((g) => g.source)]);
const MS = 1e6;

function proc(pid: number, ppid: number, oncpuMs: number, over: Partial<ProcessRow> = {}): ProcessRow {
  const v = new Float64Array(SCHEMA.slots);
  v[CPU.at.oncpu_ns] = oncpuMs * MS;
  return {
    pid, startNs: pid * 10, ppid, uid: 0, user: 'root', comm: `c${pid}`, cmdline: `cmd${pid} --x`, threads: 1, state: 'S', kthread: false,
    source: 'bpf', exited: false, exitCode: null, late: false, v, spanNs: 1e9, avail: ALL, threadsDetail: [], ext: {}, ...over,
  };
}
function thread(tid: number, oncpuMs: number): ThreadRow {
  const v = new Float64Array(SCHEMA.slots);
  v[CPU.at.oncpu_ns] = oncpuMs * MS;
  return { tid, comm: `t${tid}`, exited: false, v, spanNs: 1e9, avail: ALL };
}
const st = (over: Partial<ViewState> = {}) => initialState(over);
const pids = (lines: ReturnType<typeof buildLines>) => lines.map((l) => l.row.pid);

// init(1) -> make(10) -> cc(11, exited), cc(12); make -> sh(13) -> sleep(14); kthreadd(2) -> kworker(3)
const rows = () => [
  proc(1, 0, 1),
  proc(10, 1, 5, { comm: 'make', cmdline: 'make -j4' }),
  proc(11, 10, 300, { comm: 'cc', cmdline: 'cc a.c', exited: true, exitCode: 0 }),
  proc(12, 10, 200, { comm: 'cc', cmdline: 'cc b.c' }),
  proc(13, 10, 1, { comm: 'sh', cmdline: 'sh -c sleep 1' }),
  proc(14, 13, 0, { comm: 'sleep', cmdline: 'sleep 1', user: 'bob' }),
  proc(2, 0, 0, { comm: 'kthreadd', cmdline: '[kthreadd]', kthread: true }),
  proc(3, 2, 50, { comm: 'kworker/0:1', cmdline: '[kworker/0:1]', kthread: true }),
];

describe('view state', () => {
  it('sorts by a column, inverted on request, pid breaking ties', () => {
    expect(pids(buildLines(rows(), st()))).toEqual([11, 12, 3, 10, 1, 13, 2, 14]);
    expect(pids(buildLines(rows(), st({ sort: 'pid' })))).toEqual([1, 2, 3, 10, 11, 12, 13, 14]);
    expect(pids(buildLines(rows(), st({ sort: 'pid', invert: true })))).toEqual([14, 13, 12, 11, 10, 3, 2, 1]);
  });

  it('filters by command, by user, hides kernel threads and exited processes', () => {
    expect(pids(buildLines(rows(), st({ sort: 'pid', filter: 'CC ' })))).toEqual([11, 12]);
    expect(pids(buildLines(rows(), st({ sort: 'pid', user: 'bob' })))).toEqual([14]);
    expect(pids(buildLines(rows(), st({ sort: 'pid', hideKernel: true })))).toEqual([1, 10, 11, 12, 13, 14]);
    expect(pids(buildLines(rows(), st({ sort: 'pid', hideExited: true })))).toEqual([1, 2, 3, 10, 12, 13, 14]);
  });

  it('draws the tree, children sorted under their parent', () => {
    const lines = buildLines(rows(), st({ tree: true, sort: 'cpu' }), ASCII);
    expect(lines.map((l) => l.row.cmdline)).toEqual([
      'cmd1 --x',
      '`- make -j4',
      '   |- cc a.c',
      '   |- cc b.c',
      '   `- sh -c sleep 1',
      '      `- sleep 1',
      '[kthreadd]',
      '`- [kworker/0:1]',
    ]);
  });

  it('a collapsed family shows its total, exited children included, even when they are hidden', () => {
    const collapsed = new Set(['p10:100']);
    const lines = buildLines(rows(), st({ tree: true, collapsed, hideExited: true }), ASCII);
    const make = lines.find((l) => l.proc.pid === 10)!;
    expect(make.collapsed).toBe(true);
    expect(make.children).toBe(3);
    expect(make.row.v[CPU.at.oncpu_ns]).toBe((5 + 300 + 200 + 1 + 0) * MS);
    expect(cpuPct(make.row)).toBeCloseTo(50.6);
    expect(lines.some((l) => l.proc.pid === 12)).toBe(false); // inside the collapsed family
    // the process itself is unchanged
    expect(make.proc.v[CPU.at.oncpu_ns]).toBe(5 * MS);
  });

  it('keeps the ancestors of a match in the tree', () => {
    const lines = buildLines(rows(), st({ tree: true, filter: 'sleep' }), ASCII);
    expect(pids(lines)).toEqual([1, 10, 13, 14]);
  });

  it('survives a parent cycle from pid reuse', () => {
    const lines = buildLines([proc(20, 21, 1), proc(21, 20, 1)], st({ tree: true }));
    expect(pids(lines).sort()).toEqual([20, 21]);
  });

  it('lists threads under their process, sorted, with branches', () => {
    const p = proc(30, 1, 10, { threads: 2, threadsDetail: [thread(30, 1), thread(31, 9)] });
    const lines = buildLines([p], st({ threads: true }), ASCII);
    expect(lines.map((l) => [l.key, l.row.cmdline])).toEqual([
      ['p30:300', 'cmd30 --x'],
      ['t31', '  |- t31'],
      ['t30', '  `- t30'],
    ]);
  });

  it('keeps the selection on its key, and scrolls to keep it visible', () => {
    const lines = buildLines(rows(), st({ sort: 'pid' }));
    expect(selectedIndex(lines, st({ sel: 'p13:130' }))).toBe(6);
    expect(selectedIndex(lines, st({ sel: 'p99:0' }), 3)).toBe(3);
    expect(selectedIndex(lines, st({ sel: null }), 100)).toBe(7);
    expect(scrollTop(0, 6, 4, 8)).toBe(3);
    expect(scrollTop(5, 2, 4, 8)).toBe(2);
    expect(scrollTop(0, 0, 20, 8)).toBe(0);
  });

  it('searches forward from the selection, wrapping', () => {
    const lines = buildLines(rows(), st({ sort: 'pid' }));
    expect(pids(lines)).toEqual([1, 2, 3, 10, 11, 12, 13, 14]);
    expect(findNext(lines, 4, 'cc')).toBe(5);
    expect(findNext(lines, 5, 'cc')).toBe(4);
    expect(findNext(lines, 0, 'nope')).toBe(-1);
  });

  it('signals the tagged processes, else the selected live one', () => {
    const lines = buildLines(rows(), st({ sort: 'pid' }));
    expect(signalTargets(lines, st({ tagged: new Map([[12, 120], [13, 130]]) }), 0)).toEqual([{ pid: 12, startNs: 120 }, { pid: 13, startNs: 130 }]);
    expect(signalTargets(lines, st(), 5)).toEqual([{ pid: 12, startNs: 120 }]);
    expect(signalTargets(lines, st(), 4)).toEqual([]); // exited: nothing to signal
  });

  it('drops the tag of a process that exited, keeps the others (the same map when none went)', () => {
    const tagged = new Map([[12, 120], [13, 130]]);
    expect(pruneTags(tagged, rows())).toBe(tagged);
    const after = rows().map((r) => (r.pid === 12 ? { ...r, exited: true } : r));
    expect(pruneTags(tagged, after)).toEqual(new Map([[13, 130]]));
    expect(pruneTags(tagged, rows().filter((r) => r.pid !== 13))).toEqual(new Map([[12, 120]])); // gone from the rows
  });

  it('a tag does not pass to a later process given the same pid', () => {
    const tagged = toggleTag(new Map(), { pid: 12, startNs: 120 });
    // pid 12 exited and a new process got the pid: another start
    const reused = rows().map((r) => (r.pid === 12 ? { ...r, startNs: 5000 } : r));
    const lines = buildLines(reused, st({ sort: 'pid', tagged }));
    const l12 = lines.find((l) => l.proc.pid === 12)!;
    expect(isTagged(st({ tagged }), lineTarget(l12))).toBe(false);
    expect(pruneTags(tagged, reused).size).toBe(0);
  });

  it('a thread line tags and signals its process', () => {
    const rs = rows().map((r) => (r.pid === 12 ? { ...r, threads: 2, threadsDetail: [thread(12, 1), thread(40, 1)] } : r));
    const lines = buildLines(rs, st({ sort: 'pid', threads: true }));
    const t = lines.findIndex((l) => l.thread && l.row.pid === 40);
    expect(signalTargets(lines, st(), t)).toEqual([{ pid: 12, startNs: 120 }]);
  });
});
