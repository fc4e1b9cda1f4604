// The disk subsystem without a kernel: the latency histogram (buckets as the
// BPF side fills them, quantiles), ratios, the per-device folder with a fake
// clock, fallback selection, the --no-fs-io switch, and its own structs
// against the compiled object's BTF.
import { describe, expect, it } from 'vitest';
import { wantedSources } from '../../src/collector';
import { Model, type Interval, type RawSample } from '../../src/model';
import { BPF_OBJECT_PATH, loadNative } from '../../src/native';
import { planPrograms, type Features } from '../../src/probe';
import { SCHEMA } from '../../src/subsystems';
import {
  bucketBounds, cacheHitPct, combineDevice, DEVICE_SLOTS, DeviceFolder, deviceName, disk, DISK, LAT_BUCKETS, LATENCY, latBucket,
  latencyHigh, latencyStats, quantile, rowLatency, seqPct, DISK_REQ_LAYOUT, type DeviceSample, type DiskCollected, type DiskSystem,
} from '../../src/subsystems/disk';
import type { FoldInput, Values } from '../../src/subsystems/types';
import { intervalJson } from '../../src/views/json';
import { objectMissing } from '../helpers/kernel';

const ALL = new Set([...SCHEMA.groups.map((g) => g.name), ...SCHEMA.groups.map((g) => g.source), 'disk.fs', 'disk.fswrite']);
const values = (set: Record<number, number>, avail: ReadonlySet<string> = ALL): Values => {
  const v = new Float64Array(SCHEMA.slots);
  for (const [i, x] of Object.entries(set)) v[Number(i)] = x;
  return { v, spanNs: 1e9, avail };
};

/** A latency struct laid out like the kernel's, from individual latencies. */
function histogram(lat: number[], into = new Float64Array(4 + LAT_BUCKETS), at = 0): Float64Array {
  for (const ns of lat) {
    into[at]++;
    into[at + 1] += ns;
    into[at + 2] = into[at + 2] === 0 ? ns : Math.min(into[at + 2], ns);
    into[at + 3] = Math.max(into[at + 3], ns);
    into[at + 4 + latBucket(ns)]++;
  }
  return into;
}

describe('latency histogram', () => {
  it('puts a latency in the bucket bpf/disk.bpf.c lat_bucket() does: 4 per power of two from 1024 ns', () => {
    expect([0, 1023, 1024, 1279, 1280, 1535, 1536, 2047, 2048].map(latBucket)).toEqual([0, 0, 1, 1, 2, 2, 3, 4, 5]);
    // exact at every bucket bound, including where Math.log2 rounds
    for (let i = 1; i < LAT_BUCKETS - 1; i++) {
      const [low, high] = bucketBounds(i);
      expect([latBucket(low), latBucket(high - 1), latBucket(high)]).toEqual([i, i, i + 1]);
    }
    expect(latBucket(2 ** 52)).toBe(LAT_BUCKETS - 1);
    expect(bucketBounds(LAT_BUCKETS - 1)[1]).toBe(Infinity);
  });

  it('keeps every bucket within 25% of its lower bound (at most 20% of its upper)', () => {
    for (let i = 1; i < LAT_BUCKETS - 1; i++) {
      const [low, high] = bucketBounds(i);
      expect((high - low) / low).toBeLessThanOrEqual(0.25);
      expect((high - low) / high).toBeLessThanOrEqual(0.2);
    }
  });

  it('derives min/avg/p50/p99/max: quantiles interpolated in their bucket, within 20% of the exact ones, held to [min, max]', () => {
    const lat = Array.from({ length: 1000 }, (_, i) => 30_000 + i * 97); // 30.0 .. 126.9 us
    const s = latencyStats(histogram(lat), 0)!;
    const sorted = [...lat].sort((a, b) => a - b);
    expect(s.count).toBe(1000);
    expect(s.minNs).toBe(30_000);
    expect(s.maxNs).toBe(30_000 + 999 * 97);
    expect(s.avgNs).toBe(Math.round(lat.reduce((a, b) => a + b, 0) / 1000));
    expect(Math.abs(s.p50Ns - sorted[499]) / sorted[499]).toBeLessThan(0.2);
    expect(Math.abs(s.p99Ns - sorted[989]) / sorted[989]).toBeLessThan(0.2);
    expect(s.p50Ns).toBeLessThanOrEqual(s.p99Ns);
    expect(s.p99Ns).toBeLessThanOrEqual(s.maxNs);
    // one request: every quantile is that request
    const one = latencyStats(histogram([123_456]), 0)!;
    expect([one.minNs, one.p50Ns, one.p99Ns, one.maxNs, one.avgNs]).toEqual([123_456, 123_456, 123_456, 123_456, 123_456]);
    expect(latencyStats(new Float64Array(4 + LAT_BUCKETS), 0)).toBeNull();
    expect(quantile(histogram([5e9]), 4, 1, 0.99, 5e9, 5e9)).toBe(5e9);
  });

  it('reads a process row\'s charge; a thread row (no charge slots) has none', () => {
    const r = values({});
    histogram([40_000, 50_000], r.v, LATENCY.base);
    expect(rowLatency(r)!.count).toBe(2);
    expect(rowLatency({ ...r, v: r.v.slice(0, SCHEMA.taskSlots) })).toBeNull();
  });
});

