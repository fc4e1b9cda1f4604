// The pure model: raw samples in, per-interval process rows out. No I/O here
// (cmdline and user names come in through callbacks), so it is tested with
// hand-made samples and a fake clock. Counters are row vectors laid out by the
// subsystems' schema; every operation is one loop over slots, and no code here
// names a counter.
import { F_GROUP_DEAD, F_KTHREAD, F_RUNNING, F_ZOMBIE, type ChargeRecord, type ExecRecord, type RingRecord, type TaskRecord } from './abi';
import { SCHEMA, SUBSYSTEMS } from './subsystems';
import { combineInto } from './subsystems/schema';
import type { Folder, RowLike, Subsystem } from './subsystems/types';

export interface BpfCounters {
  runNs: number;
  runCount: number;
  /** runNs and runCount of the last interval were scaled from a window (the statistics are sampled on a busy machine) */
  sampled?: boolean;
  records: number;
  /** records and charges lost: ring full, bounded map full, dropped in userspace, unknown */
  lost: number;
  /** cumulative run time by hook source */
  bySource?: Record<string, number>;
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
  /** charges drained from owner-keyed maps since the previous sample */
  charges: ChargeRecord[];
  /** per subsystem: what its collect() read, and its own ring records */
  ext: Record<string, { collected?: unknown; records: unknown[] }>;
  /** cumulative idle ns per CPU, or null when no idle source */
  idleNs: number[] | null;
  /** cumulative BPF-side counters */
  bpf: BpfCounters;
  /** 1, 5 and 15 minute load averages, or null */
  loadavg: number[] | null;
  /** /proc/meminfo, bytes, or null */
  mem?: MemInfo | null;
  /** units the budget shed at any time in the interval (src/budget.ts) */
  shed?: string[];
  /** their hook sources: missing for this interval, their numbers n/a */
  missing?: string[];
}

export interface MemInfo {
  totalBytes: number;
  availableBytes: number;
  swapTotalBytes: number;
  swapFreeBytes: number;
}

export interface ThreadRow {
  tid: number;
  comm: string;
  exited: boolean;
  /** shown values: `delta` or `total` */
  v: Float64Array;
  spanNs: number;
  avail: ReadonlySet<string>;
  delta: Float64Array;
  total: Float64Array;
  totals?: boolean;
}

export interface ProcessRow extends RowLike {
  /** its cgroup v2 path below the mount ('' unknown; a recording made before paths were kept: the last part) */
  cgroupPath: string;
  /** the process's start time (CLOCK_MONOTONIC): with pid, its identity */
  startNs: number;
  /** 'bpf', or 'proc' for processes BPF cannot see */
  source: 'bpf' | 'proc';
  /** shell convention: exit status, or 128+signal; null while alive or unknown */
  exitCode: number | null;
  /** exited before this interval: the row carries only charges made after its exit (writeback) */
  late: boolean;
  threadsDetail: ThreadRow[];
  /** per-process extras of the subsystems with a folder, by subsystem name */
  ext: Record<string, unknown>;
  /** totals since attach of its descendants that exited (as the kernel's cutime), or null */
  deadKids: Float64Array | null;
  /** this interval's values, whatever `v` shows */
  delta: Float64Array;
}

export interface CpuTime {
  busyNs: number;
  idleNs: number;
}

export interface Interval {
  wallMs: number;
  /** the monotonic clock at its end: time since boot, suspend not counted (a recording's uptime) */
  monoNs: number;
  intervalNs: number;
  /** ns since the baseline sample */
  elapsedNs: number;
  ncpu: number;
  cumulative: boolean;
  /** the subsystems whose fields the views show */
  subsystems: Subsystem[];
  /** groups whose source is attached (for the whole interval: not shed at any time in it) */
  avail: ReadonlySet<string>;
  /** units the budget shed at any time in the interval (their numbers are n/a) */
  shed: string[];
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
    /** sampled: runNs and events are estimates from a part of the interval (collector, bpfstats.ts) */
    bpf: { runNs: number; events: number; lost: number; sampled: boolean; bySource: Record<string, number> };
    /** 1, 5 and 15 minute load averages at the end of the interval, or null */
    loadavg: number[] | null;
    /** memory and swap at the end of the interval, or null */
    mem: MemInfo | null;
    /** charges with no owner process (a row vector: only charge slots are set) */
    unattributed: Float64Array;
  };
  /** system-wide extras of the subsystems with a folder, by subsystem name */
  ext: Record<string, unknown>;
  processes: ProcessRow[];
}

