// What a subsystem declares, as data: its hooks (sources for --caps), its
// counter groups (named u64 slots), derived values, columns and JSON fields.
// The model, the decoders and the views work on these generically.
import type { Interval } from '../model';
import type { BpfObject, Native } from '../native';
import type { HookSpec } from '../probe';

/** How two values of one slot combine (two threads, two intervals, two CPUs). */
export type Combine = 'sum' | 'min' | 'max';

/**
 * A group of u64 slots, one C struct of __u64 members (an array member is a
 * histogram: one slot per bucket). Where the numbers come from:
 *  - 'task': a per-thread counter group embedded in struct ebtop_task (iterator
 *    snapshots and exit records); monotonic, the model takes deltas;
 *  - 'thread': computed by the model for each thread from that thread's deltas
 *    and the time it was alive in the interval (e.g. off-CPU time);
 *  - 'charge': a per-process value of an owner-keyed charge map (key struct
 *    ebtop_owner), drained (read and deleted) every refresh: already a delta.
 */
export interface GroupSpec<S extends string = string> {
  name: string;
  kind: 'task' | 'thread' | 'charge';
  /** the C struct (task, charge); for 'task' also its member name in ebtop_task */
  struct?: string;
  /** 'task': the member of struct ebtop_task holding the group */
  member?: string;
  /** 'charge': the BPF map */
  map?: string;
  /** slot names in C member order; 'name[n]' is an array member of n buckets */
  slots: readonly S[];
  /** per slot (array members by base name); default 'sum' */
  combine?: Partial<Record<string, Combine>>;
  /** the hook source (HookSpec.source) whose attachment makes these numbers real */
  source: string;
  /** 'thread' groups: the value of each slot for one thread */
  perThread?: (d: Float64Array, aliveNs: number) => number;
  /**
   * 'task' groups holding state still open in the kernel (an interval begun
   * but not ended): fold it into the counters as of `atNs`. `c` holds one
   * record's task slots (the snapshot time for live threads, the exit time
   * for exit records); settled values are what the model takes deltas of.
   */
  settle?: (c: Float64Array, atNs: number) => void;
  /**
   * 'task' groups whose slots split a 'thread' group's value exactly (the
   * wait reasons split off-CPU time): where this group is available, a
   * BPF-seen thread's value of that group is the sum of these slots instead
   * of its perThread estimate.
   */
  partition?: { of: string; slots: readonly S[] };
}

/** A group after the schema placed it: `at.slot` is the slot's index in a row vector. */
export interface Group<S extends string = string> extends GroupSpec<S> {
  at: Record<S, number>;
  /** index of the first slot */
  base: number;
  /** number of slots (arrays expanded) */
  size: number;
}

/** What a counter's value is read from: a process row or a thread row. */
export interface Values {
  /** shown values: one slot per group slot (interval deltas, or totals with --cumulative) */
  v: Float64Array;
  /** ns the values were gathered over (the interval, or since attach): the base of rates and % */
  spanNs: number;
  /** groups whose source is attached, and the attached sources; others are n/a / null */
  avail: ReadonlySet<string>;
  /** per-process extras of the subsystems that fold them (Subsystem.folder), by subsystem name */
  ext?: Readonly<Record<string, unknown>>;
  /** the values are totals since attach (--cumulative, `c`): rate columns show totals */
  totals?: boolean;
}

/** Everything the views read from a row. */
export interface RowLike extends Values {
  pid: number;
  ppid: number;
  uid: number;
  user: string;
  comm: string;
  cmdline: string;
  threads: number;
  state: string;
  kthread: boolean;
  exited: boolean;
  /** resident memory, bytes (a gauge: now, not over the interval) */
  rssBytes: number;
  /** resident memory / MemTotal, % */
  memPct: number;
  /** cgroup v2 path's last part ('' unknown) */
  cgroup: string;
}

export interface Column {
  id: string;
  title: string;
  width: number;
  align: 'left' | 'right';
  /** true: biggest first when the user sorts by it */
  descending: boolean;
  /** the group (or hook source) the column's numbers need (null: process metadata, always there) */
  needs: string | null;
  help: string;
  /** the cell, for a row whose group is available */
  text(r: RowLike): string;
  /** the sort key */
  value(r: RowLike): number | string;
  /** a colour cue for this cell: saturation (red), latency spike (yellow), retransmissions (magenta), idleness (dimmed), a wait to act on (bold) */
  cue?(r: RowLike, iv: Interval): Cue | null;
}

/** What a coloured cell means; monochrome terminals mark it bold/underlined instead (idleness: plain). */
export type Cue = 'saturated' | 'latency' | 'retrans' | 'idle' | 'waiting';

