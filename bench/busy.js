// `make bench`, busy workloads: what the whole of ebtop costs while the
// machine is busy, and what its budget does about it. One table of workloads
// (setup, a run of N seconds that returns the workload's own throughput,
// teardown), each run three ways in interleaved rounds: without ebtop, with
// the TUI (default columns, in tmux) and with `ebtop --json -d 1 --budget 0`.
// Whole-tool cost = ebtop's BPF programs' run time (the kernel's run
// statistics, kernel.bpf_stats_enabled on for the whole section, read with
// bpftool) + its process tree's CPU (utime+stime, and its reaped children's,
// from /proc), as a share of all CPU time (ncpu x wall) over the workload's
// run; cross-checked with ebtop's own figures (system.bpf.run_ns and its own
// row's oncpu_ns in its samples). Then the budget run: the costliest of them
// under `ebtop --json -d 1 --budget 2` (the default): the cost per interval,
// what was shed and for how long, and a burner's on-CPU time in ebtop
// against its wait4() rusage (the CPU columns stay exact while shed).
'use strict';

const cp = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const L = require('./lib');
const A = require('./accuracy');
const O = require('./overhead');

const { median } = L;
const NCPU = os.cpus().length;
const TICK_NS = 1e9 / (Number(cp.execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100);

// ------------------------------------------------------------------ the workloads

/** A directory of this run's own under /var/tmp (on disk, readable by the servers' users), removed at exit. */
function diskTmp(prefix) {
  const d = fs.mkdtempSync(path.join('/var/tmp', `ebtop-bench-${prefix}-`));
  fs.chmodSync(d, 0o755);
  L.atCleanup(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

/** Run fn() again until `seconds` have passed; returns the sum of what it counted over the wall time. */
async function repeatFor(seconds, fn) {
  const t0 = L.hr();
  let n = 0;
  do n += await fn();
  while (L.hr() - t0 < seconds * 1e9);
  return n / ((L.hr() - t0) / 1e9);
}

/** nginx with its own configuration on a free loopback port, serving one small file (keep-alive, no access log). */
async function startNginx() {
  const dir = diskTmp('nginx');
  const www = path.join(dir, 'www');
  fs.mkdirSync(www);
  fs.mkdirSync(path.join(dir, 'tmp'));
  fs.writeFileSync(path.join(www, 'small.html'), `<!doctype html><title>ebtop bench</title><p>${'small file '.repeat(50)}</p>\n`);
  const port = A.freePort();
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${path.join(dir, 'tmp', t)};`).join('\n');
  fs.writeFileSync(
    path.join(dir, 'nginx.conf'),
    `worker_processes ${NCPU};
daemon off;
pid ${path.join(dir, 'nginx.pid')};
error_log ${path.join(dir, 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  default_type text/html;
  keepalive_requests 1000000;
${temp}
  server {
    listen 127.0.0.1:${port};
    root ${www};
  }
}
`,
  );
  const child = L.start('nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')], { group: true, label: 'nginx' });
  await Promise.race([A.listening(port), child.exited.then(() => Promise.reject(new Error(`nginx exited: ${child.err.trim().split('\n').pop() || L.readText(path.join(dir, 'error.log'))}`)))]);
  return { port, url: `http://127.0.0.1:${port}/small.html`, stop: () => child.stop() };
}

/** wrk against nginx for `seconds` (2 threads, 16 keep-alive connections): requests per second; every answer must be a 2xx. */
async function wrk(url, seconds) {
  const r = await L.run('wrk', ['-t', '2', '-c', '16', '-d', `${seconds}s`, url]);
  if (/Non-2xx|Socket errors/.test(r.stdout)) throw new Error(`wrk: ${r.stdout.split('\n').filter((l) => /Non-2xx|Socket errors/.test(l)).join('; ').trim()}`);
  const m = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout);
  if (!m) throw new Error(`wrk: no Requests/sec in its output: ${r.stdout.slice(-300)}`);
  return Number(m[1]);
}

/** A small C tree (`files` sources and a link) built with make -jNCPU: one compiler and assembler exec per file. */
function buildTree(files = 40) {
  const dir = diskTmp('build');
  fs.mkdirSync(path.join(dir, 'src'));
  for (let i = 0; i < files; i++) {
    const fns = Array.from({ length: 12 }, (_, j) => `static long f${j}(long x) { for (int i = 0; i < ${j + 3}; i++) x = x * ${i + 7} + i; return x; }`).join('\n');
    fs.writeFileSync(path.join(dir, 'src', `m${i}.c`), `#include <stdio.h>\n#include <string.h>\n${fns}\nlong m${i}(long x) { return ${Array.from({ length: 12 }, (_, j) => `f${j}(x)`).join(' + ')}; }\n`);
  }
  const decls = Array.from({ length: files }, (_, i) => `long m${i}(long);`).join('\n');
  fs.writeFileSync(path.join(dir, 'main.c'), `#include <stdio.h>\n${decls}\nint main(void) { long s = 0; ${Array.from({ length: files }, (_, i) => `s += m${i}(${i});`).join(' ')} printf("%ld\\n", s); return 0; }\n`);
  fs.writeFileSync(path.join(dir, 'Makefile'), 'OBJS := main.o $(patsubst %.c,%.o,$(wildcard src/*.c))\napp: $(OBJS)\n\tcc -o $@ $^\n%.o: %.c\n\tcc -O1 -c $< -o $@\nclean:\n\trm -f app $(OBJS)\n');
  return { dir, files: files + 1 };
}

/**
 * `perf bench sched pipe`, unpinned, run again until `seconds` have passed:
 * its operations per second (its own timing). Unpinned, its rate swings
 * tenfold with where the two ends land (a wakeup across CPUs into an idle
 * one is slow), so each run is sized to ~1 s from the last one's rate.
 */
async function pipeFor(seconds, maxLoops) {
  let ops = 0;
  let secs = 0;
  let loops = Math.min(10000, maxLoops);
  const t0 = L.hr();
  do {
    const r = await L.run('perf', ['bench', 'sched', 'pipe', '-l', String(loops)]);
    const m = /Total time:\s+([\d.]+)/.exec(r.stdout);
    if (!m) throw new Error(`perf bench sched pipe: no total time in its output: ${r.stdout.slice(0, 200)}`);
    ops += loops;
    secs += Number(m[1]);
    loops = Math.max(1000, Math.min(maxLoops, Math.round(loops / Number(m[1]))));
  } while (L.hr() - t0 < seconds * 1e9);
  return ops / secs;
}

const pgWorkload = (mode, fsync, over) => ({
  key: `pg-${mode}${mode === 'tpcb' ? (fsync ? '-fsync' : '-nofsync') : ''}-${over}`,
  name: `pgbench ${mode === 'tpcb' ? `TPC-B-like, fsync ${fsync ? 'on' : 'off'}` : 'select-only'}, ${over === 'tcp' ? 'TCP loopback' : 'unix socket'}`,
  unit: 'TPS',
  needs: [],
  setup: async (shared) => {
    const pg = await shared.pg();
    await pg.setFsync(fsync);
    return pg;
  },
  run: (pg, seconds) => pg.bench(seconds, mode, over),
});

/**
 * The busy workloads: key, name, the unit of the throughput run() returns,
 * the commands it needs, setup(shared) -> ctx, run(ctx, seconds), teardown(ctx).
 * `shared.pg()` is one PostgreSQL server for all of pgbench's.
 */
const WORKLOADS = [
  pgWorkload('tpcb', true, 'unix'),
  pgWorkload('tpcb', true, 'tcp'),
  pgWorkload('tpcb', false, 'unix'),
  pgWorkload('tpcb', false, 'tcp'),
  pgWorkload('select', false, 'unix'),
  pgWorkload('select', false, 'tcp'),
  {
    key: 'nginx',
    name: 'nginx, a small file to wrk (keep-alive, loopback)',
    unit: 'requests/s',
    needs: ['nginx', 'wrk'],
    setup: () => startNginx(),
    run: (n, seconds) => wrk(n.url, seconds),
    teardown: (n) => n.stop(),
  },
  {
    key: 'pipe',
    name: 'perf bench sched pipe, unpinned',
    unit: 'ops/s',
    needs: ['perf'],
    setup: () => null,
    run: (_, seconds, cfg) => pipeFor(seconds, cfg.pipeLoops),
  },
  {
    key: 'fio',
    name: 'fio 4 KiB random direct reads',
    unit: 'IOPS',
    needs: ['fio'],
    setup: async () => {
      const dir = A.diskDir();
      // laid out before anything is timed
      await L.run('fio', ['--name=tp', `--filename=${path.join(dir, 'tp')}`, '--size=64M', '--create_only=1']);
      return dir;
    },
    run: (dir, seconds) => O.fioIops(dir, seconds),
  },
  {
    key: 'iperf3',
    name: 'iperf3 over loopback',
    unit: 'Gbit/s',
    needs: ['iperf3'],
    setup: () => null,
    run: async (_, seconds) => (await O.iperfOnce(seconds)) / 1e9,
  },
  {
    key: 'build',
    name: `parallel build (make -j${NCPU}, 41 C files and a link, again and again)`,
    unit: 'files/s',
    needs: ['make', 'cc'],
    setup: () => buildTree(40),
    run: (t, seconds) =>
      repeatFor(seconds, async () => {
        await L.run('make', ['-s', '-C', t.dir, 'clean']);
        await L.run('make', ['-s', `-j${NCPU}`, '-C', t.dir]);
        return t.files;
      }),
  },
];

// ------------------------------------------------------------------ measuring ebtop's whole cost

/**
 * CPU time (ns) of a process tree: utime+stime of every live process in it
 * and cutime+cstime (the children each has reaped). Clock ticks: 10 ms a
 * process, well under the figures here over a run of seconds.
 */
function treeCpuNs(pid) {
  let ticks = 0;
  const seen = new Set();
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop();
    if (seen.has(p)) continue;
    seen.add(p);
    const f = L.statFields(p);
    if (!f) continue;
    ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]); // fields 14-17
    let tids = [];
    try {
      tids = fs.readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const t of tids) for (const c of (L.readText(`/proc/${p}/task/${t}/children`) || '').trim().split(/\s+/)) if (c) stack.push(Number(c));
  }
  return ticks * TICK_NS;
}

