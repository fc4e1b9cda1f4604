// The pure model: raw samples in, per-interval process rows out. No I/O here
// (cmdline and user names come in through callbacks), so it is tested with
// hand-made samples and a fake clock.
import { F_GROUP_DEAD, F_KTHREAD, F_RUNNING, F_ZOMBIE, type CpuCounters, type ExecRecord, type RingRecord, type TaskRecord } from './abi';

export interface BpfCounters {
  runNs: number;
  runCount: number;
  records: number;
  lost: number;
}

export interface RawSample {
  /** CLOCK_MONOTONIC ns when the snapshot was taken */
  timeNs: number;
  /** wall clock ms, for display */
  wallMs: number;
  /** live threads the task iterator saw */
  tasks: TaskRecord[];
  /** threads of processes BPF cannot see, read from /proc */
  procTasks: TaskRecord[];
  /** ring records since the previous sample, in arrival order */
  events: RingRecord[];
  /** cumulative idle ns per CPU, or null when no idle source */
  idleNs: number[] | null;
  /** cumulative BPF-side counters */
  bpf: BpfCounters;
  /** 1, 5 and 15 minute load averages, or null */
  loadavg: number[] | null;
}

export interface Counters extends CpuCounters {
  offcpuNs: number;
}

export interface ThreadRow extends Counters {
  tid: number;
  comm: string;
  exited: boolean;
  cpuPct: number;
}

export interface ProcessRow extends Counters {
  pid: number;
  ppid: number;
  uid: number;
  user: string;
  comm: string;
  cmdline: string;
  /** live threads (at exit: threads that were still alive in the interval) */
  threads: number;
  state: string;
  kthread: boolean;
  /** 'bpf', or 'proc' for processes BPF cannot see */
  source: 'bpf' | 'proc';
  exited: boolean;
  /** shell convention: exit status, or 128+signal; null while alive */
  exitCode: number | null;
  cpuPct: number;
  threadsDetail: ThreadRow[];
}

export interface CpuTime {
  busyNs: number;
  idleNs: number;
}

export interface Interval {
  wallMs: number;
  intervalNs: number;
  /** ns since the baseline sample */
  elapsedNs: number;
  ncpu: number;
  cumulative: boolean;
  /** per CPU, over the interval (null when no idle source) */
  cpus: CpuTime[] | null;
  system: {
    busyNs: number | null;
    idleNs: number | null;
    exited: number;
    forks: number;
    execs: number;
    tasks: number;
    threads: number;
    running: number;
    /** threads that vanished without an exit record (their last partial interval is lost) */
    lostThreads: number;
    bpf: { runNs: number; events: number; lost: number };
    /** 1, 5 and 15 minute load averages at the end of the interval, or null */
    loadavg: number[] | null;
  };
  processes: ProcessRow[];
}

export interface ModelOptions {
  ncpu: number;
  cumulative?: boolean;
  userName?: (uid: number) => string;
  /** argv of a live process (read once per process), or null */
  cmdline?: (pid: number) => string[] | null;
  /** build ProcessRow.threadsDetail (otherwise it is empty) */
  threads?: boolean;
}

const ZERO: CpuCounters = { oncpuNs: 0, runqNs: 0, slices: 0, nvcsw: 0, nivcsw: 0, migrations: 0 };

// One literal shape for every counter object keeps the arithmetic below monomorphic.
function zeroCounters(): Counters {
  return { oncpuNs: 0, runqNs: 0, slices: 0, nvcsw: 0, nivcsw: 0, migrations: 0, offcpuNs: 0 };
}

/** out = now - base, per counter. Counters only grow; a negative difference
 * (a corrected snapshot against the exact final value) is clamped to zero. */
function diffInto(out: CpuCounters, now: CpuCounters, base: CpuCounters): CpuCounters {
  out.oncpuNs = Math.max(0, now.oncpuNs - base.oncpuNs);
  out.runqNs = Math.max(0, now.runqNs - base.runqNs);
  out.slices = Math.max(0, now.slices - base.slices);
  out.nvcsw = Math.max(0, now.nvcsw - base.nvcsw);
  out.nivcsw = Math.max(0, now.nivcsw - base.nivcsw);
  out.migrations = Math.max(0, now.migrations - base.migrations);
  return out;
}

