// Shared by the kernel tests: whether BPF can run here, and a handle on a
// running `ebtop --json` whose samples are collected as they arrive.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, beforeAll } from 'vitest';
import { loadNative, SELFTEST_OBJECT_PATH, type BpfObject, type Native } from '../../src/native';

export const ROOT = path.resolve(__dirname, '..', '..');
export const EBTOP = path.join(ROOT, 'bin', 'ebtop');
export const WORKLOAD = (name: string) => path.join(ROOT, 'test', 'workloads', 'bin', name);
/**
 * Inside test/vm's qemu (software emulation, one host thread round-robins the
 * vCPUs): a vCPU can stand still for milliseconds while another runs, so a
 * window between two CPUs' events (a child reaped on one CPU while it
 * finishes its last switch-out on another) is that much wider. Only such
 * cross-CPU windows are widened; exactness checks are the same everywhere.
 */
export const EMULATED = Boolean(process.env.EBTOP_VM_KERNEL);

/**
 * Why kernel tests cannot run here, or null. With EBTOP_REQUIRE_BPF=1 (CI)
 * there is no reason good enough: the caller fails instead of skipping.
 */
export function kernelSkipReason(): string | null {
  let why: string | null = null;
  if (process.getuid?.() !== 0) why = 'not root';
  else if (!fs.existsSync('/sys/kernel/btf/vmlinux')) why = 'no kernel BTF';
  else if (!fs.existsSync(path.join(ROOT, 'bpf', '.output', 'ebtop.bpf.o'))) why = 'BPF object not built (run make)';
  if (why && process.env.EBTOP_REQUIRE_BPF === '1') throw new Error(`EBTOP_REQUIRE_BPF=1 but kernel tests cannot run: ${why}`);
  if (why) console.warn(`skipping kernel tests: ${why}`);
  return why;
}

/**
 * Whether the compiled BPF object is missing, for tests that only read it
 * (BTF cross-checks): they skip with a warning, and with EBTOP_REQUIRE_BPF=1
 * they fail instead of skipping silently.
 */
export function objectMissing(file = path.join(ROOT, 'bpf', '.output', 'ebtop.bpf.o')): boolean {
  if (fs.existsSync(file)) return false;
  if (process.env.EBTOP_REQUIRE_BPF === '1') throw new Error(`EBTOP_REQUIRE_BPF=1 but ${file} is not built`);
  console.warn(`skipping BTF checks: ${file} not built (run make)`);
  return true;
}

/** Why bpf/selftest.bpf.c's programs cannot be test-run here, or null; with EBTOP_REQUIRE_BPF=1 it throws instead. */
export function selftestSkipReason(): string | null {
  const why = kernelSkipReason() ?? (fs.existsSync(SELFTEST_OBJECT_PATH) ? null : 'selftest object not built (run make)');
  if (why && process.env.EBTOP_REQUIRE_BPF === '1') throw new Error(`EBTOP_REQUIRE_BPF=1 but ${why}`);
  return why;
}

/**
 * The selftest object, opened and loaded for the calling describe block
 * (nothing when `skip`). Its inflight_* programs hold BPF cmpxchg, which a
 * kernel before 5.12 refuses in any program it loads: there they are left out.
 */
export function useSelftest(skip: string | null): { native: Native; obj: () => BpfObject } {
  if (skip) return { native: undefined as never, obj: () => undefined as never };
  const native = loadNative();
  let obj: BpfObject | undefined;
  beforeAll(() => {
    obj = native.open(SELFTEST_OBJECT_PATH);
    if (!native.probeCmpxchg()) for (const p of native.programs(obj)) if (p.name.startsWith('inflight_')) native.setAutoload(obj, p.name, false);
    native.load(obj);
  });
  afterAll(() => {
    if (obj) native.close(obj);
  });
  return { native, obj: () => obj! };
}

export interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  cmdline: string;
  exited: boolean;
  exit_code: number | null;
  cpu_pct: number;
  oncpu_ns: number;
  runq_ns: number;
  offcpu_ns: number;
  nvcsw: number;
  nivcsw: number;
  migrations: number;
  threads: number;
  source: string;
}

export interface Sample {
  type: 'sample';
  time: string;
  interval_ns: number;
  ncpu: number;
  /** units the budget shed at any time in the interval (their fields are null) */
  shed: string[];
  system: { busy_ns: number | null; idle_ns: number | null; exited: number; bpf: { run_ns: number; events: number; lost: number } };
  processes: Proc[];
  /** when the test received it (Date.now()) */
  receivedAt: number;
}

export class EbtopRun {
  readonly samples: Sample[] = [];
  readonly child: ChildProcess;
  stderr = '';
  private waiters: (() => void)[] = [];
  readonly exited: Promise<number | null>;

  constructor(args: string[]) {
    // the tests hold every source's numbers to ground truth: no budget sheds
    // them unless a test asks for one (test/kernel/budget.test.ts)
    const budget = args.includes('--budget') ? [] : ['--budget', '0'];
    this.child = spawn(EBTOP, ['--json', ...budget, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stderr!.on('data', (d) => (this.stderr += d));
    readline.createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const s = JSON.parse(line) as Sample;
      s.receivedAt = Date.now();
      this.samples.push(s);
      for (const w of this.waiters.splice(0)) w();
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  /** Resolve once `count` samples in total have arrived. */
  async waitSamples(count: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.samples.length < count) {
      if (Date.now() > deadline) throw new Error(`ebtop gave ${this.samples.length}/${count} samples; stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  /** Resolve with the first sample that `pred` holds for (waiting for new ones until the timeout). */
  private async firstSample(pred: (s: Sample) => boolean, what: string, timeoutMs: number): Promise<Sample> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = this.samples.find(pred);
      if (s) return s;
      if (Date.now() > deadline) throw new Error(`no ebtop sample ${what}; stderr: ${this.stderr}`);
      await this.waitSamples(this.samples.length + 1, timeoutMs);
    }
  }

  /** Resolve with the first sample received after `afterMs`. */
  async sampleAfter(afterMs: number, timeoutMs = 30_000): Promise<Sample> {
    return this.firstSample((x) => x.receivedAt > afterMs, `after ${new Date(afterMs).toISOString()}`, timeoutMs);
  }

  /**
   * The first sample whose snapshot was taken after `afterMs` (its "time"):
   * a sample received after a moment can have been taken before it, when
   * taking and printing it lasted longer (20,000 connections, a loaded machine).
   */
  async sampleTakenAfter(afterMs: number, timeoutMs = 30_000): Promise<Sample> {
    return this.firstSample((x) => Date.parse(x.time) > afterMs, `taken after ${new Date(afterMs).toISOString()}`, timeoutMs);
  }

  /**
   * After the first sample received 100 ms from now, waits (up to timeoutMs)
   * until each pid has its exit row. A parent can reap a child before the
   * child's final switch-out writes its exit record (a dying task preempted;
   * a stalled vCPU under emulation): that row comes a sample or two later.
   */
  async untilExited(pids: Iterable<number>, timeoutMs = 10_000): Promise<void> {
    await this.sampleAfter(Date.now() + 100);
    const want = new Set(pids);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const s of this.samples) for (const p of s.processes) if (p.exited) want.delete(p.pid);
      if (!want.size || Date.now() > deadline) return;
      await this.waitSamples(this.samples.length + 1, timeoutMs);
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    await this.exited;
  }
}

export function run(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; pid: number }> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.on('error', reject);
    c.on('exit', (code) => resolve({ code, stdout, stderr, pid: c.pid! }));
  });
}

/** Relative difference |a-b|/b. */
export function relErr(measured: number, truth: number): number {
  return Math.abs(measured - truth) / truth;
}
