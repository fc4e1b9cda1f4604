// The recording's format and store without a kernel: lines round-trip to the
// same raw samples, an older schema is read by slot name, a recording of
// format 1 (test/fixtures/recording-v1, made by a real recorder) replays to
// its burner's wait4 figure, torn and damaged frames stop where they are,
// retention by size and age on a fake clock, the time a user types.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskRecord } from '../../src/abi';
import type { RawSample } from '../../src/model';
import { Decoder, emptyLookups, Encoder, FORMAT_VERSION, type Lookups } from '../../src/recording/format';
import { Recording, Replayer, parseTime } from '../../src/recording/replay';
import { listShards, readFrames, readLines, Writer } from '../../src/recording/store';
import { SCHEMA } from '../../src/subsystems';
import { buildProgram } from '../../src/cli';
import { durationMs, sizeBytes } from '../../src/recording/limits';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'recording-v1');
const META = { ebtop: 'test', host: 'h', kernel: 'k', ncpu: 2, pageSize: 4096, avail: ['cpu'], delayMs: 1000 };

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ebtop-rec-unit-'));
  dirs.push(d);
  return d;
};

function task(tid: number, over: Partial<TaskRecord> = {}): TaskRecord {
  const c = new Float64Array(SCHEMA.taskSlots);
  c[0] = tid * 1000;
  return { kind: 'task', tid, pid: tid, ppid: 1, uid: 0, flags: 0, state: 1, exitCode: 0, startNs: tid * 10, pstartNs: tid * 10, timeNs: 5, rssPages: 3, cgroupId: 7, comm: `t${tid}`, c, ...over };
}

function sample(timeNs: number, tasks: TaskRecord[], over: Partial<RawSample> = {}): RawSample {
  return {
    timeNs,
    wallMs: timeNs / 1e6,
    tasks,
    procTasks: [],
    events: [],
    charges: [],
    ext: {},
    idleNs: [1, 2],
    bpf: { runNs: 1, runCount: 2, records: 3, lost: 0 },
    loadavg: [0.1, 0.2, 0.3],
    mem: null,
    shed: [],
    missing: [],
    ...over,
  };
}

/** Float64Arrays compared by value, NaN included. */
const plain = (x: unknown): unknown => JSON.parse(JSON.stringify(x, (_k, v) => (v instanceof Float64Array ? Array.from(v, String) : v)));

