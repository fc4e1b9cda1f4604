// The budget's decision (src/budget.ts) over fake cost series: sheds the
// costliest unit under a storm one per step, restores last-shed first after
// it, does not flap at the boundary, backs off a unit that does, never sheds
// the core. And the model's side: an interval a unit was shed in, in any
// part, has its numbers null, and nothing settled while shed carries over.
import { describe, expect, it } from 'vitest';
import type { TaskRecord } from '../../src/abi';
import { Model, type Interval, type RawSample } from '../../src/model';
import { SCHEMA } from '../../src/subsystems';
import { CPU, OFFCPU } from '../../src/subsystems/cpu';
import { REASONS, WAIT, type Reason } from '../../src/subsystems/wait';
import { processJson } from '../../src/views/json';
import { BUDGET, budgetPct, budgetState, NEVER_SHED, SHED_ORDER, shedUnits, step, type BudgetAction, type BudgetState, type Costs } from '../../src/budget';

const ALL = SHED_ORDER.map((u) => u.name);

/**
 * A machine where each unit's cost is proportional to the load, and shed
 * units cost nothing: the whole tool is core + attached units + its process.
 */
function machine(pct: number, unitCost: Record<string, number>, core = 0.3, self = 0.2) {
  const s = budgetState(pct);
  const actions: { tick: number; action: NonNullable<BudgetAction> }[] = [];
  const run = (load: number, n = 1): void => {
    for (let i = 0; i < n; i++) {
      const shed = new Set(shedUnits(s));
      const unitPct: Record<string, number> = {};
      for (const u of ALL) unitPct[u] = shed.has(u) ? 0 : (unitCost[u] ?? 0) * load;
      const c: Costs = { totalPct: core * load + self + Object.values(unitPct).reduce((a, b) => a + b, 0), unitPct, corePct: core * load, measured: true };
      const a = step(s, c, ALL.filter((u) => !shed.has(u)));
      if (a) actions.push({ tick: s.tick, action: a });
    }
  };
  return { s, actions, run };
}

