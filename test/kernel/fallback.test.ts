// The raw_tp fallbacks cannot be chosen on this kernel by the probes (it has
// tp_btf), so force them and check they produce the same exact numbers.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Collector } from '../../src/collector';
import { Model } from '../../src/model';
import { CPU, OFFCPU } from '../../src/subsystems/cpu';
import { WAIT } from '../../src/subsystems/wait';
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
        'raw_tp/block_rq_insert',
        'raw_tp/block_rq_issue',
        'raw_tp/block_rq_complete',
        'raw_tp/mm_filemap_get_pages',
        'raw_tp/ext4_da_write_end',
        'raw_tp/ext4_write_end',
        'raw_tp/ext4_journalled_write_end',
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
        'raw_tp/sched_wakeup_new',
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

      // wait, through the per-tid hash: a nanosleep loop of 300 ms waited for sleep
      const sleeper = await run(WORKLOAD('waiter'), ['sleep', '0.3']);
      const w = model.update(c.sample())!.processes.find((p) => p.pid === sleeper.pid)!;
      const sleepNs = w.v[WAIT.at.sleep_ns];
      console.log(`raw_tp: nanosleep loop slept ${(sleepNs / 1e6).toFixed(2)} ms of ${(w.v[OFFCPU.at.offcpu_ns] / 1e6).toFixed(2)} ms off-CPU`);
      expect(w.exited).toBe(true);
      expect(sleepNs / w.v[OFFCPU.at.offcpu_ns]).toBeGreaterThan(0.9);
      expect(relErr(sleepNs, 0.3e9)).toBeLessThan(0.05);
    } finally {
      c.close();
    }
  });
});