describe('ratios', () => {
  it('sequential %: seq bios / bios, null without bios', () => {
    expect(seqPct(values({ [DISK.at.writes]: 64, [DISK.at.seq_bios]: 63 }))).toBeCloseTo(98.4375);
    expect(seqPct(values({}))).toBeNull();
  });

  it('cache hit %: 1 - block / fs bytes read, held to 0..100, null without fs reads or block counts', () => {
    expect(cacheHitPct(values({ [DISK.at.fs_read_bytes]: 100, [DISK.at.read_bytes]: 25 }))).toBe(75);
    expect(cacheHitPct(values({ [DISK.at.fs_read_bytes]: 100, [DISK.at.read_bytes]: 300 }))).toBe(0); // readahead past what was read
    expect(cacheHitPct(values({ [DISK.at.fs_read_bytes]: 100 }))).toBe(100);
    expect(cacheHitPct(values({ [DISK.at.read_bytes]: 100 }))).toBeNull(); // direct I/O only
    expect(cacheHitPct(values({ [DISK.at.fs_read_bytes]: 100 }, new Set(['disk.fs'])))).toBeNull();
  });
});

/** A device's cumulative value as collect() returns it, from set slots. */
function dev(name: string, minor: number, bios: Partial<Record<(typeof DEVICE_SLOTS)[number], number>>, lat: number[] = [], prev?: DeviceSample): DeviceSample {
  const v = prev ? prev.v.slice() : new Float64Array(DEVICE_SLOTS.length + 4 + LAT_BUCKETS);
  DEVICE_SLOTS.forEach((s, i) => (v[i] += bios[s] ?? 0));
  histogram(lat, v, DEVICE_SLOTS.length);
  return { major: 254, minor, name, v };
}

const fold = (f: DeviceFolder, devices: DeviceSample[], over: Partial<FoldInput> = {}, reqFull = 0) =>
  f.fold({ collected: { devices, reqFull } satisfies DiskCollected, records: [], fromNs: 0, toNs: 0, baseline: false, cumulative: false, avail: ALL, ...over }).system as DiskSystem;