export interface ModelOptions {
  ncpu: number;
  cumulative?: boolean;
  userName?: (uid: number) => string;
  /** argv of a live process (read once per process), or null */
  cmdline?: (pid: number) => string[] | null;
  /** cgroup v2 id (of process pid) -> its path below the v2 mount ("/system.slice/nginx.service"; '' unknown) */
  cgroupPath?: (id: number, pid: number) => string;
  /** bytes per page (resident memory) */
  pageSize?: number;
  /** build ProcessRow.threadsDetail (otherwise it is empty) */
  threads?: boolean;
  /** the subsystems whose fields the views show (default: all) */
  subsystems?: Subsystem[];
  /** groups whose source is attached (default: all) */
  avail?: ReadonlySet<string>;
}

/** Slots a thread has: its task groups and the per-thread groups (charges are per process). */
const THREAD_SLOTS = SCHEMA.groups.filter((g) => g.kind !== 'charge').reduce((n, g) => n + g.size, 0);
const TASK_SLOTS = SCHEMA.taskSlots;
const THREAD_GROUPS = SCHEMA.groups.filter((g) => g.kind === 'thread');
/** Task groups with kernel state still open at a snapshot (GroupSpec.settle). */
const SETTLE_GROUPS = SCHEMA.groups.filter((g) => g.kind === 'task' && g.settle);
const ZERO = new Float64Array(TASK_SLOTS);
/** Exited processes kept for charges that arrive after their exit (writeback): at most this many */
const GONE_MAX = 8192;
/** snapshots a thread missing without an exit record waits for it before it counts as lost (Model.vanished) */
const VANISH_TICKS = 3;

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

function sameCounters(a: Float64Array, b: Float64Array): boolean {
  for (let i = 0; i < TASK_SLOTS; i++) if (a[i] !== b[i]) return false;
  return true;
}

interface ThreadState {
  pid: number;
  /** its process's start time (the process is (pid, pstartNs)) */
  pstartNs: number;
  startNs: number;
  /** the task slots as last seen */
  last: Float64Array;
  comm: string;
  /** this interval's delta and the totals since attach (kept with per-thread rows only) */
  d: Float64Array | null;
  total: Float64Array | null;
  row: ThreadRow | null;
}

/** A process: lasting metadata and totals, plus its work area for the current interval. */
interface Proc {
  pid: number;
  startNs: number;
  /** metadata read (from its leader's record, exec, /proc) */
  known: boolean;
  ppid: number;
  uid: number;
  comm: string;
  cmdline: string | null;
  kthread: boolean;
  source: 'bpf' | 'proc';
  state: string;
  exitCode: number | null;
  cgroupId: number;
  total: Float64Array;
  row: ProcessRow;
  /** another process with the same pid (an exit and its pid's reuse in one interval) */
  next: Proc | undefined;
  // ---- the current interval (valid while tick === Model.tick)
  tick: number;
  v: Float64Array;
  threads: ThreadRow[];
  /** threads accounted in this interval (live or exited in it) */
  nthreads: number;
  live: number;
  liveNonZombie: number;
  exits: TaskRecord[];
  leader: TaskRecord | undefined;
  any: TaskRecord | undefined;
  late: boolean;
  /** resident pages (the largest a live thread reported: they share the mm) */
  rss: number;
  /** totals since attach of descendants that exited, folded in at their exit */
  deadKids: Float64Array | null;
}

/** Processes by (pid, start time); a pid maps to a short chain. */
class ProcTable {
  private byPid = new Map<number, Proc>();
  size = 0;

  get(pid: number, startNs: number): Proc | undefined {
    for (let p = this.byPid.get(pid); p; p = p.next) if (p.startNs === startNs) return p;
    return undefined;
  }

  /** The newest process with this pid (a parent is looked up by pid alone). */
  latest(pid: number): Proc | undefined {
    let best: Proc | undefined;
    for (let p = this.byPid.get(pid); p; p = p.next) if (!best || p.startNs > best.startNs) best = p;
    return best;
  }

  add(p: Proc): void {
    p.next = this.byPid.get(p.pid);
    this.byPid.set(p.pid, p);
    this.size++;
  }

  delete(p: Proc): void {
    let prev: Proc | undefined;
    for (let q = this.byPid.get(p.pid); q; prev = q, q = q.next) {
      if (q !== p) continue;
      if (prev) prev.next = q.next;
      else if (q.next) this.byPid.set(p.pid, q.next);
      else this.byPid.delete(p.pid);
      q.next = undefined;
      this.size--;
      return;
    }
  }

