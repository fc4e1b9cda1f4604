// One monitoring session: collector + model on a fixed cadence. Views get
// each Interval; nothing here knows how it is shown. The cadence runs on the
// monotonic clock (performance.now): a wall-clock step (NTP, date -s) neither
// freezes the refresh nor makes it burst. Each refresh also measures ebtop's
// own cost and lets the budget (src/budget.ts) shed or restore a unit.
import fs from 'node:fs';
import { BUDGET, budgetState, NEVER_SHED, SHED_ORDER, step, type BudgetState, type Costs } from './budget';
import { Collector } from './collector';
import { describe } from './loader';
import { mark, type Logger } from './log';
import { Model, type Interval, type ProcessRow, type RawSample } from './model';
import { CgroupNames, onlineCpuCount, pageSize, readCmdline, UserNames } from './procfs';

export interface SessionOptions {
  log: Logger;
  delayMs: number;
  cumulative: boolean;
  pids?: Set<number>;
  /** keep per-thread rows (ProcessRow.threadsDetail) */
  threads?: boolean;
  /** hook sources to attach (default: all); see columns.ts sourcesFor */
  sources?: ReadonlySet<string>;
  /** subsystems switched off (--no-<name>) */
  disabled?: ReadonlySet<string>;
  /** --budget: ebtop's whole cost held under this % of all CPU (0: no budget; default BUDGET.defaultPct) */
  budgetPct?: number;
  /** sees every raw sample after the model took it, and what the model asked for meanwhile (the recorder) */
  tap?: SampleTap;
}

/** The model's input as it happens: what `ebtop record` writes (src/recording). */
export interface SampleTap {
  /** an answer the model got from the system (a process's argv, a user's or a cgroup's name) */
  lookup(kind: 'cmdline' | 'user' | 'cgroup', key: number, value: string[] | string | null): void;
  /** a raw sample, after model.update took it, and the interval it closed (null: the baseline) */
  sample(s: RawSample, iv: Interval | null): void;
}

/** CPU time of this process's reaped children (cutime + cstime of /proc/self/stat), ns. */
function childrenCpuNs(): number {
  try {
    const text = fs.readFileSync('/proc/self/stat', 'latin1');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // fields from 3 (state) on: cutime and cstime are 16 and 17, in USER_HZ (100) ticks
    return (Number(f[13]) + Number(f[14])) * 1e7;
  } catch {
    return 0;
  }
}

function noted<T extends string[] | string | null>(tap: SampleTap, kind: 'cmdline' | 'user' | 'cgroup', key: number, value: T): T {
  tap.lookup(kind, key, value);
  return value;
}

export class Session {
  readonly collector: Collector;
  readonly model: Model;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  /** when the next tick is due, performance.now() ms */
  private nextAt = 0;
  private tickFn?: () => void;
  /** userspace CPU of ebtop itself over the last interval, % of one CPU */
  selfCpuPct = 0;
  private lastUsage = process.cpuUsage();
  private lastUsageAt = process.hrtime.bigint();
  /** per-refresh timings in the log at level debug (EBTOP_LOG_LEVEL=debug) */
  private readonly debug: boolean;
  private sampleMs = 0;
  private ticks = 0;
  /** the budget's state: what is shed, and for how long it has been above or below */
  readonly budget: BudgetState;
  /** the whole tool's cost over the last interval, % of all CPU (BPF + its process and reaped children) */
  costPct = 0;
  private lastChildrenNs = childrenCpuNs();

  constructor(private readonly opts: SessionOptions) {
    this.debug = opts.log.isLevelEnabled('debug');
    this.budget = budgetState(opts.budgetPct ?? BUDGET.defaultPct);
    this.collector = Collector.open({ log: opts.log, sources: opts.sources, disabled: opts.disabled });
    const users = new UserNames();
    const cgroups = new CgroupNames();
    const tap = opts.tap;
    this.model = new Model({
      ncpu: onlineCpuCount(),
      cumulative: opts.cumulative,
      threads: opts.threads,
      userName: tap ? (uid) => noted(tap, 'user', uid, users.name(uid)) : (uid) => users.name(uid),
      cmdline: tap ? (pid) => noted(tap, 'cmdline', pid, readCmdline(pid)) : readCmdline,
      cgroupPath: tap ? (id, pid) => noted(tap, 'cgroup', id, cgroups.path(id, pid)) : (id, pid) => cgroups.path(id, pid),
      pageSize: pageSize(),
      avail: this.collector.avail,
    });
    mark(opts.log, 'BPF loaded and attached');
  }