describe('recording lines', () => {
  it('round-trip: new, changed, gone and reordered threads, exits, charges, unchanged subsystem data, non-finite values', () => {
    const enc = new Encoder(META);
    const dec = new Decoder();
    const t1 = task(1);
    const t2 = task(2);
    const t3 = task(3);
    const changed = { ...t2, state: 2, c: Float64Array.from(t2.c, (v, i) => (i === 1 ? v + 5 : i === 2 ? NaN : v)) };
    const exit = { ...task(4), kind: 'exit' as const, timeNs: 99 };
    const charge = { pid: 1, startNs: 10, v: new Float64Array(SCHEMA.slots).fill(2) };
    const seq: RawSample[] = [
      sample(1e9, [t1, t2, t3], { ext: { disk: { collected: { devices: [{ v: new Float64Array([1, Infinity]) }] }, records: [] } } }),
      sample(2e9, [t1, changed, t3], { events: [exit], charges: [charge], ext: { disk: { collected: { devices: [{ v: new Float64Array([1, Infinity]) }] }, records: [] } } }),
      sample(3e9, [t3, t1, task(5)], { procTasks: [task(9, { comm: 'invisible' })] }), // t2 gone, order changed
      sample(4e9, [t3, t1, task(5), task(6)], { procTasks: [task(9, { comm: 'invisible', state: 4 })] }),
    ];
    const names: Lookups = { cmdline: [[1, ['a', 'b']]], user: [[0, 'root']], cgroup: [] };
    const lines = seq.map((s, i) => enc.encode(s, i === 1 ? names : emptyLookups(), () => ({ cmdline: [[3, ['x']]], user: [], cgroup: [] })).line);
    const out = lines.map((l) => dec.decode(l));
    out.forEach((d, i) => expect(plain(d.sample), `sample ${i}`).toEqual(plain(seq[i])));
    expect(out[0].key?.format).toBe(FORMAT_VERSION);
    expect(out[0].names.cmdline).toEqual([[3, ['x']]]);
    expect(out[1].names).toEqual(names);
    // a thread that did not change costs nothing: the second line names neither t1 nor t3
    const second = JSON.parse(lines[1]) as { tasks: { c: { i?: number; tid?: number }[] } };
    expect(second.tasks.c.map((x) => x.i ?? x.tid)).toEqual([2]);
    expect(JSON.parse(lines[2]).tasks.o).toEqual([3, 1, 5]);
    expect(JSON.parse(lines[3]).tasks.o).toBeUndefined(); // new threads appended: no order needed
    expect(JSON.parse(lines[1]).ext.disk).toEqual({ same: 1 });
  });

  it('an older schema is read by slot name: moved slots land where they are today, unknown ones are dropped, missing ones are zero', () => {
    const enc = new Encoder(META);
    const t = task(1);
    for (let i = 0; i < t.c.length; i++) t.c[i] = i + 1;
    const key = JSON.parse(enc.encode(sample(1e9, [t]), emptyLookups(), emptyLookups).line);
    // an "older" file: its task slots in reverse order, one of today's missing, one that no longer exists
    const taskNames = SCHEMA.names.slice(0, SCHEMA.taskSlots);
    const old = [...taskNames].reverse();
    const dropped = old.pop()!; // today's first slot did not exist then
    old.push('gone.slot');
    key.slots = [...old, ...SCHEMA.names.slice(SCHEMA.taskSlots)];
    key.taskSlots = old.length;
    const vals = old.map((n) => (n === 'gone.slot' ? 999 : taskNames.indexOf(n) + 1));
    key.tasks = { c: [{ ...key.tasks.c[0], c: { $f: vals } }] };
    const d = new Decoder().decode(JSON.stringify(key));
    const c = d.sample.tasks[0].c;
    expect(dropped).toBe(taskNames[0]);
    expect(c[0]).toBe(0);
    for (let i = 1; i < taskNames.length; i++) expect(c[i]).toBe(i + 1);
    expect([...c]).not.toContain(999);
  });

  it('a newer format is refused with its number', () => {
    const line = JSON.stringify({ k: 1, format: FORMAT_VERSION + 1, meta: META, slots: [], taskSlots: 0, names: emptyLookups() });
    expect(() => new Decoder().decode(line)).toThrow(`recorded with format ${FORMAT_VERSION + 1}, newer than this ebtop reads`);
  });
});

