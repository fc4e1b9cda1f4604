import { describe, expect, it } from 'vitest';
import { wantedSources } from '../../src/collector';
import { effectiveCaps, hasBpfPrivilege, planPrograms, preflightReason, type Features } from '../../src/probe';
import { SUBSYSTEMS } from '../../src/subsystems';
import { cpu } from '../../src/subsystems/cpu';

const HOOKS = cpu.hooks;
const features = (over: Partial<Features> = {}): Features => ({ hasType: () => true, rawTracepoints: true, tracepointArgs: () => 4, hasMapType: () => true, cmpxchg: true, ...over });

describe('program selection', () => {
  it('loads only primaries when the kernel has every BTF tracepoint', () => {
    const plan = planPrograms(features(), HOOKS);
    expect(plan.load.map((l) => l.program)).toEqual(['dump_task', 'switch_btf', 'exec_btf', 'fork_btf']);
    expect(plan.disable).toEqual(['switch_raw', 'exec_raw', 'fork_raw']);
    expect(plan.sources.every((s) => s.state === 'attached')).toBe(true);
  });

  it('falls back to raw_tp where tp_btf is missing, and says why', () => {
    const plan = planPrograms(features({ hasType: (n) => n !== 'btf_trace_sched_switch' }), HOOKS);
    expect(plan.load.map((l) => l.program)).toEqual(['dump_task', 'switch_raw', 'exec_btf', 'fork_btf']);
    expect(plan.disable).toEqual(['switch_btf', 'exec_raw', 'fork_raw']);
    const s = plan.sources.find((x) => x.source === 'cpu.exit')!;
    expect(s.state).toBe('fallback');
    expect(s.why).toMatch(/btf_trace_sched_switch/);
  });

  it('does not pick a raw_tp fallback the kernel cannot load', () => {
    const plan = planPrograms(features({ hasType: (n) => n !== 'btf_trace_sched_switch', rawTracepoints: false }), HOOKS);
    expect(plan.load.map((l) => l.program)).not.toContain('switch_raw');
    const s = plan.sources.find((x) => x.source === 'cpu.exit')!;
    expect(s.state).toBe('missing');
    expect(s.why).toMatch(/btf_trace_sched_switch or raw tracepoints/);
  });

  it('reports a source missing when no variant can attach', () => {
    const plan = planPrograms(features({ hasType: () => false, rawTracepoints: false }), HOOKS);
    expect(plan.load).toEqual([]);
    expect(plan.sources.every((s) => s.state === 'missing')).toBe(true);
    expect(plan.disable.length).toBe(HOOKS.reduce((n, h) => n + h.variants.length, 0));
    expect(plan.sources[0].why).toMatch(/bpf_iter__task/);
  });

  it('reads prev_state from sched_switch only where the tracepoint has it (5.18+)', () => {
    expect(planPrograms(features({ tracepointArgs: (n) => (n === 'sched_switch' ? 4 : -1) }), HOOKS).consts.switch_has_prev_state).toBe(1);
    expect(planPrograms(features({ tracepointArgs: (n) => (n === 'sched_switch' ? 3 : -1) }), HOOKS).consts.switch_has_prev_state).toBe(0);
  });

  it('keeps per-thread state in task-local storage, or in the tid hash without it or with raw_tp', () => {
    expect(planPrograms(features(), HOOKS).consts.use_thread_hash).toBe(0);
    expect(planPrograms(features({ hasMapType: (n) => n !== 'task_storage' }), HOOKS).consts.use_thread_hash).toBe(1);
    expect(planPrograms(features({ hasType: (n) => !n.startsWith('btf_trace_') }), HOOKS).consts.use_thread_hash).toBe(1);
  });

  it('leaves hooks nobody needs unattached, and always attaches the core', () => {
    const plan = planPrograms(features(), HOOKS, new Set(['cpu.counters']));
    expect(plan.load.map((l) => l.program)).toEqual(['dump_task']);
    expect(plan.sources.filter((s) => s.state === 'off').map((s) => s.source)).toEqual(['cpu.exit', 'lifecycle.exec', 'lifecycle.fork']);
    // the core's sources are wanted whatever the columns shown
    expect(wantedSources({ sources: new Set() })).toEqual(new Set(HOOKS.map((h) => h.source)));
    const all = SUBSYSTEMS.flatMap((s) => s.hooks.map((h) => h.source));
    expect(wantedSources({})).toEqual(new Set(all));
    expect([...wantedSources({ disabled: new Set(['disk']) })].some((s) => s.startsWith('disk.'))).toBe(false);
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

describe('feature probes through the addon', () => {
  it('asks the kernel whether raw tracepoints load, and tracepoint argument counts from BTF', async () => {
    const { probeFeatures } = await import('../../src/collector');
    const asked: string[] = [];
    const fake = {
      btfHasType: (n: string) => (asked.push(`type ${n}`), n !== 'btf_trace_sched_process_exec'),
      probeProgType: (n: string) => (asked.push(`prog ${n}`), false),
      btfTracepointArgs: (n: string) => (asked.push(`args ${n}`), 3),
      probeMapType: (n: string) => (asked.push(`map ${n}`), false),
      probeCmpxchg: () => (asked.push('cmpxchg'), false),
    };
    const f = probeFeatures(fake as never);
    const plan = planPrograms(f, HOOKS);
    expect(asked).toContain('prog raw_tracepoint');
    expect(asked).toContain('args sched_switch');
    expect(asked).toContain('map task_storage');
    expect(plan.sources.find((s) => s.source === 'lifecycle.exec')!.state).toBe('missing'); // no tp_btf, and raw_tp refused
    expect(plan.consts).toMatchObject({ switch_has_prev_state: 0, use_thread_hash: 1 });
  });
});
