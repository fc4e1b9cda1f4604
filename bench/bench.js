#!/usr/bin/env node
// `make bench`: what ebtop costs, measured on this machine. No assertions, only
// numbers: a markdown report on stdout and in bench/results.md (progress goes
// to stderr).
//
//   1. Userspace CPU at a 1 s refresh with ~400 processes, for top -b, htop,
//      and ebtop (TUI, --batch, --json). The tools run one after the other,
//      never at the same time.
//   2. BPF run time of the CPU subsystem (system.bpf.* of the NDJSON output),
//      on the idle machine and under a context-switch-heavy load.
//   3. Start-up latency: spawn to first NDJSON line.
//
// Settings (environment): BENCH_SECONDS (measured window per tool, 15),
// BENCH_WARMUP (seconds excluded after start, 2), BENCH_PROCS (process count
// to fill the machine up to, 400), BENCH_BPF_SAMPLES (10), BENCH_STARTUP_RUNS
// (5), BENCH_STRESS (stress-ng arguments for the loaded case, "--switch 1").
//
// Everything this script starts is tracked by PID (and start time, so a reused
// PID is never signalled) and cleaned up on normal exit, on errors and on
// SIGINT/SIGTERM/SIGHUP. The idle `sleep` processes hang off a small shell that
// kills them when its stdin closes, i.e. even if this script is SIGKILLed.
'use strict';

const cp = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const EBTOP = path.join(ROOT, 'bin', 'ebtop');
const RESULTS = path.join(__dirname, 'results.md');

// ---------------------------------------------------------------- settings

function die(msg, code = 2) {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(code);
}

function envNum(name, def, { min = 0, int = false } = {}) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || (int && !Number.isInteger(n))) {
    die(`${name}=${raw}: expected a ${int ? 'whole ' : ''}number >= ${min}`);
  }
  return n;
}

const CFG = {
  seconds: envNum('BENCH_SECONDS', 15, { min: 1 }),
  warmup: envNum('BENCH_WARMUP', 2, { min: 0 }),
  // Node compiles its hot code in the first tens of seconds (background
  // threads): the TUI is measured again once that is over.
  steadyWarmup: envNum('BENCH_STEADY_WARMUP', 45, { min: 0 }),
  procs: envNum('BENCH_PROCS', 400, { min: 0, int: true }),
  bpfSamples: envNum('BENCH_BPF_SAMPLES', 10, { min: 1, int: true }),
  startupRuns: envNum('BENCH_STARTUP_RUNS', 5, { min: 1, int: true }),
  stress: (process.env.BENCH_STRESS || '--switch 1').split(/\s+/).filter(Boolean),
};
const COLS = 200;
const ROWS = 50;

// ---------------------------------------------------------------- small helpers

const hr = () => Number(process.hrtime.bigint()); // ns
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sleepSync = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const progress = (msg) => process.stderr.write(`bench: ${msg}\n`);

