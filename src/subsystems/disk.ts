// The disk subsystem, declared as data: block-layer bytes, bios and the
// sequential ratio per thread (submitter's context), page-cache reads and
// writes (fs level), writeback charged to the process that dirtied the pages,
// request latency per process (a log-linear histogram), per-device totals;
// their columns and JSON fields.
import { onTracepoint, type Features, type Variant } from '../probe';
import fs from 'node:fs';
import { fmtBytes, fmtCount, fmtDuration, fmtPct } from '../format';
import type { Interval } from '../model';
import { RAW } from './cpu';
import { group } from './schema';
import type { CollectIO, Column, FoldInput, FoldOutput, Folder, JsonField, Machine, RowLike, Subsystem, Values } from './types';

/** struct ebtop_disk_counters: per thread, in task-local storage. */
export const DISK = group({
  name: 'disk',
  kind: 'task',
  struct: 'ebtop_disk_counters',
  member: 'thr.disk',
  slots: ['read_bytes', 'write_bytes', 'reads', 'writes', 'seq_bios', 'fs_read_bytes', 'fs_write_bytes', 'dirtied_bytes'],
  source: 'disk.bio',
});

/** struct ebtop_disk_writeback: per owner, drained each refresh. */
export const WRITEBACK = group({
  name: 'disk_writeback',
  kind: 'charge',
  struct: 'ebtop_disk_writeback',
  map: 'disk_writeback',
  slots: ['writeback_bytes', 'writeback_ios'],
  source: 'disk.bio',
});

/** EBTOP_LAT_BUCKETS: struct ebtop_disk_latency's histogram. */
export const LAT_BUCKETS = 128;
const LAT_MIN_SHIFT = 10;

/** struct ebtop_disk_latency: per owner, drained each refresh. */
export const LATENCY = group({
  name: 'disk_latency',
  kind: 'charge',
  struct: 'ebtop_disk_latency',
  map: 'disk_latency',
  slots: ['lat_count', 'lat_sum_ns', 'lat_min_ns', 'lat_max_ns', `lat[${LAT_BUCKETS}]`],
  combine: { lat_min_ns: 'min', lat_max_ns: 'max' },
  source: 'disk.lat',
});

// ---------------------------------------------------------------- histogram

/** The bucket of a latency, as bpf/disk.bpf.c lat_bucket() computes it. */
export function latBucket(ns: number): number {
  if (ns < 2 ** LAT_MIN_SHIFT) return 0;
  const p = Math.floor(Math.log2(ns));
  // Math.log2 can round up just below a power of two
  const pw = 2 ** p > ns ? p - 1 : p;
  const i = 1 + 4 * (pw - LAT_MIN_SHIFT) + (Math.floor(ns / 2 ** (pw - 2)) & 3);
  return Math.min(i, LAT_BUCKETS - 1);
}

/** [low, high) of bucket i in ns (the last bucket is open: high = Infinity). */
export function bucketBounds(i: number): [number, number] {
  if (i === 0) return [0, 2 ** LAT_MIN_SHIFT];
  const p = LAT_MIN_SHIFT + Math.floor((i - 1) / 4);
  const sub = (i - 1) % 4;
  const low = 2 ** p + sub * 2 ** (p - 2);
  return [low, i === LAT_BUCKETS - 1 ? Infinity : low + 2 ** (p - 2)];
}

/** A latency summary: what the JSON fields and columns show. */
export interface LatencyStats {
  count: number;
  minNs: number;
  avgNs: number;
  p50Ns: number;
  p99Ns: number;
  maxNs: number;
}

/**
 * The q-quantile of a histogram (buckets at v[at..at+LAT_BUCKETS)): the
 * rank's bucket, interpolated linearly inside it, held within [min, max]
 * (exact bounds the kernel keeps).
 */
export function quantile(v: ArrayLike<number>, at: number, count: number, q: number, minNs: number, maxNs: number): number {
  const rank = Math.max(1, Math.ceil(q * count));
  let seen = 0;
  for (let i = 0; i < LAT_BUCKETS; i++) {
    const n = v[at + i];
    if (!n) continue;
    if (seen + n >= rank) {
      const [low, high] = bucketBounds(i);
      const lo = Math.max(low, minNs);
      const hi = Math.min(high, maxNs);
      return Math.round(Math.min(maxNs, Math.max(minNs, lo + ((hi - lo) * (rank - seen)) / n)));
    }
    seen += n;
  }
  return maxNs;
}

