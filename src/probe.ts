// Which BPF programs to load, decided from feature probes. Pure: the probe
// results come in, a plan goes out, so every fallback choice is unit-tested.
import fs from 'node:fs';

/** off: nothing shown or asked for needs it (or --no-<subsystem>), so it is not attached */
export type SourceState = 'attached' | 'fallback' | 'missing' | 'off';

export interface Variant {
  program: string;
  hook: string;
  /** a kernel BTF type whose presence means this variant can attach */
  needsType?: string;
  /** a raw tracepoint (BPF_PROG_TYPE_RAW_TRACEPOINT): needs the kernel to support that program type */
  needsRawTp?: boolean;
  /** holds a BPF compare-and-exchange: the kernel refuses it before 5.12 (Features.cmpxchg) */
  needsCmpxchg?: boolean;
  /** `const volatile` settings this variant needs when chosen (they win over the hooks' config) */
  consts?: Record<string, number>;
}

/**
 * A program on a kernel tracepoint, in its two variants (libbpf-tools style,
 * both compiled, one loaded): `<program>_btf` on tp_btf/<tracepoint> where the
 * kernel's BTF declares btf_trace_<tracepoint>, else `<program>_raw` on
 * raw_tp/<tracepoint>. `btf` and `raw` add to or override either variant.
 */
export function onTracepoint(program: string, tracepoint: string, raw: Partial<Variant> = {}, btf: Partial<Variant> = {}): Variant[] {
  return [
    { program: `${program}_btf`, hook: `tp_btf/${tracepoint}`, needsType: `btf_trace_${tracepoint}`, ...btf },
    { program: `${program}_raw`, hook: `raw_tp/${tracepoint}`, needsRawTp: true, ...raw },
  ];
}

export interface HookSpec {
  source: string;
  what: string;
  /** primary first; later entries are fallbacks */
  variants: Variant[];
  /** `const volatile` settings of its programs, from the kernel's features (e.g. tracepoint argument counts) */
  config?: (f: Features) => Record<string, number>;
  /** a fallback-only hook: not attached where the kernel has this BTF type (its primary needs no help) */
  onlyWithout?: string;
  /** ebtop cannot run without it: its refusal stops ebtop (every other source degrades alone) */
  required?: boolean;
  /**
   * Programs of other hooks that carry this hook's code inline (switched on
   * by its `config`): when the kernel refuses one of them, this hook is
   * switched off first, so that the program can load without its part.
   */
  rides?: string[];
}

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
  /** `const volatile` values to set before load */
  consts: Record<string, number>;
}

export interface Features {
  hasType(name: string): boolean;
  /** the kernel loads raw tracepoint programs (probed with libbpf) */
  rawTracepoints: boolean;
  /** arguments of a tracepoint as its BTF (btf_trace_<name>) declares them, without the leading __data; -1 when unknown */
  tracepointArgs(name: string): number;
  /** the kernel supports this BPF map type (libbpf's name: 'task_storage', ...) */
  hasMapType(name: string): boolean;
  /** the verifier accepts BPF compare-and-exchange (atomics, 5.12), probed with a tiny program */
  cmpxchg: boolean;
  /** programs the kernel refused at an earlier load, with its reason (src/loader.ts) */
  refused?: ReadonlyMap<string, string>;
}

/**
 * One variant per hook: the first usable one, in the spec's order. Hooks of
 * sources not in `wanted` (when given) are not loaded at all. A source is
 * whole or missing: where one of its hooks has no usable variant, none of
 * its hooks is loaded (half a source would give wrong numbers, not n/a).
 */
export function planPrograms(features: Features, hooks: HookSpec[], wanted?: ReadonlySet<string>): Plan {
  const plan: Plan = { load: [], disable: [], sources: [], consts: {} };
  const usable = (v: Variant) =>
    (!v.needsType || features.hasType(v.needsType)) && (!v.needsRawTp || features.rawTracepoints) && (!v.needsCmpxchg || features.cmpxchg) && !features.refused?.has(v.program);
  const off = (spec: HookSpec) =>
    (spec.onlyWithout !== undefined && features.hasType(spec.onlyWithout)) || (wanted !== undefined && !wanted.has(spec.source));
  const incomplete = new Map<string, { hook: string; why: string }>();
  for (const spec of hooks) {
    if (!off(spec) && !spec.variants.some(usable) && !incomplete.has(spec.source)) incomplete.set(spec.source, { hook: spec.variants[0].hook, why: missingWhy(spec, features) });
  }
  const variantConsts: Record<string, number> = {};
  for (const spec of hooks) {
    const unneeded = spec.onlyWithout !== undefined && features.hasType(spec.onlyWithout);
    const chosen = off(spec) || incomplete.has(spec.source) ? -1 : spec.variants.findIndex(usable);
    spec.variants.forEach((v, i) => {
      if (i !== chosen) plan.disable.push(v.program);
    });
    if (off(spec)) {
      const why = unneeded ? `not needed: the kernel has ${spec.onlyWithout}` : 'not needed by what is shown, or switched off';
      plan.sources.push({ source: spec.source, what: spec.what, state: 'off', hook: spec.variants[0].hook, why });
      continue;
    }
    if (chosen < 0) {
      const other = incomplete.get(spec.source)!;
      const why = spec.variants.some(usable) ? `its source also needs ${other.hook}, which is missing` : missingWhy(spec, features);
      plan.sources.push({ source: spec.source, what: spec.what, state: 'missing', hook: spec.variants[0].hook, why });
      continue;
    }
    const v = spec.variants[chosen];
    plan.load.push({ program: v.program, source: spec.source });
    if (spec.config) Object.assign(plan.consts, spec.config(features));
    Object.assign(variantConsts, v.consts);
    plan.sources.push({
      source: spec.source,
      what: spec.what,
      state: chosen === 0 ? 'attached' : 'fallback',
      hook: v.hook,
      why: chosen === 0 ? undefined : `${spec.variants[0].hook} unavailable (${whyNot(spec.variants[0], features)})`,
    });
  }
  Object.assign(plan.consts, variantConsts);
  return plan;
}

function missingWhy(spec: HookSpec, f: Features): string {
  const refused = spec.variants.filter((v) => f.refused?.has(v.program));
  if (refused.length) {
    // variants refused for the same reason are named together
    const byReason = new Map<string, string[]>();
    for (const v of refused) byReason.set(f.refused!.get(v.program)!, [...(byReason.get(f.refused!.get(v.program)!) ?? []), v.program]);
    return [...byReason].map(([why, programs]) => `the kernel refused ${programs.join(', ')}: ${why}`).join('; ');
  }
  const needs = spec.variants.map((v) => [v.needsType, v.needsRawTp ? 'raw tracepoints' : undefined, v.needsCmpxchg ? 'BPF cmpxchg' : undefined].filter(Boolean).join(' + ')).join(' or ');
  return `kernel lacks ${needs}`;
}

function whyNot(v: Variant, f: Features): string {
  const refused = f.refused?.get(v.program);
  if (refused !== undefined) return `the kernel refused ${v.program}: ${refused}`;
  if (v.needsType && !f.hasType(v.needsType)) return `no ${v.needsType} in kernel BTF`;
  if (v.needsRawTp && !f.rawTracepoints) return 'kernel refuses raw tracepoint programs';
  if (v.needsCmpxchg && !f.cmpxchg) return 'kernel refuses BPF cmpxchg (before 5.12)';
  return 'usable';
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
