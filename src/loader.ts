// Loads ebtop's BPF object with what this kernel accepts. libbpf loads an
// object whole, so one refused program would stop everything: when the
// kernel refuses one, the plan is made again without it (its fallback
// variant, or its source missing with the verifier's reason) and the object
// loaded again, until it loads or a program ebtop cannot run without is
// refused. The parsing of libbpf's log and the choice of what to drop are
// pure and unit-tested; loadObject() is the loop around them.
import { UserError } from './errors';
import type { Logger } from './log';
import { BPF_OBJECT_PATH, isNativeError, type BpfObject, type Native } from './native';
import { planPrograms, type Features, type HookSpec, type Plan, type Source } from './probe';
import type { Machine, MapSize } from './subsystems/types';

/** What a failed load's libbpf log says: the program (or map) that failed, and why. */
export interface LoadFailure {
  program: string | null;
  map: string | null;
  /** the verifier's last words (or libbpf's), one line */
  reason: string;
}

/** Verifier log lines that say how much it did, not what went wrong. */
const STATS_LINE = /^(processed \d+ insns|verification time|stack depth|max_states_per_insn|mark_read|-- (BEGIN|END) PROG LOAD LOG --|\[\.\.\. \d+ bytes \.\.\.\])/;

/**
 * The failing program of a failed bpf_object__load, from libbpf's log of it:
 * the last program libbpf names in a warning (it stops at the first failure),
 * and its reason: the last lines of that program's verifier log, or libbpf's
 * own message (a CO-RE relocation it could not resolve, a map it could not
 * create).
 */
export function loadFailure(log: string): LoadFailure {
  const lines = log.split('\n');
  let program: string | null = null;
  let map: string | null = null;
  for (const l of lines) {
    const p = /libbpf: prog '([^']+)'/.exec(l);
    if (p) program = p[1];
    const m = /libbpf: map '([^']+)': (failed|can't)/.exec(l);
    if (m) map = m[1];
  }
  if (program !== null) map = null;
  let reason = '';
  const begin = lines.findLastIndex((l) => l.includes(`prog '${program}': -- BEGIN PROG LOAD LOG --`));
  if (program !== null && begin >= 0) {
    const end = lines.findIndex((l, i) => i > begin && l.includes('-- END PROG LOAD LOG --'));
    const body = lines.slice(begin + 1, end < 0 ? undefined : end).map((l) => l.trim()).filter((l) => l && !STATS_LINE.test(l));
    reason = body.slice(-2).join(' / ');
  }
  if (!reason) {
    const who = program !== null ? `prog '${program}': ` : map !== null ? `map '${map}': ` : null;
    const said = lines.filter((l) => (who ? l.includes(who) : /^W /.test(l)) && !/-- (BEGIN|END) PROG LOAD LOG --/.test(l));
    reason = said
      .slice(-2)
      .map((l) => l.replace(/^[WID] /, '').replace(/^libbpf: /, '').replace(who ?? '', ''))
      .join(' / ');
  }
  return { program, map, reason: reason.slice(0, 400) || 'no reason in the log' };
}

/**
 * What to stop asking of the kernel after it refused `f.program` under
 * `plan`: programs to mark refused (with the reason each is shown with), or
 * null when nothing can be dropped (a required program with no variant
 * left, or a failure that names no program): ebtop cannot start.
 * Hooks riding inside the refused program (their code inline in it) are
 * switched off first; then the program itself falls back or goes missing.
 */
export function refusal(hooks: HookSpec[], plan: Plan, f: LoadFailure, refused: ReadonlyMap<string, string>): Map<string, string> | null {
  if (f.program === null) return null;
  const program = f.program;
  const loaded = new Set(plan.load.map((l) => l.program));
  const riders = hooks.filter((h) => !h.required && h.rides?.includes(program) && h.variants.some((v) => loaded.has(v.program)));
  if (riders.length) {
    return new Map(riders.flatMap((h) => h.variants.map((v) => [v.program, `its part of ${program} was refused: ${f.reason}`] as [string, string])));
  }
  const spec = hooks.find((h) => h.variants.some((v) => v.program === program));
  if (!spec || refused.has(program)) return null;
  const others = spec.variants.filter((v) => v.program !== program && !refused.has(v.program));
  if (spec.required && !others.length) return null;
  return new Map([[program, f.reason]]);
}

/**
 * A map sized for this machine and plan; one no chosen program uses becomes a
 * one-entry preallocated hash; a run-time allocated hash is preallocated
 * (flags 0) where the kernel has no BPF memory allocator (`memAlloc`, 6.1).
 */