/** What the tool has used so far: its BPF programs' run statistics and its process tree's CPU. */
function usage(pid) {
  return { progs: L.progStats(pid), cpuNs: treeCpuNs(pid) };
}

/** The cost between two usage() readings over `wall` ns, % of all CPU; the top programs by run time. */
function cost(a, b, wall, owners) {
  const d = L.statsDiff(a.progs, b.progs);
  const bpfNs = Object.values(d).reduce((n, v) => n + v.ns, 0);
  const procNs = b.cpuNs - a.cpuNs;
  const all = NCPU * wall;
  const top = Object.entries(d)
    .filter(([, v]) => v.cnt > 0)
    .sort((x, y) => y[1].ns - x[1].ns)
    .slice(0, 3)
    .map(([prog, v]) => ({ prog, subsystem: owners[prog] ?? '?', nsPerRun: v.ns / v.cnt, runsPerS: (v.cnt / wall) * 1e9, pct: (v.ns / all) * 100 }));
  return { bpfPct: (bpfNs / all) * 100, procPct: (procNs / all) * 100, totalPct: ((bpfNs + procNs) / all) * 100, top };
}

/** ebtop's own view of a window: its samples read in it, BPF run time and its own row's on-CPU time, % of all CPU. */
function selfView(samples, pid, t0, t1) {
  const ss = samples.filter((s) => s.at > t0 && s.at <= t1);
  const span = ss.reduce((n, s) => n + s.ncpu * s.interval_ns, 0);
  if (!span) return null;
  const bpf = ss.reduce((n, s) => n + s.system.bpf.run_ns, 0);
  const own = ss.reduce((n, s) => n + (s.processes.find((p) => p.pid === pid)?.oncpu_ns ?? 0), 0);
  return { samples: ss.length, bpfPct: (bpf / span) * 100, procPct: (own / span) * 100, totalPct: ((bpf + own) / span) * 100 };
}

