// `make bench`, overhead: what ebtop costs. Userspace CPU of the TUI against
// htop and top (interleaved rounds, ratios within a round); BPF run time per
// program and subsystem under each workload; the context-switch worst case
// (pinned perf bench sched pipe against a minimal pair of programs); start-up
// and memory; and the workloads the busy section (bench/busy.js) runs:
// PostgreSQL for pgbench, iperf3 and fio runs.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const L = require('./lib');
const T = require('./tools');
const A = require('./accuracy');

const median = L.median;

// ------------------------------------------------------------------ userspace CPU, TUIs in tmux

/**
 * One TUI in tmux for `seconds`: its cumulative CPU (all threads) at the
 * window marks, as % of one core over each window, and its RSS at the end.
 */
async function tuiRun(command, seconds, marks, env = {}) {
  const t = L.inTmux(command, { env });
  const tr = new L.CpuTracker(t.pid);
  const t0 = L.hr();
  const at = {};
  let i = 0;
  while (i < marks.length) {
    if (!tr.poll()) throw new Error(`${command}: exited (${t.capture().split('\n').filter(Boolean).slice(-2).join(' / ')})`);
    const el = (L.hr() - t0) / 1e9;
    if (el >= marks[i]) at[marks[i++]] = tr.total();
    await L.sleep(el < 5 ? 100 : 500);
  }
  const rss = L.rssMiB(t.pid);
  await t.stop();
  return { at, rss };
}

async function tuiCpu(cfg, procs) {
  const seconds = cfg.tuiSeconds;
  const first = Math.min(60, seconds - 15);
  const marks = [15, first, seconds];
  L.progress(`overhead: userspace CPU of the TUIs at ~${procs} processes (${cfg.rounds} interleaved rounds of ${seconds} s each)`);
  const fill = await L.fillProcesses(procs);
  await L.sleep(1000);
  const counts = L.countTasks();
  const tools = [
    { key: 'top', name: 'top -d 1', cmd: 'top -d 1' },
    { key: 'htop', name: 'htop -d 10', cmd: 'htop -d 10', env: () => ({ HTOPRC: path.join(L.tmp(), `htoprc-${Date.now()}`) }) },
    { key: 'ebtop', name: 'ebtop -d 1', cmd: `${L.EBTOP} -d 1 --log ${path.join(L.tmp(), 'ebtop-tui.log')}` },
  ].filter((t) => L.findExe(t.cmd.split(' ')[0]));
  if (!tools.some((t) => t.key === 'ebtop') || !tools.some((t) => t.key === 'htop')) throw new Error('ebtop or htop not found');
  const runs = Object.fromEntries(tools.map((t) => [t.key, []]));
  try {
    for (let r = 0; r < cfg.rounds; r++) {
      for (const t of tools) {
        L.progress(`  round ${r + 1}/${cfg.rounds}: ${t.name}`);
        const res = await tuiRun(t.cmd, seconds, marks, t.env ? t.env() : {});
        const w = (a, b) => ((res.at[b] - (a ? res.at[a] : 0)) / ((b - a) * 1e9)) * 100;
        runs[t.key].push({ first15: w(0, 15), first60: w(0, first), after: w(first, seconds), rss: res.rss });
      }
    }
  } finally {
    await fill.stop();
  }
  const windows = ['first15', 'first60', 'after'];
  const out = { procs: counts.procs, threads: counts.threads, seconds, firstWindow: first, tools: {}, ratio: {} };
  for (const t of tools) {
    out.tools[t.key] = { name: t.name, runs: runs[t.key] };
    for (const w of windows) out.tools[t.key][w] = median(runs[t.key].map((x) => x[w]));
    out.tools[t.key].rss = median(runs[t.key].map((x) => x.rss));
  }
  // ebtop / htop within each round, then the median
  if (runs.ebtop && runs.htop) for (const w of windows) out.ratio[w] = runs.ebtop.map((x, i) => x[w] / runs.htop[i][w]);
  return out;
}

// ------------------------------------------------------------------ BPF run time per program and subsystem

/** program name -> subsystem, from the subsystems' hook declarations (dist/). */
function programOwners() {
  const { SUBSYSTEMS } = require(path.join(L.ROOT, 'dist', 'subsystems'));
  const map = {};
  for (const s of SUBSYSTEMS) for (const h of s.hooks) for (const v of h.variants) map[v.program] = s.name;
  return map;
}

/** kernel.bpf_stats_enabled on for fn (so every run is counted, exactly), restored after. */
async function withStats(fn) {
  const file = '/proc/sys/kernel/bpf_stats_enabled';
  const before = L.readText(file)?.trim() ?? '0';
  fs.writeFileSync(file, '1');
  const restore = () => fs.writeFileSync(file, before);
  L.atCleanup(restore);
  try {
    return await fn();
  } finally {
    restore();
  }
}