/** The summary of a struct ebtop_disk_latency laid out at v[base..]; null without requests. */
export function latencyStats(v: ArrayLike<number>, base: number): LatencyStats | null {
  const count = v[base];
  if (!count) return null;
  const minNs = v[base + 2];
  const maxNs = v[base + 3];
  return {
    count,
    minNs,
    avgNs: Math.round(v[base + 1] / count),
    p50Ns: quantile(v, base + 4, count, 0.5, minNs, maxNs),
    p99Ns: quantile(v, base + 4, count, 0.99, minNs, maxNs),
    maxNs,
  };
}

// ---------------------------------------------------------------- devices

/** struct ebtop_disk_device, slot by slot (u64 each): its bios, then a struct ebtop_disk_latency. */
export const DEVICE_SLOTS = ['read_bytes', 'write_bytes', 'reads', 'writes', 'remapped_bytes'] as const;
const DEV_LAT = DEVICE_SLOTS.length;
const DEVICE_SIZE = DEV_LAT + 4 + LAT_BUCKETS;
const DEV = { read_bytes: 0, write_bytes: 1, reads: 2, writes: 3, remapped_bytes: 4 } as const;

/** One device as collect() reads it: cumulative since attach, CPUs combined. */
export interface DeviceSample {
  major: number;
  minor: number;
  name: string;
  v: Float64Array;
}

/** One device over an interval: what system.disk.devices shows. */
export interface DeviceRow {
  name: string;
  major: number;
  minor: number;
  readBytes: number;
  writeBytes: number;
  reads: number;
  writes: number;
  /** bios a bio-based stacked driver (dm, md) remapped onto it: in its totals, in no process's */
  remappedBytes: number;
  lat: LatencyStats | null;
}

export interface DiskSystem {
  devices: DeviceRow[];
  /** p99 over every device's requests of the last RECENT intervals, or null */
  recentP99Ns: number | null;
  /** requests whose latency was lost (their slot was held by another and the in-flight hash was full): this interval's, or with --cumulative since the baseline */
  reqOverflow: number;
}

/** What collect() reads each refresh. */
export interface DiskCollected {
  devices: DeviceSample[];
  /** requests the full in-flight hash refused since load (cumulative) */
  reqFull: number;
}

/**
 * Bounds set before load; tests shrink them to see collisions and overflow
 * counted. `slots`: the in-flight slots (a power of two, 40 bytes each),
 * `inflight`: the hash that takes a request whose slot another holds.
 */
export const DISK_LIMITS = { slots: 16384, inflight: 16384 };

/** struct ebtop_disk_req: a request in flight (test/unit/disk.test.ts holds it to the object's BTF). */
export const DISK_REQ_LAYOUT = { size: 32, startNs: 8 };
/**
 * No request lives this long (the block layer times them out after 30 s): its
 * in-flight record is one whose completion was never seen (a device that went
 * away). A slot this old is taken over in the kernel (bpf/inflight.bpf.h
 * req_stale_s); a hash entry is swept here.
 */
const STALE_REQ_S = 600;
const STALE_REQ_NS = STALE_REQ_S * 1e9;
const SWEEP_EVERY_NS = 60e9;

/** u64 as a JS number (exact below 2^53). */
const u64 = (b: Buffer, o: number) => b.readUInt32LE(o) + b.readUInt32LE(o + 4) * 0x1_0000_0000;

/** Sum one per-CPU map value (one DEVICE_SIZE u64 slot set per CPU): min/max for the latency bounds. */
export function combineDevice(values: Buffer, offset: number, valueSize: number): Float64Array {
  const v = new Float64Array(DEVICE_SIZE);
  const per = DEVICE_SIZE * 8;
  for (let o = offset; o + per <= offset + valueSize; o += per) {
    for (let s = 0; s < DEVICE_SIZE; s++) {
      const x = u64(values, o + s * 8);
      if (!x) continue;
      if (s === DEV_LAT + 2) v[s] = v[s] === 0 || x < v[s] ? x : v[s];
      else if (s === DEV_LAT + 3) v[s] = Math.max(v[s], x);
      else v[s] += x;
    }
  }
  return v;
}

