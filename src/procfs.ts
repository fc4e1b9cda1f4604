// The few things ebtop reads from /proc: metadata of processes seen for the
// first time (cmdline), tasks BPF cannot see, and per-CPU idle time.
import fs from 'node:fs';
import type { TaskRecord } from './abi';

const CLK_TCK = 100;

function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'latin1');
  } catch {
    return null;
  }
}

export function listPids(): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    const c = name.charCodeAt(0);
    if (c >= 48 && c <= 57) out.push(Number(name));
  }
  return out;
}

/** argv of a live process; null when it is gone or has none (kernel thread). */
export function readCmdline(pid: number): string[] | null {
  const raw = readText(`/proc/${pid}/cmdline`);
  if (!raw) return null;
  const args = raw.split('\0');
  if (args[args.length - 1] === '') args.pop();
  return args.length ? args : null;
}

function field(text: string, name: string): string | undefined {
  const i = text.indexOf(`\n${name}:`);
  if (i < 0) return undefined;
  const start = i + name.length + 2;
  const end = text.indexOf('\n', start);
  return text.slice(start, end < 0 ? undefined : end).trim();
}

/** /proc/<pid>/sched prints "name : value"; value may be "ms.nnnnnn". */
function schedField(text: string, name: string): number | undefined {
  const re = new RegExp(`^${name.replace(/\./g, '\\.')}\\s*:\\s*(\\S+)`, 'm');
  const m = re.exec(text);
  return m ? Number(m[1]) : undefined;
}

const STATE_BITS: Record<string, number> = { R: 0, S: 1, D: 2, T: 4, t: 8, X: 0x10, Z: 0x20, P: 0x40, I: 0x402 };

/**
 * A thread read from /proc, for processes BPF cannot see (on these VMs, PID 1).
 * Same fields as the iterator's record; start time is /proc's (boot-based),
 * only ever compared with itself.
 */
export function readProcTask(pid: number, tid: number, nowNs: number): TaskRecord | null {
  const dir = `/proc/${pid}/task/${tid}`;
  const schedstat = readText(`${dir}/schedstat`);
  const status = readText(`${dir}/status`);
  const stat = readText(`${dir}/stat`);
  if (!schedstat || !status || !stat) return null;
  const sched = readText(`${dir}/sched`) ?? '';
  const [oncpu, runq, slices] = schedstat.trim().split(/\s+/).map(Number);
  const afterComm = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = (field('\n' + status, 'State') ?? 'S').charAt(0);
  return {
    kind: 'task',
    tid,
    pid,
    ppid: Number(field(status, 'PPid') ?? 0),
    uid: Number((field(status, 'Uid') ?? '0').split(/\s+/)[1] ?? 0),
    flags: 0,
    state: STATE_BITS[state] ?? 1,
    exitCode: 0,
    startNs: Number(afterComm[19]) * (1e9 / CLK_TCK),
    timeNs: nowNs,
    oncpuNs: oncpu,
    runqNs: runq,
    slices,
    nvcsw: Number(field(status, 'voluntary_ctxt_switches') ?? 0),
    nivcsw: Number(field(status, 'nonvoluntary_ctxt_switches') ?? 0),
    migrations: schedField(sched, 'se.nr_migrations') ?? 0,
    comm: (field('\n' + status, 'Name') ?? '').slice(0, 15),
  };
}

export function readProcTasks(pid: number, nowNs: number): TaskRecord[] {
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: TaskRecord[] = [];
  for (const t of tids) {
    const rec = readProcTask(pid, Number(t), nowNs);
    if (rec) out.push(rec);
  }
  return out;
}

export interface IdleReading {
  source: 'timer_list' | 'proc_stat';
  /** cumulative idle (incl. iowait) ns per CPU, index = CPU number */
  idleNs: number[];
}

/**
 * Per-CPU idle ns from the kernel's NO_HZ bookkeeping (what /proc/stat's
 * idle+iowait are made of, but in ns). Completed idle periods are in
 * idle_sleeptime + iowait_sleeptime. An idle period still in progress is
 * visible only when the tick is stopped (then it began at idle_entrytime);
 * with the tick running, every tick closes the period, so at most one tick
 * of an ongoing idle period is missing (and shows up in the next reading).
 */
export function parseTimerList(text: string, nowNs: number): number[] | null {
  const idle: number[] = [];
  let cpu = -1;
  let stopped = false;
  let entry = 0;
  let sleep = 0;
  const finish = () => {
    if (cpu >= 0) idle[cpu] = sleep + (stopped && nowNs > entry ? nowNs - entry : 0);
  };
  for (const line of text.split('\n')) {
    if (line.startsWith('cpu: ')) {
      cpu = Number(line.slice(5));
      stopped = false;
      entry = 0;
      sleep = -1;
      continue;
    }
    if (cpu < 0 || line.charCodeAt(0) !== 32) continue;
    const m = /^\s+\.(tick_stopped|idle_sleeptime|iowait_sleeptime|idle_entrytime)\s*:\s*(\d+)/.exec(line);
    if (!m) continue;
    const v = Number(m[2]);
    if (m[1] === 'tick_stopped') stopped = v !== 0;
    else if (m[1] === 'idle_entrytime') entry = v;
    else {
      sleep = Math.max(sleep, 0) + v;
      if (m[1] === 'iowait_sleeptime') finish();
    }
  }
  return idle.length && idle.every((v) => v >= 0) ? idle : null;
}

/** Fallback: /proc/stat idle + iowait, in USER_HZ ticks. */
export function parseProcStat(text: string): number[] {
  const idle: number[] = [];
  for (const line of text.split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const f = m[2].split(/\s+/).map(Number);
    idle[Number(m[1])] = (f[3] + f[4]) * (1e9 / CLK_TCK);
  }
  return idle;
}

export function readIdle(): IdleReading | null {
  const tl = readText('/proc/timer_list');
  const fromTimerList = tl ? parseTimerList(tl, Number(process.hrtime.bigint())) : null;
  if (fromTimerList) return { source: 'timer_list', idleNs: fromTimerList };
  const st = readText('/proc/stat');
  return st ? { source: 'proc_stat', idleNs: parseProcStat(st) } : null;
}

export function onlineCpuCount(): number {
  const st = readText('/proc/stat') ?? '';
  return (st.match(/^cpu\d+ /gm) ?? []).length || 1;
}

/** uid -> user name, from /etc/passwd, read again only for an unknown uid. */
export class UserNames {
  private names = new Map<number, string>();
  private loadedAt = 0;

  name(uid: number): string {
    let n = this.names.get(uid);
    if (n === undefined && Date.now() - this.loadedAt > 10_000) {
      this.load();
      n = this.names.get(uid);
    }
    if (n === undefined) {
      n = String(uid);
      this.names.set(uid, n);
    }
    return n;
  }

  private load(): void {
    this.loadedAt = Date.now();
    const text = readText('/etc/passwd') ?? '';
    for (const line of text.split('\n')) {
      const f = line.split(':');
      if (f.length > 2 && /^\d+$/.test(f[2])) this.names.set(Number(f[2]), f[0]);
    }
  }
}