async function pipeOps(pinned, loops) {
  const args = pinned ? ['-c', '0', 'perf', 'bench', 'sched', 'pipe', '-l', String(loops)] : null;
  const r = pinned ? await L.run('taskset', args) : await L.run('perf', ['bench', 'sched', 'pipe', '-l', String(loops)]);
  const m = /([\d.]+) ops\/sec/.exec(r.stdout);
  if (!m) throw new Error(`perf bench sched pipe: no ops/sec in its output: ${r.stdout.slice(0, 200)}`);
  return Number(m[1]);
}

/** The workloads BPF cost is measured under: name -> async () => void (runs a few seconds). */
function costWorkloads(cfg, pg) {
  const w = {
    idle: async () => L.sleep(5000),
    'perf bench sched pipe (pinned)': async () => pipeOps(true, cfg.pipeLoops),
  };
  if (T.available('fio')) {
    w['fio 4 KiB direct random read/write'] = async () => {
      const dir = A.diskDir();
      await L.run('fio', ['--name=cost', `--filename=${path.join(dir, 'f')}`, '--rw=randrw', '--bs=4k', '--size=64M', '--direct=1', '--ioengine=psync', '--time_based', '--runtime=4']);
    };
  }
  if (T.available('iperf3')) w['iperf3 over loopback'] = async () => iperfOnce(4);
  if (pg) w['pgbench (select-only, 4 clients)'] = async () => pg.bench(5);
  return w;
}

async function bpfCost(cfg, pg) {
  L.progress('overhead: BPF run time per program under each workload (kernel.bpf_stats_enabled=1 while measuring)');
  const owners = programOwners();
  const out = [];
  await withStats(async () => {
    for (const [name, work] of Object.entries(costWorkloads(cfg, pg))) {
      const e = L.ebtopJson(['-d', '1']);
      await e.waitSamples(1);
      const a = L.progStats(e.pid);
      const c0 = L.procStat().ctxt;
      const t0 = L.hr();
      await work();
      const wall = L.hr() - t0;
      const c1 = L.procStat().ctxt;
      const d = L.statsDiff(a, L.progStats(e.pid));
      await e.stop();
      const progs = Object.entries(d)
        .filter(([, v]) => v.cnt > 0)
        .map(([prog, v]) => ({ prog, subsystem: owners[prog] ?? '?', runs: v.cnt, nsPerRun: v.ns / v.cnt, runsPerS: (v.cnt / wall) * 1e9, cpuPct: (v.ns / wall) * 100 }));
      const bySub = {};
      for (const p of progs) {
        const s = (bySub[p.subsystem] ??= { runs: 0, ns: 0 });
        s.runs += p.runs;
        s.ns += p.nsPerRun * p.runs;
      }
      const switches = d.switch_btf?.cnt || d.switch_raw?.cnt || 0;
      const perSwitch = switches ? ['switch_btf', 'switch_raw', 'wakeup_new_btf', 'wakeup_new_raw'].reduce((n, k) => n + (d[k]?.ns ?? 0), 0) / switches : null;
      out.push({
        workload: name,
        seconds: wall / 1e9,
        ctxPerS: ((c1 - c0) / wall) * 1e9,
        programs: progs,
        subsystems: Object.fromEntries(Object.entries(bySub).map(([k, v]) => [k, { runsPerS: (v.runs / wall) * 1e9, nsPerRun: v.ns / v.runs, cpuPct: (v.ns / wall) * 100 }])),
        totalCpuPct: (progs.reduce((n, p) => n + p.nsPerRun * p.runs, 0) / wall) * 100,
        nsPerSwitch: perSwitch,
      });
    }
  });
  return out;
}

// ------------------------------------------------------------------ throughput with and without ebtop

/** The minimal pair of programs (bench/minimal.bpf.c), attached until stop(). */
async function startMinimal() {
  const ch = L.start(process.execPath, [path.join(__dirname, 'minimal.js')], { stdin: 'pipe', sudoEnv: true, label: 'minimal pair' });
  await L.firstJsonLine(ch);
  return { pid: ch.pid, stop: () => ch.stop() };
}

async function startEbtop() {
  const e = L.ebtopJson(['-d', '1']);
  await e.waitSamples(1);
  return { pid: e.pid, e, stop: () => e.stop() };
}

