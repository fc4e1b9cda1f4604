// BPF run statistics: exact while the machine runs few programs, sampled in a
// window when it runs many, exact again when it quiets down; never switched
// when someone else holds them on. A fake kernel counts runs at a set rate
// only while the statistics are on.
import { describe, expect, it } from 'vitest';
import { BpfStats, BUSY_RUNS, type StatsIO } from '../../src/bpfstats';

const MS = 1e6;

/** Programs running `rate` times a second at `nsPerRun` each, counted only while enabled. */
class FakeKernel implements StatsIO {
  now = 0;
  rate = 1000;
  nsPerRun = 100;
  holders = 0;
  external: boolean;
  toggles = 0;
  private counted = { runNs: 0, runCount: 0 };
  private timers: { at: number; fn: () => void }[] = [];

  constructor(external = false) {
    this.external = external;
  }

  private on(): boolean {
    return this.holders > 0 || this.external;
  }

  /** Let `ms` pass: runs happen; due timers fire. */
  advance(ms: number): void {
    const end = this.now + ms * MS;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      const until = next && next.at <= end ? next.at : end;
      if (this.on()) {
        const runs = (this.rate * (until - this.now)) / 1e9;
        this.counted.runCount += runs;
        this.counted.runNs += runs * this.nsPerRun;
      }
      this.now = until;
      if (next && next.at <= end) {
        this.timers.shift();
        next.fn();
      } else break;
    }
  }

  cancelTimers(): void {
    this.timers = [];
  }

  enable(): void {
    if (this.holders === 0) this.toggles++;
    this.holders = 1;
  }
  disable(): void {
    if (this.holders === 1) this.toggles++;
    this.holders = 0;
  }
  read() {
    return { ...this.counted };
  }
  externallyOn(): boolean {
    return this.external;
  }
  after(ms: number, fn: () => void) {
    const t = { at: this.now + ms * MS, fn };
    this.timers.push(t);
    return () => {
      this.timers = this.timers.filter((x) => x !== t);
    };
  }
}

/** Per-interval figures over `n` intervals of 1 s. */
function intervals(k: FakeKernel, s: BpfStats, n: number) {
  const out: { runNs: number; runs: number; sampled: boolean; on: boolean }[] = [];
  let prev = s.take();
  for (let i = 0; i < n; i++) {
    k.advance(1000);
    const cur = s.take();
    out.push({ runNs: cur.runNs - prev.runNs, runs: cur.runCount - prev.runCount, sampled: cur.sampled, on: k.holders > 0 });
    prev = cur;
  }
  return out;
}

describe('BPF run statistics', () => {
  it('a quiet machine: on all the time, exact, never switched', () => {
    const k = new FakeKernel();
    const s = new BpfStats(k, () => k.now);
    const iv = intervals(k, s, 5);
    for (const x of iv) {
      expect(x.runs).toBeCloseTo(1000, 6);
      expect(x.runNs).toBeCloseTo(100_000, 3);
      expect(x.sampled).toBe(false);
    }
    expect(k.toggles).toBe(1);
  });

  it('a busy machine: on for a tenth of each interval, the interval scaled from it (within 1%)', () => {
    const k = new FakeKernel();
    k.rate = 250_000;
    const s = new BpfStats(k, () => k.now);
    const iv = intervals(k, s, 6);
    expect(iv[0].sampled).toBe(false); // measured whole, then found busy
    expect(iv[0].runs).toBeCloseTo(250_000, 3);
    for (const x of iv.slice(1)) {
      expect(x.sampled).toBe(true);
      expect(Math.abs(x.runs - 250_000) / 250_000).toBeLessThan(0.01);
      expect(Math.abs(x.runNs - 25_000_000) / 25_000_000).toBeLessThan(0.01);
    }
    // on for 100 ms of each 1 s: 2 switches per interval
    expect(k.toggles).toBeLessThanOrEqual(2 + 2 * 6);
    expect(k.holders).toBe(1); // the window of the interval now running
    k.advance(150);
    expect(k.holders).toBe(0);
  });

  it('quiets down: back to exact, on all the time', () => {
    const k = new FakeKernel();
    k.rate = 100_000;
    const s = new BpfStats(k, () => k.now);
    intervals(k, s, 3);
    k.rate = 2_000;
    const iv = intervals(k, s, 4);
    expect(iv.at(-1)!.sampled).toBe(false);
    expect(iv.at(-1)!.runs).toBeCloseTo(2_000, 3);
    expect(k.holders).toBe(1);
    k.advance(500);
    expect(k.holders).toBe(1);
  });

  it('a window whose timer did not run is closed at the refresh: the whole interval, exact', () => {
    const k = new FakeKernel();
    k.rate = 4 * BUSY_RUNS;
    const s = new BpfStats(k, () => k.now);
    s.take();
    k.advance(1000);
    const before = s.take(); // busy: a window opens now
    k.cancelTimers(); // a caller sampling in a loop without turning the event loop
    k.advance(1000);
    const after = s.take();
    expect(after.sampled).toBe(false);
    expect(after.runCount - before.runCount).toBeCloseTo(4 * BUSY_RUNS, 3);
  });

  it('held on by someone else (kernel.bpf_stats_enabled=1): exact, never switched', () => {
    const k = new FakeKernel(true);
    k.rate = 250_000;
    const s = new BpfStats(k, () => k.now);
    const iv = intervals(k, s, 4);
    for (const x of iv) {
      expect(x.sampled).toBe(false);
      expect(x.runs).toBeCloseTo(250_000, 3);
    }
    expect(k.toggles).toBe(1);
  });
});