function findExe(name) {
  for (const dir of (process.env.PATH || '/usr/bin:/bin').split(':')) {
    const p = path.join(dir || '.', name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

function readText(p) {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return null;
  }
}

/** Fields of /proc/<pid>/stat after the comm, so f[0] is field 3 (state). */
function statFields(pid) {
  const s = readText(`/proc/${pid}/stat`);
  if (!s) return null;
  return s.slice(s.lastIndexOf(')') + 2).split(' ');
}

const startTime = (pid) => statFields(pid)?.[19] ?? null; // field 22

/** Alive and not a zombie. */
function alive(pid) {
  const f = statFields(pid);
  return f !== null && f[0] !== 'Z' && f[0] !== 'X';
}

let CLK_TCK = 100;
try {
  CLK_TCK = Number(cp.execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  /* 100 */
}

/** utime+stime of the whole process (includes exited threads), in ns (tick resolution). */
function tickNs(pid) {
  const f = statFields(pid);
  if (!f) return null;
  return ((Number(f[11]) + Number(f[12])) * 1e9) / CLK_TCK;
}

/** Exact on-CPU time per thread from /proc/<pid>/task/<tid>/schedstat (field 1, ns).
 *  Polled regularly; a thread that exits keeps its last polled value. */
class CpuTracker {
  constructor(pid) {
    this.pid = pid;
    this.tids = new Map();
  }

  /** false once the process is gone */
  poll() {
    let tids;
    try {
      tids = fs.readdirSync(`/proc/${this.pid}/task`);
    } catch {
      return false;
    }
    for (const tid of tids) {
      const s = readText(`/proc/${this.pid}/task/${tid}/schedstat`);
      if (!s) continue;
      const v = Number(s.split(' ')[0]);
      if (v >= (this.tids.get(tid) ?? 0)) this.tids.set(tid, v);
    }
    return true;
  }

  total() {
    let t = 0;
    for (const v of this.tids.values()) t += v;
    return t;
  }

  snapshot() {
    return new Map(this.tids);
  }

  since(snap) {
    let d = 0;
    for (const [tid, v] of this.tids) d += v - (snap.get(tid) ?? 0);
    return d;
  }
}

/** Processes (like `ls /proc | grep -c '^[0-9]'`) and threads on the machine. */
/** Resident memory of a process, MiB (null when it is gone). */
function rssMiB(pid) {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readText(`/proc/${pid}/status`) || '');
  return m ? Number(m[1]) / 1024 : null;
}

function countTasks() {
  let procs = 0;
  let threads = 0;
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    procs++;
    try {
      threads += fs.readdirSync(`/proc/${e}/task`).length;
    } catch {
      /* exited meanwhile */
    }
  }
  return { procs, threads };
}

function readCtxt() {
  const m = /^ctxt (\d+)$/m.exec(readText('/proc/stat') || '');
  return m ? Number(m[1]) : null;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const fx = (v, d = 2) => (v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(d));
const fint = (v) => (v === null || !Number.isFinite(v) ? 'n/a' : Math.round(v).toLocaleString('en-US'));

function table(head, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------- ownership and cleanup

const owned = new Map(); // pid -> { label, group, start }
let tmuxSock = null;
let tmuxSocketPath = null; // tmux leaves its socket file behind; removed at cleanup
let tmpDir = null;
let sleeper = null;
let cleaned = false;

function own(pid, label, group = false) {
  if (pid) owned.set(pid, { label, group, start: startTime(pid) });
}

/** Signal only if the PID still is the process we started. */
function signal(pid, sig) {
  const o = owned.get(pid);
  if (!o) return;
  const st = startTime(pid);
  if (st === null || (o.start !== null && st !== o.start)) return;
  try {
    process.kill(o.group ? -pid : pid, sig);
  } catch {
    /* gone */
  }
}

async function stopPid(pid, graceMs = 3000) {
  signal(pid, 'SIGTERM');
  const until = Date.now() + graceMs;
  while (alive(pid) && Date.now() < until) await sleep(50);
  if (alive(pid)) signal(pid, 'SIGKILL');
  while (alive(pid) && Date.now() < until + 2000) await sleep(50);
  owned.delete(pid);
}

function tmuxRaw(args, opts = {}) {
  return cp
    .execFileSync('tmux', ['-L', tmuxSock, '-f', path.join(tmpDir, 'tmux.conf'), ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 10000,
      ...opts,
    })
    .trim();
}

function cleanupSync() {
  if (cleaned) return;
  cleaned = true;
  if (tmuxSock) {
    try {
      tmuxRaw(['kill-server']);
    } catch {
      /* no server */
    }
    try {
      if (tmuxSocketPath && fs.statSync(tmuxSocketPath).isSocket()) fs.unlinkSync(tmuxSocketPath);
    } catch {
      /* not there */
    }
  }
  if (sleeper) {
    for (const pid of sleeper.pids) signal(pid, 'SIGKILL');
    try {
      sleeper.child.stdin.destroy(); // the helper kills whatever is left and exits
    } catch {
      /* gone */
    }
  }
  const pids = [...owned.keys()];
  for (const pid of pids) signal(pid, 'SIGTERM');
  const until = Date.now() + 2000;
  while (pids.some(alive) && Date.now() < until) sleepSync(50);
  for (const pid of pids) if (alive(pid)) signal(pid, 'SIGKILL');
  owned.clear();
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
}

process.on('exit', cleanupSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    progress(`${sig}: cleaning up`);
    cleanupSync();
    process.exit(128 + os.constants.signals[sig]);
  });
}

// ---------------------------------------------------------------- processes to fill the machine

async function spawnSleepers(n) {
  // One helper shell owns the sleeps: it prints their PIDs, then waits on its
  // stdin; when that closes (we exit, however we exit) it kills them.
  const script =
    'n=$1; pids=; i=0; ' +
    'while [ "$i" -lt "$n" ]; do sleep 3600 </dev/null >/dev/null 2>&1 & pids="$pids $!"; i=$((i+1)); done; ' +
    'echo "$pids"; trap \'kill $pids 2>/dev/null; exit 0\' TERM INT HUP; read _; kill $pids 2>/dev/null';
  const child = cp.spawn('sh', ['-c', script, 'sh', String(n)], { stdio: ['pipe', 'pipe', 'inherit'] });
  own(child.pid, 'sleep helper');
  sleeper = { child, pids: [] };
  const line = await new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      if (buf.includes('\n')) resolve(buf.split('\n')[0]);
    });
    child.on('exit', (code) => reject(new Error(`sleep helper exited early (${code})`)));
  });
  sleeper.pids = line.trim().split(/\s+/).filter(Boolean).map(Number);
  for (const pid of sleeper.pids) own(pid, 'sleep');
}

