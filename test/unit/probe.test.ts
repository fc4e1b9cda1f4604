import { describe, expect, it } from 'vitest';
import { effectiveCaps, hasBpfPrivilege, HOOKS, planPrograms, preflightReason } from '../../src/probe';

const all = { hasType: () => true, rawTracepoints: true };

describe('program selection', () => {
  it('loads only primaries when the kernel has every BTF tracepoint', () => {
    const plan = planPrograms(all);
    expect(plan.load.map((l) => l.program)).toEqual(['dump_task', 'switch_btf', 'exec_btf', 'fork_btf']);
    expect(plan.disable).toEqual(['switch_raw', 'exec_raw', 'fork_raw']);
    expect(plan.sources.every((s) => s.state === 'attached')).toBe(true);
  });

  it('falls back to raw_tp where tp_btf is missing, and says why', () => {
    const plan = planPrograms({ hasType: (n) => n !== 'btf_trace_sched_switch', rawTracepoints: true });
    expect(plan.load.map((l) => l.program)).toContain('switch_raw');
    expect(plan.disable).toContain('switch_btf');
    const s = plan.sources.find((x) => x.source === 'cpu.exit')!;
    expect(s.state).toBe('fallback');
    expect(s.why).toMatch(/btf_trace_sched_switch/);
  });

  it('reports a source missing when no variant can attach', () => {
    const plan = planPrograms({ hasType: () => false, rawTracepoints: false });
    expect(plan.load).toEqual([]);
    expect(plan.sources.every((s) => s.state === 'missing')).toBe(true);
    expect(plan.disable.length).toBe(HOOKS.reduce((n, h) => n + h.variants.length, 0));
    expect(plan.sources[0].why).toMatch(/bpf_iter__task/);
  });

  it('never loads two variants of one hook', () => {
    for (const hasType of [() => true, () => false, (n: string) => n.includes('exec')]) {
      const plan = planPrograms({ hasType, rawTracepoints: true });
      const sources = plan.load.map((l) => l.source);
      expect(new Set(sources).size).toBe(sources.length);
    }
  });
});

describe('privilege check', () => {
  it('reads CapEff and accepts CAP_SYS_ADMIN or CAP_BPF+CAP_PERFMON', () => {
    expect(hasBpfPrivilege(effectiveCaps('CapEff:\t000001ffffffffff\n'))).toBe(true);
    expect(hasBpfPrivilege(effectiveCaps('CapEff:\t0000000000000000\n'))).toBe(false);
    const bpfPerfmon = (1n << 39n) | (1n << 38n);
    expect(hasBpfPrivilege(bpfPerfmon)).toBe(true);
    expect(hasBpfPrivilege(1n << 39n)).toBe(false);
  });
  it('says what is missing: privilege first, then kernel BTF', () => {
    expect(preflightReason(0n, true)).toMatch(/needs root or CAP_BPF\+CAP_PERFMON/);
    expect(preflightReason(1n << 21n, false)).toMatch(/no kernel BTF at \/sys\/kernel\/btf\/vmlinux/);
    expect(preflightReason(1n << 21n, true)).toBeNull();
  });
});