/** rounds x configs, interleaved (A B C A B C): measure() under each. */
async function interleaved(label, rounds, configs, measure) {
  const res = Object.fromEntries(Object.keys(configs).map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    for (const [k, startCfg] of Object.entries(configs)) {
      L.progress(`  ${label}: round ${r + 1}/${rounds}, ${k}`);
      const h = startCfg ? await startCfg() : null;
      await L.sleep(300);
      try {
        res[k].push(await measure(h));
      } finally {
        if (h) await h.stop();
      }
    }
  }
  return res;
}

/** losses of `k` against `none` round by round (1 - k/none). */
function losses(res, k) {
  return res[k].map((v, i) => 1 - v / res.none[i]);
}

/** iperf3 over loopback for `seconds`: bits per second received (its own report). */
async function iperfOnce(seconds) {
  const port = A.freePort();
  const server = L.start('iperf3', ['-s', '-1', '-p', String(port), '-J'], { label: 'iperf3 -s' });
  await A.listening(port);
  const c = await L.run('iperf3', ['-c', '127.0.0.1', '-p', String(port), '-t', String(seconds), '-J']);
  await server.exited;
  return JSON.parse(c.stdout).end.sum_received.bits_per_second;
}

/** fio 4 KiB random direct reads of a 64 MiB file in `dir` for `seconds`: its read IOPS (its own report). */
async function fioIops(dir, seconds = 4) {
  const r = await L.run('fio', ['--name=tp', `--filename=${path.join(dir, 'tp')}`, '--rw=randread', '--bs=4k', '--size=64M', '--direct=1', '--ioengine=psync', '--time_based', `--runtime=${seconds}`, '--output-format=json']);
  return JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))).jobs[0].read.iops;
}

/** The context-switch worst case: pinned perf bench sched pipe, none / the minimal pair / ebtop (the busy workloads' throughput: bench/busy.js). */
async function throughput(cfg) {
  L.progress('overhead: perf bench sched pipe pinned, with ebtop running vs the minimal pair vs neither');
  const out = {};
  // context-switch worst case: pinned, against the minimal pair, in the same rounds
  const pinned = await interleaved('perf bench sched pipe, pinned', cfg.pipeRounds, { none: null, minimal: startMinimal, ebtop: startEbtop }, () => pipeOps(true, cfg.pipeLoops));
  const lossMin = median(losses(pinned, 'minimal'));
  const lossEb = median(losses(pinned, 'ebtop'));
  out.pipePinned = { ops: pinned, lossMinimal: lossMin, lossEbtop: lossEb, ratio: lossMin > 0 ? lossEb / lossMin : null, lossesMinimal: losses(pinned, 'minimal'), lossesEbtop: losses(pinned, 'ebtop') };
  // BPF ns per switch of each, with the kernel's statistics on (a separate pass: they cost throughput)
  out.pipeNs = await withStats(async () => {
    const ns = { minimal: [], ebtop: [] };
    for (let r = 0; r < 3; r++) {
      for (const [k, startCfg] of [['minimal', startMinimal], ['ebtop', startEbtop]]) {
        const h = await startCfg();
        await L.sleep(300);
        const a = L.progStats(h.pid);
        await pipeOps(true, cfg.pipeLoops);
        const d = L.statsDiff(a, L.progStats(h.pid));
        await h.stop();
        const sw = Object.entries(d).find(([p]) => /switch/.test(p))?.[1];
        const all = Object.values(d).filter((v) => v.cnt > 1000).reduce((n, v) => n + v.ns, 0);
        ns[k].push(sw && sw.cnt ? all / sw.cnt : null);
      }
    }
    return { minimal: median(ns.minimal), ebtop: median(ns.ebtop), runs: ns };
  });
  return out;
}

// ------------------------------------------------------------------ PostgreSQL

function pgBin() {
  const base = '/usr/lib/postgresql';
  try {
    const v = fs.readdirSync(base).filter((x) => /^\d+$/.test(x)).sort((a, b) => b - a)[0];
    if (v && fs.existsSync(path.join(base, v, 'bin', 'pg_ctl'))) return path.join(base, v, 'bin');
  } catch {
    /* not installed */
  }
  return null;
}

/**
 * A PostgreSQL server of its own: a cluster in a temporary directory, owned
 * by the postgres user, listening on a unix socket there and on a free TCP
 * port of 127.0.0.1 only; stopped (and removed) at the end, whatever happens.
 * fsync is off until setFsync(true) (ALTER SYSTEM and a reload: the server
 * confirms it with SHOW fsync). bench(seconds, mode, over) runs pgbench
 * (prepared, 4 clients on 2 threads; mode 'select' (-S) or 'tpcb', its
 * standard TPC-B-like transaction; over 'unix' or 'tcp') and returns its TPS.
 */