/** iostat's name of a device: DEVNAME in /sys/dev/block/MAJ:MIN/uevent. */
export function deviceName(major: number, minor: number, read = (f: string) => fs.readFileSync(f, 'latin1')): string {
  try {
    const m = /^DEVNAME=(.+)$/m.exec(read(`/sys/dev/block/${major}:${minor}/uevent`));
    if (m) return m[1];
  } catch {
    // a device gone since: its numbers stay, under its numbers
  }
  return `${major}:${minor}`;
}

const names = new Map<string, string>();

/** When each object's in-flight map was last swept (CLOCK_MONOTONIC ns). */
const lastSweep = new WeakMap<object, number>();

/**
 * Deletes in-flight hash entries older than any request lives: a request
 * merged away leaves its entry until its struct starts again, which a device
 * that went away never does. Keeps the hash to the requests that exist.
 */
export function sweepInflight(io: CollectIO, nowNs: number): number {
  const d = io.native.mapDump(io.obj, 'disk_inflight');
  const stale: Buffer[] = [];
  for (let i = 0; i < d.count; i++) if (u64(d.values, i * d.valueSize + DISK_REQ_LAYOUT.startNs) < nowNs - STALE_REQ_NS) stale.push(d.keys.subarray(i * d.keySize, (i + 1) * d.keySize));
  if (stale.length) io.native.mapDelete(io.obj, 'disk_inflight', Buffer.concat(stale));
  return stale.length;
}

function collectDevices(io: CollectIO): DiskCollected | undefined {
  if (!io.avail.has('disk.bio') && !io.avail.has('disk.lat')) return undefined;
  let reqFull = 0;
  if (io.avail.has('disk.lat')) {
    const now = Number(process.hrtime.bigint()); // CLOCK_MONOTONIC, as bpf_ktime_get_ns
    if (now - (lastSweep.get(io.obj) ?? 0) > SWEEP_EVERY_NS) {
      lastSweep.set(io.obj, now);
      sweepInflight(io, now);
    }
    const st = io.native.mapDump(io.obj, 'disk_stats');
    for (let o = 0; o + 8 <= st.values.length; o += 8) reqFull += u64(st.values, o);
  }
  const d = io.native.mapDump(io.obj, 'disk_devices');
  const out: DeviceSample[] = [];
  for (let i = 0; i < d.count; i++) {
    const major = d.keys.readUInt32LE(i * d.keySize);
    const minor = d.keys.readUInt32LE(i * d.keySize + 4);
    const key = `${major}:${minor}`;
    let name = names.get(key);
    if (name === undefined) names.set(key, (name = deviceName(major, minor)));
    out.push({ major, minor, name, v: combineDevice(d.values, i * d.valueSize, d.valueSize) });
  }
  return { devices: out, reqFull };
}

/** Intervals whose device latencies make the "recent" p99 IO-LAT is compared with. */
const RECENT = 10;

/** Per-device deltas (or totals since the baseline), and the recent p99 over all devices. */
export class DeviceFolder implements Folder {
  private base = new Map<string, Float64Array>();
  private prev = new Map<string, Float64Array>();
  private recent: Float64Array[] = [];
  private fullAtBase = 0;
  private fullAtLast = 0;

