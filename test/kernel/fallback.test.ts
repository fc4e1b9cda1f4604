// The raw_tp fallbacks cannot be chosen on this kernel by the probes (it has
// tp_btf), so force them and check they produce the same exact numbers.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Collector } from '../../src/collector';
import { Model } from '../../src/model';
import { CPU } from '../../src/subsystems/cpu';
import { kernelSkipReason, relErr, run, WORKLOAD } from '../helpers/kernel';

const skip = kernelSkipReason();

describe.skipIf(skip)('raw_tp fallback variants (kernel)', () => {
  it('report exits, execs and exact final CPU time like the tp_btf primaries', async () => {
    const c = Collector.open({ log: pino({ level: 'silent' }), features: { hasType: (n) => !n.startsWith('btf_trace_') } });
    try {
      expect(c.sources.filter((s) => s.state === 'fallback' && s.source !== 'proc.invisible').map((s) => s.hook)).toEqual([
        'raw_tp/sched_switch',
        'raw_tp/sched_process_exec',
        'raw_tp/sched_process_fork',
        'raw_tp/block_bio_queue',
        'raw_tp/writeback_dirty_folio',
        'raw_tp/sys_exit',
        'raw_tp/sys_exit',
        'raw_tp/inet_sock_set_state',
        'raw_tp/inet_sock_set_state',
        'raw_tp/tcp_destroy_sock',
        'raw_tp/tcp_destroy_sock',
        'raw_tp/tcp_retransmit_skb',
        'raw_tp/tcp_retransmit_skb',
        'raw_tp/tcp_receive_reset',
        'raw_tp/tcp_receive_reset',
      ]);
      const model = new Model({ ncpu: 2 });
      model.update(c.sample());
      const burn = await run(WORKLOAD('burn'), ['300']);
      const self = Number(/cputime_ns=(\d+)/.exec(burn.stdout)![1]);
      const iv = model.update(c.sample())!;
      const row = iv.processes.find((p) => p.pid === burn.pid)!;
      const oncpu = row.v[CPU.at.oncpu_ns];
      console.log(`raw_tp: burner self ${(self / 1e6).toFixed(2)} ms, ebtop ${(oncpu / 1e6).toFixed(2)} ms, forks ${iv.system.forks}, execs ${iv.system.execs}`);
      expect(row.exited).toBe(true);
      expect(row.comm).toBe('burn');
      expect(row.cmdline).toBe(`${WORKLOAD('burn')} 300`);
      expect(iv.system.forks).toBeGreaterThanOrEqual(1);
      expect(iv.system.execs).toBeGreaterThanOrEqual(1);
      expect(relErr(oncpu, self)).toBeLessThan(0.01);
    } finally {
      c.close();
    }
  });
});