// ---------------------------------------------------------------- tools under test

/** A tool started directly, stdout to /dev/null. */
function direct(cmd, args, env) {
  return async () => {
    const out = fs.openSync('/dev/null', 'w');
    const child = cp.spawn(cmd, args, { stdio: ['ignore', out, 'pipe'], env: { ...process.env, ...env } });
    fs.closeSync(out);
    own(child.pid, cmd);
    let err = '';
    child.stderr.on('data', (d) => (err = (err + d).slice(-2000)));
    const exited = new Promise((r) => child.on('exit', r));
    child.on('error', (e) => (err += e.message));
    if (!child.pid) {
      await sleep(0);
      throw new Error(`cannot start ${cmd}: ${err}`);
    }
    return {
      pid: child.pid,
      dead: () =>
        child.exitCode !== null || child.signalCode !== null || !alive(child.pid)
          ? `exited (${child.exitCode ?? child.signalCode}): ${err.trim().split('\n').pop() || 'no message'}`
          : null,
      stop: async () => {
        await stopPid(child.pid);
        await Promise.race([exited, sleep(2000)]);
      },
    };
  };
}

let tmuxN = 0;
/** The last error a pino log file recorded (ebtop's --log), or ''. */
function lastLoggedError(file) {
  const text = file && readText(file);
  if (!text) return '';
  for (const line of text.trim().split('\n').reverse()) {
    try {
      const o = JSON.parse(line);
      if (o.level >= 50) return [o.msg, o.err && o.err.message].filter(Boolean).join(': ');
    } catch {
      /* not JSON */
    }
  }
  return '';
}

/** A tool in a detached tmux session of COLS x ROWS; the pane process is the tool (exec).
 *  logFile: where the tool logs, for the reason when it dies (a pane's last output
 *  is lost when the process exits right after writing it). */
function inTmux(command, logFile) {
  return async () => {
    const name = `bench${++tmuxN}`;
    tmuxRaw(['new-session', '-d', '-s', name, '-x', String(COLS), '-y', String(ROWS), `exec ${command}`]);
    if (!tmuxSocketPath) {
      try {
        tmuxSocketPath = tmuxRaw(['display-message', '-p', '-t', name, '#{socket_path}']);
      } catch {
        /* server already gone */
      }
    }
    const pid = Number(tmuxRaw(['list-panes', '-t', name, '-F', '#{pane_pid}']));
    let serverPid = null;
    try {
      serverPid = Number(tmuxRaw(['display-message', '-p', '-t', name, '#{pid}']));
    } catch {
      /* the pane may already be dead; not needed then */
    }
    own(pid, command);
    return {
      pid,
      serverPid,
      dead: () => {
        if (alive(pid)) return null;
        let text = '';
        try {
          text = tmuxRaw(['capture-pane', '-p', '-t', name]);
        } catch {
          /* session gone */
        }
        let status = '';
        try {
          status = tmuxRaw(['list-panes', '-t', name, '-F', '#{pane_dead_status}']);
        } catch {
          /* session gone */
        }
        const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !/^Pane is dead/.test(l));
        const logged = lastLoggedError(logFile);
        const said = [lines.slice(-2).join(' / '), logged && `log: ${logged}`].filter(Boolean).join('; ');
        return `exited${status ? ` (${status})` : ''}: ${said || 'no message'}`;
      },
      stop: async () => {
        try {
          tmuxRaw(['kill-session', '-t', name]); // SIGHUP to the pane
        } catch {
          /* already gone */
        }
        await stopPid(pid);
      },
    };
  };
}