  fold(input: FoldInput): FoldOutput {
    const col = input.collected as DiskCollected | undefined;
    const now = col?.devices ?? [];
    const full = col?.reqFull ?? 0;
    if (input.baseline) this.fullAtBase = full;
    const reqOverflow = Math.max(0, full - (input.cumulative ? this.fullAtBase : this.fullAtLast));
    this.fullAtLast = full;
    const rows: DeviceRow[] = [];
    const merged = new Float64Array(4 + LAT_BUCKETS);
    for (const s of now) {
      const key = `${s.major}:${s.minor}`;
      // a device first seen after the baseline had all its I/O since the previous sample
      const from = (input.cumulative ? this.base.get(key) : this.prev.get(key)) ?? (input.baseline ? s.v : undefined);
      if (input.baseline) this.base.set(key, s.v);
      else if (!this.base.has(key)) this.base.set(key, new Float64Array(DEVICE_SIZE));
      this.prev.set(key, s.v);
      const d = new Float64Array(DEVICE_SIZE);
      for (let i = 0; i < DEVICE_SIZE; i++) d[i] = Math.max(0, s.v[i] - (from?.[i] ?? 0));
      // min and max are since attach: exact only for a device's first interval, so the
      // bounds of an interval are its buckets' own (held to the kernel's where they agree)
      fixBounds(d, DEV_LAT, s.v);
      rows.push({
        name: s.name,
        major: s.major,
        minor: s.minor,
        readBytes: d[DEV.read_bytes],
        writeBytes: d[DEV.write_bytes],
        reads: d[DEV.reads],
        writes: d[DEV.writes],
        remappedBytes: d[DEV.remapped_bytes],
        lat: latencyStats(d, DEV_LAT),
      });
      // count, sum and buckets add up across devices (min and max do not: recentP99 bounds by buckets)
      if (!input.cumulative) for (let i = 0; i < 4 + LAT_BUCKETS; i++) if (i !== 2 && i !== 3) merged[i] += d[DEV_LAT + i];
    }
    rows.sort((a, b) => a.name.localeCompare(b.name));
    if (!input.baseline && !input.cumulative) {
      this.recent.push(merged);
      if (this.recent.length > RECENT) this.recent.shift();
    }
    return { system: { devices: input.baseline ? [] : rows, recentP99Ns: this.recentP99(), reqOverflow: input.baseline ? 0 : reqOverflow } satisfies DiskSystem };
  }

  private recentP99(): number | null {
    const all = new Float64Array(4 + LAT_BUCKETS);
    for (const h of this.recent) for (let i = 0; i < all.length; i++) all[i] += h[i];
    if (!all[0]) return null;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < LAT_BUCKETS; i++) {
      if (!all[4 + i]) continue;
      if (!lo) lo = bucketBounds(i)[0] || 1;
      hi = bucketBounds(i)[1];
    }
    return quantile(all, 4, all[0], 0.99, lo, hi === Infinity ? bucketBounds(LAT_BUCKETS - 1)[0] * 2 : hi);
  }
}

/**
 * An interval's latency min/max from the difference of two cumulative
 * structs: the buckets it used bound them; the kernel's own running min/max
 * are exact when they fall inside those buckets.
 */
function fixBounds(d: Float64Array, at: number, total: Float64Array): void {
  if (!d[at]) {
    d[at + 2] = 0;
    d[at + 3] = 0;
    return;
  }
  let first = -1;
  let last = -1;
  for (let i = 0; i < LAT_BUCKETS; i++) {
    if (!d[at + 4 + i]) continue;
    if (first < 0) first = i;
    last = i;
  }
  const [minLo, minHi] = bucketBounds(first);
  const [maxLo, maxHi] = bucketBounds(last);
  const kmin = total[at + 2];
  const kmax = total[at + 3];
  d[at + 2] = kmin >= minLo && kmin < minHi ? kmin : minLo;
  d[at + 3] = kmax >= maxLo && kmax < maxHi ? kmax : Math.min(maxHi, maxLo * 1.25);
}

// ---------------------------------------------------------------- values

/** A slot of a row; a thread row has no charge slots (charges are per process). */
const slot = (i: () => number) => (r: Values) => (i() < r.v.length ? r.v[i()] : 0);
const readBytes = slot(() => DISK.at.read_bytes);
const writeBytes = slot(() => DISK.at.write_bytes);
const reads = slot(() => DISK.at.reads);
const writes = slot(() => DISK.at.writes);
const seqBios = slot(() => DISK.at.seq_bios);
const fsRead = slot(() => DISK.at.fs_read_bytes);
const fsWrite = slot(() => DISK.at.fs_write_bytes);
const dirtied = slot(() => DISK.at.dirtied_bytes);
const writeback = slot(() => WRITEBACK.at.writeback_bytes);
/** What the device wrote for the process: its own bios plus writeback of pages it dirtied. */
const allWrites = (r: Values) => writeBytes(r) + (r.avail.has(WRITEBACK.name) ? writeback(r) : 0);
/** Per second over the interval; with totals (`c`, --cumulative) the total itself. */
const rate = (n: number, r: Values) => (r.totals ? n : r.spanNs > 0 ? (n * 1e9) / r.spanNs : 0);
const round2 = (v: number) => Math.round(v * 100) / 100;