/** The TUI as a user starts it: default columns (a settings directory of its own), every source attached (--budget 0). */
function startTui() {
  const cfgHome = fs.mkdtempSync(path.join(L.tmp(), 'xdg-'));
  const t = L.inTmux(`${L.EBTOP} -d 1 --budget 0 --log ${path.join(L.tmp(), `ebtop-tui-${Date.now()}.log`)}`, { env: { XDG_CONFIG_HOME: cfgHome } });
  return { pid: t.pid, why: () => t.capture().split('\n').filter(Boolean).slice(-2).join(' / '), stop: () => t.stop() };
}

function startJson() {
  const e = L.ebtopJson(['-d', '1']); // --budget 0 (lib.ebtopJson)
  return { pid: e.pid, e, why: () => e.child.err.trim().split('\n').pop() || '', stop: () => e.stop() };
}

const WAYS = { none: null, tui: startTui, json: startJson };

/** One run of a workload one way: its throughput, the machine's busy share, and ebtop's whole cost. */
async function leg(w, ctx, way, cfg, owners) {
  const h = WAYS[way] ? WAYS[way]() : null;
  try {
    if (h?.e) await h.e.waitSamples(1);
    // past start-up (the BPF load, the first refreshes): the steady cost is measured
    await L.sleep(h ? cfg.busyWarmup * 1000 : 300);
    if (h && !L.alive(h.pid)) throw new Error(`ebtop (${way}) exited: ${h.why()}`);
    const a = h ? usage(h.pid) : null;
    const s0 = L.procStat();
    const t0 = L.hr();
    const value = await w.run(ctx, cfg.busySeconds, cfg);
    const t1 = L.hr();
    const s1 = L.procStat();
    if (h && !L.alive(h.pid)) throw new Error(`ebtop (${way}) exited: ${h.why()}`);
    const out = { value, seconds: (t1 - t0) / 1e9, busyPct: ((s1.busy - s0.busy) / (s1.total - s0.total)) * 100, ctxPerS: ((s1.ctxt - s0.ctxt) / (t1 - t0)) * 1e9 };
    if (h) out.cost = cost(a, usage(h.pid), t1 - t0, owners);
    if (h?.e) out.self = selfView(h.e.samples, h.pid, t0, t1);
    return out;
  } finally {
    if (h) await h.stop();
  }
}