async function measure(tool) {
  const warmup = tool.warmup ?? CFG.warmup;
  progress(`${tool.name}: ${warmup}s warm-up + ${CFG.seconds}s measured`);
  const row = { ...tool };
  if (tool.missing) return { ...row, na: tool.missing };
  let h;
  try {
    h = await tool.start();
  } catch (e) {
    return { ...row, na: `could not start: ${e.message}` };
  }
  try {
    const tr = new CpuTracker(h.pid);
    const t0 = hr();
    // warm-up: poll often so short-lived start-up threads are counted too
    while (hr() - t0 < warmup * 1e9) {
      tr.poll();
      const why = h.dead();
      if (why) return { ...row, na: why };
      await sleep(Math.min(250, Math.max(1, (warmup * 1e9 - (hr() - t0)) / 1e6)));
    }
    tr.poll();
    const why = h.dead();
    if (why) return { ...row, na: why };
    row.startupMs = tool.warmup === undefined ? tr.total() / 1e6 : null;
    row.counts = countTasks();
    const srv = h.serverPid ? new CpuTracker(h.serverPid) : null;
    srv?.poll();
    const srvSnap = srv?.snapshot();
    tr.poll();
    const snap = tr.snapshot();
    const tick0 = tickNs(h.pid);
    const w0 = hr();
    const end = w0 + CFG.seconds * 1e9;
    while (hr() < end) {
      await sleep(Math.min(1000, Math.max(1, (end - hr()) / 1e6)));
      if (!tr.poll() || h.dead()) return { ...row, na: h.dead() || 'exited during the window' };
      srv?.poll();
    }
    const tick1 = tickNs(h.pid);
    const w1 = hr();
    const wall = w1 - w0;
    row.cpuPct = (tr.since(snap) / wall) * 100;
    row.tickPct = tick0 !== null && tick1 !== null ? ((tick1 - tick0) / wall) * 100 : null;
    row.tmuxPct = srv ? (srv.since(srvSnap) / wall) * 100 : null;
    row.wallS = wall / 1e9;
    row.rssMiB = rssMiB(h.pid);
    return row;
  } finally {
    await h.stop();
  }
}

// ---------------------------------------------------------------- BPF run time

/** Run ebtop --json to completion, noting the time and /proc/stat ctxt at each line. */
function runJson(args, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = cp.spawn(EBTOP, ['--json', ...args, '--log', path.join(tmpDir, 'ebtop.log')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    own(child.pid, 'ebtop --json');
    const t0 = hr();
    const lines = [];
    let buf = '';
    let err = '';
    child.stdout.on('data', (d) => {
      const at = hr();
      const ctxt = readCtxt();
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        lines.push({ text: buf.slice(0, i), at, ctxt });
        buf = buf.slice(i + 1);
      }
    });
    child.stderr.on('data', (d) => (err = (err + d).slice(-2000)));
    const timer = setTimeout(() => signal(child.pid, 'SIGKILL'), timeoutMs);
    child.on('error', (e) => reject(e));
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      owned.delete(child.pid);
      resolve({ t0, lines, code, sig, err: err.trim() });
    });
  });
}