  *values(): IterableIterator<Proc> {
    for (let p of this.byPid.values()) for (; p; p = p.next!) yield p;
  }
}

/** What one update works on: the interval's bounds and the processes touched in it. */
interface Tick {
  n: number;
  /** the previous snapshot's time: the interval starts there */
  fromNs: number;
  toNs: number;
  baseline: boolean;
  order: Proc[];
  /** tids present in this snapshot (dead or alive) */
  seen: Set<number>;
  forks: number;
  execs: number;
  running: number;
  lostThreads: number;
  /** scratch delta, reused for every thread */
  d: Float64Array;
  /** scratch settled counters of one record (GroupSpec.settle) */
  c: Float64Array;
  unattributed: Float64Array;
  /** MemTotal for MEM% (0: unknown) */
  memTotal: number;
  /** groups and sources with numbers for the whole interval (Model.availFor) */
  avail: ReadonlySet<string>;
  /** per 'thread' group, the slots that partition it where their group is available */
  partitions: ReadonlyMap<string, number[]>;
  /** task slots of groups missing in this interval: their base is the snapshot that ends it */
  rebase: number[];
}

export class Model {
  private threads = new Map<number, ThreadState>();
  /** tid -> threads whose exit record was seen, kept while their zombie can still show up */
  private dead = new Map<number, { startNs: number; tick: number }>();
  /**
   * Threads missing from the last snapshot without an exit record, by tid,
   * with the tick they went missing. Their parent can reap them (and the
   * iterator stop listing them) before their final switch-out writes the
   * exit record: a dying task preempted after exit_notify, seen for over a
   * second under emulation. They are lost only if no record comes within
   * VANISH_TICKS; their process is kept (without a row) meanwhile.
   */
  private vanished = new Map<number, { st: ThreadState; tick: number }>();
  /** old leaders replaced by an exec'ing thread whose exit record is still to come, by tid */
  private replacedLeaders = new Map<number, ThreadState>();
  private tick = 0;
  private procs = new ProcTable();
  /** exited processes, oldest first, kept for late charges */
  private gone = new ProcTable();
  private goneOrder: Proc[] = [];
  /** argv from exec records, by pid, until the process is gone */
  private execArgs = new Map<number, { args: string[]; timeNs: number }>();
  private prev?: { timeNs: number; idleNs: number[] | null; bpf: BpfCounters };
  private baseNs = 0;
  /** the last interval, for setCumulative */
  private last: Interval | null = null;
  private readonly subsystems: Subsystem[];
  private readonly avail: ReadonlySet<string>;
  private readonly folders: { name: string; folder: Folder }[];
  /** per 'thread' group: the row slots that partition it, where their group is available */
  private readonly partitions: ReadonlyMap<string, number[]>;
  /** sources missing in some interval since the baseline: totals since attach (--cumulative) lack them */
  private everMissing = new Set<string>();
  /** the last interval's availability as deltas and as totals, for setCumulative */
  private lastAvail: { delta: ReadonlySet<string>; total: ReadonlySet<string> } | null = null;

  constructor(private readonly opts: ModelOptions) {
    this.subsystems = opts.subsystems ?? SUBSYSTEMS;
    this.folders = this.subsystems.filter((s) => s.folder).map((s) => ({ name: s.name, folder: s.folder!() }));
    const shown = this.subsystems.flatMap((s) => s.groups);
    this.avail = opts.avail ?? new Set([...shown.map((g) => g.name), ...shown.map((g) => g.source), ...this.subsystems.flatMap((s) => s.hooks.map((h) => h.source))]);
    this.partitions = partitionsFor(this.avail);
  }

  /** What has numbers for a whole interval in which these sources were missing at some time: neither they nor their groups. */
  private availFor(missing: Iterable<string>): ReadonlySet<string> {
    const gone = new Set(missing);
    if (!gone.size) return this.avail;
    for (const g of SCHEMA.groups) if (gone.has(g.source)) gone.add(g.name);
    return new Set([...this.avail].filter((x) => !gone.has(x)));
  }