function maxInto(into: CpuCounters, v: CpuCounters): void {
  into.oncpuNs = Math.max(into.oncpuNs, v.oncpuNs);
  into.runqNs = Math.max(into.runqNs, v.runqNs);
  into.slices = Math.max(into.slices, v.slices);
  into.nvcsw = Math.max(into.nvcsw, v.nvcsw);
  into.nivcsw = Math.max(into.nivcsw, v.nivcsw);
  into.migrations = Math.max(into.migrations, v.migrations);
}

function addInto(into: Counters, d: CpuCounters, offcpuNs: number): void {
  into.oncpuNs += d.oncpuNs;
  into.runqNs += d.runqNs;
  into.slices += d.slices;
  into.nvcsw += d.nvcsw;
  into.nivcsw += d.nivcsw;
  into.migrations += d.migrations;
  into.offcpuNs += offcpuNs;
}

function copyCounters(c: CpuCounters): CpuCounters {
  return { oncpuNs: c.oncpuNs, runqNs: c.runqNs, slices: c.slices, nvcsw: c.nvcsw, nivcsw: c.nivcsw, migrations: c.migrations };
}

function sameCounters(a: CpuCounters, b: CpuCounters): boolean {
  return a.oncpuNs === b.oncpuNs && a.slices === b.slices && a.nvcsw === b.nvcsw && a.nivcsw === b.nivcsw && a.runqNs === b.runqNs && a.migrations === b.migrations;
}

/** Off-CPU time of a thread over the span it was alive in the interval. */
function offcpu(aliveNs: number, d: CpuCounters): number {
  return Math.max(0, aliveNs - d.oncpuNs - d.runqNs);
}

export function stateLetter(state: number, flags: number): string {
  if (flags & F_ZOMBIE) return 'Z';
  if (flags & F_RUNNING || state === 0) return 'R';
  if ((state & 0x402) === 0x402) return 'I';
  if (state & 0x2) return 'D';
  if (state & 0x1) return 'S';
  if (state & 0x4) return 'T';
  if (state & 0x8) return 't';
  if (state & 0x80) return 'X';
  return '?';
}

function newThread(rec: TaskRecord): ThreadState {
  return { pid: rec.pid, startNs: rec.startNs, last: copyCounters(rec), comm: rec.comm, total: zeroCounters() };
}

/** Per-CPU busy/idle over the interval from two cumulative idle readings. */
function cpuTimes(intervalNs: number, before: number[] | null, after: number[] | null): CpuTime[] | null {
  if (!before || !after) return null;
  return after.map((idle, i) => {
    const idleNs = Math.min(intervalNs, Math.max(0, idle - (before[i] ?? idle)));
    return { idleNs, busyNs: intervalNs - idleNs };
  });
}

/** task->exit_code (wait status) to the shell's convention. */
export function exitStatus(code: number): number {
  const sig = code & 0x7f;
  return sig ? 128 + sig : (code >> 8) & 0xff;
}

interface ThreadState {
  pid: number;
  startNs: number;
  last: CpuCounters;
  comm: string;
  total: Counters;
}

interface ProcState {
  pid: number;
  startNs: number;
  ppid: number;
  uid: number;
  comm: string;
  cmdline: string | null;
  kthread: boolean;
  source: 'bpf' | 'proc';
  state: string;
  total: Counters;
}

/** Per-process work area for one interval. */
interface Acc {
  pid: number;
  counters: Counters;
  threads: ThreadRow[];
  /** threads accounted in this interval (live or exited in it) */
  nthreads: number;
  live: number;
  liveNonZombie: number;
  exits: TaskRecord[];
  leader?: TaskRecord;
  any?: TaskRecord;
  source: 'bpf' | 'proc';
}

/** What one update works on: the interval's bounds and its per-process accumulators. */
interface Tick {
  n: number;
  /** the previous snapshot's time: the interval starts there */
  fromNs: number;
  toNs: number;
  baseline: boolean;
  accs: Map<number, Acc>;
  /** tids present in this snapshot (dead or alive) */
  seen: Set<number>;
  forks: number;
  execs: number;
  running: number;
  lostThreads: number;
  /** scratch delta, reused for every thread */
  d: CpuCounters;
}