describe('budget', () => {
  it('--budget bounds: 0 (none) to 100', () => {
    expect(budgetPct('2')).toBe(2);
    expect(budgetPct('0')).toBe(0);
    expect(budgetPct('0.5')).toBe(0.5);
    expect(budgetPct('100')).toBe(100);
    for (const bad of ['-1', '101', 'x', '', ' ', 'NaN', 'Infinity']) expect(budgetPct(bad)).toBeNull();
  });

  it('never sheds the core: no unit holds a core source, and the order names every unit once', () => {
    const sources = SHED_ORDER.flatMap((u) => u.sources);
    for (const core of NEVER_SHED) expect(sources).not.toContain(core);
    expect(new Set(ALL).size).toBe(ALL.length);
    // a storm that only the core makes: nothing to shed, whatever the cost
    const m = machine(1, {}, 5);
    m.run(10, 50);
    expect(m.actions).toEqual([]);
  });

  it('sheds the costliest unit after 2 intervals above, one per step, until under; restores last-shed first after the storm', () => {
    // at load 10: wait 1.5%, net.recv 2%, net.send 0.8%, core 3%, self 0.2% = 7.5% of all CPU
    const m = machine(2, { wait: 0.15, 'net.recv': 0.2, 'net.send': 0.08, 'disk.fs': 0.001 }, 0.3);
    m.run(1, 10); // calm: 0.3 + 0.2 + 0.431 = 0.93%
    expect(m.actions).toEqual([]);
    m.run(10, 1);
    expect(m.actions).toEqual([]); // one interval above is not enough
    m.run(10, 1);
    expect(m.actions).toEqual([{ tick: 12, action: { shed: 'net.recv' } }]); // the costliest, not the first in order
    m.run(10, 20);
    // then wait (1.5%), then net.send (0.8%); disk.fs costs under 5% of the budget: kept
    expect(m.actions.map((a) => a.action)).toEqual([{ shed: 'net.recv' }, { shed: 'wait' }, { shed: 'net.send' }]);
    expect(m.actions.map((a) => a.tick)).toEqual([12, 14, 16]); // one per step, each after 2 intervals above
    expect(shedUnits(m.s)).toEqual(['net.recv', 'wait', 'net.send']);
    // storm over: back to load 1 (0.5% + the units' 0.43%)
    m.run(1, 60);
    const restores = m.actions.filter((a) => 'restore' in a.action);
    expect(restores.map((a) => a.action)).toEqual([{ restore: 'net.send' }, { restore: 'wait' }, { restore: 'net.recv' }]);
    // each after BUDGET.restoreAfter intervals below half the budget
    expect(restores[0].tick - 32).toBe(BUDGET.restoreAfter);
    expect(restores[1].tick - restores[0].tick).toBe(BUDGET.restoreAfter);
    expect(shedUnits(m.s)).toEqual([]);
  });

  it('does not restore while the remembered cost would not fit, nor while the cost is not below half the budget', () => {
    const m = machine(2, { wait: 0.3 }, 0.1);
    m.run(10, 2); // 3 + 1 + 0.2
    expect(m.actions.map((a) => a.action)).toEqual([{ shed: 'wait' }]);
    // cost 0.95% (core 0.75 + self 0.2): below half, but wait would add 2.25% (scaled with the core)
    m.run(7.5, 100);
    expect(m.actions).toHaveLength(1);
    // 1.1%: not below half the budget
    m.run(9, 100);
    expect(m.actions).toHaveLength(1);
    // load 2: 0.4% + wait's estimate 0.6% fits
    m.run(2, BUDGET.restoreAfter);
    expect(m.actions.map((a) => a.action)).toEqual([{ shed: 'wait' }, { restore: 'wait' }]);
  });

  it('no flapping at the boundary: a cost hovering around the budget sheds once and stays shed', () => {
    const m = machine(2, { wait: 0.1 }, 0.15);
    // load 10 ± 5%: total 2.5–2.8% with wait, 1.5–1.7% without
    for (let i = 0; i < 300; i++) m.run(10 * (1 + 0.05 * Math.sin(i)), 1);
    expect(m.actions.map((a) => a.action)).toEqual([{ shed: 'wait' }]);
    // single spikes above the budget and dips below half do not act either
    const n = machine(2, { wait: 0.1 }, 0.1);
    for (let i = 0; i < 100; i++) n.run(i % 2 ? 15 : 5, 1); // 1.2% / 3.2% alternating (with wait 1.7/4.7)
    expect(n.actions).toEqual([]);
  });

  it('backs off a unit that flaps: its restore waits twice as long each time it is shed again soon after', () => {
    const m = machine(2, { wait: 0.2 }, 0.1);
    const restoreGaps: number[] = [];
    for (let round = 0; round < 4; round++) {
      m.run(10, 2); // storm: shed
      const shedAt = m.s.tick;
      let t = 0;
      while (shedUnits(m.s).length && t++ < 1000) m.run(1, 1); // calm until restored
      restoreGaps.push(m.s.tick - shedAt);
    }
    expect(restoreGaps).toEqual([BUDGET.restoreAfter, BUDGET.restoreAfter * 2, BUDGET.restoreAfter * 4, BUDGET.restoreAfter * 8]);
    // restored and left alone long enough: back to the first wait
    m.run(1, BUDGET.flapWithin + 1);
    m.run(10, 2);
    const shedAt = m.s.tick;
    while (shedUnits(m.s).length) m.run(1, 1);
    expect(m.s.tick - shedAt).toBe(BUDGET.restoreAfter);
  });

  it('without run-time statistics: the documented order; with a budget of 0: nothing ever', () => {
    const s: BudgetState = budgetState(1);
    const c: Costs = { totalPct: 5, unitPct: {}, corePct: 0, measured: false };
    const acts = Array.from({ length: 6 }, () => step(s, c, ALL.filter((u) => !shedUnits(s).includes(u))));
    expect(acts.filter(Boolean)).toEqual([{ shed: ALL[0] }, { shed: ALL[1] }, { shed: ALL[2] }]);
    const off = budgetState(0);
    for (let i = 0; i < 10; i++) expect(step(off, { ...c, totalPct: 100 }, ALL)).toBeNull();
  });

  it('measured costs that tie go in the documented order; a unit not attached is never chosen', () => {
    const s = budgetState(1);
    const c: Costs = { totalPct: 3, unitPct: { 'net.send': 0.5, wait: 0.49, 'net.recv': 0.6 }, corePct: 1, measured: true };
    step(s, c, ['wait', 'net.send']);
    expect(step(s, c, ['wait', 'net.send'])).toEqual({ shed: 'wait' }); // within 5% of net.send: wait is first in order
  });
});

