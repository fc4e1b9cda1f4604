// A recording's lines: one RawSample (the model's whole input for one
// interval) as one line of JSON, and back. Recording the model's input rather
// than its output means a replay runs the same Model as a live session (every
// view, cumulative totals, a future ebtop's derived figures from old files);
// what the model asked of the system while it ran (command lines, user and
// cgroup names) is recorded with the sample that asked.
//
// A segment starts with a key line (the schema it was written with, every
// thread in full, the names the model knew) and goes on with delta lines:
// threads that changed (only the changed counters), threads that left, in the
// iterator's order only when that order changed. Threads that did not run
// cost nothing, which is what keeps a quiet server's day small.
//
// Counters are stored with the schema's slot names (the key line's `slots`),
// so a file written by an older ebtop is read into today's slots by name:
// slots it did not have are zero, its slots that no longer exist are dropped.
import type { ChargeRecord, RingRecord, TaskRecord } from '../abi';
import type { RawSample } from '../model';
import { SCHEMA } from '../subsystems';

/** Bumped when a line's meaning changes; older versions stay readable (test/unit/recording.test.ts). */
export const FORMAT_VERSION = 1;

/** What the model asked for during one update, by kind: pid -> argv, uid -> name, cgroup id -> its v2 path (recordings made before paths were kept: its last part). */
export interface Lookups {
  cmdline: [number, string[] | null][];
  user: [number, string][];
  cgroup: [number, string][];
}

export const emptyLookups = (): Lookups => ({ cmdline: [], user: [], cgroup: [] });

/** The session facts a replay needs to build the same Model: written on every key line. */
export interface RecordingMeta {
  ebtop: string;
  host: string;
  kernel: string;
  ncpu: number;
  pageSize: number;
  /** groups whose source was attached */
  avail: string[];
  /** the recorder's refresh interval, ms */
  delayMs: number;
}

export interface KeyLine {
  k: 1;
  format: number;
  meta: RecordingMeta;
  /** SCHEMA.names when written: the slot each counter index meant */
  slots: string[];
  taskSlots: number;
  /** every name the model knew for live processes, users and cgroups */
  names: Lookups;
}

// ------------------------------------------------------------------ typed arrays in JSON

/** A counter as JSON can hold it: non-finite values as strings (JSON has no NaN); Number() reads both back. */
const finite = (x: number): number | string => (Number.isFinite(x) ? x : String(x));

/** Float64Array as {$f: [...]}, non-finite values as strings. */
function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Float64Array) return { $f: Array.from(value, finite) };
  return value;
}

/**
 * {$f: [...]} back to Float64Array, in place, everywhere in a parsed line. A
 * walk after JSON.parse: a reviver is called for every value and made a
 * seek's decoding several times slower.
 */
function revive(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (x !== null && typeof x === 'object') v[i] = revive(x);
    }
    return v;
  }
  const o = v as Record<string, unknown>;
  const f = o.$f;
  if (Array.isArray(f)) {
    const out = new Float64Array(f.length);
    for (let i = 0; i < f.length; i++) out[i] = typeof f[i] === 'number' ? (f[i] as number) : Number(f[i]);
    return out;
  }
  for (const k in o) {
    const x = o[k];
    if (x !== null && typeof x === 'object') o[k] = revive(x);
  }
  return o;
}

// ------------------------------------------------------------------ encoding

/** A thread's fields besides its counters. */
const TASK_FIELDS = ['kind', 'pid', 'ppid', 'uid', 'flags', 'state', 'exitCode', 'startNs', 'pstartNs', 'timeNs', 'rssPages', 'cgroupId', 'comm'] as const;

type TaskDelta = { i: number; d?: (number | string)[] } & Partial<Record<(typeof TASK_FIELDS)[number], unknown>>;

/** Encodes successive samples of one segment; the first line after reset() is a key line. */
export class Encoder {
  private tasks = new TaskListEncoder();
  private procTasks = new TaskListEncoder();
  private prevCollected: Record<string, string> = {};
  private keyNext = true;

  constructor(private readonly meta: RecordingMeta) {}

  /** The next line starts a new segment (a key line). */
  reset(): void {
    this.keyNext = true;
  }