  /**
   * Rates <-> totals since attach, from now on and for the last interval
   * (returned re-shown), without waiting for the next sample.
   */
  setCumulative(on: boolean): Interval | null {
    this.opts.cumulative = on;
    const iv = this.last;
    if (!iv) return null;
    const spanNs = on ? iv.elapsedNs : iv.intervalNs;
    const avail = this.lastAvail ? (on ? this.lastAvail.total : this.lastAvail.delta) : iv.avail;
    for (const r of iv.processes) {
      const p = this.procs.get(r.pid, r.startNs) ?? this.gone.get(r.pid, r.startNs);
      if (p) r.v = on ? p.total : p.v;
      r.spanNs = spanNs;
      r.totals = on;
      r.avail = avail;
      for (const t of r.threadsDetail) {
        t.v = on ? t.total : t.delta;
        t.spanNs = spanNs;
        t.totals = on;
        t.avail = avail;
      }
    }
    this.last = { ...iv, cumulative: on, avail };
    return this.last;
  }

  /** Feed one sample. The first one is the baseline and yields null. */
  update(s: RawSample): Interval | null {
    const prev = this.prev;
    const baseline = !prev;
    if (baseline) this.baseNs = s.timeNs;
    // a source shed at any time in the interval: missing for all of it (and for totals since attach from then on)
    const missing = baseline ? [] : (s.missing ?? []);
    for (const m of missing) this.everMissing.add(m);
    const availDelta = this.availFor(missing);
    const availTotal = this.availFor(this.everMissing);
    const avail = this.opts.cumulative ? availTotal : availDelta;
    const t: Tick = {
      n: ++this.tick,
      fromNs: prev ? prev.timeNs : s.timeNs,
      toNs: s.timeNs,
      baseline,
      order: [],
      seen: new Set(),
      forks: 0,
      execs: 0,
      running: 0,
      lostThreads: 0,
      d: new Float64Array(THREAD_SLOTS),
      c: new Float64Array(TASK_SLOTS),
      unattributed: new Float64Array(SCHEMA.slots),
      memTotal: s.mem?.totalBytes ?? 0,
      avail,
      partitions: avail === this.avail ? this.partitions : partitionsFor(avail),
      rebase: SCHEMA.groups.filter((g) => g.kind === 'task' && missing.includes(g.source)).flatMap((g) => Array.from({ length: g.size }, (_, i) => g.base + i)),
    };
    this.applyEvents(t, s.events);
    for (const rec of s.tasks) this.applyLive(t, rec, 'bpf');
    for (const rec of s.procTasks) this.applyLive(t, rec, 'proc');
    // Charges made before the baseline belong to no interval.
    if (!baseline) for (const ch of s.charges) this.applyCharge(t, ch);
    this.forgetGone(t);
    const { rows, exited, threads, tasks } = this.buildRows(t);
    const ext = this.fold(t, s, rows);
    this.prev = { timeNs: s.timeNs, idleNs: s.idleNs, bpf: s.bpf };
    if (baseline) return null;
    this.lastAvail = { delta: availDelta, total: availTotal };

    const intervalNs = t.toNs - t.fromNs;
    const cpus = cpuTimes(intervalNs, prev!.idleNs, s.idleNs);
    return (this.last = {
      wallMs: s.wallMs,
      monoNs: s.timeNs,
      intervalNs,
      elapsedNs: s.timeNs - this.baseNs,
      ncpu: s.idleNs?.length || this.opts.ncpu,
      cumulative: Boolean(this.opts.cumulative),
      subsystems: this.subsystems,
      avail,
      shed: s.shed ?? [],
      cpus,
      system: {
        busyNs: cpus ? cpus.reduce((sum, c) => sum + c.busyNs, 0) : null,
        idleNs: cpus ? cpus.reduce((sum, c) => sum + c.idleNs, 0) : null,
        exited,
        forks: t.forks,
        execs: t.execs,
        tasks,
        threads,
        running: t.running,
        lostThreads: t.lostThreads,
        bpf: {
          runNs: Math.max(0, s.bpf.runNs - prev!.bpf.runNs),
          events: Math.max(0, s.bpf.runCount - prev!.bpf.runCount),
          lost: Math.max(0, s.bpf.lost - prev!.bpf.lost),
          sampled: Boolean(s.bpf.sampled),
          bySource: sourceDeltas(prev!.bpf.bySource, s.bpf.bySource),
        },
        loadavg: s.loadavg,
        mem: s.mem ?? null,
        unattributed: t.unattributed,
      },
      ext,
      processes: rows,
    });
  }

