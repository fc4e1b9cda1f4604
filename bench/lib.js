// What every `make bench` section shares: processes it starts (tracked by PID
// and start time, stopped on every exit path), tmux sessions, CPU and memory
// of a process from /proc, a running `ebtop --json` whose samples arrive as
// they are printed, medians and markdown tables.
'use strict';

const cp = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const readline = require('readline');

const ROOT = path.resolve(__dirname, '..');
const EBTOP = path.join(ROOT, 'bin', 'ebtop');
const WORKLOAD = (name) => path.join(ROOT, 'test', 'workloads', 'bin', name);

// ---------------------------------------------------------------- small helpers

const hr = () => Number(process.hrtime.bigint()); // ns, CLOCK_MONOTONIC
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sleepSync = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const progress = (msg) => process.stderr.write(`bench: ${msg}\n`);

function findExe(name) {
  if (name.includes('/')) {
    try {
      fs.accessSync(name, fs.constants.X_OK);
      return name;
    } catch {
      return null;
    }
  }
  for (const dir of (process.env.PATH || '/usr/bin:/bin').split(':').concat(['/usr/sbin', '/sbin'])) {
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

/** Resident memory of a process, MiB (null when it is gone). */
function rssMiB(pid) {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readText(`/proc/${pid}/status`) || '');
  return m ? Number(m[1]) / 1024 : null;
}

/** Processes and threads on the machine. */
function countTasks() {
  let procs = 0;
  let threads = 0;
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    procs++;
    const m = /^Threads:\s+(\d+)/m.exec(readText(`/proc/${e}/status`) || '');
    threads += m ? Number(m[1]) : 0;
  }
  return { procs, threads };
}

/** /proc/stat: context switches so far, and busy/total CPU jiffies of the whole machine. */
function procStat() {
  const s = readText('/proc/stat') || '';
  const ctxt = Number(/^ctxt (\d+)$/m.exec(s)?.[1] ?? NaN);
  const cpu = /^cpu\s+(.*)$/m.exec(s)[1].trim().split(/\s+/).map(Number);
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0); // guest is inside user
  const idle = cpu[3] + cpu[4];
  return { ctxt, busy: total - idle, total };
}

