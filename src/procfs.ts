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

/** /proc/<pid>/sched prints "name : value". */
function schedField(text: string, name: string): number {
  const i = text.indexOf(`\n${name} `);
  if (i < 0) return 0;
  const colon = text.indexOf(':', i);
  return Number.parseInt(text.slice(colon + 1, text.indexOf('\n', colon)), 10) || 0;
}

const STATE_BITS: Record<string, number> = { R: 0, S: 1, D: 2, T: 4, t: 8, X: 0x10, Z: 0x20, P: 0x40, I: 0x402 };

/**
 * Threads of processes BPF cannot see (on these VMs, PID 1), read from /proc
 * into the iterator's record shape. Per refresh one schedstat read per
 * thread; the other files only when that shows the thread ran. Start time is
 * /proc's (boot-based) and only ever compared with itself.
 */
export class ProcTaskReader {
  private cache = new Map<number, TaskRecord>();

  read(pid: number, nowNs: number): TaskRecord[] {
    let tids: string[];
    try {
      tids = fs.readdirSync(`/proc/${pid}/task`);
    } catch {
      return [];
    }
    const out: TaskRecord[] = [];
    for (const t of tids) {
      const rec = this.readTask(pid, Number(t), nowNs);
      if (rec) out.push(rec);
    }
    return out;
  }

  /** Forget threads not returned by the last read() calls' processes. */
  prune(live: Set<number>): void {
    for (const tid of this.cache.keys()) if (!live.has(tid)) this.cache.delete(tid);
  }

  private readTask(pid: number, tid: number, nowNs: number): TaskRecord | null {
    const dir = `/proc/${pid}/task/${tid}`;
    const schedstat = readText(`${dir}/schedstat`);
    if (!schedstat) return null;
    const [oncpuNs, runqNs, slices] = schedstat.trim().split(' ').map(Number);
    const cached = this.cache.get(tid);
    if (cached && cached.oncpuNs === oncpuNs && cached.slices === slices && cached.runqNs === runqNs) {
      cached.timeNs = nowNs;
      return cached;
    }
    const stat = readText(`${dir}/stat`);
    const sched = readText(`${dir}/sched`);
    if (!stat || !sched) return null;
    const afterComm = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    let uid = cached?.uid;
    let comm = cached?.comm;
    if (uid === undefined || comm === undefined) {
      const status = readText(`${dir}/status`) ?? '';
      uid = Number(/^Uid:\s+\d+\s+(\d+)/m.exec(status)?.[1] ?? 0);
      comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).slice(0, 15);
    }
    const rec: TaskRecord = {
      kind: 'task',
      tid,
      pid,
      ppid: Number(afterComm[1]),
      uid,
      flags: 0,
      state: STATE_BITS[afterComm[0]] ?? 1,
      exitCode: 0,
      startNs: Number(afterComm[19]) * (1e9 / CLK_TCK),
      timeNs: nowNs,
      oncpuNs,
      runqNs,
      slices,
      nvcsw: schedField(sched, 'nr_voluntary_switches'),
      nivcsw: schedField(sched, 'nr_involuntary_switches'),
      migrations: schedField(sched, 'se.nr_migrations'),
      comm,
    };
    this.cache.set(tid, rec);
    return rec;
  }
}

/**
 * Per-CPU idle + iowait from /proc/stat: the kernel's NO_HZ idle bookkeeping
 * (ongoing idle periods included), truncated to USER_HZ ticks. Exact to the
 * ns in /proc/timer_list, but that file lists every pending timer and costs
 * milliseconds per read on a busy machine; a 10 ms truncation per reading
 * does not accumulate over intervals.
 */
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

export function readLoadavg(): number[] | null {
  const text = readText('/proc/loadavg');
  return text ? text.split(' ', 3).map(Number) : null;
}

/** Cumulative idle ns per CPU (index = CPU), at USER_HZ (10 ms) resolution. */
export function readProcStatIdle(): number[] | null {
  const st = readText('/proc/stat');
  return st ? parseProcStat(st) : null;
}

export function onlineCpuCount(): number {
  return readProcStatIdle()?.length || 1;
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
