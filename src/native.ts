// The typed face of the N-API addon (native/ebtop_bpf.c). The addon has no
// policy; everything it returns is raw bytes or plain numbers.
import path from 'node:path';

/** An opened BPF object (opaque). */
export type BpfObject = { readonly __brand: 'BpfObject' };

/** Errors thrown by the addon carry the failing call and the errno. */
export interface NativeError extends Error {
  errno: number;
  code: string;
  call: string;
}

export interface ProgramInfo {
  name: string;
  section: string;
  autoload: boolean;
}

export interface MapDump {
  keys: Buffer;
  values: Buffer;
  count: number;
  keySize: number;
  /** bytes per element as laid out in `values` (per-CPU maps: one 8-aligned slot per CPU) */
  valueSize: number;
}

export interface ProgramStats {
  name: string;
  runTimeNs: bigint;
  runCount: bigint;
}

/** A member of a struct in the compiled object's BTF; offsets and sizes in bytes. */
export interface BtfMember {
  name: string;
  offset: number;
  size: number;
  /** typedefs and modifiers skipped: 'unsigned int', 'ebtop_cpu_counters', 'char[16]' */
  type: string;
}

export interface BtfStruct {
  size: number;
  /** in declaration order */
  members: BtfMember[];
}

export interface Native {
  open(file: string): BpfObject;
  close(obj: BpfObject): void;
  programs(obj: BpfObject): ProgramInfo[];
  setAutoload(obj: BpfObject, program: string, on: boolean): void;
  setMaxEntries(obj: BpfObject, map: string, entries: number): void;
  /** a map's type before load (libbpf's name: 'hash', 'task_storage', ...) */
  setMapType(obj: BpfObject, map: string, type: string): void;
  /** a map's flags before load (BPF_F_*) */
  setMapFlags(obj: BpfObject, map: string, flags: number): void;
  /** Set a `const volatile` global before load. */
  setConst(obj: BpfObject, name: string, value: Buffer): void;
  load(obj: BpfObject): void;
  /** Returns a link index, valid until close or detach (a detached index may be handed out again). */
  attach(obj: BpfObject, program: string): number;
  /** Destroy a link: its program stops running but stays loaded (attach again to resume). */
  detach(obj: BpfObject, link: number): void;
  readIter(obj: BpfObject, link: number): Buffer;
  /** Every entry, in batches (key by key where the kernel has no batch ops). */
  mapDump(obj: BpfObject, map: string): MapDump;
  /** Read and delete every entry, each in one step: an update in between is never lost. Hash maps. */
  mapDrain(obj: BpfObject, map: string): MapDump;
  /** Insert or replace: `keys` whole keys, `values` laid out as MapDump's (one `valueSize` per key). */
  mapUpdate(obj: BpfObject, map: string, keys: Buffer, values: Buffer): void;
  /** Delete each key of the concatenation; keys already gone are no error. */
  mapDelete(obj: BpfObject, map: string, keys: Buffer): void;
  ringOpen(obj: BpfObject, map: string): void;
  /**
   * Framed records: [u32 length][record][pad to 8], in arrival order. At most
   * 16 MiB wait between drains; `dropped` counts the records that did not fit.
   */
  ringDrain(obj: BpfObject): { data: Buffer; dropped: number };
  /** Hold the kernel's BPF run-time statistics on (bpf_enable_stats) until disableStats or close. */
  enableStats(obj: BpfObject): void;
  disableStats(obj: BpfObject): void;
  progStats(obj: BpfObject): ProgramStats[];
  btfHasType(name: string): boolean;
  /** Free the kernel BTF the probes parsed (several MiB); a later probe parses it again. */
  btfRelease(): void;
  /** Arguments of a tracepoint as the kernel's BTF (btf_trace_<name>) declares them, without __data; -1 when unknown. */
  btfTracepointArgs(name: string): number;
  /** libbpf's own messages since the last call (for the log file, never the terminal). */
  takeLog(): string;
  /** Every `struct ebtop_*` in the BTF of a compiled BPF object file, by name. */
  btfStructs(file: string): Record<string, BtfStruct>;
  /** Whether the kernel supports a map type; libbpf's name ('hash', 'task_storage', ...). Unknown name: EINVAL. */
  probeMapType(name: string): boolean;
  /** Whether the kernel loads a program type; libbpf's name ('raw_tracepoint', ...). Unknown name: EINVAL. */
  probeProgType(name: string): boolean;
  /** Whether the verifier accepts BPF compare-and-exchange (BPF atomics, 5.12+). */
  probeCmpxchg(): boolean;
  numPossibleCpus(): number;
  /**
   * Run a loaded program once (BPF_PROG_TEST_RUN) on `ctx` (raw_tp: its u64 arguments); its return value. Tests only.
   * With `cpu`, on that CPU, called from CPU `from`: in task context when they are the same, else in hardirq context (an IPI).
   */
  testRun(obj: BpfObject, program: string, ctx: Buffer, cpu?: number, from?: number): number;
}

export const ROOT = path.resolve(__dirname, '..');
export const ADDON_PATH = path.join(ROOT, 'build', 'Release', 'ebtop_bpf.node');
export const BPF_OBJECT_PATH = path.join(ROOT, 'bpf', '.output', 'ebtop.bpf.o');
/** bpf/selftest.bpf.c: test-only programs, never loaded by ebtop. */
export const SELFTEST_OBJECT_PATH = path.join(ROOT, 'bpf', '.output', 'selftest.bpf.o');

let cached: Native | undefined;

export function loadNative(): Native {
  if (!cached) cached = require(ADDON_PATH) as Native;
  return cached;
}

export function isNativeError(e: unknown): e is NativeError {
  return e instanceof Error && typeof (e as NativeError).call === 'string' && typeof (e as NativeError).errno === 'number';
}
