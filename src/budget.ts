// The budget (--budget PCT): ebtop holds its own cost (its BPF programs' run
// time + its process tree's CPU, as a share of all CPU) under PCT by shedding
// optional hook sources while the cost stays above it, and restoring them when
// load falls. Pure: the units and the parameters are data, step() is the one
// decision, fed one interval's costs at a time (unit-tested with a fake cost
// series); the session measures and the collector detaches and re-attaches.
//
// Only sources whose numbers are per-thread counters of events in the
// thread's own context are shed: a shed interval is then simply missing
// (n/a), and nothing after the restore depends on what happened while shed.
// Never the core (on-CPU time, run-queue time, exits, exec, fork), and not
// sources whose state spans events (the TCP connection table, the inode
// dirtiers that writeback is charged through, requests in flight): shedding
// those would misattribute after the restore instead of showing n/a.

/** A part of ebtop that can be shed as one: its hook sources detach together. */
export interface ShedUnit {
  name: string;
  sources: readonly string[];
  /**
   * A one-entry array map that code riding inline in a core program reads
   * (the wait classifier in sched_switch): it cannot be detached, so it is
   * switched off through the map (bpf/cpu.bpf.c wait_gate).
   */
  gate?: string;
  /**
   * Sources whose programs carry the unit's code inline (behind the gate):
   * their run time counts as the unit's cost too. The inline part cannot be
   * timed apart from the rest of the program, so this overstates the unit
   * (by the core's own part of sched_switch), which the cost it leaves
   * behind when shed shows: shedding it is still what lowers that program's
   * cost, and its restore waits until the whole would fit.
   */
  rides?: readonly string[];
}

/**
 * The shedding order where measured costs tie or are unknown (the costliest
 * unit by measured run time goes first otherwise): first what runs at the
 * events every busy machine has most of (context switches), then
 * socket calls, then page-cache calls.
 */
export const SHED_ORDER: readonly ShedUnit[] = [
  { name: 'wait', sources: ['wait.switch'], gate: 'wait_gate', rides: ['cpu.exit'] },
  { name: 'net.recv', sources: ['net.recv'] },
  { name: 'net.send', sources: ['net.send'] },
  { name: 'disk.fs', sources: ['disk.fs'] },
  { name: 'disk.fswrite', sources: ['disk.fswrite'] },
];

/** The sources a budget never sheds: the core's. */
export const NEVER_SHED = ['cpu.counters', 'cpu.exit', 'lifecycle.exec', 'lifecycle.fork'];

export const BUDGET = {
  /** --budget's default, % of all CPU (the project's line) */
  defaultPct: 2,
  /** the first intervals are not judged: start-up (the BPF load, V8 compiling what runs every refresh) is no load shedding helps with */
  warmupMs: 10_000,
  /** consecutive intervals above the budget before a unit is shed (one per step) */
  shedAfter: 2,
  /** restore only while the cost is below budget × low ... */
  low: 0.5,
  /** ... for this many consecutive intervals (doubled for a unit that flaps) */
  restoreAfter: 5,
  /** the longest a unit's restore can be backed off to, in intervals */
  restoreAfterMax: 320,
  /** a unit shed again within this many intervals of its restore doubles its wait */
  flapWithin: 30,
  /** a unit costing less than this share of the budget is not worth shedding */
  minShare: 0.05,
  /** measured costs within this fraction of the costliest tie (the order decides) */
  tie: 0.05,
};

export const BUDGET_MAX_PCT = 100;
export const BUDGET_RANGE = `0 (no budget) to ${BUDGET_MAX_PCT} (% of all CPU)`;

/** --budget as typed, or null when not a number within the bounds. */
export function budgetPct(text: string): number | null {
  const v = text.trim() === '' ? NaN : Number(text);
  return Number.isFinite(v) && v >= 0 && v <= BUDGET_MAX_PCT ? v : null;
}

