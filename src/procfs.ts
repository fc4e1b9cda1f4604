// The few things ebtop reads from /proc: metadata of processes seen for the
// first time (cmdline), tasks BPF cannot see, per-CPU idle time, and the
// names behind ids (users; cgroup paths, from the v2 mount).
import fs from 'node:fs';
import type { TaskRecord } from './abi';
import { readProcText as readText } from './procread';
import { SCHEMA, SUBSYSTEMS } from './subsystems';

const CLK_TCK = 100;

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

const STATE_BITS: Record<string, number> = { R: 0, S: 1, D: 2, T: 4, t: 8, X: 0x10, Z: 0x20, P: 0x40, I: 0x402 };

/**
 * /proc start times are ticks since boot (CLOCK_BOOTTIME, which goes on
 * during suspend); BPF's are CLOCK_MONOTONIC ns. The difference is the time
 * the machine spent suspended, read from /proc/uptime against the monotonic
 * clock at 10 ms resolution: below 50 ms it is that resolution, not suspend.
 */
export function bootToMonotonicNs(uptimeText: string, monotonicNs: number): number {
  const boot = Number(uptimeText.split(' ')[0]) * 1e9;
  const off = boot - monotonicNs;
  return off > 50e6 ? off : 0;
}

/** One task of /proc/<pid>/task as a task record; counter groups filled by the subsystems' /proc readers. */
export function parseProcTask(pid: number, tid: number, stat: string, status: string | null, pstartTicks: number, bootOffsetNs: number, rssPages = 0, cgroupId = 0): TaskRecord {
  const afterComm = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const uid = Number(/^Uid:\s+\d+\s+(\d+)/m.exec(status ?? '')?.[1] ?? 0);
  const toMono = (ticks: number) => ticks * (1e9 / CLK_TCK) - bootOffsetNs;
  return {
    kind: 'task',
    tid,
    pid,
    ppid: Number(afterComm[1]),
    uid,
    flags: 0,
    state: STATE_BITS[afterComm[0]] ?? 1,
    exitCode: 0,
    startNs: toMono(Number(afterComm[19])),
    pstartNs: toMono(pstartTicks),
    timeNs: 0,
    rssPages,
    cgroupId,
    comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).slice(0, 15),
    c: new Float64Array(SCHEMA.taskSlots),
  };
}

/**
 * Threads of processes BPF cannot see (on these VMs, PID 1), read from /proc
 * into the iterator's record shape: stat for identity, then each subsystem's
 * /proc reader for its group (a group without one stays 0 and its source
 * does not cover these rows).
 */
export class ProcTaskReader {
  private readonly bootOffsetNs = bootToMonotonicNs(readText('/proc/uptime') ?? '0', Number(process.hrtime.bigint()));
  private readonly readers = SUBSYSTEMS.flatMap((s) => s.proc ?? []).map((r) => ({ r, base: SCHEMA.group(r.group).base }));
  private readonly cgroupRoot = cgroup2Mount() ?? '/sys/fs/cgroup';
  /** Each thread's schedstat and record as last read: a thread that has not run since has the same stat, status and counters. */
  private last = new Map<number, { schedstat: string; pid: number; pstart: number; rec: TaskRecord }>();
  private seen = new Set<number>();

  /** Call once per refresh after reading every process: forgets threads not read. */
  sweep(): void {
    for (const tid of this.last.keys()) if (!this.seen.has(tid)) this.last.delete(tid);
    this.seen.clear();
  }