  /** The process (pid, start) in this interval's work area, created on first sight. */
  private acc(t: Tick, pid: number, startNs: number, source: 'bpf' | 'proc'): Proc {
    let p = this.procs.get(pid, startNs);
    if (!p) {
      p = newProc(pid, startNs, source);
      this.procs.add(p);
    }
    if (p.tick !== t.n) {
      p.tick = t.n;
      p.v.fill(0);
      p.threads = [];
      p.nthreads = 0;
      p.live = 0;
      p.liveNonZombie = 0;
      p.exits = [];
      p.leader = undefined;
      p.any = undefined;
      p.late = false;
      p.rss = 0;
      t.order.push(p);
    }
    return p;
  }

  /**
   * Add one thread's delta (rec - base; base null: unchanged since the last
   * snapshot, as most threads are) over the span it was alive, to its process.
   */
  private account(t: Tick, rec: TaskRecord, c: Float64Array, base: Float64Array | null, aliveFrom: number, aliveTo: number, st: ThreadState, source: 'bpf' | 'proc'): void {
    const d = t.d;
    if (base) for (let i = 0; i < TASK_SLOTS; i++) d[i] = Math.max(0, c[i] - base[i]);
    else d.fill(0, 0, TASK_SLOTS);
    const alive = Math.max(0, aliveTo - aliveFrom);
    for (const g of THREAD_GROUPS) {
      const parts = source === 'bpf' ? t.partitions.get(g.name) : undefined;
      if (!parts) d[g.base] = g.perThread!(d, alive);
      else {
        let sum = 0;
        for (const i of parts) sum += d[i];
        d[g.base] = sum;
      }
    }
    const p = this.acc(t, rec.pid, rec.pstartNs, source);
    const v = p.v;
    for (let i = 0; i < THREAD_SLOTS; i++) v[i] += d[i];
    p.nthreads++;
    if (this.opts.threads) {
      // task and thread slots only: charges are per process, and readers of
      // charge slots take a shorter vector as 0 there (1.1 KiB less per thread
      // each, 22 MiB at 10,000 threads)
      const total = (st.total ??= new Float64Array(THREAD_SLOTS));
      for (let i = 0; i < THREAD_SLOTS; i++) total[i] += d[i];
      const own = (st.d ??= new Float64Array(THREAD_SLOTS));
      own.set(d);
      const row = (st.row ??= { tid: rec.tid, comm: rec.comm, exited: false, v: own, spanNs: 0, avail: t.avail, total, delta: own });
      row.avail = t.avail;
      row.tid = rec.tid;
      row.comm = rec.comm;
      row.exited = rec.kind === 'exit';
      row.v = this.opts.cumulative ? total : own;
      row.totals = Boolean(this.opts.cumulative);
      p.threads.push(row);
    }
    if (rec.tid === rec.pid) p.leader = rec;
    p.any ??= rec;
  }

  private applyEvents(t: Tick, events: RingRecord[]): void {
    for (const ev of events) {
      if (ev.kind === 'fork') {
        if (ev.tid === ev.pid) t.forks++;
      } else if (ev.kind === 'exec') {
        t.execs++;
        this.execArgs.set(ev.pid, { args: ev.args, timeNs: ev.timeNs });
        if (ev.oldTid !== ev.tid) this.leaderReplaced(ev);
        // exec keeps the process (and its start time: de_thread copies the leader's)
        const p = this.procs.get(ev.pid, ev.startNs);
        if (p?.known) {
          p.cmdline = ev.args.join(' ');
          p.comm = ev.comm;
        }
      } else {
        this.applyExit(t, ev);
      }
    }
  }

  /** A record's task slots, with state still open in the kernel settled as of atNs (t.c), or rec.c itself. */
  private counters(t: Tick, rec: TaskRecord, atNs: number): Float64Array {
    if (!SETTLE_GROUPS.length) return rec.c;
    t.c.set(rec.c);
    for (const g of SETTLE_GROUPS) g.settle!(t.c, atNs);
    return t.c;
  }