describe('per-device folder', () => {
  it('gives per-interval deltas of each device, sorted by name, and counts a device first seen later from zero', () => {
    const f = new DeviceFolder();
    const a0 = dev('vda', 0, { read_bytes: 4096, reads: 1 }, [50_000]);
    expect(fold(f, [a0], { baseline: true }).devices).toEqual([]);
    const a1 = dev('vda', 0, { read_bytes: 8192, reads: 2, write_bytes: 1 << 20, writes: 1 }, [40_000, 60_000, 80_000], a0);
    const b1 = dev('loop0', 16, { write_bytes: 4096, writes: 1 }, [1_000_000]);
    const s = fold(f, [a1, b1]);
    expect(s.devices.map((d) => [d.name, d.readBytes, d.reads, d.writeBytes, d.writes, d.lat?.count])).toEqual([
      ['loop0', 0, 0, 4096, 1, 1],
      ['vda', 8192, 2, 1 << 20, 1, 3],
    ]);
    expect(s.devices[1].lat!.avgNs).toBe(60_000);
    // the interval's own max (the kernel's running max, which falls in this interval's last bucket)
    expect(s.devices[1].lat!.maxNs).toBe(80_000);
    expect(s.devices[1].lat!.minNs).toBeGreaterThanOrEqual(bucketBounds(latBucket(40_000))[0]);
    // a quiet interval: zeros, and no latency
    const q = fold(f, [a1, b1]);
    expect(q.devices.map((d) => [d.readBytes, d.lat])).toEqual([[0, null], [0, null]]);
  });

  it('with --cumulative, totals since the baseline', () => {
    const f = new DeviceFolder();
    const a0 = dev('vda', 0, { read_bytes: 100 });
    fold(f, [a0], { baseline: true, cumulative: true });
    const a1 = dev('vda', 0, { read_bytes: 50 }, [], a0);
    expect(fold(f, [a1], { cumulative: true }).devices[0].readBytes).toBe(50);
    const a2 = dev('vda', 0, { read_bytes: 25 }, [], a1);
    expect(fold(f, [a2], { cumulative: true }).devices[0].readBytes).toBe(75);
  });

  it('reports the requests the full in-flight hash refused: per interval, or since the baseline with --cumulative', () => {
    const a = dev('vda', 0, {});
    const f = new DeviceFolder();
    expect(fold(f, [a], { baseline: true }, 5).reqOverflow).toBe(0);
    expect(fold(f, [a], {}, 9).reqOverflow).toBe(4);
    expect(fold(f, [a], {}, 9).reqOverflow).toBe(0);
    const c = new DeviceFolder();
    fold(c, [a], { baseline: true, cumulative: true }, 5);
    expect(fold(c, [a], { cumulative: true }, 9).reqOverflow).toBe(4);
    expect(fold(c, [a], { cumulative: true }, 12).reqOverflow).toBe(7);
  });

  it('keeps the devices\' recent p99, which IO-LAT is highlighted against', () => {
    const f = new DeviceFolder();
    let a = dev('vda', 0, {});
    fold(f, [a], { baseline: true });
    a = dev('vda', 0, {}, Array.from({ length: 100 }, () => 100_000), a);
    const sys = fold(f, [a]);
    expect(sys.recentP99Ns).toBeGreaterThanOrEqual(bucketBounds(latBucket(100_000))[0]);
    expect(sys.recentP99Ns).toBeLessThanOrEqual(bucketBounds(latBucket(100_000))[1]);
    const iv = { ext: { disk: sys } } as unknown as Interval;
    const row = (lat: number[]) => {
      const r = values({});
      histogram(lat, r.v, LATENCY.base);
      return { ...r, pid: 1 } as unknown as Parameters<typeof latencyHigh>[0];
    };
    expect(latencyHigh(row([110_000]), iv)).toBe(false);
    expect(latencyHigh(row([900_000]), iv)).toBe(true);
    expect(latencyHigh(row([]), iv)).toBe(false);
    const cue = disk.columns.find((c) => c.id === 'io_lat')!.cue!;
    expect(cue(row([900_000]), iv)).toBe('latency');
    expect(cue(row([110_000]), iv)).toBeNull();
  });

  it('combines a per-CPU map value: sums, and the latency bounds by min / max', () => {
    const size = (DEVICE_SLOTS.length + 4 + LAT_BUCKETS) * 8;
    const b = Buffer.alloc(size * 2);
    const put = (cpu: number, slot: number, x: number) => b.writeBigUInt64LE(BigInt(x), cpu * size + slot * 8);
    put(0, 0, 4096);
    put(1, 0, 8192);
    put(0, DEVICE_SLOTS.length + 2, 500); // min
    put(1, DEVICE_SLOTS.length + 2, 300);
    put(0, DEVICE_SLOTS.length + 3, 900); // max
    put(1, DEVICE_SLOTS.length + 3, 700);
    const v = combineDevice(b, 0, size * 2);
    expect([v[0], v[DEVICE_SLOTS.length + 2], v[DEVICE_SLOTS.length + 3]]).toEqual([12288, 300, 900]);
  });

  it('names devices as iostat does (DEVNAME in /sys/dev/block/MAJ:MIN/uevent), by number when gone', () => {
    expect(deviceName(254, 0, () => 'MAJOR=254\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\n')).toBe('vda');
    expect(deviceName(7, 3, () => { throw new Error('gone'); })).toBe('7:3');
  });
});