/**
 * The section: every workload (cfg.busyOnly: some), cfg.busyRounds
 * interleaved rounds of none / TUI / JSON each. postgres(): the shared
 * PostgreSQL server (bench.js starts it at the first call, stops it at the end).
 */
async function busy(cfg, postgres) {
  const owners = O.programOwners();
  const shared = { pg: postgres };
  const list = WORKLOADS.filter((w) => !cfg.busyOnly || cfg.busyOnly.includes(w.key));
  L.progress(`busy: ${list.length} workloads × ${cfg.busyRounds} round(s) × 3 ways (none, TUI, --json) of ${cfg.busySeconds} s, kernel.bpf_stats_enabled=1 throughout`);
  const out = { seconds: cfg.busySeconds, rounds: cfg.busyRounds, warmup: cfg.busyWarmup, ncpu: NCPU, workloads: [] };
  await O.withStats(async () => {
    for (const w of list) {
      const missing = w.needs.filter((c) => !L.findExe(c));
      if (missing.length) {
        out.workloads.push({ key: w.key, name: w.name, unit: w.unit, na: `not installed: ${missing.join(', ')}` });
        continue;
      }
      let ctx = null;
      const r = { key: w.key, name: w.name, unit: w.unit, none: [], tui: [], json: [] };
      try {
        ctx = await w.setup(shared);
        for (let i = 0; i < cfg.busyRounds; i++) {
          for (const way of Object.keys(WAYS)) {
            L.progress(`  ${w.name}: round ${i + 1}/${cfg.busyRounds}, ${way}`);
            r[way].push(await leg(w, ctx, way, cfg, owners));
          }
        }
        summarise(r);
      } catch (e) {
        L.progress(`  ${w.name}: failed: ${e.message}`);
        r.na = e.message.split('\n')[0].slice(0, 300);
      } finally {
        if (ctx && w.teardown) await w.teardown(ctx);
      }
      out.workloads.push(r);
    }
  });
  return out;
}