  private applyExit(t: Tick, ev: TaskRecord): void {
    const c = this.counters(t, ev, ev.timeNs);
    const old = this.replacedLeaders.get(ev.tid);
    if (old && !(ev.flags & F_GROUP_DEAD)) {
      // the old leader of a process whose other thread exec'd, dying after that exec
      this.replacedLeaders.delete(ev.tid);
      if (!t.baseline) this.account(t, ev, c, old.last, t.fromNs, Math.max(t.fromNs, ev.timeNs), old, 'bpf');
      return;
    }
    const st = this.threads.get(ev.tid) ?? this.unvanish(ev.tid, ev.startNs);
    const known = st !== undefined && st.startNs === ev.startNs;
    this.threads.delete(ev.tid);
    this.dead.set(ev.tid, { startNs: ev.startNs, tick: t.n });
    if (t.baseline) return;
    // A thread we never saw counts from zero only if it was born after the previous snapshot.
    if (!known && ev.startNs < t.fromNs) return;
    const from = known ? t.fromNs : Math.max(t.fromNs, ev.startNs);
    this.account(t, ev, c, known ? st.last : ZERO, from, Math.max(from, ev.timeNs), known ? st : newThread(ev, c), 'bpf');
    this.acc(t, ev.pid, ev.pstartNs, 'bpf').exits.push(ev);
  }

  private applyLive(t: Tick, rec: TaskRecord, source: 'bpf' | 'proc'): void {
    t.seen.add(rec.tid);
    if (this.dead.get(rec.tid)?.startNs === rec.startNs) return; // unreaped, already accounted at its exit
    let st = this.threads.get(rec.tid) ?? this.unvanish(rec.tid, rec.startNs);
    if (st && st.startNs !== rec.startNs) st = undefined; // tid reused
    const bornInside = rec.startNs >= t.fromNs;
    const c = this.counters(t, rec, t.toNs);
    if (st) {
      const base = sameCounters(st.last, c) ? null : st.last;
      this.account(t, rec, c, base, t.fromNs, t.toNs, st, source);
      if (base) for (let i = 0; i < TASK_SLOTS; i++) st.last[i] = Math.max(st.last[i], c[i]);
      // a shed source's counters are not carried over its gap (e.g. an open wait settled while shed)
      for (const i of t.rebase) st.last[i] = c[i];
      st.comm = rec.comm;
      st.pid = rec.pid;
      st.pstartNs = rec.pstartNs;
    } else {
      // Unknown history (baseline, or missed by earlier snapshots): count from now.
      st = newThread(rec, c);
      const counted = bornInside && !t.baseline;
      this.account(t, rec, c, counted ? ZERO : null, counted ? rec.startNs : t.fromNs, t.toNs, st, source);
      this.threads.set(rec.tid, st);
    }
    const p = this.acc(t, rec.pid, rec.pstartNs, source);
    p.live++;
    if (rec.rssPages > p.rss) p.rss = rec.rssPages;
    if (!(rec.flags & F_ZOMBIE)) {
      p.liveNonZombie++;
      if (rec.state === 0) t.running++;
    }
  }

  /**
   * A charge to its owner process: one active in this interval takes it as it
   * is; one that exited before comes back as a late row; pid 0 is no owner.
   */
  private applyCharge(t: Tick, ch: ChargeRecord): void {
    if (ch.pid === 0) {
      combineInto(SCHEMA, t.unattributed, ch.v, THREAD_SLOTS);
      return;
    }
    let p = this.procs.get(ch.pid, ch.startNs);
    if (!p || p.tick !== t.n) {
      const gone = this.gone.get(ch.pid, ch.startNs);
      if (gone) this.gone.delete(gone);
      if (!p) {
        p = gone ?? newProc(ch.pid, ch.startNs, 'bpf');
        this.procs.add(p);
      }
      this.acc(t, p.pid, p.startNs, p.source).late = true;
    }
    combineInto(SCHEMA, p.v, ch.v, THREAD_SLOTS);
  }

  /** A thread back from `vanished` (an exit record, or a snapshot that lists it again), else undefined. */
  private unvanish(tid: number, startNs: number): ThreadState | undefined {
    const v = this.vanished.get(tid);
    // none, or a reused tid (the old thread still waits for its record)
    if (!v || v.st.startNs !== startNs) return undefined;
    this.vanished.delete(tid);
    this.threads.set(tid, v.st);
    return v.st;
  }

  /** Threads that vanished without an exit record, and dead ones no longer shown. */
  private forgetGone(t: Tick): void {
    for (const [tid, st] of this.threads) {
      if (!t.seen.has(tid)) {
        this.threads.delete(tid);
        // an older thread of a reused tid still waiting: lost now
        if (this.vanished.has(tid) && !t.baseline) t.lostThreads++;
        this.vanished.set(tid, { st, tick: t.n });
      }
    }
    for (const [tid, v] of this.vanished) {
      if (t.n - v.tick >= VANISH_TICKS) {
        this.vanished.delete(tid);
        if (!t.baseline) t.lostThreads++;
      }
    }
    // A thread that exited after this snapshot may still show up, unreaped, in the next one.
    for (const [tid, d] of this.dead) if (!t.seen.has(tid) && d.tick < t.n) this.dead.delete(tid);
  }