describe('model and JSON with disk charges', () => {
  it('puts a latency charge on its process and derives the JSON fields, per thread where they are per thread', () => {
    const m = new Model({ ncpu: 1, threads: true });
    const task = (tid: number) => ({ kind: 'task' as const, tid, pid: tid, ppid: 1, uid: 0, flags: 0, state: 1, exitCode: 0, startNs: 5, pstartNs: 5, timeNs: 0, comm: 'fio', c: new Float64Array(SCHEMA.taskSlots) });
    const sample = (t: number, charges: RawSample['charges'], c?: (x: Float64Array) => void): RawSample => {
      const rec = task(42);
      c?.(rec.c);
      return { timeNs: t, wallMs: 0, tasks: [rec], procTasks: [], events: [], charges, ext: {}, idleNs: null, bpf: { runNs: 0, runCount: 0, records: 0, lost: 0 }, loadavg: null };
    };
    m.update(sample(0, []));
    const v = new Float64Array(SCHEMA.slots);
    histogram([40_000, 60_000], v, LATENCY.base);
    const iv = m.update(
      sample(1e9, [{ pid: 42, startNs: 5, v }], (c) => {
        c[DISK.at.read_bytes] = 8192;
        c[DISK.at.reads] = 2;
        c[DISK.at.fs_read_bytes] = 16384;
      }),
    )!;
    const j = JSON.parse(intervalJson(iv, iv.processes, { threads: true })).processes[0];
    expect([j.disk_read_bytes, j.disk_reads, j.io_lat_min_ns, j.io_lat_avg_ns, j.io_lat_max_ns, j.io_seq_pct, j.fs_read_bytes, j.cache_hit_pct]).toEqual([8192, 2, 40_000, 50_000, 60_000, 0, 16384, 50]);
    expect(j.io_lat_p50_ns).toBeLessThanOrEqual(j.io_lat_p99_ns);
    expect(j.threads_detail[0].io_lat_p99_ns).toBeUndefined(); // per process only
    expect(j.threads_detail[0].cache_hit_pct).toBe(50);
    expect(iv.system.unattributed.length).toBe(SCHEMA.slots);
  });
});

const features = (over: Partial<Features> = {}): Features => ({ hasType: () => true, rawTracepoints: true, tracepointArgs: () => 1, hasMapType: () => true, cmpxchg: true, ...over });