describe('a recording of format 1 (test/fixtures/recording-v1)', () => {
  const truth = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'truth.json'), 'utf8')) as { burner: { pid: number; rusage_ns: number }; burnerCmdline: string };

  it('replays: the burner\'s on-CPU time equals its wait4 rusage (truncated to the us), its exit and command line as recorded', () => {
    const rec = new Recording(FIXTURE);
    const player = new Replayer(rec, { cumulative: false, threads: false });
    let ns = 0;
    let exited = false;
    let cmdline = '';
    let intervals = 0;
    for (let i = rec.first; ; ) {
      const iv = player.at(i);
      intervals++;
      for (const r of iv.processes) {
        if (r.pid !== truth.burner.pid) continue;
        ns += r.delta[SCHEMA.group('cpu').at.oncpu_ns];
        exited ||= r.exited;
        cmdline = r.cmdline;
      }
      const next = rec.step(i, 1);
      if (next === i) break;
      i = next;
    }
    expect(intervals).toBe(rec.frames.length - 1);
    expect(ns - truth.burner.rusage_ns).toBeGreaterThanOrEqual(0);
    expect(ns - truth.burner.rusage_ns).toBeLessThan(2000);
    expect(exited).toBe(true);
    expect(cmdline).toBe(truth.burnerCmdline);
  });

  it('a seek rebuilds the same interval as stepping to it', () => {
    const rec = new Recording(FIXTURE);
    const stepped = new Replayer(rec, { cumulative: false, threads: false });
    let i = rec.first;
    for (let k = 0; k < 6; k++) {
      stepped.at(i);
      i = rec.step(i, 1);
    }
    const a = stepped.at(i);
    const b = new Replayer(rec, { cumulative: false, threads: false }).at(i);
    const rows = (iv: typeof a) => iv.processes.map((r) => [r.pid, r.cmdline, Array.from(r.delta)]).sort((x, y) => Number(x[0]) - Number(y[0]));
    const ra = rows(a);
    const rb = rows(b);
    for (let k = 0; k < Math.max(ra.length, rb.length); k++) if (JSON.stringify(ra[k]) !== JSON.stringify(rb[k])) console.log('differs', JSON.stringify(ra[k]).slice(0, 300), '\n   vs', JSON.stringify(rb[k]).slice(0, 300));
    expect(rb).toEqual(ra);
    expect(rec.indexAt(rec.frames[i].wallMs)).toBe(i);
    expect(rec.indexAt(0)).toBe(rec.first);
    expect(rec.indexAt(Infinity)).toBe(rec.last);
  });

  it('a torn last frame (a recorder killed mid-write): the frames before it replay', () => {
    const dir = tmp();
    const [shard] = listShards(FIXTURE);
    const copy = path.join(dir, path.basename(shard));
    const bytes = fs.readFileSync(shard);
    fs.writeFileSync(copy, bytes.subarray(0, bytes.length - 7));
    const whole = readFrames(shard).frames.length;
    const r = readFrames(copy);
    expect(r.torn).toBe(true);
    expect(r.frames.length).toBe(whole - 1);
    const rec = new Recording(dir);
    expect(new Replayer(rec, { cumulative: false, threads: false }).at(rec.last).processes.length).toBeGreaterThan(0);
  });

  it('a damaged frame (its checksum fails) is reported, not decoded', () => {
    const dir = tmp();
    const [shard] = listShards(FIXTURE);
    const copy = path.join(dir, path.basename(shard));
    const bytes = Buffer.from(fs.readFileSync(shard));
    const f = readFrames(shard).frames[5];
    bytes[f.offset + 3] ^= 0xff;
    fs.writeFileSync(copy, bytes);
    const frames = readFrames(copy).frames;
    expect(readLines(frames, 0, 7)).toHaveLength(5);
    const rec = new Recording(dir);
    expect(() => new Replayer(rec, { cumulative: false, threads: false }).at(7)).toThrow(/a frame is damaged/);
  });
});

