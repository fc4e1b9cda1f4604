// sched_switch without its prev_state argument (kernels before 5.18): forced
// here, prev->__state is read instead, and exits must stay exact.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Collector } from '../../src/collector';
import { Model } from '../../src/model';
import { planPrograms, type Features } from '../../src/probe';
import { SUBSYSTEMS } from '../../src/subsystems';
import { CPU } from '../../src/subsystems/cpu';
import { kernelSkipReason, run, WORKLOAD } from '../helpers/kernel';

const skip = kernelSkipReason();

describe.skipIf(skip)('sched_switch without prev_state (kernel)', () => {
  it('reads prev->__state and still reports exact final counters', async () => {
    const features = { tracepointArgs: () => 3 };
    expect(planPrograms({ hasType: () => true, rawTracepoints: true, hasMapType: () => true, cmpxchg: true, ...features } as Features, SUBSYSTEMS.flatMap((s) => s.hooks)).consts.switch_has_prev_state).toBe(0);
    const c = Collector.open({ log: pino({ level: 'silent' }), features });
    try {
      const model = new Model({ ncpu: 2 });
      model.update(c.sample());
      const r = await run(WORKLOAD('reap'), [WORKLOAD('burn'), '1500']);
      const report = JSON.parse(r.stdout.split('\n').find((l) => l.startsWith('{'))!) as { pid: number; status: number; rusage_ns: number };
      const sp = await run(WORKLOAD('spawner'), ['50', '20', WORKLOAD('burn')]);
      const sr = JSON.parse(sp.stdout) as { children: number[]; child_rusage_ns: number[] };
      const iv = model.update(c.sample())!;
      const row = iv.processes.find((p) => p.pid === report.pid)!;
      const total = row.v[CPU.at.oncpu_ns];
      console.log(`prev->__state: burner rusage ${report.rusage_ns} ebtop ${total} diff ${total - report.rusage_ns} ns`);
      expect(row.exited).toBe(true);
      expect(row.exitCode).toBe(0);
      expect(total - report.rusage_ns).toBeGreaterThanOrEqual(0);
      expect(total - report.rusage_ns).toBeLessThan(2000);
      const off = sr.children.filter((pid, i) => {
        const p = iv.processes.find((x) => x.pid === pid);
        const d = p ? p.v[CPU.at.oncpu_ns] - sr.child_rusage_ns[i] : NaN;
        return !(p?.exited && d >= 0 && d < 2000);
      });
      console.log(`spawner children not exact: ${off.length}/50`);
      expect(off).toEqual([]);
    } finally {
      c.close();
    }
  });
});