async function bpfCost(label, stressArgs) {
  progress(`BPF run time, ${label}: ebtop --json -d 1 -n ${CFG.bpfSamples}`);
  let stress = null;
  if (stressArgs) {
    if (!findExe('stress-ng')) return { label, na: 'stress-ng not installed' };
    const args = [...stressArgs, '--timeout', `${CFG.bpfSamples + 30}s`, '--quiet'];
    stress = cp.spawn('stress-ng', args, { detached: true, stdio: 'ignore' });
    own(stress.pid, 'stress-ng', true);
    label = `${label}: stress-ng ${stressArgs.join(' ')}`;
    await sleep(1000);
    if (!alive(stress.pid)) return { label, na: 'stress-ng exited at once' };
  }
  let r;
  try {
    r = await runJson(['-d', '1', '-n', String(CFG.bpfSamples)], (CFG.bpfSamples + 30) * 1000);
  } finally {
    if (stress) await stopPid(stress.pid);
  }
  const samples = [];
  for (const l of r.lines) {
    try {
      const o = JSON.parse(l.text);
      if (o.type === 'sample') samples.push({ ...o, at: l.at, ctxt: l.ctxt });
    } catch {
      /* not JSON */
    }
  }
  if (!samples.length) return { label, na: `no samples (exit ${r.code ?? r.sig}): ${r.err.split('\n').pop() || ''}` };
  let runNs = 0;
  let ivNs = 0;
  let events = 0;
  let lost = 0;
  for (const s of samples) {
    runNs += s.system.bpf.run_ns;
    events += s.system.bpf.events;
    lost += s.system.bpf.lost;
    ivNs += s.interval_ns;
  }
  const a = samples[0];
  const b = samples[samples.length - 1];
  const ctxPerS = samples.length > 1 && a.ctxt !== null ? ((b.ctxt - a.ctxt) * 1e9) / (b.at - a.at) : null;
  return {
    label,
    samples: samples.length,
    ctxPerS,
    nsPerS: (runNs / ivNs) * 1e9,
    pct: (runNs / ivNs) * 100,
    eventsPerS: (events / ivNs) * 1e9,
    nsPerEvent: events ? runNs / events : null,
    lost,
  };
}

// ---------------------------------------------------------------- start-up latency

function timeToFirstLine(cmd, args) {
  return new Promise((resolve, reject) => {
    const t0 = hr();
    const child = cp.spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    own(child.pid, cmd);
    let first = null;
    let err = '';
    child.stdout.on('data', (d) => {
      if (first === null && d.includes(10)) first = hr();
    });
    child.stderr.on('data', (d) => (err = (err + d).slice(-2000)));
    const timer = setTimeout(() => signal(child.pid, 'SIGKILL'), 30000);
    child.on('error', reject);
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      owned.delete(child.pid);
      if (first === null) reject(new Error(`no output (exit ${code ?? sig}): ${err.trim().split('\n').pop() || ''}`));
      else resolve((first - t0) / 1e6);
    });
  });
}

async function startup() {
  progress(`start-up: ${CFG.startupRuns} x ebtop --json -n 1 -d 0.1`);
  const ms = [];
  for (let i = 0; i < CFG.startupRuns; i++) {
    ms.push((await timeToFirstLine(EBTOP, ['--json', '-n', '1', '-d', '0.1', '--log', path.join(tmpDir, 'ebtop.log')])) - 100);
    await sleep(300);
  }
  const node = [];
  for (let i = 0; i < 3; i++) node.push(await timeToFirstLine(process.execPath, ['-e', 'console.log(1)']));
  return { ms, nodeMs: median(node) };
}

// ---------------------------------------------------------------- report