const median = (xs) => {
  const s = xs.filter((x) => x !== null && x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const minOf = (xs) => (xs.filter(Number.isFinite).length ? Math.min(...xs.filter(Number.isFinite)) : null);
const maxOf = (xs) => (xs.filter(Number.isFinite).length ? Math.max(...xs.filter(Number.isFinite)) : null);

const ok = (v) => v !== null && v !== undefined && Number.isFinite(v);
const fx = (v, d = 2) => (ok(v) ? v.toFixed(d) : 'n/a');
const fint = (v) => (ok(v) ? Math.round(v).toLocaleString('en-US') : 'n/a');
const fpct = (v, d = 2) => (ok(v) ? `${v.toFixed(d)}%` : 'n/a');
/** a ratio as "0.42×" */
const fratio = (v, d = 2) => (ok(v) ? `${v.toFixed(d)}×` : 'n/a');
/** a median with its range: "0.42 (0.38–0.47)" */
const frange = (xs, d = 2, unit = '') => {
  const m = median(xs);
  if (m === null) return 'n/a';
  const lo = minOf(xs);
  const hi = maxOf(xs);
  return xs.length > 1 ? `${m.toFixed(d)}${unit} (${lo.toFixed(d)}–${hi.toFixed(d)})` : `${m.toFixed(d)}${unit}`;
};

function table(head, rows) {
  const line = (cells) => `| ${cells.map((c) => String(c ?? '')).join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/**
 * Exact on-CPU time of a process from /proc/<pid>/task/<tid>/schedstat
 * (field 1, ns), summed over its threads. Polled; a thread that exits keeps
 * its last polled value, so poll often while short-lived threads come and go.
 */
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
}

/**
 * The environment tools under test get: what `sudo` leaves (env_reset), not
 * this shell's. It matters for Node: NODE_EXTRA_CA_CERTS, set in some
 * sandboxes, makes every Node process parse a CA bundle at start (~25 ms of
 * CPU here); `sudo ebtop` never sees it.
 */
const SUDO_ENV = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/root',
  LANG: process.env.LANG || 'C.UTF-8',
  TERM: process.env.TERM || 'xterm',
  USER: 'root',
  LOGNAME: 'root',
  SHELL: '/bin/bash',
};

// ---------------------------------------------------------------- ownership and cleanup

const owned = new Map(); // pid -> { label, group, start }
const cleanups = [];
let cleaned = false;
let tmpDir = null;

/** A private temporary directory, removed at exit. */
function tmp() {
  if (!tmpDir) tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ebtop-bench-'));
  return tmpDir;
}

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

/** Run fn at cleanup (synchronously), in reverse order of registration. */
function atCleanup(fn) {
  cleanups.push(fn);
}

function cleanupSync() {
  if (cleaned) return;
  cleaned = true;
  for (const fn of cleanups.reverse()) {
    try {
      fn();
    } catch {
      /* best effort */
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

// ---------------------------------------------------------------- running things

/**
 * Start a process we own. opts.group: its own process group (signalled as a
 * group); opts.sudoEnv: sudo's environment (SUDO_ENV) instead of ours. Returns the child with `.exited` (a promise of {code, signal}),
 * `.out` / `.err` (collected text, when piped) and `.stop()`.
 */
function start(cmd, args, opts = {}) {
  const { group = false, stdin = 'ignore', stdout = 'pipe', stderr = 'pipe', env, cwd, label = path.basename(cmd) } = opts;
  const base = opts.sudoEnv ? SUDO_ENV : process.env;
  const child = cp.spawn(cmd, args, { stdio: [stdin, stdout, stderr], detached: group, env: { ...base, ...env }, cwd });
  own(child.pid, label, group);
  child.out = '';
  child.err = '';
  if (child.stdout && !opts.lines) child.stdout.on('data', (d) => (child.out += d));
  if (child.stderr) child.stderr.on('data', (d) => (child.err = (child.err + d).slice(-8000)));
  child.exited = new Promise((resolve) => {
    child.on('error', (e) => {
      child.err += e.message;
      resolve({ code: null, signal: null, error: e });
    });
    child.on('close', (code, sig) => {
      owned.delete(child.pid);
      resolve({ code, signal: sig });
    });
  });
  child.stop = async () => {
    if (child.exitCode === null && child.signalCode === null) await stopPid(child.pid);
    return child.exited;
  };
  return child;
}

/** Run to completion; rejects on a non-zero exit (unless opts.check === false) or a timeout. */
async function run(cmd, args, opts = {}) {
  const { timeoutMs = 600_000, check = true } = opts;
  const child = start(cmd, args, opts);
  const timer = setTimeout(() => signal(child.pid, 'SIGKILL'), timeoutMs);
  const r = await child.exited;
  clearTimeout(timer);
  const res = { code: r.code, signal: r.signal, stdout: child.out, stderr: child.err, pid: child.pid };
  if (check && r.code !== 0) {
    const why = (child.err.trim().split('\n').pop() || '').slice(0, 300);
    throw new Error(`${path.basename(cmd)} ${args.join(' ')}: exit ${r.code ?? r.signal}${why ? `: ${why}` : ''}`);
  }
  return res;
}

/** The first line of a child's stdout (a workload's readiness report), parsed as JSON. */
function firstJsonLine(child, timeoutMs = 60_000) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`${child.spawnfile}: no report within ${timeoutMs} ms`)), timeoutMs);
    const onData = (d) => {
      buf += d;
      const i = buf.indexOf('\n');
      if (i < 0) return;
      child.stdout.off('data', onData);
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buf.slice(0, i)));
      } catch (e) {
        reject(new Error(`${child.spawnfile}: bad report: ${buf.slice(0, 200)}`));
      }
    };
    child.stdout.on('data', onData);
    child.exited.then((r) => reject(new Error(`${child.spawnfile} exited (${r.code ?? r.signal}) before its report: ${child.err.trim().split('\n').pop() || ''}`)));
  });
}

/**
 * Idle processes and threads (test/workloads/idle.c): `procs` processes of
 * `threads` threads each, until stop(). The workload dies with its stdin.
 */
async function startIdle(procs, threads = 1) {
  const child = start(WORKLOAD('idle'), [String(procs), String(threads)], { stdin: 'pipe', label: 'idle' });
  const report = await firstJsonLine(child, 120_000);
  return {
    ...report,
    stop: async () => {
      child.stdin.destroy();
      await Promise.race([child.exited, sleep(5000)]);
      await child.stop();
      // the children die with it (PR_SET_PDEATHSIG); wait until they are gone
      const until = Date.now() + 10_000;
      while (Date.now() < until && fs.existsSync(`/proc/${report.pid}`)) await sleep(50);
    },
  };
}

/** Fill the machine up to about `target` processes with idle ones (none when there are enough). */
async function fillProcesses(target) {
  const have = countTasks().procs;
  const need = Math.max(0, target - have);
  if (!need) return { added: 0, stop: async () => {} };
  const idle = await startIdle(need, 1);
  return { added: need, stop: idle.stop };
}

// ---------------------------------------------------------------- tmux

let tmuxSock = null;
let tmuxSocketPath = null;
let tmuxN = 0;

function tmuxRaw(args) {
  return cp
    .execFileSync('tmux', ['-L', tmuxSock, '-f', path.join(tmp(), 'tmux.conf'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10000 })
    .trim();
}

function tmuxInit() {
  if (tmuxSock) return;
  tmuxSock = `ebtop-bench-${process.pid}`;
  fs.writeFileSync(path.join(tmp(), 'tmux.conf'), 'set -g remain-on-exit on\nset -g status off\nset -g exit-empty on\n');
  atCleanup(() => {
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
  });
}

/**
 * A command in a detached tmux session of cols x rows; the pane process is
 * the command (exec). Returns { pid, name, capture(), keys(), stop() }.
 */
function inTmux(command, { cols = 200, rows = 50, env = {} } = {}) {
  tmuxInit();
  const name = `bench${++tmuxN}`;
  // sudo's environment (TERM from tmux), plus env
  const envs = Object.entries({ ...SUDO_ENV, ...env, TERM: undefined })
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}='${String(v).replace(/'/g, `'\\''`)}'`);
  tmuxRaw(['new-session', '-d', '-s', name, '-x', String(cols), '-y', String(rows), `exec env -i TERM="$TERM" ${envs.join(' ')} ${command}`]);
  if (!tmuxSocketPath) {
    try {
      tmuxSocketPath = tmuxRaw(['display-message', '-p', '-t', name, '#{socket_path}']);
    } catch {
      /* server already gone */
    }
  }
  const pid = Number(tmuxRaw(['display-message', '-p', '-t', name, '#{pane_pid}']));
  own(pid, command);
  return {
    pid,
    name,
    capture: () => {
      try {
        return tmuxRaw(['capture-pane', '-p', '-t', name]);
      } catch {
        return '';
      }
    },
    keys: (...k) => tmuxRaw(['send-keys', '-t', name, ...k]),
    dead: () => !alive(pid),
    stop: async () => {
      try {
        tmuxRaw(['kill-session', '-t', name]); // SIGHUP to the pane
      } catch {
        /* already gone */
      }
      await stopPid(pid);
    },
  };
}

// ---------------------------------------------------------------- ebtop --json

/**
 * A running `ebtop --json ARGS`: samples arrive in `samples` (parsed, with
 * `at`: hr() when read). `waitSamples(n)`, `sampleAfter(ns)`, `stop()`.
 */
function ebtopJson(args, opts = {}) {
  const log = path.join(tmp(), `ebtop-${process.hrtime.bigint()}.log`);
  // every figure here is of every source attached: no budget sheds one unless asked (--budget)
  const budget = args.includes('--budget') ? [] : ['--budget', '0'];
  const child = start(EBTOP, ['--json', ...budget, ...args, '--log', log], { sudoEnv: true, ...opts, lines: true, label: 'ebtop --json' });
  const samples = [];
  let waiters = [];
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    let s;
    try {
      s = JSON.parse(line);
    } catch {
      return;
    }
    s.at = hr();
    samples.push(s);
    for (const w of waiters.splice(0)) w();
  });
  child.exited.then(() => {
    for (const w of waiters.splice(0)) w();
  });
  const h = {
    child,
    pid: child.pid,
    samples,
    log,
    async waitSamples(n, timeoutMs = 60_000) {
      const until = Date.now() + timeoutMs;
      while (samples.length < n) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`ebtop exited (${child.exitCode ?? child.signalCode}): ${child.err.trim().split('\n').pop() || 'no message'}`);
        if (Date.now() > until) throw new Error(`ebtop gave ${samples.length}/${n} samples in ${timeoutMs} ms`);
        await new Promise((r) => {
          waiters.push(r);
          setTimeout(r, 250);
        });
      }
    },
    /** the first sample read after hr() time `ns` */
    async sampleAfter(ns, timeoutMs = 60_000) {
      for (;;) {
        const s = samples.find((x) => x.at > ns);
        if (s) return s;
        await h.waitSamples(samples.length + 1, timeoutMs);
      }
    },
    stop: () => child.stop(),
  };
  return h;
}

// ---------------------------------------------------------------- BPF run statistics of a process's programs

/** Run time and count of the BPF programs a process holds open, by program name (bpftool). */
function progStats(pid) {
  const ids = new Set();
  let fds = [];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fdinfo`);
  } catch {
    return {};
  }
  for (const fd of fds) {
    const m = /prog_id:\s*(\d+)/.exec(readText(`/proc/${pid}/fdinfo/${fd}`) || '');
    if (m) ids.add(Number(m[1]));
  }
  const all = JSON.parse(cp.execFileSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8', maxBuffer: 64 << 20 }));
  const out = {};
  for (const p of all) if (ids.has(p.id)) out[p.name] = { ns: p.run_time_ns || 0, cnt: p.run_cnt || 0 };
  return out;
}

function statsDiff(a, b) {
  const out = {};
  for (const [k, v] of Object.entries(b)) out[k] = { ns: v.ns - (a[k]?.ns || 0), cnt: v.cnt - (a[k]?.cnt || 0) };
  return out;
}

module.exports = {
  ROOT,
  EBTOP,
  SUDO_ENV,
  WORKLOAD,
  hr,
  sleep,
  sleepSync,
  progress,
  findExe,
  readText,
  statFields,
  alive,
  rssMiB,
  countTasks,
  procStat,
  median,
  minOf,
  maxOf,
  fx,
  fint,
  fpct,
  fratio,
  frange,
  table,
  CpuTracker,
  tmp,
  own,
  signal,
  stopPid,
  atCleanup,
  cleanupSync,
  start,
  run,
  firstJsonLine,
  startIdle,
  fillProcesses,
  inTmux,
  ebtopJson,
  progStats,
  statsDiff,
};
