#!/usr/bin/env node
// `make bench` and `make bench-quick`: ebtop measured against the tools users
// would pick instead (accuracy), what it costs (overhead) and how it holds up
// (scale), on this machine. Writes bench/results.md (the report) and
// bench/results.json beside it, and rewrites README.md's generated
// performance region from them. `--quick` runs only the targets that do not
// depend on machine noise (short-lived CPU, fio and iperf3 bytes, the spawn
// storm), writes nothing to the tree, and exits 1 when one is missed.
//
// Settings (environment): BENCH_ROUNDS (interleaved rounds, 3), BENCH_TUI_SECONDS
// (90: windows 0-15 s, 0-60 s, 60 s-end), BENCH_PROCS (process counts for the TUI
// comparison, "400,5000"), BENCH_PIPE_ROUNDS (10), BENCH_PIPE_LOOPS (200000),
// BENCH_STARTUP_RUNS (10), BENCH_THREADS (10000), BENCH_CONNECTIONS (10000),
// BENCH_SCALE_SECONDS (10); the busy workloads (bench/busy.js, ~9 min with
// the defaults): BENCH_BUSY_SECONDS (12 s per run), BENCH_BUSY_ROUNDS (1
// interleaved round of none / TUI / --json), BENCH_BUSY_WARMUP (3 s of ebtop
// before each measured run), BENCH_BUSY (workload keys, comma-separated: all
// of bench/busy.js WORKLOADS); the budget run: BENCH_BUDGET_SECONDS (40),
// BENCH_BUDGET_WORKLOAD (a key; the busy run's costliest by default);
// BENCH_SERVE_SECONDS (3600: the `ebtop serve` soak);
// BENCH_ONLY (sections: accuracy,tui,bpf,throughput,busy,budget,startup,scale,recorder,serve),
// BENCH_MERGE=1 (with BENCH_ONLY: those sections replace theirs in the last
// full run's bench/results.json, README's region is rewritten, and both runs
// are named in it; every figure and ratio still comes from one run),
// BENCH_OUT (quick: a JSON file to write).
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const L = require('./lib');
const A = require('./accuracy');
const O = require('./overhead');
const S = require('./scale');
const B = require('./busy');
const R = require('./report');

function envNum(name, def, min = 0) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) die(`${name}=${raw}: expected a number >= ${min}`);
  return n;
}

function die(msg) {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(2);
}

const quick = process.argv.includes('--quick');
const CFG = {
  quick,
  rounds: envNum('BENCH_ROUNDS', 3, 1),
  tuiSeconds: envNum('BENCH_TUI_SECONDS', 90, 30),
  procs: (process.env.BENCH_PROCS || '400,5000').split(',').map(Number).filter((n) => n > 0),
  pipeRounds: envNum('BENCH_PIPE_ROUNDS', 10, 1),
  pipeLoops: envNum('BENCH_PIPE_LOOPS', 200000, 1000),
  busySeconds: envNum('BENCH_BUSY_SECONDS', 12, 2),
  busyRounds: envNum('BENCH_BUSY_ROUNDS', 1, 1),
  busyWarmup: envNum('BENCH_BUSY_WARMUP', 3, 0),
  busyOnly: process.env.BENCH_BUSY ? process.env.BENCH_BUSY.split(',') : null,
  budgetSeconds: envNum('BENCH_BUDGET_SECONDS', 40, 15),
  budgetWorkload: process.env.BENCH_BUDGET_WORKLOAD || null,
  startupRuns: envNum('BENCH_STARTUP_RUNS', 10, 1),
  threads: envNum('BENCH_THREADS', 10000, 100),
  connections: envNum('BENCH_CONNECTIONS', 10000, 10),
  scaleSeconds: envNum('BENCH_SCALE_SECONDS', 10, 3),
  // the recorder: a real recording this long (whole segments of 120 intervals), then seeks in a day built from it
  recordSeconds: envNum('BENCH_RECORD_SECONDS', 320, 30),
  recordProcs: envNum('BENCH_RECORD_PROCS', 400, 50),
  seeks: envNum('BENCH_SEEKS', 20, 1),
  // the exporter's soak: this long under 3,000 new command names a minute
  serveSeconds: envNum('BENCH_SERVE_SECONDS', 3600, 60),
  only: process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : null,
};
if (CFG.busyOnly) for (const k of CFG.busyOnly) if (!B.WORKLOADS.some((w) => w.key === k)) die(`BENCH_BUSY: no workload ${k} (${B.WORKLOADS.map((w) => w.key).join(', ')})`);
// the budget run holds ebtop to --budget's default
CFG.budgetPct = require(path.join(L.ROOT, 'dist', 'budget')).BUDGET.defaultPct;
const want = (section) => !CFG.only || CFG.only.has(section);

/** Run one measurement; a failure is reported as n/a with its reason, the rest goes on. */
async function step(label, fn) {
  try {
    return await fn();
  } catch (e) {
    L.progress(`${label}: failed: ${e.message}`);
    return { na: e.message.split('\n')[0].slice(0, 300) };
  }
}

function environment() {
  const counts = L.countTasks();
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    kernel: os.release(),
    ncpu: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? '',
    memGiB: os.totalmem() / 2 ** 30,
    node: process.version,
    procs: counts.procs,
    threads: counts.threads,
    loadavg: os.loadavg(),
    git: (() => {
      try {
        return require('child_process').execFileSync('git', ['-C', L.ROOT, 'describe', '--always', '--dirty'], { encoding: 'utf8' }).trim();
      } catch {
        return null;
      }
    })(),
  };
}

