// Decoders for the records of bpf/ebtop.h. The fixed headers are declared
// here once; the counter groups that follow come from the subsystems'
// declarations (src/subsystems). test/unit/layout.test.ts holds both to the
// compiled object's BTF, member by member.
import { SCHEMA, SUBSYSTEMS } from './subsystems';
import { combineInto, type Schema } from './subsystems/schema';

type Field = readonly [offset: number, size: number];
type Fields = Record<string, Field>;

/** Lays out members of the given sizes with C alignment (natural, up to 8). */
function packed(members: [name: string, size: number, align?: number][]): { size: number; fields: Fields } {
  const fields: Fields = {};
  let o = 0;
  let maxAlign = 1;
  for (const [name, size, align = Math.min(8, size)] of members) {
    o = Math.ceil(o / align) * align;
    fields[name] = [o, size];
    o += size;
    maxAlign = Math.max(maxAlign, align);
  }
  return { size: Math.ceil(o / maxAlign) * maxAlign, fields };
}

const COMM = 16;
const ARGS = 256;

/**
 * struct ebtop_task: header members, then every 'task' group of the schema as
 * a struct of u64 slots. A group whose member is 'outer.inner' sits in the
 * nested struct 'outer' (the per-thread groups: `thr`).
 */
function taskLayout(schema: Schema) {
  const header: [string, number, number?][] = [
    ['type', 4], ['tid', 4], ['pid', 4], ['ppid', 4], ['uid', 4], ['flags', 4], ['state', 4], ['exit_code', 4],
    ['start_ns', 8], ['pstart_ns', 8], ['time_ns', 8], ['rss_pages', 8], ['cgroup_id', 8], ['comm', COMM, 1],
  ];
  const members: [string, number, number][] = [];
  for (const g of schema.groups.filter((x) => x.kind === 'task')) {
    const outer = g.member!.split('.')[0];
    const last = members[members.length - 1];
    if (g.member!.includes('.') && last?.[0] === outer) last[1] += g.size * 8;
    else members.push([outer, g.size * 8, 8]);
  }
  return packed([...header, ...members]);
}

export const LAYOUT = {
  ebtop_task: taskLayout(SCHEMA),
  ebtop_exec: packed([['type', 4], ['tid', 4], ['pid', 4], ['old_tid', 4], ['args_len', 4], ['pad', 4], ['start_ns', 8], ['time_ns', 8], ['comm', COMM, 1], ['args', ARGS, 1]]),
  ebtop_fork: packed([['type', 4], ['tid', 4], ['pid', 4], ['ppid', 4], ['start_ns', 8], ['time_ns', 8], ['comm', COMM, 1]]),
  ebtop_owner: packed([['pid', 4], ['gen', 4], ['start_ns', 8]]),
  ebtop_cpu_run: packed([['tid', 4], ['pad', 4], ['in_ns', 8], ['oncpu_at_in', 8]]),
  ebtop_stats: packed([['records', 8], ['lost', 8], ['map_full', 8]]),
};

export const REC_TASK = 1;
export const REC_EXIT = 2;
export const REC_EXEC = 3;
export const REC_FORK = 4;

export const F_KTHREAD = 0x1;
export const F_ZOMBIE = 0x2;
export const F_RUNNING = 0x4;
export const F_CORRECTED = 0x8;
export const F_GROUP_DEAD = 0x10;

export interface TaskRecord {
  kind: 'task' | 'exit';
  tid: number;
  pid: number;
  ppid: number;
  uid: number;
  flags: number;
  state: number;
  exitCode: number;
  /** the thread's start time (identity with tid) */
  startNs: number;
  /** its process's (group leader's) start time (identity with pid) */
  pstartNs: number;
  timeNs: number;
  /** resident pages of its mm (0 without one: kernel threads, exit records) */
  rssPages: number;
  /** its cgroup v2 id (the cgroup directory's inode number) */
  cgroupId: number;
  comm: string;
  /** the 'task' group slots, SCHEMA.taskSlots of them, cumulative */
  c: Float64Array;
}

export interface ExecRecord {
  kind: 'exec';
  tid: number;
  pid: number;
  /** the exec'ing thread's tid before exec (differs from tid when a non-leader thread execs) */
  oldTid: number;
  startNs: number;
  timeNs: number;
  comm: string;
  args: string[];
}