export class Model {
  private threads = new Map<number, ThreadState>();
  /** tid -> threads whose exit record was seen, kept while their zombie can still show up */
  private dead = new Map<number, { startNs: number; tick: number }>();
  /** old leaders replaced by an exec'ing thread whose exit record is still to come, by tid */
  private replacedLeaders = new Map<number, ThreadState>();
  private tick = 0;
  private procs = new Map<number, ProcState>();
  /** argv from exec records, by pid, until the process is gone */
  private execArgs = new Map<number, { args: string[]; timeNs: number }>();
  private prev?: { timeNs: number; idleNs: number[] | null; bpf: BpfCounters };
  private baseNs = 0;

  constructor(private readonly opts: ModelOptions) {}

  /** Feed one sample. The first one is the baseline and yields null. */
  update(s: RawSample): Interval | null {
    const prev = this.prev;
    const baseline = !prev;
    if (baseline) this.baseNs = s.timeNs;
    const t: Tick = {
      n: ++this.tick,
      fromNs: prev ? prev.timeNs : s.timeNs,
      toNs: s.timeNs,
      baseline,
      accs: new Map(),
      seen: new Set(),
      forks: 0,
      execs: 0,
      running: 0,
      lostThreads: 0,
      d: zeroCounters(),
    };
    this.applyEvents(t, s.events);
    for (const rec of s.tasks) this.applyLive(t, rec, 'bpf');
    for (const rec of s.procTasks) this.applyLive(t, rec, 'proc');
    this.forgetGone(t);
    const { rows, exited, threads } = this.buildRows(t);
    this.prev = { timeNs: s.timeNs, idleNs: s.idleNs, bpf: s.bpf };
    if (baseline) return null;

    const intervalNs = t.toNs - t.fromNs;
    const cpus = cpuTimes(intervalNs, prev!.idleNs, s.idleNs);
    return {
      wallMs: s.wallMs,
      intervalNs,
      elapsedNs: s.timeNs - this.baseNs,
      ncpu: s.idleNs?.length || this.opts.ncpu,
      cumulative: Boolean(this.opts.cumulative),
      cpus,
      system: {
        busyNs: cpus ? cpus.reduce((sum, c) => sum + c.busyNs, 0) : null,
        idleNs: cpus ? cpus.reduce((sum, c) => sum + c.idleNs, 0) : null,
        exited,
        forks: t.forks,
        execs: t.execs,
        tasks: t.accs.size - exited,
        threads,
        running: t.running,
        lostThreads: t.lostThreads,
        bpf: {
          runNs: Math.max(0, s.bpf.runNs - prev!.bpf.runNs),
          events: Math.max(0, s.bpf.runCount - prev!.bpf.runCount),
          lost: Math.max(0, s.bpf.lost - prev!.bpf.lost),
        },
        loadavg: s.loadavg,
      },
      processes: rows,
    };
  }

  private acc(t: Tick, pid: number, source: 'bpf' | 'proc'): Acc {
    let a = t.accs.get(pid);
    if (!a) {
      a = { pid, counters: zeroCounters(), threads: [], nthreads: 0, live: 0, liveNonZombie: 0, exits: [], source };
      t.accs.set(pid, a);
    }
    return a;
  }

  /**
   * Add one thread's delta (rec - base; base null: unchanged since the last
   * snapshot, as most threads are) over the span it was alive, to its process.
   */
  private account(t: Tick, rec: TaskRecord, base: CpuCounters | null, aliveFrom: number, aliveTo: number, st: ThreadState, source: 'bpf' | 'proc'): void {
    const d = diffInto(t.d, rec, base ?? rec);
    const off = offcpu(Math.max(0, aliveTo - aliveFrom), d);
    const a = this.acc(t, rec.pid, source);
    addInto(a.counters, d, off);
    a.nthreads++;
    addInto(st.total, d, off);
    if (this.opts.threads) {
      const shown = this.opts.cumulative ? st.total : { ...d, offcpuNs: off };
      a.threads.push({ tid: rec.tid, comm: rec.comm, exited: rec.kind === 'exit', cpuPct: 0, ...shown });
    }
    if (rec.tid === rec.pid) a.leader = rec;
    a.any ??= rec;
  }