  /**
   * One line (no trailing newline). `names` are the lookups this update made;
   * on a key line, `known` gives every name the model still holds instead.
   */
  encode(s: RawSample, names: Lookups, known: () => Lookups): { line: string; key: boolean } {
    const key = this.keyNext;
    this.keyNext = false;
    const out: Record<string, unknown> = {};
    if (key) {
      const head: KeyLine = { k: 1, format: FORMAT_VERSION, meta: this.meta, slots: SCHEMA.names, taskSlots: SCHEMA.taskSlots, names: known() };
      Object.assign(out, head);
      this.tasks = new TaskListEncoder();
      this.procTasks = new TaskListEncoder();
      this.prevCollected = {};
    } else if (names.cmdline.length || names.user.length || names.cgroup.length) out.names = names;
    out.t = s.timeNs;
    out.w = s.wallMs;
    out.tasks = this.tasks.encode(s.tasks);
    const proc = this.procTasks.encode(s.procTasks);
    if (Object.keys(proc).length) out.procTasks = proc;
    if (s.events.length) out.events = s.events;
    if (s.charges.length) out.charges = s.charges;
    const ext: Record<string, unknown> = {};
    for (const [name, e] of Object.entries(s.ext)) {
      const collected = e.collected === undefined ? undefined : JSON.stringify(e.collected, replacer);
      const same = collected !== undefined && this.prevCollected[name] === collected;
      if (collected !== undefined) this.prevCollected[name] = collected;
      ext[name] = { ...(same ? { same: 1 } : collected !== undefined ? { c: e.collected } : {}), ...(e.records.length ? { r: e.records } : {}) };
    }
    out.ext = ext;
    out.idle = s.idleNs;
    out.bpf = s.bpf;
    out.load = s.loadavg;
    if (s.mem !== undefined) out.mem = s.mem;
    if (s.shed?.length) out.shed = s.shed;
    if (s.missing?.length) out.missing = s.missing;
    return { line: JSON.stringify(out, replacer), key };
  }

}

/**
 * A list of threads against the previous one: threads that changed (new ones
 * whole, others as their changed fields and [slot, value] pairs), threads
 * gone, and the order only when it is not the previous one's with the gone
 * removed and the new appended.
 */
class TaskListEncoder {
  private prev = new Map<number, TaskRecord>();
  private prevOrder: number[] = [];

  encode(tasks: TaskRecord[]): Record<string, unknown> {
    const changed: unknown[] = [];
    const now = new Map<number, TaskRecord>();
    const order: number[] = [];
    for (const t of tasks) {
      now.set(t.tid, t);
      order.push(t.tid);
      const p = this.prev.get(t.tid);
      if (p === t) continue; // the collector hands back the same record for a thread that did not change
      if (!p || p.startNs !== t.startNs || p.kind !== t.kind) {
        changed.push(t);
        continue;
      }
      const d: TaskDelta = { i: t.tid };
      let any = false;
      for (const f of TASK_FIELDS) {
        if (p[f] !== t[f]) {
          d[f] = t[f];
          any = true;
        }
      }
      const slots: (number | string)[] = [];
      for (let j = 0; j < t.c.length; j++) if (!Object.is(p.c[j], t.c[j])) slots.push(j, finite(t.c[j]));
      if (slots.length) {
        d.d = slots;
        any = true;
      }
      if (any) changed.push(d);
    }
    const gone: number[] = [];
    for (const tid of this.prev.keys()) if (!now.has(tid)) gone.push(tid);
    // the order the decoder would rebuild: the previous one without the gone, new threads appended
    const rebuilt = this.prevOrder.filter((tid) => now.has(tid));
    const known = new Set(rebuilt);
    for (const tid of order) if (!known.has(tid)) rebuilt.push(tid);
    const sameOrder = rebuilt.length === order.length && rebuilt.every((tid, j) => tid === order[j]);
    this.prev = now;
    this.prevOrder = order;
    return { ...(changed.length ? { c: changed } : {}), ...(gone.length ? { g: gone } : {}), ...(sameOrder ? {} : { o: order }) };
  }
}

// ------------------------------------------------------------------ decoding

export class FormatError extends Error {}

/** A decoded line: the sample, and the names the model is to know before it takes it. */
export interface Decoded {
  sample: RawSample;
  names: Lookups;
  key: KeyLine | null;
}

/**
 * Decodes the lines of one segment in order, from its key line. Counter
 * vectors are remapped from the recorded schema to today's by slot name.
 */
export class Decoder {
  private tasks = new TaskListDecoder(this);
  private procTasks = new TaskListDecoder(this);
  private collected: Record<string, unknown> = {};
  private map: Int32Array | null = null;
  /** recorded task slot -> today's (-1: gone); null: the same schema */
  taskMap: Int32Array | null = null;
  key: KeyLine | null = null;