export interface ForkRecord {
  kind: 'fork';
  tid: number;
  pid: number;
  ppid: number;
  startNs: number;
  timeNs: number;
  comm: string;
}

export type RingRecord = TaskRecord | ExecRecord | ForkRecord;

/** A drained charge: values of one 'charge' group for one process, already a delta. */
export interface ChargeRecord {
  pid: number;
  /** the owner process's start time */
  startNs: number;
  /** a full row vector with only the group's slots set */
  v: Float64Array;
}

/** u64 as a JS number: exact below 2^53 (104 days of ns). */
export function u64(b: Buffer, o: number): number {
  return b.readUInt32LE(o) + b.readUInt32LE(o + 4) * 0x1_0000_0000;
}

function cstr(b: Buffer, o: number, len: number): string {
  const end = b.indexOf(0, o);
  return b.toString('latin1', o, end < 0 || end > o + len ? o + len : end);
}

const T = LAYOUT.ebtop_task.fields;
const E = LAYOUT.ebtop_exec.fields;
const K = LAYOUT.ebtop_fork.fields;
/** the first counter group's offset: all groups are contiguous u64 slots from here */
const COUNTERS = LAYOUT.ebtop_task.size - SCHEMA.taskSlots * 8;

export function decodeTask(b: Buffer, o: number): TaskRecord {
  const c = new Float64Array(SCHEMA.taskSlots);
  for (let i = 0, p = o + COUNTERS; i < c.length; i++, p += 8) c[i] = u64(b, p);
  return {
    kind: b.readUInt32LE(o + T.type[0]) === REC_EXIT ? 'exit' : 'task',
    tid: b.readUInt32LE(o + T.tid[0]),
    pid: b.readUInt32LE(o + T.pid[0]),
    ppid: b.readUInt32LE(o + T.ppid[0]),
    uid: b.readUInt32LE(o + T.uid[0]),
    flags: b.readUInt32LE(o + T.flags[0]),
    state: b.readUInt32LE(o + T.state[0]),
    exitCode: b.readInt32LE(o + T.exit_code[0]),
    startNs: u64(b, o + T.start_ns[0]),
    pstartNs: u64(b, o + T.pstart_ns[0]),
    timeNs: u64(b, o + T.time_ns[0]),
    rssPages: u64(b, o + T.rss_pages[0]),
    cgroupId: u64(b, o + T.cgroup_id[0]),
    comm: cstr(b, o + T.comm[0], T.comm[1]),
    c,
  };
}

export function decodeExec(b: Buffer, o: number): ExecRecord {
  const len = Math.min(b.readUInt32LE(o + E.args_len[0]), E.args[1]);
  const raw = b.toString('utf8', o + E.args[0], o + E.args[0] + len);
  const args = raw.split('\0');
  if (args.length && args[args.length - 1] === '') args.pop();
  return {
    kind: 'exec',
    tid: b.readUInt32LE(o + E.tid[0]),
    pid: b.readUInt32LE(o + E.pid[0]),
    oldTid: b.readUInt32LE(o + E.old_tid[0]),
    startNs: u64(b, o + E.start_ns[0]),
    timeNs: u64(b, o + E.time_ns[0]),
    comm: cstr(b, o + E.comm[0], E.comm[1]),
    args,
  };
}

export function decodeFork(b: Buffer, o: number): ForkRecord {
  return {
    kind: 'fork',
    tid: b.readUInt32LE(o + K.tid[0]),
    pid: b.readUInt32LE(o + K.pid[0]),
    ppid: b.readUInt32LE(o + K.ppid[0]),
    startNs: u64(b, o + K.start_ns[0]),
    timeNs: u64(b, o + K.time_ns[0]),
    comm: cstr(b, o + K.comm[0], K.comm[1]),
  };
}

/**
 * Decodes successive iterator dumps. A thread whose record is byte-identical
 * to the previous dump's (it did not run, switch or change) gets the very same
 * TaskRecord object back, so neither the decoder nor the model redo its work.
 */
export class TaskDumpDecoder {
  private prev: Buffer = Buffer.alloc(0);
  private prevAt = new Map<number, number>();
  private prevRecs = new Map<number, TaskRecord>();

