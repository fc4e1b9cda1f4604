// `make bench`, scale: 10,000 threads, a spawn storm of 1,000 execs a second,
// 10,000 open TCP connections. Nothing may be lost silently: every exit and
// connection is checked against the workload's own list, and anything the
// kernel side dropped must show in system.bpf.lost. Refresh CPU and RSS of
// ebtop are reported for each.
'use strict';

const readline = require('readline');
const L = require('./lib');
const A = require('./accuracy');

/** ebtop's CPU per refresh (ms) over the samples after `skip`, from its threads' schedstat. */
function perRefresh(tr, cpuAt, samples, skip) {
  const s = samples.slice(skip).filter((x) => cpuAt.has(x));
  if (s.length < 2) return null;
  const a = cpuAt.get(s[0]);
  const b = cpuAt.get(s[s.length - 1]);
  return a === undefined || b === undefined ? null : (b - a) / (s.length - 1) / 1e6;
}

/** ebtop --json with its CPU read at every sample (for CPU per refresh). */
function trackedJson(args) {
  const e = L.ebtopJson(args);
  const tr = new L.CpuTracker(e.pid);
  const cpuAt = new Map();
  let seen = 0;
  const note = () => {
    tr.poll();
    while (seen < e.samples.length) cpuAt.set(e.samples[seen++], tr.total());
  };
  const timer = setInterval(note, 20);
  return {
    e,
    tr,
    cpuAt,
    stop: async () => {
      note();
      clearInterval(timer);
      return e.stop();
    },
  };
}

async function threads(cfg) {
  const procs = 100;
  const per = Math.round(cfg.threads / procs);
  L.progress(`scale: ${procs * per} threads (${procs} processes x ${per})`);
  const idle = await L.startIdle(procs, per);
  try {
    await L.sleep(500);
    const counts = L.countTasks();
    // the TUI (it keeps every thread's row for H): CPU per refresh once warm, RSS
    const t = L.inTmux(`${L.EBTOP} -d 1 --log ${L.tmp()}/scale-tui.log`);
    const tr = new L.CpuTracker(t.pid);
    const marks = [20, 20 + cfg.scaleSeconds];
    const at = [];
    const t0 = L.hr();
    for (const m of marks) {
      while ((L.hr() - t0) / 1e9 < m) {
        if (!tr.poll()) throw new Error('ebtop TUI exited at 10,000 threads');
        await L.sleep(250);
      }
      at.push(tr.total());
    }
    const tui = { refreshCpuMs: (at[1] - at[0]) / cfg.scaleSeconds / 1e6, rss: L.rssMiB(t.pid) };
    await t.stop();
    // --json: records lost, threads vanished, CPU per refresh
    const j = trackedJson(['-d', '1']);
    await j.e.waitSamples(cfg.scaleSeconds + 3);
    const json = {
      refreshCpuMs: perRefresh(j.tr, j.cpuAt, j.e.samples, 3),
      rss: L.rssMiB(j.e.pid),
      lost: j.e.samples.slice(1).reduce((n, s) => n + s.system.bpf.lost, 0),
      lostThreads: j.e.samples.slice(1).reduce((n, s) => n + s.system.lost_threads, 0),
      threadsSeen: Math.max(...j.e.samples.map((s) => s.processes.reduce((n, p) => n + p.threads, 0))),
    };
    await j.stop();
    return { threads: counts.threads, procs: counts.procs, tui, json };
  } finally {
    await idle.stop();
  }
}

async function storm(cfg) {
  const rate = 1000;
  const secs = cfg.quick ? 10 : 10;
  L.progress(`scale: spawn storm, ${rate} execs a second for ${secs} s`);
  const j = trackedJson(['-d', '1']);
  await j.e.waitSamples(1);
  const w = await L.run(L.WORKLOAD('storm'), [String(rate), String(secs), '/bin/true']);
  const rep = JSON.parse(w.stdout);
  await j.e.sampleAfter(L.hr() + 200e6);
  await j.e.waitSamples(j.e.samples.length + 1);
  const samples = j.e.samples.slice(1);
  const rss = L.rssMiB(j.e.pid);
  await j.stop();
  const kids = new Set(rep.children);
  const exited = new Set();
  let withArgs = 0;
  for (const s of samples)
    for (const p of s.processes)
      if (kids.has(p.pid) && p.exited) {
        exited.add(p.pid);
        if (p.cmdline === '/bin/true') withArgs++;
      }
  const lost = samples.reduce((n, s) => n + s.system.bpf.lost, 0);
  const missing = rep.spawned - exited.size;
  return {
    rate,
    seconds: secs,
    spawned: rep.spawned,
    achievedRate: rep.spawned / (rep.spawn_ns / 1e9),
    exitsReported: exited.size,
    withCmdline: withArgs,
    missing,
    lost,
    refreshCpuMs: perRefresh(j.tr, j.cpuAt, j.e.samples, 1),
    rss,
    // nothing lost, or every loss counted where the user sees it
    ok: missing === 0 || lost >= missing,
  };
}

async function connections(cfg) {
  const n = cfg.connections;
  L.progress(`scale: ${n} TCP connections open at once`);
  const j = trackedJson(['-d', '1']);
  await j.e.waitSamples(1);
  const w = L.start(L.WORKLOAD('manyconn'), [String(n)], { stdin: 'pipe', lines: true, label: 'manyconn' });
  const lines = readline.createInterface({ input: w.stdout })[Symbol.asyncIterator]();
  const up = JSON.parse((await lines.next()).value);
  const s0 = await j.e.sampleAfter(L.hr() + 100e6);
  await j.e.waitSamples(j.e.samples.length + cfg.scaleSeconds);
  const s = j.e.samples[j.e.samples.length - 1];
  const active = (x, pid) => x.processes.find((p) => p.pid === pid)?.tcp_active ?? null;
  const ss = await L.run('ss', ['-H', '-t', '-n', 'state', 'established', `( sport = :${up.port} or dport = :${up.port} )`], { check: false });
  const ssCount = ss.stdout.split('\n').filter((x) => x.trim()).length;
  const idx = j.e.samples.indexOf(s0);
  const out = {
    n,
    client: active(s, up.client),
    server: active(s, up.server),
    ss: ssCount,
    tracked: Math.max(...j.e.samples.map((x) => x.system.net?.conns_tracked ?? 0)),
    overflow: j.e.samples.reduce((m, x) => m + (x.system.net?.conns_overflow ?? 0), 0),
    lost: j.e.samples.slice(1).reduce((m, x) => m + x.system.bpf.lost, 0),
    refreshCpuMs: perRefresh(j.tr, j.cpuAt, j.e.samples, idx + 1),
    rss: L.rssMiB(j.e.pid),
  };
  w.stdin.end('close\n');
  await Promise.race([w.exited, L.sleep(20000)]);
  await w.stop();
  await j.stop();
  return out;
}

module.exports = { threads, storm, connections };
void A;