/** Medians over the rounds: cost (% of all CPU) of each way, throughput change against none within each round. */
function summarise(r) {
  const m = (xs) => median(xs);
  r.value = m(r.none.map((x) => x.value));
  r.busyPct = m(r.none.map((x) => x.busyPct));
  r.ctxPerS = m(r.none.map((x) => x.ctxPerS));
  for (const way of ['tui', 'json']) {
    r[`${way}Cost`] = {
      totalPct: m(r[way].map((x) => x.cost.totalPct)),
      bpfPct: m(r[way].map((x) => x.cost.bpfPct)),
      procPct: m(r[way].map((x) => x.cost.procPct)),
    };
    r[`${way}Change`] = m(r[way].map((x, i) => x.value / r.none[i].value - 1));
  }
  const self = r.json.map((x) => x.self).filter(Boolean);
  r.jsonSelf = self.length ? { totalPct: m(self.map((x) => x.totalPct)), bpfPct: m(self.map((x) => x.bpfPct)), procPct: m(self.map((x) => x.procPct)) } : null;
  // the top programs of the JSON leg whose cost is the median's
  const mid = r.json.slice().sort((a, b) => a.cost.totalPct - b.cost.totalPct)[(r.json.length - 1) >> 1];
  r.top = mid.cost.top;
}

// ------------------------------------------------------------------ the budget run

/**
 * The costliest busy workload (by the --json leg's cost; cfg.budgetWorkload
 * names one) under `ebtop --json -d 1 --budget PCT`: the cost of each
 * interval the budget judged (ebtop's own figures: BPF run time + its row's
 * on-CPU time), the units shed and for how long, the whole run's cost from
 * the kernel's statistics and /proc, and two burners' on-CPU time in ebtop
 * against their wait4() rusage: one while the budget is at work, a hog from
 * near the end of the workload until after the restore.
 */