/** Latency of a process row (null: a thread row, or no request completed). */
export function rowLatency(r: Values): LatencyStats | null {
  return LATENCY.base < r.v.length ? latencyStats(r.v, LATENCY.base) : null;
}

/** % of its bios that continued where its previous bio on that device ended; null without bios. */
export function seqPct(r: Values): number | null {
  const n = reads(r) + writes(r);
  return n > 0 ? (seqBios(r) / n) * 100 : null;
}

/** Page-cache hit ratio: 1 - block bytes read / fs bytes read, held to 0..100; null without fs reads (or block counts). */
export function cacheHitPct(r: Values): number | null {
  const f = fsRead(r);
  if (!r.avail.has(DISK.name)) return null;
  return f > 0 ? Math.min(100, Math.max(0, (1 - readBytes(r) / f) * 100)) : null;
}

/** IO-LAT's warning: the process's p99 is more than twice the devices' recent p99. */
export function latencyHigh(r: RowLike, iv: Interval): boolean {
  const own = rowLatency(r);
  const recent = (iv.ext.disk as DiskSystem | undefined)?.recentP99Ns;
  return own !== null && recent != null && own.p99Ns > 2 * recent;
}

// ---------------------------------------------------------------- columns and JSON

/** no value in this interval (no requests, no reads): not the same as a source not attached (n/a) */
const NA = '-';
const col = (c: Omit<Column, 'align' | 'descending'> & Partial<Column>): Column => ({ align: 'right', descending: true, ...c });
const orNa = <T>(v: T | null, f: (x: T) => string) => (v === null ? NA : f(v));

const columns: Column[] = [
  col({ id: 'disk_r', title: 'DISK-R', width: 6, needs: 'disk', help: 'block-layer bytes read per second (bios it submitted)', text: (r) => fmtBytes(rate(readBytes(r), r)), value: readBytes }),
  col({ id: 'disk_w', title: 'DISK-W', width: 6, needs: 'disk', help: 'block-layer bytes written per second: its own bios + writeback of pages it dirtied', text: (r) => fmtBytes(rate(allWrites(r), r)), value: allWrites }),
  col({ id: 'iops', title: 'IOPS', width: 6, needs: 'disk', help: 'bios (reads + writes) it submitted per second', text: (r) => fmtCount(rate(reads(r) + writes(r), r)), value: (r) => reads(r) + writes(r) }),
  col({
    id: 'io_lat', title: 'IO-LAT', width: 7, needs: LATENCY.name,
    help: 'p99 latency of its block requests (queued to completed); highlighted when over twice the devices\' recent p99',
    text: (r) => orNa(rowLatency(r), (l) => fmtDuration(l.p99Ns)),
    value: (r) => rowLatency(r)?.p99Ns ?? -1,
    cue: (r, iv) => (latencyHigh(r, iv) ? 'latency' : null),
  }),
  col({ id: 'seq', title: 'SEQ%', width: 5, needs: 'disk', help: '% of its bios that continued where its previous one on that device ended', text: (r) => orNa(seqPct(r), fmtPct), value: (r) => seqPct(r) ?? -1 }),
  col({ id: 'cache', title: 'CACHE%', width: 6, needs: 'disk.fs', help: 'page-cache hit ratio of its buffered reads: 1 - block bytes read / fs bytes read', text: (r) => orNa(cacheHitPct(r), fmtPct), value: (r) => cacheHitPct(r) ?? -1 }),
];