  private buildRows(t: Tick): { rows: ProcessRow[]; exited: number; threads: number; tasks: number } {
    const rows: ProcessRow[] = [];
    let exited = 0;
    let threads = 0;
    let tasks = 0;
    const spanNs = this.opts.cumulative ? t.toNs - this.baseNs : t.toNs - t.fromNs;
    for (const p of t.order) {
      this.describe(p);
      const isExited = p.late || (p.exits.length > 0 && p.live === 0);
      combineInto(SCHEMA, p.total, p.v);
      if (isExited) {
        if (!p.late) {
          const last = p.exits.find((e) => e.tid === e.pid) ?? p.exits[p.exits.length - 1];
          p.exitCode = exitStatus(last.exitCode);
          exited++;
          this.execArgs.delete(p.pid);
          // its family's totals live on in its parent's (the kernel's cutime, for every counter)
          const parent = this.procs.latest(p.ppid);
          if (parent && parent !== p && parent.startNs <= p.startNs) {
            const dk = (parent.deadKids ??= new Float64Array(SCHEMA.slots));
            combineInto(SCHEMA, dk, p.total);
            if (p.deadKids) combineInto(SCHEMA, dk, p.deadKids);
          }
        }
        this.procs.delete(p);
        this.keepGone(p);
      } else tasks++;
      threads += p.liveNonZombie;
      if (t.baseline) continue;
      for (const th of p.threads) th.spanNs = spanNs;
      const r = p.row;
      r.ppid = p.ppid;
      r.uid = p.uid;
      r.user = !p.known ? '?' : this.opts.userName ? this.opts.userName(p.uid) : String(p.uid);
      r.comm = p.comm;
      r.cmdline = p.cmdline ?? (p.kthread ? `[${p.comm}]` : p.comm);
      r.threads = isExited ? p.nthreads : p.liveNonZombie;
      r.state = isExited ? 'X' : p.state;
      r.kthread = p.kthread;
      r.source = p.source;
      r.exited = isExited;
      r.late = p.late;
      r.exitCode = isExited ? p.exitCode : null;
      r.rssBytes = p.rss * (this.opts.pageSize ?? 4096);
      r.memPct = t.memTotal > 0 ? (r.rssBytes / t.memTotal) * 100 : 0;
      r.cgroupPath = p.cgroupId && this.opts.cgroupPath ? this.opts.cgroupPath(p.cgroupId, p.pid) : '';
      // a recording made before paths were kept holds the last part only: the same then
      r.cgroup = r.cgroupPath.slice(r.cgroupPath.lastIndexOf('/') + 1) || (r.cgroupPath ? '/' : '');
      r.v = this.opts.cumulative ? p.total : p.v;
      r.spanNs = spanNs;
      r.totals = Boolean(this.opts.cumulative);
      r.avail = t.avail;
      r.threadsDetail = p.threads;
      r.deadKids = p.deadKids;
      r.delta = p.v;
      rows.push(r);
    }
    // a parent built before its child's exit was folded in sees it now
    for (const p of t.order) p.row.deadKids = p.deadKids;
    const waiting = new Set<Proc>();
    for (const v of this.vanished.values()) {
      const p = this.procs.get(v.st.pid, v.st.pstartNs);
      if (p) waiting.add(p);
    }
    for (const p of this.procs.values()) {
      if (p.tick !== t.n && !waiting.has(p)) {
        this.procs.delete(p);
        this.execArgs.delete(p.pid);
      }
    }
    return { rows, exited, threads, tasks };
  }

  /** The subsystems' own per-interval state; per-process results go on the rows. */
  private fold(t: Tick, s: RawSample, rows: ProcessRow[]): Record<string, unknown> {
    const ext: Record<string, unknown> = {};
    if (!this.folders.length) return ext;
    const outs = this.folders.map(({ name, folder }) => {
      const input = s.ext?.[name];
      const out = folder.fold({ collected: input?.collected, records: input?.records ?? [], fromNs: t.fromNs, toNs: t.toNs, baseline: t.baseline, cumulative: Boolean(this.opts.cumulative), avail: t.avail });
      ext[name] = out.system;
      return { name, per: out.perProcess };
    });
    for (const r of rows) {
      const key = `${r.pid}:${r.startNs}`;
      for (const { name, per } of outs) r.ext[name] = per?.get(key);
    }
    return ext;
  }