async function budgetRun(cfg, postgres, busyRes) {
  const measured = (busyRes?.workloads || []).filter((w) => !w.na && w.jsonCost);
  const pick = cfg.budgetWorkload || measured.sort((a, b) => b.jsonCost.totalPct - a.jsonCost.totalPct)[0]?.key || 'pg-select-unix';
  const w = WORKLOADS.find((x) => x.key === pick);
  if (!w) throw new Error(`BENCH_BUDGET_WORKLOAD=${pick}: no such workload (${WORKLOADS.map((x) => x.key).join(', ')})`);
  const pct = cfg.budgetPct;
  const seconds = cfg.budgetSeconds;
  L.progress(`budget: ${w.name} for ${seconds} s under ebtop --json -d 1 --budget ${pct}`);
  const ctx = await w.setup({ pg: postgres });
  try {
    return await O.withStats(async () => {
      const e = L.ebtopJson(['-d', '1', '--budget', String(pct)]);
      await e.waitSamples(1);
      const startedAt = e.samples[0].at;
      const a = usage(e.pid);
      const t0 = L.hr();
      const burners = [];
      const burner = (ms, label) => {
        const c = L.start(L.WORKLOAD('reap'), [L.WORKLOAD('burn'), String(ms)], { label: 'reap burn' });
        const done = c.exited.then(() => JSON.parse(c.out.split('\n').find((l) => l.startsWith('{'))));
        burners.push({ ms, label, reap: c, done });
      };
      // a burner while the budget is at work (it judges from 10 s after ebtop's start), and a
      // hog from near the workload's end until after the restore (killed then)
      const timers = [setTimeout(() => burner(1500, 'burner, while shedding'), Math.min(15, seconds / 2) * 1000), setTimeout(() => burner(600_000, 'hog, through the restore'), Math.max(0, seconds - 3) * 1000)];
      let value;
      try {
        value = await w.run(ctx, seconds, cfg);
      } finally {
        timers.forEach(clearTimeout);
      }
      const t1 = L.hr();
      const b = usage(e.pid);
      // after the workload: every unit back (up to 60 s), three intervals more, then the hog's end
      let restoredAt = null;
      for (const until = Date.now() + 60_000; Date.now() < until; ) {
        const s = await e.sampleAfter(L.hr());
        if (s.shed.length === 0) {
          restoredAt = s.at;
          break;
        }
      }
      if (restoredAt !== null) await e.sampleAfter(L.hr() + 3e9);
      for (const x of burners.filter((y) => y.ms === 600_000)) {
        // the hog: reap's one child, a burn
        const kid = Number((L.readText(`/proc/${x.reap.pid}/task/${x.reap.pid}/children`) || '').trim());
        if (kid > 0 && /^burn$/m.test(L.readText(`/proc/${kid}/comm`) || '')) process.kill(kid, 'SIGKILL');
      }
      const reports = await Promise.all(burners.map((x) => x.done));
      await e.sampleAfter(L.hr() + 100e6);
      await e.stop();
      const samples = e.samples;
      // the intervals the budget judged while the workload ran
      const judged = samples.filter((s) => s.at - startedAt > 10e9 + s.interval_ns && s.at > t0 && s.at <= t1);
      const self = (s) => s.processes.find((p) => p.pid === e.pid)?.oncpu_ns ?? 0;
      const perInterval = judged.map((s) => ((s.system.bpf.run_ns + self(s)) / (s.ncpu * s.interval_ns)) * 100);
      const shedUnits = {};
      for (const s of samples) {
        for (const u of s.shed) {
          const x = (shedUnits[u] ??= { intervals: 0, seconds: 0, duringS: 0, firstS: (s.at - t0) / 1e9 });
          x.intervals++;
          x.seconds += s.interval_ns / 1e9;
          if (s.at > t0 && s.at <= t1) x.duringS += s.interval_ns / 1e9;
        }
      }
      const exact = reports.map((rep, i) => {
        const rows = samples.flatMap((s) => s.processes.filter((p) => p.pid === rep.pid && p.comm === 'burn').map((p) => ({ p, shed: s.shed.length > 0 })));
        const total = rows.reduce((n, x) => n + x.p.oncpu_ns, 0);
        return { ms: burners[i].ms, label: burners[i].label, pid: rep.pid, rusageNs: rep.rusage_ns, ebtopNs: total, diffNs: total - rep.rusage_ns, rows: rows.length, shedRows: rows.filter((x) => x.shed).length, exited: rows.filter((x) => x.p.exited).length, exact: rows.filter((x) => x.p.exited).length === 1 && total - rep.rusage_ns >= 0 && total - rep.rusage_ns < 2000 };
      });
      const sorted = perInterval.slice().sort((x, y) => x - y);
      return {
        workload: w.key,
        name: w.name,
        unit: w.unit,
        value,
        budgetPct: pct,
        seconds: (t1 - t0) / 1e9,
        whole: cost(a, b, t1 - t0, O.programOwners()),
        intervals: perInterval,
        median: median(perInterval),
        p90: sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.9))] : null,
        max: sorted.length ? sorted.at(-1) : null,
        within: perInterval.filter((x) => x <= pct).length,
        shed: shedUnits,
        restoredAfterS: restoredAt === null ? null : Math.max(0, (restoredAt - t1) / 1e9),
        burners: exact,
        lost: samples.reduce((n, s) => n + (s.system.bpf.lost || 0), 0),
      };
    });
  } finally {
    if (w.teardown) await w.teardown(ctx);
  }
}

module.exports = { WORKLOADS, busy, budgetRun, treeCpuNs };