const field = (key: string, needs: string, get: (r: Values) => number | null, thread = true): JsonField => ({ key, needs, thread, get });
const lat = (f: (l: LatencyStats) => number) => (r: Values) => {
  const l = rowLatency(r);
  return l === null ? null : f(l);
};
const json: JsonField[] = [
  field('disk_read_bytes', 'disk', readBytes),
  field('disk_write_bytes', 'disk', writeBytes),
  field('writeback_bytes', WRITEBACK.name, writeback, false),
  field('dirtied_bytes', 'disk', dirtied),
  field('disk_reads', 'disk', reads),
  field('disk_writes', 'disk', writes),
  field('io_lat_min_ns', LATENCY.name, lat((l) => l.minNs), false),
  field('io_lat_avg_ns', LATENCY.name, lat((l) => l.avgNs), false),
  field('io_lat_p50_ns', LATENCY.name, lat((l) => l.p50Ns), false),
  field('io_lat_p99_ns', LATENCY.name, lat((l) => l.p99Ns), false),
  field('io_lat_max_ns', LATENCY.name, lat((l) => l.maxNs), false),
  field('io_seq_pct', 'disk', (r) => orNull(seqPct(r), round2)),
  field('fs_read_bytes', 'disk.fs', fsRead),
  field('fs_write_bytes', 'disk.fswrite', fsWrite),
  field('cache_hit_pct', 'disk.fs', (r) => orNull(cacheHitPct(r), round2)),
];

function orNull(v: number | null, f: (x: number) => number): number | null {
  return v === null ? null : f(v);
}

/** system.disk: per-device totals as iostat names the devices, and writes nobody owns. */
function systemJson(iv: Interval): unknown {
  const sys = iv.ext.disk as DiskSystem | undefined;
  const latOk = iv.avail.has('disk.lat');
  const bioOk = iv.avail.has('disk.bio');
  const n = (v: number) => (bioOk ? v : null);
  return {
    devices: (sys?.devices ?? []).map((d) => ({
      name: d.name,
      read_bytes: n(d.readBytes),
      write_bytes: n(d.writeBytes),
      reads: n(d.reads),
      writes: n(d.writes),
      io_lat_avg_ns: latOk && d.lat ? d.lat.avgNs : null,
      io_lat_p99_ns: latOk && d.lat ? d.lat.p99Ns : null,
    })),
    unattributed_write_bytes: iv.avail.has(WRITEBACK.name) ? iv.system.unattributed[WRITEBACK.at.writeback_bytes] : null,
    requests_overflow: latOk ? (sys?.reqOverflow ?? 0) : null,
  };
}

/** Entries of a preallocated per-CPU map that fit `budget` bytes, within [min, max]. */
function perCpuEntries(m: Machine, valueBytes: number, budget: number, min: number, max: number): number {
  return Math.max(min, Math.min(max, Math.floor(budget / (m.ncpuPossible * valueBytes))));
}

/** A request's start hook, by kernel: block_io_start (6.5+), else block_rq_insert. */
const NO_IO_START = 'btf_trace_block_io_start';

/**
 * A request hook's variants: with the in-flight slots (BPF cmpxchg, 5.12+)
 * first, then `<program>_hash`, the same with the hash alone (5.10, 5.11).
 * One kernel feature decides for every request hook, so a request's start and
 * its completion agree on where it is recorded.
 */
function slotsOrHash(variants: Variant[]): Variant[] {
  return [...variants.map((v) => ({ ...v, needsCmpxchg: true })), ...variants.map((v) => ({ ...v, program: `${v.program}_hash` }))];
}

/**
 * The in-flight slots' settings: their index mask (slots - 1; 0 where the
 * kernel has no BPF cmpxchg and the programs use the hash alone: one slot
 * allocated), and the age at which a slot is taken over.
 */
function slotConsts(f: Features): Record<string, number> {
  const n = DISK_LIMITS.slots;
  if (!Number.isInteger(Math.log2(n))) throw new Error(`DISK_LIMITS.slots must be a power of two, not ${n}`);
  return { req_slot_mask: f.cmpxchg ? n - 1 : 0, req_stale_s: STALE_REQ_S };
}

/** Two tracepoints' variant pairs as [btf a, btf b, raw a, raw b]: every tp_btf variant before any raw_tp one. */
function interleave(a: Variant[], b: Variant[]): Variant[] {
  return [a[0], b[0], a[1], b[1]];
}