  /** Take the baseline now, then call onInterval every delayMs until stop(). */
  start(onInterval: (iv: Interval, rows: ProcessRow[]) => void, onError: (e: unknown) => void): void {
    // the first interval starts when the baseline was taken, not when it was done
    const t0 = performance.now();
    const baseline = this.collector.sample();
    this.model.update(baseline);
    this.opts.tap?.sample(baseline, null);
    mark(this.opts.log, 'baseline sample');
    // our own CPU from the baseline on, like every other figure (not the BPF load before it)
    this.lastUsage = process.cpuUsage();
    this.lastUsageAt = process.hrtime.bigint();
    this.lastChildrenNs = childrenCpuNs();
    this.nextAt = t0 + this.opts.delayMs;
    const tick = () => {
      if (this.stopped) return;
      try {
        const t0 = process.hrtime.bigint();
        const iv = this.tick();
        const t1 = process.hrtime.bigint();
        onInterval(iv, this.filter(iv.processes));
        if (this.ticks++ < 3) mark(this.opts.log, `refresh ${this.ticks}`);
        if (this.debug) this.opts.log.debug({ tickMs: Number(t1 - t0) / 1e6, sampleMs: this.sampleMs, viewMs: Number(process.hrtime.bigint() - t1) / 1e6, costPct: this.costPct, shed: iv.shed }, 'tick');
      } catch (e) {
        onError(e);
        return;
      }
      // onInterval may have stopped the session (-n): no further tick then.
      if (!this.stopped) this.schedule(tick);
    };
    this.tickFn = tick;
    this.schedule(tick);
  }

  /** One refresh: sample, fold into the model, and measure our own CPU since the last one. */
  private tick(): Interval {
    const t0 = this.debug ? process.hrtime.bigint() : 0n;
    const sample = this.collector.sample();
    if (this.debug) this.sampleMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const iv = this.model.update(sample)!;
    this.opts.tap?.sample(sample, iv);
    const now = process.hrtime.bigint();
    const usage = process.cpuUsage();
    const wall = Number(now - this.lastUsageAt) / 1e3;
    const used = usage.user + usage.system - this.lastUsage.user - this.lastUsage.system;
    this.selfCpuPct = wall > 0 ? (used / wall) * 100 : 0;
    this.lastUsage = usage;
    this.lastUsageAt = now;
    const children = childrenCpuNs();
    this.applyBudget(iv, used * 1e3 + Math.max(0, children - this.lastChildrenNs));
    this.lastChildrenNs = children;
    return iv;
  }

  /**
   * The interval's cost as the budget sees it (every BPF program's run time
   * and ebtop's own CPU, as a share of ncpu × interval), and its decision
   * applied: a unit's links detached or attached again.
   */
  private applyBudget(iv: Interval, selfNs: number): void {
    const all = iv.ncpu * iv.intervalNs;
    if (!(all > 0)) return;
    const pct = (ns: number) => (ns / all) * 100;
    const by = iv.system.bpf.bySource;
    const sum = (sources: readonly string[]) => sources.reduce((t, src) => t + (by[src] ?? 0), 0);
    this.costPct = pct(iv.system.bpf.runNs + selfNs);
    const costs: Costs = {
      totalPct: this.costPct,
      unitPct: Object.fromEntries(SHED_ORDER.map((u) => [u.name, pct(sum(u.sources) + sum(u.rides ?? []))])),
      corePct: pct(sum(NEVER_SHED)),
      measured: iv.system.bpf.events > 0,
    };
    // start-up (the BPF load, V8 compiling what runs every refresh) is not a load shedding helps with
    if (iv.elapsedNs < BUDGET.warmupMs * 1e6) return;
    const action = step(this.budget, costs, this.collector.sheddable(SHED_ORDER));
    if (!action) return;
    const name = 'shed' in action ? action.shed : action.restore;
    const unit = SHED_ORDER.find((u) => u.name === name)!;
    if ('shed' in action) this.collector.shedUnit(unit);
    else {
      try {
        this.collector.restoreUnit(unit);
      } catch (e) {
        // it could not be attached again: it stays shed for good (its estimate never fits)
        this.budget.shed.push({ unit: name, unitPct: Infinity, corePct: 0 });
        this.opts.log.warn({ unit: name, err: describe(e) }, 'budget: cannot restore');
        return;
      }
    }
    this.opts.log.info({ ...action, costPct: costs.totalPct, budgetPct: this.budget.pct, unitPct: costs.unitPct[name] }, 'budget');
  }

  private schedule(fn: () => void): void {
    const now = performance.now();
    const wait = Math.max(0, this.nextAt - now);
    this.nextAt += this.opts.delayMs;
    if (this.nextAt < now) this.nextAt = now + this.opts.delayMs; // fell behind: do not burst
    this.timer = setTimeout(fn, wait);
  }

  /** A new refresh interval, from now: the pending tick is rescheduled. */
  setDelay(ms: number): void {
    this.opts.delayMs = ms;
    if (this.stopped || !this.tickFn) return;
    if (this.timer) clearTimeout(this.timer);
    this.nextAt = performance.now() + ms;
    this.schedule(this.tickFn);
  }

  /** Rates <-> totals since attach; the last interval re-shown at once. */
  setCumulative(on: boolean): { iv: Interval; rows: ProcessRow[] } | null {
    const iv = this.model.setCumulative(on);
    return iv ? { iv, rows: this.filter(iv.processes) } : null;
  }

  private filter(rows: ProcessRow[]): ProcessRow[] {
    const pids = this.opts.pids;
    return pids ? rows.filter((r) => pids.has(r.pid)) : rows;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.collector.close();
  }
}