describe('budget: a shed interval in the model', () => {
  const MS = 1e6;
  const S = 1e9;
  /** thread 7: on-CPU so far, closed waits, the interval still open */
  const rec = (oncpu: number, closed: Partial<Record<Reason, number>>, open?: [number, Reason]): TaskRecord => {
    const c = new Float64Array(SCHEMA.taskSlots);
    c[CPU.at.oncpu_ns] = oncpu;
    for (const [r, ns] of Object.entries(closed)) c[WAIT.at.disk_ns + REASONS.indexOf(r as Reason)] = ns;
    if (open) {
      c[WAIT.at.open_since_ns] = open[0];
      c[WAIT.at.open_cat] = REASONS.indexOf(open[1]);
    }
    return { kind: 'task', tid: 7, pid: 7, ppid: 1, uid: 0, flags: 0, state: 1, exitCode: 0, startNs: 0, pstartNs: 0, timeNs: 0, comm: 'w', c };
  };
  const sample = (timeNs: number, t: TaskRecord, shed: string[] = []): RawSample => ({
    timeNs, wallMs: timeNs / MS, tasks: [t], procTasks: [], events: [], charges: [], ext: {}, idleNs: null,
    bpf: { runNs: 0, runCount: 0, records: 0, lost: 0 }, loadavg: null,
    shed, missing: shed.length ? ['wait.switch'] : [],
  });

  it('wait shed: null for every interval it missed, off-CPU from the CPU counters, nothing settled while shed carried over', () => {
    const m = new Model({ ncpu: 1, cmdline: () => null });
    const T = 10 * S;
    // (times after T) blocked (child) since T; wait is shed in the first interval; the thread
    // wakes unseen at 0.5 s and runs: the kernel record keeps the stale open interval
    m.update(sample(T, rec(0, {}, [T, 'child'])));
    // rows are the model's own objects, reused: each interval is checked when it comes
    const shedInterval = (iv: Interval, oncpu: number) => {
      expect(iv.shed).toEqual(['wait']);
      expect(iv.avail.has(WAIT.name)).toBe(false);
      expect(iv.avail.has('wait.switch')).toBe(false);
      expect(iv.avail.has(CPU.name)).toBe(true);
      const j = processJson(iv, iv.processes[0], { threads: false }) as Record<string, unknown>;
      expect(j.wait).toBeNull();
      expect(j.steal_ns).toBeNull();
      // off-CPU time from the kernel's counters, not the reasons (not the stale open child wait)
      expect(j.oncpu_ns).toBe(oncpu);
      expect(j.offcpu_ns).toBe(S - oncpu);
    };
    shedInterval(m.update(sample(T + 1 * S, rec(500 * MS, {}, [T, 'child']), ['wait']))!, 500 * MS);
    shedInterval(m.update(sample(T + 2 * S, rec(1500 * MS, {}, [T, 'child']), ['wait']))!, 1000 * MS);
    // restored in this one: the purge cleared the stale interval; blocked on a pipe at 2.8 s
    shedInterval(m.update(sample(T + 3 * S, rec(2000 * MS, {}, [T + 2800 * MS, 'pipe']), ['wait']))!, 500 * MS);
    // attached all through: the pipe until 3.0 s, child 3.0-3.3 s, ran 0.2 s, pipe again from 3.5 s
    const after = m.update(sample(T + 4 * S, rec(2200 * MS, { pipe: 200 * MS, child: 300 * MS }, [T + 3500 * MS, 'pipe'])))!;
    expect(after.shed).toEqual([]);
    expect(after.avail.has(WAIT.name)).toBe(true);
    const r = after.processes[0];
    // the child wait closed after the restore counts whole (the 2 s settled while shed are not its base)
    expect(r.v[WAIT.at.child_ns]).toBe(300 * MS);
    expect(r.v[WAIT.at.pipe_ns]).toBe(500 * MS);
    expect(r.v[OFFCPU.at.offcpu_ns]).toBe(800 * MS);
    expect(r.v[CPU.at.oncpu_ns]).toBe(200 * MS);
  });

  it('--cumulative: a source missing in any interval since attach stays null in the totals', () => {
    const m = new Model({ ncpu: 1, cumulative: true, cmdline: () => null });
    m.update(sample(0, rec(0, {})));
    m.update(sample(1 * S, rec(0, { sleep: S }), ['wait']));
    const iv = m.update(sample(2 * S, rec(0, { sleep: 2 * S })))!;
    expect(iv.avail.has(WAIT.name)).toBe(false);
    expect(iv.processes[0].avail.has(WAIT.name)).toBe(false);
    // back to deltas: this interval had wait whole
    const d = m.setCumulative(false)!;
    expect(d.avail.has(WAIT.name)).toBe(true);
    expect(d.processes[0].avail.has(WAIT.name)).toBe(true);
  });
});
