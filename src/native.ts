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

export interface LayoutTable {
  [struct: string]: { size: number; fields: { [field: string]: { offset: number; size: number } } };
}

export interface Native {
  open(file: string): BpfObject;
  close(obj: BpfObject): void;
  programs(obj: BpfObject): ProgramInfo[];
  setAutoload(obj: BpfObject, program: string, on: boolean): void;
  setMaxEntries(obj: BpfObject, map: string, entries: number): void;
  /** Set a `const volatile` global before load. */
  setConst(obj: BpfObject, name: string, value: Buffer): void;
  load(obj: BpfObject): void;
  /** Returns a link index, valid until close. */
  attach(obj: BpfObject, program: string): number;
  readIter(obj: BpfObject, link: number): Buffer;
  mapDump(obj: BpfObject, map: string): MapDump;
  mapDelete(obj: BpfObject, map: string, keys: Buffer): void;
  ringOpen(obj: BpfObject, map: string): void;
  /** Framed records: [u32 length][record][pad to 8], in arrival order. */
  ringDrain(obj: BpfObject): { data: Buffer; dropped: number };
  enableStats(obj: BpfObject): void;
  progStats(obj: BpfObject): ProgramStats[];
  btfHasType(name: string): boolean;
  /** libbpf's own messages since the last call (for the log file, never the terminal). */
  takeLog(): string;
  layout(): LayoutTable;
  numPossibleCpus(): number;
}

export const ROOT = path.resolve(__dirname, '..');
export const ADDON_PATH = path.join(ROOT, 'build', 'Release', 'ebtop_bpf.node');
export const BPF_OBJECT_PATH = path.join(ROOT, 'bpf', '.output', 'ebtop.bpf.o');

let cached: Native | undefined;

export function loadNative(): Native {
  if (!cached) cached = require(ADDON_PATH) as Native;
  return cached;
}

export function isNativeError(e: unknown): e is NativeError {
  return e instanceof Error && typeof (e as NativeError).call === 'string' && typeof (e as NativeError).errno === 'number';
}