function report(env, tools, bpf, st) {
  const out = [];
  out.push('# ebtop bench');
  out.push('');
  out.push(
    `${env.date} · Linux ${env.kernel} · ${env.ncpu} CPUs · Node ${process.version} · ` +
      `window ${CFG.seconds}s after ${CFG.warmup}s warm-up · ${env.counts.procs} processes, ${env.counts.threads} threads ` +
      `(${env.sleepers} idle \`sleep\` added; load average at start ${env.loadavg})`,
  );
  out.push('');
  out.push('## Userspace CPU at 1 s refresh');
  out.push('');
  out.push(
    table(
      ['tool', 'command', 'CPU % of one core', '(ticks)', 'CPU ms per 1 s refresh', 'start-up CPU, first ' + CFG.warmup + ' s', 'tmux server CPU %', 'RSS MiB', 'processes / threads'],
      tools.map((t) =>
        t.na
          ? [t.name, `\`${t.command}\``, t.naShort || `n/a (${t.na})`, '', '', '', '', '', '']
          : [
              t.name,
              `\`${t.command}\``,
              `**${fx(t.cpuPct)}**`,
              fx(t.tickPct),
              fx(t.cpuPct * 10, 1),
              t.startupMs === null ? '—' : `${fint(t.startupMs)} ms`,
              t.tmuxPct === null ? '—' : fx(t.tmuxPct),
              t.rssMiB === null ? '—' : fx(t.rssMiB, 1),
              `${t.counts.procs} / ${t.counts.threads}`,
            ],
      ),
    ),
  );
  out.push('');
  out.push(
    'CPU % = on-CPU ns of all the tool\'s threads (`/proc/<pid>/task/*/schedstat`) over the wall window; ' +
      '"(ticks)" is the same from utime+stime in `/proc/<pid>/stat` (10 ms resolution) as a cross-check. ' +
      'Kernel time of BPF programs runs in the context of the traced tasks and is not in these numbers (see below). ' +
      'The tmux server column is the terminal side (parsing and keeping the screen) of the tools run in tmux.',
  );
  for (const t of tools) if (t.na && t.naShort) out.push('', `- ${t.name}: ${t.na}`);
  out.push('');
  const by = Object.fromEntries(tools.map((t) => [t.key, t]));
  const ratio = (a, b) => (a && b && !a.na && !b.na && b.cpuPct > 0 ? a.cpuPct / b.cpuPct : null);
  out.push(
    table(
      ['ebtop mode', 'vs htop', 'vs top -b', 'target ≤ 0.5× htop'],
      ['tui', 'tuiSteady', 'batch', 'json'].map((k) => {
        const t = by[k];
        const rh = ratio(t, by.htop);
        const rt = ratio(t, by.top);
        return [
          t.name,
          rh === null ? 'n/a' : `${t.name} = ${fx(rh)}× htop`,
          rt === null ? 'n/a' : `${fx(rt)}× top`,
          rh === null ? 'n/a' : rh <= 0.5 ? 'met' : 'not met',
        ];
      }),
    ),
  );
  out.push('');
  out.push('## BPF run time of the CPU subsystem');
  out.push('');
  out.push(
    table(
      ['condition', 'samples', 'context switches/s', 'BPF run ns/s', '% of one CPU', 'events/s', 'ns/event', 'lost'],
      bpf.map((b) =>
        b.na
          ? [b.label, `n/a (${b.na})`, '', '', '', '', '', '']
          : [b.label, b.samples, fint(b.ctxPerS), fint(b.nsPerS), fx(b.pct, 3), fint(b.eventsPerS), fint(b.nsPerEvent), b.lost],
      ),
    ),
  );
  out.push('');
  out.push(
    `From \`ebtop --json -d 1 -n ${CFG.bpfSamples}\`: sum of system.bpf.run_ns / sum of interval_ns; events = BPF program runs ` +
      '(system.bpf.events). Needs kernel.bpf_stats_enabled, which ebtop turns on while it runs. Context switches/s from ' +
      '/proc/stat `ctxt` between the first and last sample.',
  );
  out.push('');
  out.push('## Start-up time to first sample');
  out.push('');
  if (st.na) out.push(`n/a (${st.na})`);
  else {
    out.push(
      table(
        ['command', 'runs', 'median ms', 'min ms', 'max ms', 'for scale: `node -e` to first line'],
        [
          [
            '`ebtop --json -n 1 -d 0.1`',
            st.ms.length,
            fint(median(st.ms)),
            fint(Math.min(...st.ms)),
            fint(Math.max(...st.ms)),
            `${fint(st.nodeMs)} ms`,
          ],
        ],
      ),
    );
    out.push('');
    out.push('Wall time from spawn to the first stdout line, minus the 0.1 s interval. Runs: ' + st.ms.map((m) => fint(m)).join(', ') + ' ms.');
  }
  out.push('');
  return out.join('\n');
}