  decode(line: string): Decoded {
    let o: Record<string, unknown>;
    try {
      o = revive(JSON.parse(line)) as Record<string, unknown>;
    } catch (e) {
      throw new FormatError(`a line is not JSON: ${(e as Error).message}`);
    }
    let key: KeyLine | null = null;
    if (o.k === 1) {
      key = o as unknown as KeyLine;
      if (typeof key.format !== 'number' || key.format > FORMAT_VERSION) throw new FormatError(`recorded with format ${String(key.format)}, newer than this ebtop reads (${FORMAT_VERSION})`);
      if (!Array.isArray(key.slots) || !key.meta) throw new FormatError('a key line without its schema');
      this.key = key;
      this.tasks = new TaskListDecoder(this);
      this.procTasks = new TaskListDecoder(this);
      this.collected = {};
      this.setSchema(key.slots, key.taskSlots);
    } else if (!this.key) throw new FormatError('a segment that does not start with a key line');
    const t = Number(o.t);
    const tasks = this.tasks.decode((o.tasks ?? {}) as Record<string, unknown>);
    const ext: RawSample['ext'] = {};
    for (const [name, e] of Object.entries((o.ext ?? {}) as Record<string, { c?: unknown; same?: 1; r?: unknown[] }>)) {
      if ('c' in e) this.collected[name] = e.c;
      const collected = e.same || 'c' in e ? this.collected[name] : undefined;
      ext[name] = { collected, records: e.r ?? [] };
    }
    const events = ((o.events ?? []) as RingRecord[]).map((r) => ('c' in r ? { ...r, c: this.remapTask(r.c) } : r));
    const charges = ((o.charges ?? []) as ChargeRecord[]).map((ch) => ({ ...ch, v: this.remapRow(ch.v) }));
    const procTasks = this.procTasks.decode((o.procTasks ?? {}) as Record<string, unknown>);
    const sample: RawSample = {
      timeNs: t,
      wallMs: Number(o.w),
      tasks,
      procTasks,
      events,
      charges,
      ext,
      idleNs: (o.idle ?? null) as number[] | null,
      bpf: o.bpf as RawSample['bpf'],
      loadavg: (o.load ?? null) as number[] | null,
      mem: (o.mem ?? null) as RawSample['mem'],
      shed: (o.shed ?? []) as string[],
      missing: (o.missing ?? []) as string[],
    };
    const names = key ? key.names : ((o.names ?? emptyLookups()) as Lookups);
    return { sample, names, key };
  }

  /** Index maps from the recorded slots to today's (-1: no longer a slot). */
  private setSchema(slots: string[], taskSlots: number): void {
    const same = slots.length === SCHEMA.names.length && slots.every((n, i) => n === SCHEMA.names[i]);
    if (same) {
      this.map = this.taskMap = null;
      return;
    }
    const at = new Map(SCHEMA.names.map((n, i) => [n, i]));
    this.map = Int32Array.from(slots, (n) => at.get(n) ?? -1);
    this.taskMap = Int32Array.from(slots.slice(0, taskSlots), (n) => {
      const i = at.get(n) ?? -1;
      return i < SCHEMA.taskSlots ? i : -1;
    });
  }

  private remap(v: Float64Array | undefined, map: Int32Array | null, size: number): Float64Array {
    if (!(v instanceof Float64Array)) return new Float64Array(size);
    if (!map) return v;
    const out = new Float64Array(size);
    for (let i = 0; i < v.length && i < map.length; i++) if (map[i] >= 0) out[map[i]] = v[i];
    return out;
  }

  remapTask = (v: Float64Array | undefined) => this.remap(v, this.taskMap, SCHEMA.taskSlots);
  private remapRow = (v: Float64Array | undefined) => this.remap(v, this.map, SCHEMA.slots);
}

/** The other side of TaskListEncoder. */
class TaskListDecoder {
  private prev = new Map<number, TaskRecord>();
  private order: number[] = [];

  constructor(private readonly d: Decoder) {}

  decode(enc: Record<string, unknown>): TaskRecord[] {
    const gone = (enc.g ?? []) as number[];
    for (const tid of gone) this.prev.delete(tid);
    const added: number[] = [];
    for (const x of (enc.c ?? []) as (TaskRecord | TaskDelta)[]) {
      if ('i' in x) {
        const p = this.prev.get(x.i);
        if (!p) throw new FormatError(`a change to thread ${x.i}, which the segment never had`);
        const t: TaskRecord = { ...p, c: new Float64Array(p.c) };
        for (const f of TASK_FIELDS) if (f in x) (t as unknown as Record<string, unknown>)[f] = x[f];
        const d = x.d ?? [];
        // d holds recorded slot indices: remapped like a whole vector
        for (let j = 0; j + 1 < d.length; j += 2) {
          const at = this.d.taskMap ? this.d.taskMap[Number(d[j])] : Number(d[j]);
          if (at >= 0 && at < t.c.length) t.c[at] = Number(d[j + 1]);
        }
        this.prev.set(x.i, t);
      } else {
        const t = { ...x, c: this.d.remapTask(x.c) } as TaskRecord;
        if (!this.prev.has(t.tid)) added.push(t.tid);
        this.prev.set(t.tid, t);
      }
    }
    if (enc.o) this.order = (enc.o as number[]).filter((tid) => this.prev.has(tid));
    else {
      const goneSet = new Set(gone);
      const order = this.order.filter((tid) => !goneSet.has(tid) && this.prev.has(tid));
      const inOrder = new Set(order);
      for (const tid of added) if (!inOrder.has(tid)) order.push(tid);
      this.order = order;
    }
    // the same object for a thread that did not change, as the collector does
    return this.order.map((tid) => this.prev.get(tid)!);
  }
}
