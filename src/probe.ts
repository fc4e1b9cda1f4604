// Which BPF programs to load, decided from feature probes. Pure: the probe
// results come in, a plan goes out, so every fallback choice is unit-tested.
import fs from 'node:fs';

export type SourceState = 'attached' | 'fallback' | 'missing';

export interface Variant {
  program: string;
  hook: string;
  /** a kernel BTF type whose presence means this variant can attach */
  needsType?: string;
}

export interface HookSpec {
  source: string;
  what: string;
  /** primary first; later entries are fallbacks */
  variants: Variant[];
}

/** The hook map of the CPU subsystem and process lifecycle (DESIGN.md). */
export const HOOKS: HookSpec[] = [
  {
    source: 'cpu.counters',
    what: 'on-CPU, run-queue wait, slices, switches, migrations (kernel counters)',
    variants: [{ program: 'dump_task', hook: 'iter/task', needsType: 'bpf_iter__task' }],
  },
  {
    source: 'cpu.exit',
    what: 'exact final counters of exiting threads; switch-in time of running ones',
    variants: [
      { program: 'switch_btf', hook: 'tp_btf/sched_switch', needsType: 'btf_trace_sched_switch' },
      { program: 'switch_raw', hook: 'raw_tp/sched_switch' },
    ],
  },
  {
    source: 'lifecycle.exec',
    what: 'exec: new comm and argv',
    variants: [
      { program: 'exec_btf', hook: 'tp_btf/sched_process_exec', needsType: 'btf_trace_sched_process_exec' },
      { program: 'exec_raw', hook: 'raw_tp/sched_process_exec' },
    ],
  },
  {
    source: 'lifecycle.fork',
    what: 'fork: parent at creation',
    variants: [
      { program: 'fork_btf', hook: 'tp_btf/sched_process_fork', needsType: 'btf_trace_sched_process_fork' },
      { program: 'fork_raw', hook: 'raw_tp/sched_process_fork' },
    ],
  },
];

export interface Source {
  source: string;
  what: string;
  state: SourceState;
  hook: string;
  why?: string;
}

export interface Plan {
  /** programs to autoload and attach, with the source each serves */
  load: { program: string; source: string }[];
  /** every program of the object that must not load */
  disable: string[];
  sources: Source[];
}

export interface Features {
  hasType(name: string): boolean;
  /** raw_tp with BTF-typed args (5.5+); false makes raw_tp fallbacks unusable too */
  rawTracepoints: boolean;
}

export function planPrograms(features: Features, hooks: HookSpec[] = HOOKS): Plan {
  const plan: Plan = { load: [], disable: [], sources: [] };
  for (const spec of hooks) {
    const usable = (v: Variant) => (v.needsType ? features.hasType(v.needsType) : features.rawTracepoints);
    const chosen = spec.variants.findIndex(usable);
    spec.variants.forEach((v, i) => {
      if (i !== chosen) plan.disable.push(v.program);
    });
    if (chosen < 0) {
      const needs = spec.variants.map((v) => v.needsType ?? 'raw tracepoints').join(' or ');
      plan.sources.push({ source: spec.source, what: spec.what, state: 'missing', hook: spec.variants[0].hook, why: `kernel lacks ${needs}` });
      continue;
    }
    const v = spec.variants[chosen];
    plan.load.push({ program: v.program, source: spec.source });
    plan.sources.push({
      source: spec.source,
      what: spec.what,
      state: chosen === 0 ? 'attached' : 'fallback',
      hook: v.hook,
      why: chosen === 0 ? undefined : `${spec.variants[0].hook} unavailable (no ${spec.variants[0].needsType} in kernel BTF)`,
    });
  }
  return plan;
}

export const VMLINUX_BTF = '/sys/kernel/btf/vmlinux';

const CAP_SYS_ADMIN = 21;
const CAP_PERFMON = 38;
const CAP_BPF = 39;

/** Effective capabilities of this process, from /proc/self/status. */
export function effectiveCaps(statusText: string): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)/m.exec(statusText);
  return m ? BigInt('0x' + m[1]) : 0n;
}

export function hasBpfPrivilege(caps: bigint): boolean {
  const has = (bit: number) => (caps >> BigInt(bit)) & 1n;
  return Boolean(has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON)));
}

/** Why ebtop cannot run with these capabilities and this kernel, or null. */
export function preflightReason(caps: bigint, hasBtf: boolean): string | null {
  if (!hasBpfPrivilege(caps)) return 'needs root or CAP_BPF+CAP_PERFMON to load BPF programs (try: sudo ebtop)';
  if (!hasBtf) return `no kernel BTF at ${VMLINUX_BTF} (kernel built without CONFIG_DEBUG_INFO_BTF)`;
  return null;
}

/** The reason ebtop cannot run here at all, or null. */
export function preflight(): string | null {
  return preflightReason(effectiveCaps(fs.readFileSync('/proc/self/status', 'latin1')), fs.existsSync(VMLINUX_BTF));
}