export function mapSetting(m: MapSize, machine: Machine, consts: Record<string, number>, memAlloc = true): { type?: string; entries?: number; flags?: number } {
  if (m.unused?.(consts)) return { type: 'hash', entries: 1, flags: 0 };
  return {
    ...(m.entries ? { entries: Math.max(1, m.entries(machine, consts)) } : {}),
    ...(m.runtimeAlloc && !memAlloc ? { flags: 0 } : {}),
  };
}

/** Test-only (EBTOP_TEST_REJECT=disk,wait,core): programs built to be refused (bpf/common.bpf.h TEST_REJECT). */
const TEST_REJECT: Record<string, number> = { disk: 0x1, wait: 0x2, core: 0x4 };

export function testRejectBits(spec: string | undefined): number {
  let bits = 0;
  for (const name of (spec ?? '').split(',').filter(Boolean)) {
    if (!(name in TEST_REJECT)) throw new UserError(`EBTOP_TEST_REJECT: unknown part '${name}' (one of ${Object.keys(TEST_REJECT).join(', ')})`);
    bits |= TEST_REJECT[name];
  }
  return bits;
}

/** ebtop cannot start: a required program was refused. Carries what was found, for --caps. */
export class LoadError extends UserError {
  constructor(
    message: string,
    readonly sources: Source[],
  ) {
    super(message);
  }
}

export interface LoadRequest {
  native: Native;
  features: Features;
  hooks: HookSpec[];
  wanted?: ReadonlySet<string>;
  maps: MapSize[];
  machine: Machine;
  /** settings beyond the plan's (ring size, consts of the caller), applied on every attempt */
  prepare(obj: BpfObject, plan: Plan): void;
  log: Logger;
}

/** A `const volatile` u32 or a u32 map key/value, as the kernel reads it. */
export function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
}

/** An error as one line: a native error with its failing call and errno. */
export function describe(e: unknown): string {
  if (isNativeError(e)) return `${e.call}: ${e.code} (errno ${e.errno})`;
  return e instanceof Error ? e.message : String(e);
}

/** The object loaded with the plan the kernel accepted; refusals are in the plan's sources. */
export function loadObject(req: LoadRequest): { obj: BpfObject; plan: Plan } {
  const { native } = req;
  const refused = new Map<string, string>();
  const testReject = testRejectBits(process.env.EBTOP_TEST_REJECT);
  for (;;) {
    const plan = planPrograms({ ...req.features, refused }, req.hooks, req.wanted);
    let obj: BpfObject;
    try {
      obj = native.open(BPF_OBJECT_PATH);
    } catch (e) {
      throw new UserError(`cannot open ${BPF_OBJECT_PATH}: ${describe(e)} (run make)`);
    }
    try {
      const load = new Set(plan.load.map((l) => l.program));
      for (const p of native.programs(obj)) native.setAutoload(obj, p.name, load.has(p.name));
      for (const m of req.maps) {
        const s = mapSetting(m, req.machine, plan.consts, req.features.hasType('bpf_mem_alloc'));
        if (s.type) native.setMapType(obj, m.name, s.type);
        if (s.flags !== undefined) native.setMapFlags(obj, m.name, s.flags);
        if (s.entries !== undefined) native.setMaxEntries(obj, m.name, s.entries);
      }
      for (const [name, value] of Object.entries(plan.consts)) native.setConst(obj, name, u32(value));
      if (testReject) native.setConst(obj, 'test_reject', u32(testReject));
      req.prepare(obj, plan);
    } catch (e) {
      native.close(obj);
      throw new UserError(`cannot set up ebtop's BPF object: ${describe(e)}`);
    }
    try {
      native.load(obj);
      const text = native.takeLog();
      if (text) req.log.info({ libbpf: text }, 'libbpf');
      return { obj, plan };
    } catch (e) {
      native.close(obj);
      const text = native.takeLog();
      req.log.warn({ libbpf: text }, 'BPF load refused');
      const f = loadFailure(text);
      const drop = refusal(req.hooks, plan, f, refused);
      if (!drop) {
        const sources = plan.sources.map((s) => (s.state !== 'off' && plan.load.some((l) => l.program === f.program && l.source === s.source) ? { ...s, state: 'missing' as const, why: `the kernel refused ${f.program}: ${f.reason}` } : s));
        const what = f.program ?? (f.map !== null ? `map ${f.map}` : 'the object');
        throw new LoadError(`the kernel refused ebtop's ${what}: ${f.reason} (${describe(e)})`, sources);
      }
      for (const [p, why] of drop) {
        refused.set(p, why);
        req.log.warn({ program: p, reason: why }, 'BPF program refused: loading without it');
      }
    }
  }
}
