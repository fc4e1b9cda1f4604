// cgroup rows against the kernel's own figure for the same cgroups: two fresh
// v2 cgroups (under a test-owned parent in the v2 mount, removed after), a
// CPU burner in one and 40 processes of 20 ms in the other. Each cgroup's
// on-CPU time summed over ebtop's intervals ("cgroups" in --json, exited
// members included) equals its cpu.stat usage_usec within 2%: the kernel
// charges the same sum_exec_runtime to the cgroup as the process sees.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { cgroup2Mount } from '../../src/procfs';
import { EbtopRun, kernelSkipReason, relErr, WORKLOAD, type Sample } from '../helpers/kernel';

const skip = kernelSkipReason();
const MOUNT = skip ? null : cgroup2Mount();
const PARENT = `/ebtop-test-cgroup-${process.pid}`;

interface CgroupJson {
  path: string;
  name: string;
  processes: number;
  exited: number;
  oncpu_ns: number;
  pressure: Record<string, { some_pct: number; full_pct: number | null } | null> | null;
}
const cgroupsOf = (s: Sample) => (s as unknown as { cgroups: CgroupJson[] }).cgroups;

function usageNs(path: string): number {
  const m = /^usage_usec (\d+)$/m.exec(fs.readFileSync(`${MOUNT}${path}/cpu.stat`, 'utf8'));
  return Number(m![1]) * 1000;
}

/** A process waiting on stdin (`read`) before it execs: moved into its cgroup while it waits, its time before that is the test's. */
function held(cmd: string, args: string[]): { child: ChildProcess; out: Promise<string> } {
  const child = spawn('sh', ['-c', 'read go; exec "$@"', 'sh', cmd, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  return { child, out: new Promise((resolve) => child.on('exit', () => resolve(out))) };
}

function blocked(pid: number): boolean {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'S';
}

let ebtop: EbtopRun | undefined;
afterAll(async () => {
  await ebtop?.stop();
  for (const d of ['busy', 'short', '']) {
    try {
      fs.rmdirSync(`${MOUNT}${PARENT}/${d}`);
    } catch {
      /* not made, or already gone */
    }
  }
});

describe.skipIf(skip || !MOUNT)('cgroup rows (kernel)', () => {
  it('each cgroup\'s on-CPU time over the run equals its cpu.stat usage within 2%, exited members included', async () => {
    fs.mkdirSync(`${MOUNT}${PARENT}`);
    fs.mkdirSync(`${MOUNT}${PARENT}/busy`);
    fs.mkdirSync(`${MOUNT}${PARENT}/short`);
    ebtop = new EbtopRun(['-d', '0.5']);
    await ebtop.waitSamples(1);
    const burner = held(WORKLOAD('burn'), ['1500']);
    const spawner = held(WORKLOAD('spawner'), ['40', '20', WORKLOAD('burn')]);
    // both started and waiting; then two more intervals, so their start-up lies in intervals that end before the move
    for (let i = 0; i < 200 && !(blocked(burner.child.pid!) && blocked(spawner.child.pid!)); i++) await new Promise((r) => setTimeout(r, 10));
    const t = Date.now();
    await ebtop.sampleAfter(t);
    await ebtop.waitSamples(ebtop.samples.length + 1);
    const from = ebtop.samples.length;
    fs.writeFileSync(`${MOUNT}${PARENT}/busy/cgroup.procs`, String(burner.child.pid));
    fs.writeFileSync(`${MOUNT}${PARENT}/short/cgroup.procs`, String(spawner.child.pid));
    burner.child.stdin!.end('go\n');
    spawner.child.stdin!.end('go\n');
    const [, report] = await Promise.all([burner.out, spawner.out]);
    const children = (JSON.parse(report) as { children: number[] }).children;
    // every exit reported: two more intervals
    await ebtop.sampleAfter(Date.now());
    await ebtop.waitSamples(ebtop.samples.length + 1);
    const truth = { busy: usageNs(`${PARENT}/busy`), short: usageNs(`${PARENT}/short`) };
    const sum = { busy: 0, short: 0 };
    const exited = { busy: 0, short: 0 };
    let psi = 0;
    for (const s of ebtop.samples.slice(from)) {
      for (const c of cgroupsOf(s)) {
        for (const k of ['busy', 'short'] as const) {
          if (c.path !== `${PARENT}/${k}`) continue;
          sum[k] += c.oncpu_ns;
          exited[k] += c.exited;
          expect(c.name).toBe(k);
          if (c.pressure?.cpu) psi++;
        }
      }
    }
    console.log(
      `cgroups: busy ebtop ${(sum.busy / 1e6).toFixed(3)} ms, cpu.stat ${(truth.busy / 1e6).toFixed(3)} ms (${(relErr(sum.busy, truth.busy) * 100).toFixed(3)}%); ` +
        `short ebtop ${(sum.short / 1e6).toFixed(3)} ms, cpu.stat ${(truth.short / 1e6).toFixed(3)} ms (${(relErr(sum.short, truth.short) * 100).toFixed(3)}%), ${exited.short} exits; ${psi} readings with pressure`,
    );
    // the workloads ran in their cgroups (half of what they asked for: under
    // qemu's emulation the clock burn times itself by and the scheduler's differ, by 20% seen)
    expect(truth.busy).toBeGreaterThan(0.75e9);
    expect(truth.short).toBeGreaterThan(40 * 10e6);
    expect(relErr(sum.busy, truth.busy)).toBeLessThan(0.02);
    expect(relErr(sum.short, truth.short)).toBeLessThan(0.02);
    // the 40 children and the spawner itself exited in "short", the burner in "busy"
    expect(children).toHaveLength(40);
    expect(exited.short).toBe(41);
    expect(exited.busy).toBe(1);
    // a fresh cgroup's pressure files are read from its second interval on
    expect(psi).toBeGreaterThan(0);
  });
});