describe('the writer', () => {
  it('retention by size and age after every interval, on a fake clock; never the shard being written', async () => {
    const dir = tmp();
    let now = 1_000_000;
    const removed: string[] = [];
    const w = new Writer({
      dir,
      segmentFrames: 3,
      shardBytes: 2000,
      shardMs: 3600e3,
      maxBytes: 6000,
      retainMs: 60e3,
      now: () => now,
      create: (f) => fs.openSync(f, 'wx', 0o600),
      remove: (f) => {
        removed.push(f);
        fs.unlinkSync(f);
      },
    });
    const enc = new Encoder(META);
    let total = 0;
    for (let i = 0; i < 60; i++) {
      now += 1000;
      const key = w.keyNext;
      if (key) enc.reset();
      // incompressible names: every line costs its size
      const names: Lookups = { cmdline: [[i, [Math.random().toString(36).repeat(20)]]], user: [], cgroup: [] };
      const { line } = enc.encode(sample(i * 1e9 + 1, [task(1, { c: Float64Array.from({ length: SCHEMA.taskSlots }, () => Math.random()) })]), names, emptyLookups);
      await w.append(line, { key, start: i === 0, wallMs: now, summary: { cpu: 0.5, diskBytes: 1, netBytes: 2 } });
      total = listShards(dir).reduce((n, f) => n + fs.statSync(f).size, 0);
      expect(total, `after interval ${i}`).toBeLessThanOrEqual(6000);
    }
    expect(removed.length).toBeGreaterThan(0);
    expect(listShards(dir)).toContain(w.currentShard);
    // by age: an hour later every shard but the current one goes at the next interval
    now += 3600e3;
    const before = listShards(dir).length;
    const key = w.keyNext;
    expect(key, 'an hour on: a new shard, so a key line').toBe(true);
    enc.reset();
    await w.append(enc.encode(sample(61e9, [task(1)]), emptyLookups(), emptyLookups).line, { key, start: false, wallMs: now, summary: { cpu: 0, diskBytes: 0, netBytes: 0 } });
    expect(before).toBeGreaterThan(1);
    expect(listShards(dir)).toEqual([w.currentShard]);
    await w.close();
    // what is left replays: its frames are whole and each segment starts with a key line
    const frames = listShards(dir).flatMap((s) => readFrames(s).frames);
    expect(frames[0].key).toBe(true);
    const keys = frames.map((f, i) => (f.key ? i : -1)).filter((i) => i >= 0);
    keys.forEach((k, n) => {
      const end = n + 1 < keys.length ? keys[n + 1] - 1 : frames.length - 1;
      const dec = new Decoder();
      expect(readLines(frames, k, end).map((l) => dec.decode(l).sample.timeNs)).toHaveLength(end - k + 1);
    });
  });
});

describe('a typed time', () => {
  const ref = new Date(2026, 11, 3, 16, 30, 0).getTime();
  it('offsets from the shown moment, a clock time on its day, an ISO date; null otherwise', () => {
    expect(parseTime('-10m', ref)).toBe(ref - 600e3);
    expect(parseTime('+30s', ref)).toBe(ref + 30e3);
    expect(parseTime('-1h', ref)).toBe(ref - 3600e3);
    expect(parseTime('03:12', ref)).toBe(new Date(2026, 11, 3, 3, 12, 0).getTime());
    expect(parseTime('16:29:30', ref)).toBe(ref - 30e3);
    expect(parseTime('2026-12-03T15:00:00Z', ref)).toBe(Date.UTC(2026, 11, 3, 15));
    for (const bad of ['yesterday', '25:00', '12:61', '', '-', '10']) expect(parseTime(bad, ref), bad).toBeNull();
  });
});

describe('the recorder\'s command line', () => {
  it('the service unit\'s ExecStart is one ebtop record accepts (a bad flag is refused)', () => {
    const unit = fs.readFileSync(path.join(__dirname, '..', '..', 'bin', 'ebtop-record.service'), 'utf8');
    const args = /^ExecStart=@BINDIR@\/ebtop (.*)$/m.exec(unit)![1].split(' ');
    expect(args[0]).toBe('record');
    expect(() => buildProgram().parse(['node', 'ebtop', ...args])).not.toThrow();
    expect(() => buildProgram().parse(['node', 'ebtop', ...args, '--retain', 'forever'])).toThrow(/expected a duration/);
  });

  it('durations and sizes as typed', () => {
    expect(durationMs('90s')).toBe(90e3);
    expect(durationMs('10m')).toBe(600e3);
    expect(durationMs('1d')).toBe(86400e3);
    expect(durationMs('30')).toBe(30e3);
    expect(sizeBytes('1G')).toBe(2 ** 30);
    expect(sizeBytes('500M')).toBe(500 * 2 ** 20);
    expect(sizeBytes('100k')).toBe(102400);
    expect(sizeBytes('4096')).toBe(4096);
    for (const bad of ['', 'x', '-1', '0', '1y']) {
      expect(durationMs(bad), bad).toBeNull();
    }
    for (const bad of ['', 'x', '-1', '0', '1P']) expect(sizeBytes(bad), bad).toBeNull();
  });
});