  decode(b: Buffer): TaskRecord[] {
    const size = LAYOUT.ebtop_task.size;
    if (b.length % size !== 0) throw new Error(`task dump of ${b.length} bytes is not a multiple of ${size}`);
    const out: TaskRecord[] = new Array(b.length / size);
    const at = new Map<number, number>();
    const recs = new Map<number, TaskRecord>();
    for (let i = 0, o = 0; o < b.length; i++, o += size) {
      const tid = b.readUInt32LE(o + T.tid[0]);
      const po = this.prevAt.get(tid);
      const rec = po !== undefined && b.compare(this.prev, po, po + size, o, o + size) === 0 ? this.prevRecs.get(tid)! : decodeTask(b, o);
      out[i] = rec;
      at.set(tid, o);
      recs.set(tid, rec);
    }
    this.prev = b;
    this.prevAt = at;
    this.prevRecs = recs;
    return out;
  }
}

/** Ring record types the subsystems own: type -> subsystem name and decoder. */
const OWNED = new Map(SUBSYSTEMS.flatMap((s) => (s.records ?? []).map((r) => [r.type, { name: s.name, spec: r }] as const)));

/**
 * The addon's framing of ring records: [u32 length][record][pad to 8]. The
 * core's records come back decoded; a subsystem's own, by subsystem name.
 */
export function decodeRing(b: Buffer): { records: RingRecord[]; ext: Record<string, unknown[]>; unknown: number } {
  const records: RingRecord[] = [];
  const ext: Record<string, unknown[]> = {};
  let unknown = 0;
  for (let o = 0; o + 4 <= b.length; ) {
    const len = b.readUInt32LE(o);
    const rec = o + 4;
    const type = len >= 4 && rec + len <= b.length ? b.readUInt32LE(rec) : 0;
    if (type === REC_EXIT && len >= LAYOUT.ebtop_task.size) records.push(decodeTask(b, rec));
    else if (type === REC_EXEC && len >= LAYOUT.ebtop_exec.size) records.push(decodeExec(b, rec));
    else if (type === REC_FORK && len >= LAYOUT.ebtop_fork.size) records.push(decodeFork(b, rec));
    else {
      const own = OWNED.get(type);
      if (own && len >= own.spec.size) (ext[own.name] ??= []).push(own.spec.decode(b, rec));
      else unknown++; // a record this build does not know, or a truncated one: counted as lost
    }
    o += (4 + len + 7) & ~7;
  }
  return { records, ext, unknown };
}

/** Sum a per-CPU ebtop_stats map value (one 8-aligned slot per CPU). */
export function sumStats(values: Buffer): { records: number; lost: number; mapFull: number } {
  const { size, fields: F } = LAYOUT.ebtop_stats;
  let records = 0;
  let lost = 0;
  let mapFull = 0;
  for (let o = 0; o + size <= values.length; o += size) {
    records += u64(values, o + F.records[0]);
    lost += u64(values, o + F.lost[0]);
    mapFull += u64(values, o + F.map_full[0]);
  }
  return { records, lost, mapFull };
}

/**
 * Decodes the entries of one charge generation of a per-CPU charge map (key
 * struct ebtop_owner, value the group's u64 slots): the CPUs' values combine
 * by each slot's rule. `keys` of those entries are returned for deletion.
 */
export function decodeCharges(
  schema: Schema,
  groupName: string,
  gen: number,
  d: { keys: Buffer; values: Buffer; count: number; valueSize: number },
): { charges: ChargeRecord[]; keys: Buffer } {
  const g = schema.group(groupName);
  const { keys, values, count, valueSize } = d;
  const keySize = LAYOUT.ebtop_owner.size;
  const K = LAYOUT.ebtop_owner.fields;
  const slotBytes = g.size * 8;
  const out: ChargeRecord[] = [];
  const taken: Buffer[] = [];
  const one = new Float64Array(schema.slots);
  for (let i = 0; i < count; i++) {
    const k = i * keySize;
    if (keys.readUInt32LE(k + K.gen[0]) !== gen) continue;
    taken.push(keys.subarray(k, k + keySize));
    const v = new Float64Array(schema.slots);
    for (let cpu = i * valueSize; cpu + slotBytes <= (i + 1) * valueSize; cpu += slotBytes) {
      one.fill(0, g.base, g.base + g.size);
      for (let s = 0; s < g.size; s++) one[g.base + s] = u64(values, cpu + s * 8);
      combineInto(schema, v, one, g.base, g.base + g.size);
    }
    out.push({ pid: keys.readUInt32LE(k + K.pid[0]), startNs: u64(keys, k + K.start_ns[0]), v });
  }
  return { charges: out, keys: Buffer.concat(taken) };
}