// ---------------------------------------------------------------- main

async function main() {
  if (process.getuid() !== 0) die('must run as root (ebtop loads BPF programs): sudo make bench');
  if (process.platform !== 'linux') die('Linux only');
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cli.js'))) die('ebtop is not built: run make build');
  const tmux = findExe('tmux');

  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ebtop-bench-'));
  fs.writeFileSync(path.join(tmpDir, 'tmux.conf'), 'set -g remain-on-exit on\nset -g status off\nset -g exit-empty on\n');
  tmuxSock = `ebtop-bench-${process.pid}`;

  const before = countTasks();
  const need = Math.max(0, CFG.procs - before.procs - 2); // helper shell + the tool under test
  progress(`${before.procs} processes; starting ${need} idle sleep processes to reach ~${CFG.procs}`);
  if (need) await spawnSleepers(need);
  await sleep(500);
  const env = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    kernel: os.release(),
    ncpu: os.cpus().length,
    counts: countTasks(),
    sleepers: need,
    loadavg: os.loadavg().map((l) => l.toFixed(2)).join(' '),
  };
  progress(`${env.counts.procs} processes, ${env.counts.threads} threads`);

  const logOf = (what) => path.join(tmpDir, `ebtop-${what}.log`);
  const noTmux = tmux ? null : 'tmux not installed';
  const tools = [
    {
      key: 'top',
      name: 'top',
      command: 'top -b -d 1 > /dev/null',
      missing: findExe('top') ? null : 'top not installed',
      start: direct('top', ['-b', '-d', '1']),
    },
    {
      key: 'htop',
      name: 'htop',
      command: `htop -d 10 (tmux ${COLS}x${ROWS})`,
      missing: noTmux || (findExe('htop') ? null : 'htop not installed'),
      // a fresh default config, so results do not depend on someone's htoprc
      start: inTmux(`env HTOPRC=${path.join(tmpDir, 'htoprc')} htop -d 10`),
    },
    {
      key: 'tui',
      name: 'ebtop TUI',
      command: `ebtop -d 1 (tmux ${COLS}x${ROWS})`,
      missing: noTmux,
      start: inTmux(`${EBTOP} -d 1 --log ${logOf('tui')}`, logOf('tui')),
    },
    {
      key: 'tuiSteady',
      name: 'ebtop TUI, steady',
      command: `ebtop -d 1 (tmux ${COLS}x${ROWS}), after ${CFG.steadyWarmup} s`,
      missing: noTmux,
      warmup: CFG.steadyWarmup,
      start: inTmux(`${EBTOP} -d 1 --log ${logOf('tui-steady')}`, logOf('tui-steady')),
    },
    {
      key: 'batch',
      name: 'ebtop --batch',
      command: 'ebtop --batch -d 1 > /dev/null',
      start: direct(EBTOP, ['--batch', '-d', '1', '--log', logOf('batch')]),
    },
    {
      key: 'json',
      name: 'ebtop --json',
      command: 'ebtop --json -d 1 > /dev/null',
      start: direct(EBTOP, ['--json', '-d', '1', '--log', logOf('json')]),
    },
  ];
  const results = [];
  for (const t of tools) {
    const r = await measure(t);
    if (r.na && t.key.startsWith('tui')) r.naShort = 'n/a (TUI not available)';
    progress(r.na ? `  ${t.name}: n/a (${r.na})` : `  ${t.name}: ${fx(r.cpuPct)}% of a core`);
    results.push(r);
  }

  const bpf = [await bpfCost('idle', null), await bpfCost('load', CFG.stress)];

  let st;
  try {
    st = await startup();
  } catch (e) {
    st = { na: e.message };
  }

  const text = report(env, results, bpf, st);
  process.stdout.write(text);
  fs.writeFileSync(RESULTS, text);
  progress(`written to ${path.relative(process.cwd(), RESULTS) || RESULTS}`);
}

main().then(
  () => {
    cleanupSync();
    process.exit(0);
  },
  (e) => {
    process.stderr.write(`bench: ${e && e.stack ? e.stack : e}\n`);
    cleanupSync();
    process.exit(1);
  },
);