  read(pid: number): TaskRecord[] {
    let tids: string[];
    const pstat = readText(`/proc/${pid}/stat`);
    try {
      tids = fs.readdirSync(`/proc/${pid}/task`);
    } catch {
      return [];
    }
    if (!pstat) return [];
    const pstart = Number(pstat.slice(pstat.lastIndexOf(')') + 2).split(' ')[19]);
    const rss = Number((readText(`/proc/${pid}/statm`) ?? '0 0').split(' ')[1]) || 0;
    const cg = /^0::(.*)$/m.exec(readText(`/proc/${pid}/cgroup`) ?? '')?.[1];
    let cgroupId = 0;
    try {
      if (cg) cgroupId = fs.statSync(`${this.cgroupRoot}${cg}`).ino;
    } catch {
      /* cgroup gone or not cgroup v2 */
    }
    const out: TaskRecord[] = [];
    for (const t of tids) {
      const dir = `/proc/${pid}/task/${t}`;
      const tid = Number(t);
      this.seen.add(tid);
      // one small read for a thread that did not run (most of them, most refreshes) instead of four
      const schedstat = readText(`${dir}/schedstat`);
      const prev = this.last.get(tid);
      // the same thread only if its process is the same one (pid and start): a
      // reused tid is another thread whose counters may look the same
      if (schedstat !== null && prev && prev.schedstat === schedstat && prev.pid === pid && prev.pstart === pstart) {
        prev.rec.rssPages = rss;
        prev.rec.cgroupId = cgroupId;
        out.push(prev.rec);
        continue;
      }
      const stat = readText(`${dir}/stat`);
      if (!stat) continue;
      const rec = parseProcTask(pid, Number(t), stat, readText(`${dir}/status`), pstart, this.bootOffsetNs, rss, cgroupId);
      let ok = true;
      for (const { r, base } of this.readers) {
        const vals = r.read(dir);
        if (!vals) ok = false;
        else rec.c.set(vals, base);
      }
      if (ok) {
        out.push(rec);
        if (schedstat !== null) this.last.set(tid, { schedstat, pid, pstart, rec });
      }
    }
    return out;
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

/** /proc/meminfo's totals, in bytes. */
export function parseMeminfo(text: string): { totalBytes: number; availableBytes: number; swapTotalBytes: number; swapFreeBytes: number } {
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { totalBytes: kb('MemTotal'), availableBytes: kb('MemAvailable'), swapTotalBytes: kb('SwapTotal'), swapFreeBytes: kb('SwapFree') };
}

export function readMeminfo(): ReturnType<typeof parseMeminfo> | null {
  const text = readText('/proc/meminfo');
  return text ? parseMeminfo(text) : null;
}

/** Bytes per page: VmRSS (kB) against statm's resident pages of this very process. */
export function pageSize(): number {
  const rss = Number(/^VmRSS:\s+(\d+)/m.exec(readText('/proc/self/status') ?? '')?.[1] ?? 0) * 1024;
  const pages = Number((readText('/proc/self/statm') ?? '0 0').split(' ')[1]) || 0;
  const guess = pages > 0 ? rss / pages : 4096;
  // a power of two, at least 4 KiB
  return 2 ** Math.max(12, Math.round(Math.log2(guess)));
}

/**
 * cgroup v2 id (kernfs node id: the cgroup directory's inode number) -> its
 * path below the v2 mount ("/system.slice/nginx.service"). An unknown id is
 * looked up first where the process says it is (/proc/<pid>/cgroup, the
 * directory's inode checked against the id: a cgroup made a moment ago is
 * named at once), else by a walk of the mount, at most every 5 s; a miss is
 * asked again next time, not remembered.
 */
export class CgroupNames {
  private names = new Map<number, string>();
  /** performance.now() of the last walk (monotonic: a wall-clock step back must not stop walks) */
  private walkedAt = -Infinity;
  private readonly root = cgroup2Mount();

  path(id: number, pid?: number): string {
    let n = this.names.get(id);
    if (n === undefined && pid !== undefined && this.root) {
      const p = /^0::(.*)$/m.exec(readText(`/proc/${pid}/cgroup`) ?? '')?.[1];
      try {
        if (p && fs.statSync(`${this.root}${p}`).ino === id) this.names.set(id, (n = p));
      } catch {
        /* moved or gone since */
      }
    }
    if (n === undefined && performance.now() - this.walkedAt > 5000) {
      this.walk();
      n = this.names.get(id);
    }
    if (this.names.size > 65536) this.names.clear();
    return n ?? '';
  }

  private walk(): void {
    this.walkedAt = performance.now();
    const root = cgroup2Mount();
    if (!root) return;
    let dev = -1;
    const visit = (dir: string, rel: string, depth: number) => {
      let st: fs.Stats;
      try {
        st = fs.statSync(dir);
      } catch {
        return;
      }
      if (dev < 0) dev = st.dev;
      if (st.dev !== dev) return; // another file system mounted inside
      this.names.set(st.ino, rel);
      if (depth > 12) return;
      let ents: fs.Dirent[] = [];
      try {
        ents = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of ents) if (e.isDirectory()) visit(`${dir}/${e.name}`, `${rel === '/' ? '' : rel}/${e.name}`, depth + 1);
    };
    visit(root, '/', 0);
  }
}

/** Where cgroup v2 is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified in hybrid mode). */
export function cgroup2Mount(mounts = readText('/proc/self/mounts') ?? ''): string | null {
  for (const line of mounts.split('\n')) {
    const f = line.split(' ');
    if (f[2] === 'cgroup2') return f[1];
  }
  return null;
}

/** uid -> user name, from /etc/passwd, read again only for an unknown uid. */
export class UserNames {
  private names = new Map<number, string>();
  /** performance.now() of the last load (monotonic, as CgroupNames.walkedAt) */
  private loadedAt = -Infinity;

  name(uid: number): string {
    let n = this.names.get(uid);
    if (n === undefined && performance.now() - this.loadedAt > 10_000) {
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
    this.loadedAt = performance.now();
    const text = readText('/etc/passwd') ?? '';
    for (const line of text.split('\n')) {
      const f = line.split(':');
      if (f.length > 2 && /^\d+$/.test(f[2])) this.names.set(Number(f[2]), f[0]);
    }
  }
}