/** One interval's costs, % of all CPU (ncpu × interval). */
export interface Costs {
  /** the whole tool: every BPF program's run time + its process tree's CPU */
  totalPct: number;
  /** BPF run time of each unit's programs */
  unitPct: Readonly<Record<string, number>>;
  /** BPF run time of the core (never shed): what a shed unit's cost is scaled by while it is off */
  corePct: number;
  /** the per-program run times were measured (the kernel's run statistics are available) */
  measured: boolean;
}

export interface Shed {
  unit: string;
  /** its cost and the core's when it was shed: its cost now is estimated in proportion to the core's */
  unitPct: number;
  corePct: number;
}

export interface BudgetState {
  readonly pct: number;
  tick: number;
  /** consecutive intervals above the budget, and below budget × low */
  above: number;
  below: number;
  /** shed units, in the order they were shed (restored last first) */
  shed: Shed[];
  /** per unit: quiet intervals its restore waits for, and when it was last restored */
  backoff: Record<string, { quiet: number; restoredAt: number }>;
}

export type BudgetAction = { shed: string } | { restore: string } | null;

export function budgetState(pct: number): BudgetState {
  return { pct, tick: 0, above: 0, below: 0, shed: [], backoff: {} };
}

/** Units shed now, oldest first. */
export function shedUnits(s: BudgetState): string[] {
  return s.shed.map((x) => x.unit);
}

/** What a shed unit would cost if restored now: its cost when shed, scaled as the core's cost has moved since. */
export function estimate(x: Shed, corePct: number): number {
  return x.corePct > 0 ? x.unitPct * (corePct / x.corePct) : x.unitPct;
}

/**
 * One interval: the costs in, at most one action out (state updated in place).
 * `attached`: units whose sources are all attached now (shed ones are not).
 */
export function step(s: BudgetState, c: Costs, attached: readonly string[]): BudgetAction {
  s.tick++;
  if (s.pct <= 0) return null;
  s.above = c.totalPct > s.pct ? s.above + 1 : 0;
  s.below = c.totalPct < s.pct * BUDGET.low ? s.below + 1 : 0;
  if (s.above >= BUDGET.shedAfter) {
    const unit = costliest(s, c, attached);
    if (!unit) return null;
    s.above = 0;
    s.below = 0;
    s.shed.push({ unit, unitPct: c.unitPct[unit] ?? 0, corePct: c.corePct });
    const b = (s.backoff[unit] ??= { quiet: BUDGET.restoreAfter, restoredAt: -Infinity });
    // shed again soon after its restore: it flaps, so it waits twice as long to come back
    b.quiet = s.tick - b.restoredAt <= BUDGET.flapWithin ? Math.min(b.quiet * 2, BUDGET.restoreAfterMax) : BUDGET.restoreAfter;
    return { shed: unit };
  }
  const last = s.shed.at(-1);
  if (!last) return null;
  const b = s.backoff[last.unit];
  if (s.below >= b.quiet && c.totalPct + estimate(last, c.corePct) < s.pct) {
    s.shed.pop();
    s.below = 0;
    b.restoredAt = s.tick;
    return { restore: last.unit };
  }
  return null;
}

/**
 * The unit to shed: the costliest attached one by measured run time (those
 * within BUDGET.tie of it: the first in SHED_ORDER), if it costs at least
 * BUDGET.minShare of the budget; without measurements, the first in order.
 */
function costliest(s: BudgetState, c: Costs, attached: readonly string[]): string | null {
  const units = SHED_ORDER.filter((u) => attached.includes(u.name) && !s.shed.some((x) => x.unit === u.name));
  if (!c.measured) return units[0]?.name ?? null;
  const cost = (u: ShedUnit) => c.unitPct[u.name] ?? 0;
  const max = Math.max(0, ...units.map(cost));
  if (max < s.pct * BUDGET.minShare) return null;
  return units.find((u) => cost(u) >= max * (1 - BUDGET.tie))!.name;
}