  private applyEvents(t: Tick, events: RingRecord[]): void {
    for (const ev of events) {
      if (ev.kind === 'fork') {
        if (ev.tid === ev.pid) t.forks++;
      } else if (ev.kind === 'exec') {
        t.execs++;
        this.execArgs.set(ev.pid, { args: ev.args, timeNs: ev.timeNs });
        if (ev.oldTid !== ev.tid) this.leaderReplaced(ev);
        const p = this.procs.get(ev.pid);
        if (p) {
          p.cmdline = ev.args.join(' ');
          p.comm = ev.comm;
        }
      } else {
        this.applyExit(t, ev);
      }
    }
  }

  private applyExit(t: Tick, ev: TaskRecord): void {
    const old = this.replacedLeaders.get(ev.tid);
    if (old && !(ev.flags & F_GROUP_DEAD)) {
      // the old leader of a process whose other thread exec'd, dying after that exec
      this.replacedLeaders.delete(ev.tid);
      if (!t.baseline) this.account(t, ev, old.last, t.fromNs, Math.max(t.fromNs, ev.timeNs), old, 'bpf');
      return;
    }
    const st = this.threads.get(ev.tid);
    const known = st !== undefined && st.startNs === ev.startNs;
    this.threads.delete(ev.tid);
    this.dead.set(ev.tid, { startNs: ev.startNs, tick: t.n });
    if (t.baseline) return;
    // A thread we never saw counts from zero only if it was born after the previous snapshot.
    if (!known && ev.startNs < t.fromNs) return;
    const from = known ? t.fromNs : Math.max(t.fromNs, ev.startNs);
    this.account(t, ev, known ? st.last : ZERO, from, Math.max(from, ev.timeNs), known ? st : newThread(ev), 'bpf');
    this.acc(t, ev.pid, 'bpf').exits.push(ev);
  }

  private applyLive(t: Tick, rec: TaskRecord, source: 'bpf' | 'proc'): void {
    t.seen.add(rec.tid);
    if (this.dead.get(rec.tid)?.startNs === rec.startNs) return; // unreaped, already accounted at its exit
    let st = this.threads.get(rec.tid);
    if (st && st.startNs !== rec.startNs) st = undefined; // tid reused
    const bornInside = rec.startNs >= t.fromNs;
    if (st) {
      const base = sameCounters(st.last, rec) ? null : st.last;
      this.account(t, rec, base, t.fromNs, t.toNs, st, source);
      if (base) maxInto(st.last, rec);
      st.comm = rec.comm;
      st.pid = rec.pid;
    } else {
      // Unknown history (baseline, or missed by earlier snapshots): count from now.
      st = newThread(rec);
      const counted = bornInside && !t.baseline;
      this.account(t, rec, counted ? ZERO : null, counted ? rec.startNs : t.fromNs, t.toNs, st, source);
      this.threads.set(rec.tid, st);
    }
    const a = this.acc(t, rec.pid, source);
    a.live++;
    if (!(rec.flags & F_ZOMBIE)) {
      a.liveNonZombie++;
      if (rec.state === 0) t.running++;
    }
  }

  /** Threads that vanished without an exit record, and dead ones no longer shown. */
  private forgetGone(t: Tick): void {
    for (const tid of this.threads.keys()) {
      if (!t.seen.has(tid)) {
        this.threads.delete(tid);
        if (!t.baseline) t.lostThreads++;
      }
    }
    // A thread that exited after this snapshot may still show up, unreaped, in the next one.
    for (const [tid, d] of this.dead) if (!t.seen.has(tid) && d.tick < t.n) this.dead.delete(tid);
  }