export interface JsonField {
  key: string;
  /** emitted only when the output was asked for with --<flag> (e.g. 'connections') */
  flag?: string;
  /** the group (or hook source) the value needs; null: always present */
  needs: string | null;
  /** also in each thread of threads_detail */
  thread: boolean;
  get(r: Values): unknown;
}

/** A source read from /proc for tasks BPF cannot see: fills one task group. */
export interface ProcReader {
  group: string;
  /** slot values in group order for /proc/<pid>/task/<tid>, or null when gone */
  read(dir: string): number[] | null;
}

/** A ring record type a subsystem owns (EBTOP_REC_* beyond the core's exit/exec/fork). */
export interface RecordSpec {
  type: number;
  /** the record's size: shorter records are counted as lost */
  size: number;
  decode(b: Buffer, o: number): unknown;
}

/** What collect() may read, on the collector side, once per refresh. */
export interface CollectIO {
  native: Native;
  obj: BpfObject;
  /** groups and hook sources attached */
  avail: ReadonlySet<string>;
}

/** One interval of a subsystem's extras, in. */
export interface FoldInput {
  /** what its collect() returned for this sample (undefined without one) */
  collected: unknown;
  /** its ring records since the previous sample, in arrival order */
  records: unknown[];
  fromNs: number;
  toNs: number;
  baseline: boolean;
  cumulative: boolean;
  /** groups and hook sources attached */
  avail: ReadonlySet<string>;
}

/** One interval of a subsystem's extras, out: per process (key `${pid}:${startNs}`) and for the system. */
export interface FoldOutput {
  perProcess?: ReadonlyMap<string, unknown>;
  system?: unknown;
}

/**
 * A subsystem's state beyond counter groups (e.g. a connection table): pure,
 * one per model, fed every sample. Its per-process values land on rows as
 * row.ext[<subsystem>], its system value as interval.ext[<subsystem>].
 */
export interface Folder {
  fold(input: FoldInput): FoldOutput;
}

/** What map sizes are computed from, read from the machine before load. */
export interface Machine {
  ncpuPossible: number;
  /** /proc/sys/kernel/pid_max */
  pidMax: number;
  /** /proc/sys/kernel/threads-max */
  threadsMax: number;
}

/** A bounded map, sized before load. */
export interface MapSize {
  name: string;
  /** its max_entries (none: the type's own, e.g. task storage) */
  entries?(m: Machine, consts: Record<string, number>): number;
  /**
   * true: no chosen program uses it with these settings (its code is pruned);
   * it is created as a one-entry hash, so a kernel without its type loads.
   */
  unused?(consts: Record<string, number>): boolean;
  /**
   * A hash allocated at run time (BPF_F_NO_PREALLOC in its C definition):
   * preallocated where the kernel has no BPF memory allocator (before 6.1),
   * which warns (WARN_ONCE, a taint) when a tracing program uses such a map.
   */
  runtimeAlloc?: boolean;
}

/** A part of a subsystem that can be switched off alone (--no-<flag>): hooks whose cost is not negligible. */
export interface Switch {
  flag: string;
  /** one line for --help */
  what: string;
  /** the hook sources it switches off */
  sources: string[];
}

export interface Subsystem {
  name: string;
  /** one line for --help's --no-<name> */
  what: string;
  /** false: part of the core, cannot be switched off */
  optional: boolean;
  /** parts that can be switched off alone */
  switches?: Switch[];
  hooks: HookSpec[];
  /** its bounded maps' sizes (a full map counts what it refused in system.bpf.lost) */
  maps?: MapSize[];
  groups: Group[];
  columns: Column[];
  json: JsonField[];
  proc?: ProcReader[];
  /** its part of the JSON `system` object (system.<name>), from the interval */
  system?: (iv: Interval) => unknown;
  /** its sections of the drill-down view of one process: tagged lines at most `width` wide */
  drill?: (r: RowLike & { ext: Record<string, unknown>; threadsDetail: Values[] }, iv: Interval, width: number) => string[];
  /** series the drill-down keeps 60 s of, as sparklines */
  sparks?: { label: string; value(r: Values): number; fmt(v: number): string }[];
  /** its line in the TUI header (e.g. Disk: R 1.2M/s W 300K/s), or null when it has nothing to say */
  summary?: (iv: Interval) => { label: string; text: string } | null;
  /** ring record types it owns */
  records?: RecordSpec[];
  /** collector side, each refresh: what it reads besides its counter groups (a per-device or per-connection map...) */
  collect?(io: CollectIO): unknown;
  /** model side: its pure per-interval state (one per model) */
  folder?(): Folder;
}
