// The run time and run count of ebtop's BPF programs (the header's "bpf X%",
// JSON system.bpf), at a price that does not grow with the machine's load.
//
// The kernel counts them only while its run statistics are on
// (bpf_enable_stats), and then adds two clock reads to every run of every BPF
// program on the machine: ~40 ns a run here, under `perf bench sched pipe`
// about 60 ns per context switch and 3% of its throughput. Switching them on
// and off costs ~0.4 ms of CPU (the kernel patches its code on every CPU). So:
//  - few runs per interval (below QUIET_RUNS): on all the time, exact; that
//    is cheaper than switching;
//  - many (above BUSY_RUNS): on only for a window at the start of each
//    interval (a tenth of it), the interval's figures scaled from the window:
//    estimates, flagged `sampled`;
//  - on already when ebtop starts (kernel.bpf_stats_enabled=1, someone
//    measuring): read as they are, exact, never switched.
// Totals stay cumulative (estimated intervals included) so the model takes
// deltas as before. Run time is also kept per part (the collector's parts are
// hook sources), scaled alike: the budget (src/budget.ts) sheds by it.
import fs from 'node:fs';

/** Runs per interval above which the statistics are sampled, and below which they are kept on again. */
export const BUSY_RUNS = 20_000;
export const QUIET_RUNS = 5_000;

export interface StatsIO {
  enable(): void;
  disable(): void;
  /** cumulative run time (ns) and runs of ebtop's programs, and run time by part */
  read(): Reading;
  /** whether someone else already holds the statistics on */
  externallyOn(): boolean;
  /** schedule fn after ms (unref'd: it must not keep the process alive); returns a cancel function */
  after(ms: number, fn: () => void): () => void;
}

export interface Reading {
  runNs: number;
  runCount: number;
  /** run time (ns) by part: what the reader groups programs into */
  parts?: Record<string, number>;
}

export interface StatsTotals {
  runNs: number;
  runCount: number;
  /** cumulative run time by part (Reading.parts) */
  parts: Record<string, number>;
  /** the last interval's figures were scaled from a window */
  sampled: boolean;
}

interface Window {
  startNs: number;
  base: Reading;
  /** set when the window closed: its counts and length */
  delta?: Reading;
  lenNs?: number;
  cancel: () => void;
}

export class BpfStats {
  private mode: 'on' | 'window';
  private readonly external: boolean;
  private last: Reading = { runNs: 0, runCount: 0 };
  private lastAtNs = 0;
  /** the first take() is the baseline: no interval ended there */
  private started = false;
  private win: Window | null = null;
  private readonly totals: StatsTotals = { runNs: 0, runCount: 0, parts: {}, sampled: false };
  private closed = false;

  constructor(
    private readonly io: StatsIO,
    private readonly nowNs: () => number,
  ) {
    this.external = io.externallyOn();
    io.enable();
    this.mode = 'on';
  }

  /** At a refresh: the figures up to now (cumulative); the next interval starts. */
  take(): StatsTotals {
    const now = this.nowNs();
    const intervalNs = now - this.lastAtNs;
    if (this.mode === 'on') {
      const cur = this.io.read();
      const runs = cur.runCount - this.last.runCount;
      this.totals.runNs += cur.runNs - this.last.runNs;
      this.totals.runCount += runs;
      this.addParts(partsDelta(this.last, cur), 1);
      this.totals.sampled = false;
      this.last = cur;
      if (!this.external && this.started && runs > BUSY_RUNS) {
        this.mode = 'window';
        this.io.disable();
      }
    } else {
      const w = this.win;
      if (w && !w.delta) this.closeWindow(w, now); // the timer did not run: the window is the whole interval
      if (w?.delta && w.lenNs! > 0) {
        const scale = intervalNs / w.lenNs!;
        this.totals.runNs += Math.round(w.delta.runNs * scale);
        this.totals.runCount += Math.round(w.delta.runCount * scale);
        this.addParts(w.delta.parts, scale);
        this.totals.sampled = scale > 1.001;
        if (w.delta.runCount * scale < QUIET_RUNS) {
          this.mode = 'on';
          this.io.enable();
          this.last = this.io.read();
        }
      }
      this.win = null;
    }
    this.lastAtNs = now;
    this.started = true;
    if (this.mode === 'window') this.openWindow(now, intervalNs);
    return { ...this.totals, parts: { ...this.totals.parts } };
  }

  private addParts(d: Record<string, number> | undefined, scale: number): void {
    for (const [k, ns] of Object.entries(d ?? {})) this.totals.parts[k] = (this.totals.parts[k] ?? 0) + Math.round(ns * scale);
  }

  private openWindow(now: number, intervalNs: number): void {
    this.io.enable();
    const lenMs = Math.min(200, Math.max(10, intervalNs / 1e6 / 10));
    const w: Window = { startNs: now, base: this.io.read(), cancel: () => {} };
    w.cancel = this.io.after(lenMs, () => this.closeWindow(w, this.nowNs()));
    this.win = w;
  }

  private closeWindow(w: Window, now: number): void {
    if (w.delta || this.closed) return;
    w.cancel();
    const cur = this.io.read();
    this.io.disable();
    w.delta = { runNs: cur.runNs - w.base.runNs, runCount: cur.runCount - w.base.runCount, parts: partsDelta(w.base, cur) };
    w.lenNs = now - w.startNs;
  }

  close(): void {
    this.closed = true;
    this.win?.cancel();
    this.win = null;
  }
}

function partsDelta(a: Reading, b: Reading): Record<string, number> | undefined {
  if (!b.parts) return undefined;
  const out: Record<string, number> = {};
  for (const [k, ns] of Object.entries(b.parts)) out[k] = Math.max(0, ns - (a.parts?.[k] ?? 0));
  return out;
}

/** kernel.bpf_stats_enabled: 1 while anyone holds the statistics on. */
export function statsEnabledNow(): boolean {
  try {
    return fs.readFileSync('/proc/sys/kernel/bpf_stats_enabled', 'latin1').trim() === '1';
  } catch {
    return false;
  }
}