/** The header's line: what the devices moved over the interval. */
function summary(iv: Interval): { label: string; text: string } | null {
  const sys = iv.ext.disk as DiskSystem | undefined;
  if (!sys || !iv.avail.has('disk') || iv.intervalNs <= 0) return null;
  let r = 0;
  let w = 0;
  let ios = 0;
  for (const d of sys.devices) {
    r += d.readBytes;
    w += d.writeBytes;
    ios += d.reads + d.writes;
  }
  const per = (n: number) => (n * 1e9) / iv.intervalNs;
  return { label: 'Disk', text: `read ${fmtBytes(per(r))}/s  write ${fmtBytes(per(w))}/s  ${fmtCount(per(ios))} IOPS` };
}

/** The drill-down's disk part: bytes, latency quantiles and histogram, sequential and cache ratios. */
function drill(r: RowLike, iv: Interval, width: number): string[] {
  if (!r.avail.has('disk')) return [];
  const lat = rowLatency(r);
  const out = [
    `{black-fg}{green-bg}${' Disk'.padEnd(width)}{/green-bg}{/black-fg}`,
    ` read ${fmtBytes(rate(readBytes(r), r))}${r.totals ? '' : '/s'}  write ${fmtBytes(rate(allWrites(r), r))}${r.totals ? '' : '/s'}` +
      `  (writeback of pages it dirtied ${fmtBytes(writeback(r))})  IOPS ${fmtCount(rate(reads(r) + writes(r), r))}` +
      `  SEQ% ${orNa(seqPct(r), fmtPct)}  CACHE% ${orNa(cacheHitPct(r), fmtPct)}`,
  ];
  if (!lat) {
    out.push(' no block requests completed for it in this interval');
    return out;
  }
  out.push(` latency: ${lat.count} requests  min ${fmtDuration(lat.minNs)}  avg ${fmtDuration(lat.avgNs)}  p50 ${fmtDuration(lat.p50Ns)}  p99 ${fmtDuration(lat.p99Ns)}  max ${fmtDuration(lat.maxNs)}`);
  // the histogram's occupied range, one bar per bucket, longest bar = most requests
  const counts: [number, number][] = [];
  for (let i = 0; i < LAT_BUCKETS; i++) {
    const n = r.v[(LATENCY.at as Record<string, number>).lat + i];
    if (n > 0) counts.push([i, n]);
  }
  const max = Math.max(...counts.map(([, n]) => n));
  const barW = Math.max(10, width - 30);
  for (const [i, n] of counts.slice(0, 12)) {
    const [lo] = bucketBounds(i);
    out.push(`  ${('>= ' + fmtDuration(lo)).padStart(11)} ${'#'.repeat(Math.max(1, Math.round((n / max) * barW)))} ${n}`);
  }
  if (counts.length > 12) out.push(`  ... ${counts.length - 12} more buckets up to ${fmtDuration(bucketBounds(counts[counts.length - 1][0])[1])}`);
  return out;
}