async function main() {
  if (process.getuid() !== 0) die('must run as root (ebtop loads BPF programs): sudo make bench');
  if (!fs.existsSync(path.join(L.ROOT, 'dist', 'cli.js'))) die('ebtop is not built: run make build');
  for (const w of ['idle', 'storm', 'spawner', 'burn', 'reap', 'waiter', 'manyconn', 'names']) if (!fs.existsSync(L.WORKLOAD(w))) die(`workload ${w} not built: run make ${path.relative(L.ROOT, L.WORKLOAD(w))}`);
  const res = { mode: quick ? 'quick' : 'full', env: environment(), config: { ...CFG, only: CFG.only ? [...CFG.only] : null } };
  L.progress(`${res.mode}: ${res.env.procs} processes, ${res.env.threads} threads, load ${res.env.loadavg.map((x) => x.toFixed(2)).join(' ')}`);

  res.accuracy = {};
  if (want('accuracy')) {
    res.accuracy.short = await step('short-lived', () => A.shortLived(CFG));
    res.accuracy.fio = await step('fio', () => A.fio(CFG));
    res.accuracy.iperf = await step('iperf3', () => A.iperf(CFG));
    if (!quick) {
      res.accuracy.cpu = await step('stress-ng', () => A.cpuStress(CFG));
      res.accuracy.retrans = await step('retransmits', () => A.retransmits(CFG));
      res.accuracy.offcpu = await step('off-CPU', () => A.offcpu(CFG));
    }
  }
  res.scale = {};
  if (want('scale')) {
    res.scale.storm = await step('spawn storm', () => S.storm(CFG));
    if (!quick) {
      res.scale.threads = await step('10,000 threads', () => S.threads(CFG));
      res.scale.connections = await step('10,000 connections', () => S.connections(CFG));
    }
  }
  res.overhead = {};
  if (!quick) {
    if (want('startup')) res.overhead.startup = await step('start-up', () => O.startup(CFG));
    // one PostgreSQL server for every section that runs pgbench, started when the first asks
    let pg = null;
    const postgres = async () => {
      if (!pg) pg = (await O.startPostgres()) || { na: 'PostgreSQL is not installed' };
      if (pg.na) throw new Error(pg.na);
      return pg;
    };
    const maybePg = async () => {
      try {
        return await postgres();
      } catch (e) {
        L.progress(`PostgreSQL not available: ${e.message}`);
        pg = { na: e.message };
        return null;
      }
    };
    if (want('bpf')) res.overhead.bpf = await step('BPF cost', async () => O.bpfCost(CFG, await maybePg()));
    if (want('throughput')) res.overhead.throughput = await step('throughput', () => O.throughput(CFG));
    if (want('busy')) res.overhead.busy = await step('busy workloads', () => B.busy(CFG, postgres));
    if (want('budget')) res.overhead.budget = await step('budget run', () => B.budgetRun(CFG, postgres, res.overhead.busy));
    if (pg && !pg.na) {
      res.overhead.postgres = pg.version;
      await pg.stop();
    }
    if (want('recorder')) res.overhead.recorder = await step('recorder', () => require('./recorder').recorder(CFG));
    if (want('serve')) res.overhead.serve = await step('serve soak', () => require('./serve').soak(CFG));
    if (want('tui')) {
      res.overhead.tui = {};
      for (const n of CFG.procs) res.overhead.tui[n] = await step(`TUI CPU at ${n}`, () => O.tuiCpu(CFG, n));
    }
  }

  // BENCH_MERGE=1 with BENCH_ONLY: the sections run now replace theirs in the last full
  // run's results, and README's region is rewritten; the report names both runs
  if (process.env.BENCH_MERGE === '1' && CFG.only && !quick) {
    const prev = JSON.parse(fs.readFileSync(path.join(__dirname, 'results.json'), 'utf8'));
    const base = prev.merged ? { ...prev, env: prev.merged.env } : prev;
    const sections = [...CFG.only];
    for (const part of ['accuracy', 'scale', 'overhead']) res[part] = { ...(base[part] || {}), ...res[part] };
    res.merged = { env: base.env, sections: [...new Set([...(prev.merged?.sections ?? []), ...sections])] };
    res.mode = 'full';
    CFG.only = null;
  }
  res.targets = R.targets(res);
  const text = R.report(res);
  process.stdout.write(text + '\n');
  if (quick) {
    if (process.env.BENCH_OUT) fs.writeFileSync(process.env.BENCH_OUT, JSON.stringify(res, null, 1));
  } else {
    fs.writeFileSync(path.join(__dirname, 'results.md'), text + '\n');
    fs.writeFileSync(path.join(__dirname, 'results.json'), JSON.stringify(res, null, 1) + '\n');
    if (!CFG.only) {
      R.updateReadme(path.join(L.ROOT, 'README.md'), res);
      L.progress('written: bench/results.md, bench/results.json, README.md (performance region)');
    } else L.progress('written: bench/results.md, bench/results.json (a partial run: README.md left alone)');
  }
  const missed = res.targets.filter((t) => (quick ? t.quick : true) && t.met === false);
  if (quick) {
    const gated = res.targets.filter((t) => t.quick);
    L.progress(`bench-quick: ${gated.length - missed.length}/${gated.length} targets met${missed.length ? `; missed: ${missed.map((t) => t.name).join('; ')}` : ''}`);
    return missed.length || gated.some((t) => t.met === null) ? 1 : 0;
  }
  return 0;
}

main().then(
  (code) => {
    L.cleanupSync();
    process.exit(code);
  },
  (e) => {
    process.stderr.write(`bench: ${e && e.stack ? e.stack : e}\n`);
    L.cleanupSync();
    process.exit(1);
  },
);
