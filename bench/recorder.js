// `make bench`, the flight recorder: what a day of `ebtop record -d 1` costs
// at ~400 processes (disk bytes per interval measured over a real recording,
// times 86,400; the recorder's CPU and its BPF programs' run time over the
// same window), and how long a seek takes in a day-long recording. The day is
// built from the real recording's own segments (copied frame by frame, each
// copy a recorder run of its own, wall times moved on by a second a frame),
// so every byte a seek reads and decodes is recorded data.
'use strict';

const fs = require('fs');
const path = require('path');
const L = require('./lib');

const DAY = 86400;

function dirBytes(dir) {
  return fs.readdirSync(dir).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
}

async function record(cfg) {
  const seconds = cfg.recordSeconds;
  L.progress(`recorder: ebtop record -d 1 at ~${cfg.recordProcs} processes for ${seconds} s (disk per interval, CPU)`);
  await L.fillProcesses(cfg.recordProcs);
  const counts = L.countTasks();
  const { listShards, readFrames } = require(path.join(L.ROOT, 'dist', 'recording', 'store.js'));
  const dir = path.join(L.tmp(), `rec-${Date.now()}`);
  const rec = L.start(L.EBTOP, ['record', '-d', '1', '-o', dir, '--log', path.join(L.tmp(), 'record.log')], { sudoEnv: true, label: 'ebtop record' });
  const frames = () => listShards(dir).reduce((n, s) => n + readFrames(s).frames.length, 0);
  // from the first key frame's end: the judged window is steady state (key frames included as they come)
  const warm = Date.now() + 15_000;
  while (Date.now() < warm || !fs.existsSync(dir) || frames() < 2) await L.sleep(250);
  const cpu = new L.CpuTracker(rec.pid);
  cpu.poll();
  const cpu0 = cpu.total();
  const bytes0 = dirBytes(dir);
  const frames0 = frames();
  const t0 = L.hr();
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    cpu.poll();
    await L.sleep(1000);
  }
  cpu.poll();
  const wallNs = (L.hr() - t0);
  const cpuNs = cpu.total() - cpu0;
  const bytes = dirBytes(dir) - bytes0;
  const n = frames() - frames0;
  await rec.stop();
  // the BPF programs' run time over the recording, as the recording has it
  const replay = await L.run(L.EBTOP, ['replay', dir, '--json'], { sudoEnv: true, timeoutMs: 300_000 });
  const samples = replay.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const bpfNs = samples.reduce((s, x) => s + x.system.bpf.run_ns, 0);
  const spanNs = samples.reduce((s, x) => s + x.interval_ns, 0);
  const ncpu = samples[0]?.ncpu ?? require('os').cpus().length;
  const perInterval = bytes / Math.max(1, n);
  return {
    dir,
    procs: counts.procs,
    threads: counts.threads,
    seconds,
    intervals: n,
    bytesPerInterval: perInterval,
    bytesPerDay: perInterval * DAY,
    recorderCpuPct: (cpuNs / wallNs) * 100,
    bpfPctOfAll: spanNs > 0 ? (bpfNs / (ncpu * spanNs)) * 100 : null,
    replayedIntervals: samples.length,
  };
}

/** A day of frames from the recording's segments, into `out`: shards of an hour, each segment copy a run of its own. */
function buildDay(src, out) {
  const { listShards, readFrames } = require(path.join(L.ROOT, 'dist', 'recording', 'store.js'));
  const frames = listShards(src).flatMap((s) => readFrames(s).frames);
  const segs = [];
  for (let i = 0; i < frames.length; i++) {
    if (!frames[i].key) continue;
    let j = i;
    while (j + 1 < frames.length && !frames[j + 1].key) j++;
    segs.push(frames.slice(i, j + 1));
  }
  const full = segs.filter((s) => s.length > 1).sort((a, b) => b.length - a.length);
  if (!full.length) throw new Error('the recording has no segment of two frames or more');
  // the whole file's bytes of each frame (header + payload), read once
  const raw = full.map((seg) => seg.map((f) => {
    const b = Buffer.alloc(32 + f.length);
    const fd = fs.openSync(f.shard, 'r');
    fs.readSync(fd, b, 0, b.length, f.offset - 32);
    fs.closeSync(fd);
    return b;
  }));
  fs.mkdirSync(out, { recursive: true });
  const head = Buffer.alloc(16);
  fs.readSync(fs.openSync(listShards(src)[0], 'r'), head, 0, 16, 0);
  let t = Date.parse('2026-01-01T00:00:00Z');
  let written = 0;
  for (let h = 0; h < 24; h++) {
    const name = `ebtop-${new Date(t).toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')}-000-1-${h}.rec`;
    const fd = fs.openSync(path.join(out, name), 'w');
    fs.writeSync(fd, head);
    for (let k = 0; k < 3600; ) {
      const seg = raw[(h + k) % raw.length];
      for (let i = 0; i < seg.length && k < 3600; i++, k++) {
        const b = Buffer.from(seg[i]);
        b[8] = i === 0 ? 3 : 0; // the copy's first frame: a key frame and a run's first sample
        b.writeDoubleLE(t, 12);
        t += 1000;
        fs.writeSync(fd, b);
        written += b.length;
      }
    }
    fs.closeSync(fd);
  }
  return { bytes: written, segmentFrames: full[0].length };
}

async function seek(cfg, src) {
  L.progress('recorder: seeks in a day-long recording (86,400 frames built from the recording\'s segments)');
  const out = path.join(L.tmp(), `day-${Date.now()}`);
  const day = buildDay(src, out);
  const { Recording, Replayer } = require(path.join(L.ROOT, 'dist', 'recording', 'replay.js'));
  let t0 = L.hr();
  const rec = new Recording(out);
  const openMs = (L.hr() - t0) / 1e6;
  const times = [];
  for (let k = 0; k < cfg.seeks; k++) {
    // a fresh replayer each time: a seek from nothing decoded (the worst case: no cache)
    const at = rec.frames[0].wallMs + Math.floor(Math.random() * DAY) * 1000;
    const r = new Recording(out);
    const i = r.indexAt(at);
    t0 = L.hr();
    new Replayer(r, { cumulative: false, threads: true }).at(i);
    times.push((L.hr() - t0) / 1e6);
  }
  fs.rmSync(out, { recursive: true, force: true });
  return { frames: rec.frames.length, bytes: day.bytes, segmentFrames: day.segmentFrames, openMs, seekMs: times };
}

async function recorder(cfg) {
  const r = await record(cfg);
  try {
    r.seek = await seek(cfg, r.dir);
  } catch (e) {
    r.seek = { na: e.message };
  }
  fs.rmSync(r.dir, { recursive: true, force: true });
  return r;
}

module.exports = { recorder };
