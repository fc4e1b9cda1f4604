// One refused program stops its own source, never ebtop: programs built to be
// refused (EBTOP_TEST_REJECT, bpf/common.bpf.h) go through the real verifier,
// and the rest must load, attach and stay exact; `--caps` shows the
// verifier's reason. A refused core program is the one case that stops ebtop.
import { execFile } from 'node:child_process';
import pino from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Collector } from '../../src/collector';
import { Model } from '../../src/model';
import { CPU } from '../../src/subsystems/cpu';
import { DISK } from '../../src/subsystems/disk';
import { NET } from '../../src/subsystems/net';
import { WAIT } from '../../src/subsystems/wait';
import { EBTOP, kernelSkipReason, relErr, run, WORKLOAD } from '../helpers/kernel';

const skip = kernelSkipReason();
// the verifier words it differently across kernels ("off=8 size=8" on 6.18, "off 8+0 size 8" on 5.10)
const VERIFIER = /invalid read from stack/;

function ebtop(args: string[], reject: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(EBTOP, args, { env: { ...process.env, EBTOP_TEST_REJECT: reject } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The burner's on-CPU time through a collector loaded with `reject`, and the collector's view of its sources. */
async function burnWith(reject: string) {
  process.env.EBTOP_TEST_REJECT = reject;
  const c = Collector.open({ log: pino({ level: 'silent' }) });
  try {
    const model = new Model({ ncpu: 2 });
    model.update(c.sample());
    // truth: the parent's wait4() rusage (the burner's own clock stops before its exit path)
    const out = (await run(WORKLOAD('reap'), [WORKLOAD('burn'), '300'])).stdout.trim().split('\n');
    const burn = JSON.parse(out[out.length - 1]) as { pid: number; rusage_ns: number }; // reap's line comes last
    const self = burn.rusage_ns;
    const row = model.update(c.sample())!.processes.find((p) => p.pid === burn.pid)!;
    return { sources: c.sources, avail: new Set(c.avail), self, oncpu: row.v[CPU.at.oncpu_ns] };
  } finally {
    c.close();
  }
}

describe.skipIf(skip)('a program the kernel refuses (kernel)', () => {
  // what this kernel lacks anyway (older kernels: a hook or two): not the test's doing
  let lacking: string[] = [];
  beforeAll(() => {
    const c = Collector.open({ log: pino({ level: 'silent' }) });
    lacking = c.sources.filter((s) => s.state === 'missing').map((s) => s.hook);
    c.close();
  });
  const refusedNow = (sources: { state: string; hook: string }[]) => sources.filter((s) => s.state === 'missing' && !lacking.includes(s.hook));

  afterEach(() => {
    delete process.env.EBTOP_TEST_REJECT;
  });

  it('an optional source: only it goes missing, with the verifier\'s reason; the core stays exact', async () => {
    const r = await burnWith('disk');
    const missing = refusedNow(r.sources) as typeof r.sources;
    console.log(`refused disk: ${missing.map((s) => `${s.source} ${s.hook}: ${s.why}`).join(' | ')}; burner wait4 ${(r.self / 1e6).toFixed(2)} ms, ebtop ${(r.oncpu / 1e6).toFixed(2)} ms`);
    expect(missing.map((s) => s.source)).toEqual(['disk.bio', 'disk.bio']);
    expect(missing[0].why).toMatch(/^the kernel refused bio_queue_btf, bio_queue_raw: .*invalid read from stack/);
    expect(r.avail.has(DISK.name)).toBe(false);
    expect(r.avail.has(NET.name)).toBe(true);
    expect(r.avail.has(WAIT.name)).toBe(true);
    expect(relErr(r.oncpu, r.self)).toBeLessThan(0.01);
  });

  it('the wait classifier inside the core\'s programs: wait goes missing, the core loads without it', async () => {
    const r = await burnWith('wait');
    const missing = refusedNow(r.sources) as typeof r.sources;
    expect(missing.map((s) => s.source)).toEqual(['wait.switch']);
    expect(missing[0].why).toMatch(/its part of switch_btf was refused: .*invalid read from stack/);
    expect(r.sources.find((s) => s.source === 'cpu.exit')!.state).toBe('attached');
    expect(r.avail.has(WAIT.name)).toBe(false);
    expect(relErr(r.oncpu, r.self)).toBeLessThan(0.01);
  });

  it('--caps and --json say so: the reason in --caps, null fields in JSON, numbers elsewhere', async () => {
    const caps = await ebtop(['--caps'], 'disk');
    expect(caps.code).toBe(0);
    expect(caps.stdout).toMatch(/^disk\.bio +missing +tp_btf\/block_bio_queue +the kernel refused bio_queue_btf, bio_queue_raw: .*invalid read from stack/m);
    expect(caps.stdout.split('\n').filter((l) => / missing /.test(l) && !lacking.some((h) => l.includes(` ${h} `))).length).toBe(2);
    const json = await ebtop(['--json', '-n', '1', '-d', '1'], 'disk');
    expect(json.code).toBe(0);
    const procs = JSON.parse(json.stdout).processes as Record<string, unknown>[];
    expect(procs.length).toBeGreaterThan(10);
    expect(procs.every((p) => p.disk_read_bytes === null && typeof p.oncpu_ns === 'number')).toBe(true);
    // the net fields are numbers wherever this kernel has the net hooks
    if (!lacking.some((h) => /sock_send_length|sys_exit/.test(h))) expect(procs.every((p) => p.net_tx_bytes !== null)).toBe(true);
  });

  it('a refused core program stops ebtop: one line, exit 2, and --caps lists why', async () => {
    const r = await ebtop(['--caps'], 'core');
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(VERIFIER);
    expect(r.stderr).toMatch(/^ebtop: the kernel refused ebtop's dump_task: /);
    expect(r.stdout).toMatch(/^cpu\.counters +missing +iter\/task +the kernel refused dump_task: .*invalid read from stack/m);
  });
});