async function startPostgres() {
  const bin = pgBin();
  if (!bin) return null;
  const dir = fs.mkdtempSync(path.join('/var/tmp', 'ebtop-bench-pg-'));
  fs.chmodSync(dir, 0o755);
  const data = path.join(dir, 'data');
  const sock = path.join(dir, 'sock');
  fs.mkdirSync(sock);
  const port = A.freePort();
  const as = (cmd, args) => L.run('runuser', ['-u', 'postgres', '--', cmd, ...args], { timeoutMs: 120000 });
  await L.run('chown', ['-R', 'postgres:postgres', dir]);
  let started = false;
  const stopSync = () => {
    if (started) {
      try {
        require('child_process').execFileSync('runuser', ['-u', 'postgres', '--', path.join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop'], { stdio: 'ignore', timeout: 20000 });
      } catch {
        /* already stopped */
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  L.atCleanup(stopSync);
  await as(path.join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  // fsync is not set here: a command-line setting would override ALTER SYSTEM
  await as(path.join(bin, 'pg_ctl'), ['-D', data, '-l', path.join(dir, 'log'), '-w', '-o', `-k ${sock} -p ${port} -c listen_addresses='127.0.0.1' -c shared_buffers=128MB`, 'start']);
  started = true;
  const sql = async (q) => (await as(path.join(bin, 'psql'), ['-h', sock, '-p', String(port), '-U', 'postgres', '-XAtq', '-c', q, 'postgres'])).stdout.trim();
  const setFsync = async (on) => {
    const want = on ? 'on' : 'off';
    await sql(`ALTER SYSTEM SET fsync = ${want}`);
    await sql('SELECT pg_reload_conf()');
    // the reload is a signal: the backends take it when it arrives
    for (const until = Date.now() + 10000; (await sql('SHOW fsync')) !== want; ) {
      if (Date.now() > until) throw new Error(`PostgreSQL: fsync still not ${want} 10 s after the reload`);
      await L.sleep(100);
    }
    if (on) await sql('CHECKPOINT'); // what was written with fsync off reaches the disk before anything is timed
    return want;
  };
  await setFsync(false);
  const pgbench = path.join(bin, 'pgbench');
  await as(pgbench, ['-h', sock, '-p', String(port), '-U', 'postgres', '-i', '-s', '10', '-q', 'postgres']);
  return {
    version: path.basename(path.dirname(bin)),
    port,
    sock,
    setFsync,
    bench: async (seconds, mode = 'select', over = 'unix') => {
      const script = mode === 'select' ? ['-S'] : [];
      const host = over === 'tcp' ? '127.0.0.1' : sock;
      const r = await as(pgbench, ['-h', host, '-p', String(port), '-U', 'postgres', ...script, '-M', 'prepared', '-c', '4', '-j', '2', '-T', String(seconds), 'postgres']);
      const m = /tps = ([\d.]+)/.exec(r.stdout);
      if (!m) throw new Error(`pgbench: no tps in its output: ${r.stdout.slice(-300)}`);
      return Number(m[1]);
    },
    stop: async () => {
      stopSync();
      started = false;
    },
  };
}

// ------------------------------------------------------------------ start-up and memory

async function startup(cfg) {
  L.progress(`overhead: start-up to the first sample (${cfg.startupRuns} runs)`);
  const runs = [];
  for (let i = 0; i < cfg.startupRuns; i++) {
    // reap: the process's CPU time from wait4(), printed after its output
    const t0 = L.hr();
    const child = L.start(L.WORKLOAD('reap'), [L.EBTOP, '--json', '-n', '1', '-d', '0.1', '--log', path.join(L.tmp(), 'startup.log')], { sudoEnv: true, lines: true, label: 'reap ebtop' });
    let first = null;
    let buf = '';
    child.stdout.on('data', (d) => {
      if (first === null && String(d).includes('\n')) first = L.hr();
      buf += d;
    });
    const r = await child.exited;
    if (r.code !== 0 || first === null) throw new Error(`ebtop --json -n 1 failed: ${child.err.trim().split('\n').pop() || r.code}`);
    const rep = JSON.parse(buf.trim().split('\n').pop());
    runs.push({ ms: (first - t0) / 1e6 - 100, cpuMs: rep.rusage_ns / 1e6 });
    await L.sleep(300);
  }
  const node = [];
  for (let i = 0; i < 5; i++) {
    const t0 = L.hr();
    await L.run(process.execPath, ['-e', '0'], { sudoEnv: true });
    node.push((L.hr() - t0) / 1e6);
  }
  return { runs, ms: median(runs.map((x) => x.ms)), cpuMs: median(runs.map((x) => x.cpuMs)), nodeMs: median(node) };
}

module.exports = { tuiCpu, bpfCost, throughput, startup, startPostgres, withStats, programOwners, pipeOps, startMinimal, startEbtop, iperfOnce, fioIops };