export const disk: Subsystem = {
  name: 'disk',
  what: 'block I/O bytes, IOPS, latency, sequential ratio, page-cache hits, writeback charged to the dirtier',
  optional: true,
  // ~125 ns per cached read() (README): measurable on read-heavy machines
  switches: [{ flag: 'fs-io', what: 'switch the page-cache hooks off alone: fs_read_bytes, fs_write_bytes, cache_hit_pct, CACHE% become n/a (about 125 ns per cached read() saved)', sources: ['disk.fs', 'disk.fswrite'] }],
  hooks: [
    {
      source: 'disk.bio',
      what: 'bytes, bios and sequential bios per thread, in the submitter\'s context; writeback charged through the page\'s inode; per-device totals',
      variants: [
        ...onTracepoint('bio_queue', 'block_bio_queue', { consts: RAW }),
      ],
      // before 5.11 block_bio_queue passed the request queue first
      config: (f) => ({ bio_has_queue_arg: f.tracepointArgs('block_bio_queue') >= 2 ? 1 : 0 }),
    },
    {
      // the same source: without the dirtiers, writeback would be nobody's
      source: 'disk.bio',
      what: 'page-cache folios dirtied per thread, and each inode\'s last dirtier (whose writeback it is)',
      variants: [
        // before 5.17 the tracepoint was writeback_dirty_page, a page at a time;
        // tp_btf variants first: a raw_tp one is chosen without knowing its tracepoint exists
        ...interleave(onTracepoint('dirty_folio', 'writeback_dirty_folio', { consts: RAW }), onTracepoint('dirty_page', 'writeback_dirty_page', { consts: RAW, needsType: 'btf_trace_writeback_dirty_page' })),
      ],
    },
    {
      source: 'disk.lat',
      what: 'request start and its owner (the submitter)',
      variants: [
        // the raw_tp variants of the 6.5 pair still need its BTF type: it tells the pair exists;
        // 6.5 has BPF cmpxchg: slots only
        ...onTracepoint('io_start', 'block_io_start', { needsType: NO_IO_START, needsCmpxchg: true }, { needsCmpxchg: true }),
        ...slotsOrHash(onTracepoint('rq_insert', 'block_rq_insert')),
      ],
      // before 5.11 block_rq_insert/issue passed the request queue first
      config: (f) => ({ rq_has_queue_arg: f.tracepointArgs('block_rq_insert') >= 2 ? 1 : 0, ...slotConsts(f) }),
    },
    {
      source: 'disk.lat',
      what: 'request start where it was issued without being inserted (kernels before 6.5)',
      onlyWithout: NO_IO_START,
      variants: slotsOrHash(onTracepoint('rq_issue', 'block_rq_issue')),
    },
    {
      source: 'disk.lat',
      what: 'request completion (softirq): latency to its owner and its device',
      variants: [
        ...onTracepoint('io_done', 'block_io_done', { needsType: 'btf_trace_block_io_done', needsCmpxchg: true }, { needsCmpxchg: true }),
        ...slotsOrHash(onTracepoint('rq_complete', 'block_rq_complete')),
      ],
    },
    {
      source: 'disk.fs',
      what: 'buffered reads served through the page cache, per thread (page granular; not mmap faults, not direct I/O)',
      variants: [
        // before 6.6: what read() and its family returned from regular files, at sys_exit (costs every syscall)
        ...interleave(onTracepoint('get_pages', 'mm_filemap_get_pages', { consts: RAW }), onTracepoint('read_sys', 'sys_exit', { consts: RAW })),
      ],
    },
    ...(['ext4_da_write_end', 'ext4_write_end', 'ext4_journalled_write_end'] as const).map((tp) => {
      const prog = tp.replace(/^ext4_/, '');
      return {
        source: 'disk.fswrite',
        what: `bytes copied into the page cache by buffered writes, per thread (ext4 ${tp.slice(5).replace(/_/g, ' ')})`,
        variants: onTracepoint(prog, tp, { consts: RAW }),
      };
    }),
  ],
  maps: [
    { name: 'disk_writeback', entries: (m) => Math.min(m.pidMax, 16384), runtimeAlloc: true },
    // per-CPU values of ~1 KiB, preallocated: bounded in memory (~16 MiB, ~4 MiB) whatever the CPU count
    { name: 'disk_latency', entries: (m) => perCpuEntries(m, LATENCY.size * 8, 16 << 20, 256, Math.min(m.pidMax, 2048)), runtimeAlloc: true },
    { name: 'disk_devices', entries: (m) => perCpuEntries(m, DEVICE_SIZE * 8, 4 << 20, 32, 256) },
    { name: 'disk_dirtier', entries: () => 65536 },
    { name: 'disk_seq', entries: (m) => Math.min(m.pidMax * 2, 16384) },
    // preallocated (~640 KiB and ~1.5 MiB): a start must never wait for memory
    { name: 'disk_slots', entries: (_m, consts) => (consts.req_slot_mask ?? 0) + 1 },
    { name: 'disk_inflight', entries: () => DISK_LIMITS.inflight },
  ],
  groups: [DISK, WRITEBACK, LATENCY],
  summary,
  drill,
  sparks: [{ label: 'Disk B/s', value: (r) => rate(readBytes(r) + allWrites(r), r), fmt: (v) => `${fmtBytes(v)}/s` }],
  columns,
  json,
  system: systemJson,
  collect: collectDevices,
  folder: () => new DeviceFolder(),
};