describe('disk program selection', () => {
  const latency = (f: Features) => {
    const plan = planPrograms(f, disk.hooks);
    return { load: plan.load.filter((l) => l.source === 'disk.lat').map((l) => l.program), consts: plan.consts, states: plan.sources.filter((s) => s.source === 'disk.lat').map((s) => s.state) };
  };

  it('times requests from block_io_start to block_io_done on 6.5+, without the rq_* hooks', () => {
    const l = latency(features());
    expect(l.load).toEqual(['io_start_btf', 'io_done_btf']);
    expect(l.states).toEqual(['attached', 'off', 'attached']);
  });

  it('falls back to block_rq_insert/issue/complete before 6.5, with the queue argument before 5.11', () => {
    const pre65 = (n: string) => n !== 'btf_trace_block_io_start' && n !== 'btf_trace_block_io_done';
    const l = latency(features({ hasType: pre65 }));
    expect(l.load).toEqual(['rq_insert_btf', 'rq_issue_btf', 'rq_complete_btf']);
    expect(l.consts.rq_has_queue_arg).toBe(0);
    expect(latency(features({ hasType: pre65, tracepointArgs: (n) => (n === 'block_rq_insert' ? 2 : 1) })).consts.rq_has_queue_arg).toBe(1);
    // no BTF tracepoints at all: raw tracepoints, per-thread state in the tid hash
    const raw = latency(features({ hasType: () => false }));
    expect(raw.load).toEqual(['rq_insert_raw', 'rq_issue_raw', 'rq_complete_raw']);
    expect(planPrograms(features({ hasType: () => false }), disk.hooks).consts.use_thread_hash).toBe(1);
  });

  it('keeps requests in flight in slots where the kernel has BPF cmpxchg (5.12+), else in the hash alone, start and completion alike', () => {
    const pre65 = (n: string) => n !== 'btf_trace_block_io_start' && n !== 'btf_trace_block_io_done';
    expect(latency(features()).consts).toMatchObject({ req_slot_mask: 16383, req_stale_s: 600 });
    const old = latency(features({ hasType: pre65, cmpxchg: false }));
    expect(old.load).toEqual(['rq_insert_btf_hash', 'rq_issue_btf_hash', 'rq_complete_btf_hash']);
    // one slot allocated, never used
    expect(old.consts.req_slot_mask).toBe(0);
    expect(latency(features({ hasType: () => false, cmpxchg: false })).load).toEqual(['rq_insert_raw_hash', 'rq_issue_raw_hash', 'rq_complete_raw_hash']);
  });

  it('--no-fs-io leaves only the page-cache hooks off', () => {
    const sw = disk.switches!.find((s) => s.flag === 'fs-io')!;
    const wanted = wantedSources({ disabled: new Set(sw.sources) });
    expect(wanted.has('disk.fs')).toBe(false);
    expect(wanted.has('disk.fswrite')).toBe(false);
    expect(wanted.has('disk.bio')).toBe(true);
    expect(wanted.has('disk.lat')).toBe(true);
  });
});

const built = !objectMissing(BPF_OBJECT_PATH);

describe.skipIf(!built)('disk structs against the object\'s BTF', () => {
  it('struct ebtop_disk_device: its bio slots, then a struct ebtop_disk_latency; struct ebtop_disk_dev: major, minor', () => {
    const btf = loadNative().btfStructs(BPF_OBJECT_PATH);
    const d = btf.ebtop_disk_device;
    expect(d.members.map((m) => m.name)).toEqual([...DEVICE_SLOTS, 'lat']);
    expect(d.members.at(-1)!.type).toBe('ebtop_disk_latency');
    expect(d.members.at(-1)!.offset).toBe(DEVICE_SLOTS.length * 8);
    expect(d.size).toBe((DEVICE_SLOTS.length + LATENCY.size) * 8);
    expect(btf.ebtop_disk_dev.members.map((m) => [m.name, m.offset, m.size])).toEqual([['major', 0, 4], ['minor', 4, 4]]);
  });

  it('struct ebtop_disk_req (the in-flight entry the sweep reads) and struct ebtop_disk_stats', () => {
    const btf = loadNative().btfStructs(BPF_OBJECT_PATH);
    const r = btf.ebtop_disk_req;
    expect(r.size).toBe(DISK_REQ_LAYOUT.size);
    expect(r.members.find((m) => m.name === 'start_ns')).toMatchObject({ offset: DISK_REQ_LAYOUT.startNs, size: 8 });
    expect(btf.ebtop_disk_stats.members.map((m) => [m.name, m.offset, m.size])).toEqual([['req_full', 0, 8]]);
  });
});
