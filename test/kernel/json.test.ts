// The NDJSON output is a public contract (DESIGN.md): every field, its type,
// and values that hold against what the machine did.
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { EbtopRun, kernelSkipReason, relErr, type Sample } from '../helpers/kernel';

const skip = kernelSkipReason();

describe.skipIf(skip)('--json contract (kernel)', () => {
  const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
  afterAll(() => sleeper.kill());

  it('prints -n samples of the documented shape, then exits 0', async () => {
    const ebtop = new EbtopRun(['-d', '0.4', '-n', '3', '--threads']);
    expect(await ebtop.exited).toBe(0);
    expect(ebtop.samples).toHaveLength(3);
    for (const s of ebtop.samples as (Sample & Record<string, unknown>)[]) {
      expect(s.type).toBe('sample');
      expect(new Date(s.time).toISOString()).toBe(s.time);
      expect(Number.isInteger(s.interval_ns)).toBe(true);
      expect(relErr(s.interval_ns, 0.4e9)).toBeLessThan(0.05);
      expect(s.ncpu).toBeGreaterThan(0);
      expect(Number.isInteger(s.system.busy_ns)).toBe(true);
      expect(Number.isInteger(s.system.idle_ns)).toBe(true);
      expect(Number.isInteger(s.system.exited)).toBe(true);
      for (const k of ['run_ns', 'events', 'lost'] as const) expect(Number.isInteger(s.system.bpf[k])).toBe(true);
      expect(s.processes.length).toBeGreaterThan(10);
      for (const p of s.processes as unknown as Record<string, unknown>[]) {
        for (const k of ['pid', 'ppid', 'threads', 'oncpu_ns', 'runq_ns', 'offcpu_ns', 'nvcsw', 'nivcsw', 'migrations']) {
          expect(Number.isInteger(p[k]), `${k} of ${JSON.stringify(p)}`).toBe(true);
        }
        for (const k of ['user', 'comm', 'cmdline']) expect(typeof p[k]).toBe('string');
        expect(typeof p.cpu_pct).toBe('number');
        expect(typeof p.exited).toBe('boolean');
        expect(p.exited ? Number.isInteger(p.exit_code) : p.exit_code === null).toBe(true);
        expect(Array.isArray(p.threads_detail)).toBe(true);
      }
    }
  });

  it('a sleeping process is off-CPU for the whole interval; -p keeps only the asked PIDs', async () => {
    const ebtop = new EbtopRun(['-d', '0.5', '-n', '2', '-p', String(sleeper.pid)]);
    expect(await ebtop.exited).toBe(0);
    const s = ebtop.samples[1];
    expect(s.processes.map((p) => p.pid)).toEqual([sleeper.pid]);
    const p = s.processes[0];
    expect(p.comm).toBe('sleep');
    expect(p.cmdline).toBe('sleep 30');
    expect(p.oncpu_ns).toBe(0);
    expect(relErr(p.offcpu_ns, s.interval_ns)).toBeLessThan(0.001);
  });
});