  private buildRows(t: Tick): { rows: ProcessRow[]; exited: number; threads: number } {
    const rows: ProcessRow[] = [];
    let exited = 0;
    let threads = 0;
    const pctBase = this.opts.cumulative ? t.toNs - this.baseNs : t.toNs - t.fromNs;
    const pct = (ns: number) => (pctBase > 0 ? (ns / pctBase) * 100 : 0);
    for (const a of t.accs.values()) {
      const info = this.procState(a);
      const isExited = a.exits.length > 0 && a.live === 0;
      addInto(info.total, a.counters, a.counters.offcpuNs);
      const shown = this.opts.cumulative ? info.total : a.counters;
      let exitCode: number | null = null;
      if (isExited) {
        const last = a.exits.find((e) => e.tid === e.pid) ?? a.exits[a.exits.length - 1];
        exitCode = exitStatus(last.exitCode);
        exited++;
        this.procs.delete(a.pid);
        this.execArgs.delete(a.pid);
      }
      threads += a.liveNonZombie;
      if (t.baseline) continue;
      for (const th of a.threads) th.cpuPct = pct(th.oncpuNs);
      rows.push({
        pid: a.pid,
        ppid: info.ppid,
        uid: info.uid,
        user: this.opts.userName ? this.opts.userName(info.uid) : String(info.uid),
        comm: info.comm,
        cmdline: info.cmdline ?? (info.kthread ? `[${info.comm}]` : info.comm),
        threads: isExited ? a.nthreads : a.liveNonZombie,
        state: isExited ? 'X' : info.state,
        kthread: info.kthread,
        source: info.source,
        exited: isExited,
        exitCode,
        cpuPct: pct(shown.oncpuNs),
        oncpuNs: shown.oncpuNs,
        runqNs: shown.runqNs,
        offcpuNs: shown.offcpuNs,
        slices: shown.slices,
        nvcsw: shown.nvcsw,
        nivcsw: shown.nivcsw,
        migrations: shown.migrations,
        threadsDetail: a.threads,
      });
    }
    for (const pid of this.procs.keys()) {
      if (!t.accs.has(pid)) {
        this.procs.delete(pid);
        this.execArgs.delete(pid);
      }
    }
    return { rows, exited, threads };
  }

  /**
   * A non-leader thread exec'd: the kernel gave it the leader's tid and start
   * time (de_thread) and the old leader dies. Keep following the same task
   * under its new identity, and keep the old leader's state for its exit
   * record if that has not arrived yet.
   */
  private leaderReplaced(ev: ExecRecord): void {
    const moved = this.threads.get(ev.oldTid);
    const oldLeader = this.threads.get(ev.tid);
    if (oldLeader && oldLeader !== moved) this.replacedLeaders.set(ev.tid, oldLeader);
    this.dead.delete(ev.tid); // the old leader's exit came first: the tid lives on
    if (!moved) return;
    this.threads.delete(ev.oldTid);
    moved.startNs = ev.startNs;
    this.threads.set(ev.tid, moved);
  }

  /** The process's lasting metadata, created on first sight, refreshed from its leader. */
  private procState(a: Acc): ProcState {
    const rec = a.leader ?? a.any!;
    let p = this.procs.get(a.pid);
    if (p && a.leader && p.startNs !== a.leader.startNs) p = undefined; // pid reused
    if (!p) {
      const exec = this.execArgs.get(a.pid);
      let cmdline: string | null = null;
      if (exec && exec.timeNs >= rec.startNs) cmdline = exec.args.join(' ');
      else if (a.live > 0 && this.opts.cmdline) cmdline = this.opts.cmdline(a.pid)?.join(' ') ?? null;
      p = {
        pid: a.pid,
        startNs: rec.startNs,
        ppid: rec.ppid,
        uid: rec.uid,
        comm: rec.comm,
        cmdline,
        kthread: Boolean(rec.flags & F_KTHREAD),
        source: a.source,
        state: stateLetter(rec.state, rec.flags),
        total: zeroCounters(),
      };
      this.procs.set(a.pid, p);
    } else if (a.leader) {
      p.ppid = a.leader.ppid;
      p.uid = a.leader.uid;
      p.comm = a.leader.comm;
      p.state = stateLetter(a.leader.state, a.leader.flags);
    }
    return p;
  }
}
