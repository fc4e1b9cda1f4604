// Decoders for the records of bpf/ebtop.h. Offsets come from one table,
// which test/unit/layout.test.ts holds equal to the addon's sizeof/offsetof.

type Field = readonly [offset: number, size: number];

export const LAYOUT = {
  ebtop_cpu_counters: {
    size: 48,
    fields: { oncpu_ns: [0, 8], runq_ns: [8, 8], slices: [16, 8], nvcsw: [24, 8], nivcsw: [32, 8], migrations: [40, 8] },
  },
  ebtop_task: {
    size: 112,
    fields: {
      type: [0, 4], tid: [4, 4], pid: [8, 4], ppid: [12, 4], uid: [16, 4], flags: [20, 4], state: [24, 4],
      exit_code: [28, 4], start_ns: [32, 8], time_ns: [40, 8], cpu: [48, 48], comm: [96, 16],
    },
  },
  ebtop_exec: {
    size: 312,
    fields: {
      type: [0, 4], tid: [4, 4], pid: [8, 4], old_tid: [12, 4], args_len: [16, 4], start_ns: [24, 8], time_ns: [32, 8],
      comm: [40, 16], args: [56, 256],
    },
  },
  ebtop_fork: {
    size: 48,
    fields: { type: [0, 4], tid: [4, 4], pid: [8, 4], ppid: [12, 4], start_ns: [16, 8], time_ns: [24, 8], comm: [32, 16] },
  },
  ebtop_cpu_run: { size: 24, fields: { tid: [0, 4], in_ns: [8, 8], oncpu_at_in: [16, 8] } },
  ebtop_stats: { size: 16, fields: { records: [0, 8], lost: [8, 8] } },
} as const satisfies Record<string, { size: number; fields: Record<string, Field> }>;

export const REC_TASK = 1;
export const REC_EXIT = 2;
export const REC_EXEC = 3;
export const REC_FORK = 4;

export const F_KTHREAD = 0x1;
export const F_ZOMBIE = 0x2;
export const F_RUNNING = 0x4;
export const F_CORRECTED = 0x8;
export const F_GROUP_DEAD = 0x10;

export interface CpuCounters {
  oncpuNs: number;
  runqNs: number;
  slices: number;
  nvcsw: number;
  nivcsw: number;
  migrations: number;
}

export interface TaskRecord extends CpuCounters {
  kind: 'task' | 'exit';
  tid: number;
  pid: number;
  ppid: number;
  uid: number;
  flags: number;
  state: number;
  exitCode: number;
  startNs: number;
  timeNs: number;
  comm: string;
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

/** u64 as a JS number: exact below 2^53 (104 days of ns). */
function u64(b: Buffer, o: number): number {
  return b.readUInt32LE(o) + b.readUInt32LE(o + 4) * 0x1_0000_0000;
}

function cstr(b: Buffer, o: number, len: number): string {
  const end = b.indexOf(0, o);
  return b.toString('latin1', o, end < 0 || end > o + len ? o + len : end);
}

const T = LAYOUT.ebtop_task.fields;
const C = LAYOUT.ebtop_cpu_counters.fields;
const E = LAYOUT.ebtop_exec.fields;
const K = LAYOUT.ebtop_fork.fields;

export function decodeTask(b: Buffer, o: number): TaskRecord {
  const c = o + T.cpu[0];
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
    timeNs: u64(b, o + T.time_ns[0]),
    oncpuNs: u64(b, c + C.oncpu_ns[0]),
    runqNs: u64(b, c + C.runq_ns[0]),
    slices: u64(b, c + C.slices[0]),
    nvcsw: u64(b, c + C.nvcsw[0]),
    nivcsw: u64(b, c + C.nivcsw[0]),
    migrations: u64(b, c + C.migrations[0]),
    comm: cstr(b, o + T.comm[0], T.comm[1]),
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

/** The addon's framing of ring records: [u32 length][record][pad to 8]. Unknown types are skipped. */
export function decodeRing(b: Buffer): RingRecord[] {
  const out: RingRecord[] = [];
  for (let o = 0; o + 4 <= b.length; ) {
    const len = b.readUInt32LE(o);
    const rec = o + 4;
    if (len >= 4 && rec + len <= b.length) {
      const type = b.readUInt32LE(rec);
      if (type === REC_EXIT && len >= LAYOUT.ebtop_task.size) out.push(decodeTask(b, rec));
      else if (type === REC_EXEC && len >= LAYOUT.ebtop_exec.size) out.push(decodeExec(b, rec));
      else if (type === REC_FORK && len >= LAYOUT.ebtop_fork.size) out.push(decodeFork(b, rec));
    }
    o += (4 + len + 7) & ~7;
  }
  return out;
}

/** Sum a per-CPU ebtop_stats map value (one 8-aligned slot per CPU). */
export function sumStats(values: Buffer): { records: number; lost: number } {
  const size = LAYOUT.ebtop_stats.size;
  let records = 0;
  let lost = 0;
  for (let o = 0; o + size <= values.length; o += size) {
    records += u64(values, o + LAYOUT.ebtop_stats.fields.records[0]);
    lost += u64(values, o + LAYOUT.ebtop_stats.fields.lost[0]);
  }
  return { records, lost };
}