  /** Exited processes stay findable for charges that arrive later (writeback by flushers). */
  private keepGone(p: Proc): void {
    this.gone.add(p);
    this.goneOrder.push(p);
    if (this.goneOrder.length > GONE_MAX * 2) this.goneOrder = this.goneOrder.filter((q) => this.gone.get(q.pid, q.startNs) === q);
    while (this.gone.size > GONE_MAX) {
      const old = this.goneOrder.shift()!;
      if (this.gone.get(old.pid, old.startNs) === old) this.gone.delete(old);
    }
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

  /**
   * The command lines of the processes the model holds, as it shows them: a
   * recording's key line (src/recording), so a replay that starts there
   * shows what the live session showed.
   */
  cmdlines(): [number, string[] | null][] {
    const out: [number, string[] | null][] = [];
    for (const p of this.procs.values()) if (p.known) out.push([p.pid, p.cmdline === null ? null : [p.cmdline]]);
    return out;
  }

  /** The process's metadata: read on first sight, refreshed from its leader. */
  private describe(p: Proc): void {
    const rec = p.leader ?? p.any;
    if (!p.known) {
      if (!rec) return; // a late charge to a process ebtop never saw
      p.known = true;
      const exec = this.execArgs.get(p.pid);
      if (exec && exec.timeNs >= rec.startNs) p.cmdline = exec.args.join(' ');
      else if (p.live > 0 && this.opts.cmdline) p.cmdline = this.opts.cmdline(p.pid)?.join(' ') ?? null;
      p.ppid = rec.ppid;
      p.uid = rec.uid;
      p.comm = rec.comm;
      p.kthread = Boolean(rec.flags & F_KTHREAD);
      p.state = stateLetter(rec.state, rec.flags);
      p.cgroupId = rec.cgroupId;
    } else if (p.leader) {
      if (p.leader.cgroupId) p.cgroupId = p.leader.cgroupId; // moved to another cgroup
      p.ppid = p.leader.ppid;
      p.uid = p.leader.uid;
      p.comm = p.leader.comm;
      p.state = stateLetter(p.leader.state, p.leader.flags);
    }
  }
}

/** Per 'thread' group, the row slots of the group that partitions it, where that group is available. */
function partitionsFor(avail: ReadonlySet<string>): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const g of SCHEMA.groups) {
    if (g.partition && avail.has(g.name)) out.set(g.partition.of, g.partition.slots.map((s) => (g.at as Record<string, number>)[s]));
  }
  return out;
}

/** Run time per source over the interval, from two cumulative readings. */
function sourceDeltas(before: Record<string, number> | undefined, after: Record<string, number> | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, ns] of Object.entries(after ?? {})) out[k] = Math.max(0, ns - (before?.[k] ?? 0));
  return out;
}

function newThread(rec: TaskRecord, c: Float64Array): ThreadState {
  return { pid: rec.pid, pstartNs: rec.pstartNs, startNs: rec.startNs, last: c.slice(0, TASK_SLOTS), comm: rec.comm, d: null, total: null, row: null };
}

function newProc(pid: number, startNs: number, source: 'bpf' | 'proc'): Proc {
  const v = new Float64Array(SCHEMA.slots);
  const p: Proc = {
    pid,
    startNs,
    known: false,
    ppid: 0,
    uid: 0,
    comm: '?',
    cmdline: null,
    kthread: false,
    source,
    state: '?',
    exitCode: null,
    cgroupId: 0,
    total: new Float64Array(SCHEMA.slots),
    row: undefined!,
    next: undefined,
    tick: 0,
    v,
    threads: [],
    nthreads: 0,
    live: 0,
    liveNonZombie: 0,
    exits: [],
    leader: undefined,
    any: undefined,
    late: false,
    rss: 0,
    deadKids: null,
  };
  p.row = {
    pid,
    startNs,
    ppid: 0,
    uid: 0,
    user: '',
    comm: '?',
    cmdline: '',
    threads: 0,
    state: '?',
    kthread: false,
    source,
    exited: false,
    exitCode: null,
    late: false,
    rssBytes: 0,
    memPct: 0,
    cgroup: '',
    cgroupPath: '',
    v,
    spanNs: 0,
    avail: new Set(),
    threadsDetail: [],
    ext: {},
    deadKids: null,
    delta: v,
  };
  return p;
}
