// Machine side: loads the BPF programs the shown columns need, then turns one
// refresh into one RawSample (task iterator dump + drained ring records +
// drained charge maps + idle + BPF run stats). Sheds and restores units of
// sources for the budget (src/budget.ts): their links are destroyed and made
// again, the programs stay loaded.
import fs from 'node:fs';
import { decodeCharges, decodeRing, sumStats, TaskDumpDecoder, type ChargeRecord, type TaskRecord } from './abi';
import { BpfStats, statsEnabledNow } from './bpfstats';
import { UserError } from './errors';
import type { Logger } from './log';
import type { RawSample } from './model';
import { describe, loadObject, u32 } from './loader';
import { loadNative, type BpfObject, type Native } from './native';
import type { ShedUnit } from './budget';
import { preflight, type Features, type Source } from './probe';
import { listPids, ProcTaskReader, readLoadavg, readMeminfo, readProcStatIdle } from './procfs';
import { SCHEMA, SUBSYSTEMS } from './subsystems';
import type { Machine } from './subsystems/types';

/** How often /proc is scanned for processes BPF cannot see. */
const RESCAN_MS = 5000;
/** wait_gate values (bpf/cpu.bpf.c): the inline classifier off, and off while the iterator discards open intervals */
const GATE_SHED = 1;
const GATE_PURGE = 2;
/** How often the per-tid fallback hash is swept for threads that vanished unseen. */
const SWEEP_MS = 10_000;

export interface CollectorOptions {
  log: Logger;
  /** capture argv at exec (default true) */
  captureArgs?: boolean;
  ringBytes?: number;
  /** hook sources to attach (default: every source); the core's are always attached */
  sources?: ReadonlySet<string>;
  /** subsystems switched off entirely (--no-<name>), and hook sources switched off alone (Subsystem.switches) */
  disabled?: ReadonlySet<string>;
  /** override feature probes (tests force the fallback variants this way) */
  features?: Partial<Features>;
}

/** The kernel's features, probed once through the addon. */
export function probeFeatures(native: Native): Features {
  let raw: boolean | undefined;
  let cmpxchg: boolean | undefined;
  return {
    hasType: (n) => native.btfHasType(n),
    get rawTracepoints() {
      return (raw ??= native.probeProgType('raw_tracepoint'));
    },
    get cmpxchg() {
      return (cmpxchg ??= native.probeCmpxchg());
    },
    tracepointArgs: (n) => native.btfTracepointArgs(n),
    hasMapType: (n) => native.probeMapType(n),
  };
}

/** Which hook sources to attach: the core's always, others when wanted and not switched off. */
export function wantedSources(opts: { sources?: ReadonlySet<string>; disabled?: ReadonlySet<string> }): Set<string> {
  const out = new Set<string>();
  for (const s of SUBSYSTEMS) {
    for (const h of s.hooks) {
      if (!s.optional) out.add(h.source);
      else if (!opts.disabled?.has(s.name) && !opts.disabled?.has(h.source) && (!opts.sources || opts.sources.has(h.source))) out.add(h.source);
    }
  }
  return out;
}

function readInt(file: string, fallback: number): number {
  try {
    return Number.parseInt(fs.readFileSync(file, 'latin1'), 10) || fallback;
  } catch {
    return fallback;
  }
}

export function readMachine(native: Native): Machine {
  return {
    ncpuPossible: native.numPossibleCpus(),
    pidMax: readInt('/proc/sys/kernel/pid_max', 32768),
    threadsMax: readInt('/proc/sys/kernel/threads-max', 32768),
  };
}

export class Collector {
  readonly sources: Source[];
  /** groups whose source is attached (or fell back): their numbers are real */
  readonly avail: Set<string>;
  private iterLink = -1;
  private closed = false;
  private readonly taskDecoder = new TaskDumpDecoder();
  /** processes BPF cannot see (found by the last /proc scan) and their reader */
  private invisible: number[] = [];
  private nextScanAt = 0;
  private readonly procReader = new ProcTaskReader();
  /** records lost on the way: dropped by the addon (not drained in time) or of unknown type */
  private lostInUserspace = 0;
  private readonly chargeGroups = SCHEMA.groups.filter((g) => g.kind === 'charge');
  /** the charge generation the kernel writes now (struct ebtop_owner.gen) */
  private gen = 0;
  /** per-thread state lives in the tid hash (no task-local storage): swept for vanished threads */
  private threadHash = false;
  private nextSweepAt = 0;
  /** run time and runs of our programs, sampled when the machine is busy (bpfstats.ts) */
  private stats!: BpfStats;
  /** each attached source's links, by program (a shed source's are -1) */
  private readonly links = new Map<string, { program: string; link: number }[]>();
  /** units shed now, and those shed at any time since the last sample (their interval is missing) */
  private readonly shedNow = new Map<string, ShedUnit>();
  private shedSince = new Map<string, ShedUnit>();

  private constructor(
    private readonly native: Native,
    private readonly obj: BpfObject,
    sources: Source[],
    private readonly disabled: ReadonlySet<string>,
  ) {
    this.sources = sources;
    const live = new Set(sources.filter((s) => s.state === 'attached' || s.state === 'fallback').map((s) => s.source));
    this.avail = new Set([...live, ...SCHEMA.groups.filter((g) => live.has(g.source)).map((g) => g.name)]);
  }

  static open(opts: CollectorOptions): Collector {
    const why = preflight();
    if (why) throw new UserError(why);
    let native: Native;
    try {
      native = loadNative();
    } catch (e) {
      throw new UserError(`native addon not built (${(e as Error).message.split('\n')[0]}): run make`);
    }
    const features = { ...probeFeatures(native), ...opts.features } as Features;
    const { obj, plan } = loadObject({
      native,
      features,
      hooks: SUBSYSTEMS.flatMap((s) => s.hooks),
      wanted: wantedSources(opts),
      maps: SUBSYSTEMS.flatMap((s) => s.maps ?? []),
      machine: readMachine(native),
      log: opts.log,
      prepare: (o) => {
        // Mapped twice (for wrap-around) and resident from the start: 2 MiB of
        // ring is 4 MiB of RSS (8 MiB was 16). It is drained as soon as it is
        // half full (uv_poll on its epoll fd), not only at refreshes: 1 MiB of
        // headroom holds ~3,500 exit records arriving during a busy refresh.
        native.setMaxEntries(o, 'events', opts.ringBytes ?? 2 << 20);
        native.setConst(o, 'capture_args', u32(opts.captureArgs === false ? 0 : 1));
      },
    });
    const flush = () => {
      const text = native.takeLog();
      if (text) opts.log.info({ libbpf: text }, 'libbpf');
    };
    // The probes are done (libbpf parsed its own copy for the load and freed it).
    native.btfRelease();
    const c = new Collector(native, obj, plan.sources, opts.disabled ?? new Set());
    c.threadHash = plan.consts.use_thread_hash === 1;
    try {
      c.attach(plan.load, opts.log);
      flush();
      native.ringOpen(obj, 'events');
    } catch (e) {
      c.close();
      if (e instanceof UserError) throw e;
      throw new UserError(`cannot read ebtop's ring buffer: ${describe(e)}`);
    }
    let warned = false;
    // run time by hook source: what the budget sheds by
    const sourceOf = new Map(plan.load.map((l) => [l.program, l.source]));
    c.stats = new BpfStats(
      {
        enable: () => {
          try {
            native.enableStats(obj);
          } catch (e) {
            if (!warned) opts.log.warn({ err: describe(e) }, 'BPF run-time stats unavailable');
            warned = true;
          }
        },
        disable: () => native.disableStats(obj),
        read: () => {
          let runNs = 0;
          let runCount = 0;
          const parts: Record<string, number> = {};
          for (const p of native.progStats(obj)) {
            runNs += Number(p.runTimeNs);
            runCount += Number(p.runCount);
            const src = sourceOf.get(p.name);
            if (src !== undefined) parts[src] = (parts[src] ?? 0) + Number(p.runTimeNs);
          }
          return { runNs, runCount, parts };
        },
        externallyOn: statsEnabledNow,
        after: (ms, fn) => {
          const t = setTimeout(fn, ms);
          t.unref();
          return () => clearTimeout(t);
        },
      },
      () => Number(process.hrtime.bigint()),
    );
    const idle = readProcStatIdle();
    c.sources.push({
      source: 'cpu.idle',
      what: 'per-CPU idle time (header meters, system idle_ns), 10 ms resolution',
      state: idle ? 'attached' : 'missing',
      hook: '/proc/stat (kernel NO_HZ idle + iowait)',
      why: idle ? undefined : '/proc/stat unreadable',
    });
    c.sources.push({
      source: 'proc.invisible',
      what: 'processes the task iterator cannot see',
      state: 'fallback',
      hook: '/proc/<pid>/task/*/{stat,schedstat,sched}',
      why: `found by a /proc scan every ${RESCAN_MS / 1000} s, read each refresh; marked source "proc"; their exit is not seen`,
    });
    return c;
  }

  private attach(load: { program: string; source: string }[], log: Logger): void {
    for (const { program, source } of load) {
      try {
        const link = this.native.attach(this.obj, program);
        if (program === 'dump_task') this.iterLink = link;
        const l = this.links.get(source) ?? [];
        l.push({ program, link });
        this.links.set(source, l);
      } catch (e) {
        const s = this.sources.find((x) => x.source === source)!;
        s.state = 'missing';
        s.why = describe(e);
        this.avail.delete(source);
        for (const g of SCHEMA.groups) if (g.source === source) this.avail.delete(g.name);
        log.warn({ program, err: describe(e) }, 'attach failed');
      }
    }
    if (this.iterLink < 0) throw new UserError(`cannot read per-task counters: ${this.sources.find((s) => s.source === 'cpu.counters')?.why}`);
  }

  /** Units the budget may shed now: every source of theirs attached (or fell back), none shed. */
  sheddable(units: readonly ShedUnit[]): string[] {
    return units.filter((u) => !this.shedNow.has(u.name) && u.sources.every((s) => this.avail.has(s) && this.links.has(s))).map((u) => u.name);
  }

  /** Units shed now, in the order they were shed. */
  get shed(): string[] {
    return [...this.shedNow.keys()];
  }

  /**
   * Stop a unit's programs: the gate of its inline code first (so nothing is
   * opened that its detached hooks would close), then its links.
   */
  shedUnit(u: ShedUnit): void {
    if (this.shedNow.has(u.name)) return;
    if (u.gate) this.native.mapUpdate(this.obj, u.gate, u32(0), u32(GATE_SHED));
    for (const src of u.sources) {
      for (const l of this.links.get(src) ?? []) {
        if (l.link >= 0) this.native.detach(this.obj, l.link);
        l.link = -1;
      }
    }
    this.shedNow.set(u.name, u);
    this.shedSince.set(u.name, u);
  }

  /**
   * Start a unit's programs again. Inline code (the wait classifier) left
   * intervals open when it was shed that ended unseen: one iterator pass in
   * purge mode discards them before it is switched back on, after its hooks
   * are attached again.
   */
  restoreUnit(u: ShedUnit): void {
    if (!this.shedNow.has(u.name)) return;
    if (u.gate) {
      this.native.mapUpdate(this.obj, u.gate, u32(0), u32(GATE_PURGE));
      this.native.readIter(this.obj, this.iterLink);
    }
    try {
      for (const src of u.sources) for (const l of this.links.get(src) ?? []) if (l.link < 0) l.link = this.native.attach(this.obj, l.program);
    } catch (e) {
      // stays shed, whole: what was attached again is detached
      for (const src of u.sources) {
        for (const l of this.links.get(src) ?? []) {
          if (l.link >= 0) this.native.detach(this.obj, l.link);
          l.link = -1;
        }
      }
      if (u.gate) this.native.mapUpdate(this.obj, u.gate, u32(0), u32(GATE_SHED));
      throw e;
    }
    if (u.gate) this.native.mapUpdate(this.obj, u.gate, u32(0), u32(0));
    this.shedNow.delete(u.name);
  }

  /** Units shed at any time since the last sample, and their sources: the interval ending now misses them. */
  private takeShed(): { shed: string[]; missing: string[] } {
    const units = [...this.shedSince.values()];
    this.shedSince = new Map(this.shedNow);
    return { shed: units.map((u) => u.name), missing: units.flatMap((u) => [...u.sources]) };
  }

  sample(): RawSample {
    // New charges go to the other generation from now on; this one is drained
    // at the end, after the iterator read: no program still writes into it.
    const draining = this.flipChargeGeneration();
    const { shed, missing } = this.takeShed();
    // Scan /proc first: a process it lists that the iterator then misses is invisible to BPF.
    // rescans on the monotonic clock: a wall-clock step back must not stop them
    const scan = performance.now() >= this.nextScanAt ? listPids() : null;
    const timeNs = Number(process.hrtime.bigint());
    const wallMs = Date.now();
    const tasks = this.taskDecoder.decode(this.native.readIter(this.obj, this.iterLink));
    const idleNs = readProcStatIdle();
    const ring = this.native.ringDrain(this.obj);
    const { records: events, ext: extRecords, unknown } = decodeRing(ring.data);
    // Every refresh, not only at a scan: a pid the scan found invisible that
    // exited and came back as a process BPF sees (pid reuse) is read from the
    // iterator alone, never from both.
    const seen = new Set<number>();
    for (const t of tasks) seen.add(t.pid);
    this.invisible = (scan ?? this.invisible).filter((pid) => !seen.has(pid));
    if (scan) {
      this.nextScanAt = performance.now() + RESCAN_MS;
    }
    const procTasks: TaskRecord[] = [];
    for (const pid of this.invisible) for (const t of this.procReader.read(pid)) procTasks.push(t);
    this.procReader.sweep();
    const ext: RawSample['ext'] = {};
    for (const s of SUBSYSTEMS) {
      const collected = s.collect && !this.disabled.has(s.name) ? s.collect({ native: this.native, obj: this.obj, avail: this.avail }) : undefined;
      if (collected !== undefined || extRecords[s.name]) ext[s.name] = { collected, records: extRecords[s.name] ?? [] };
    }
    const charges: ChargeRecord[] = [];
    for (const g of this.chargeGroups) {
      if (!this.avail.has(g.name)) continue;
      const d = decodeCharges(SCHEMA, g.name, draining, this.native.mapDump(this.obj, g.map!));
      if (d.keys.length) this.native.mapDelete(this.obj, g.map!, d.keys);
      for (const ch of d.charges) charges.push(ch);
    }
    const run = this.stats.take();
    const st = sumStats(this.native.mapDump(this.obj, 'stats').values);
    this.lostInUserspace += ring.dropped + unknown;
    if (this.threadHash && performance.now() >= this.nextSweepAt) {
      this.sweepThreadHash(tasks);
      this.nextSweepAt = performance.now() + SWEEP_MS;
    }
    return {
      timeNs,
      wallMs,
      tasks,
      procTasks,
      events,
      charges,
      ext,
      idleNs,
      bpf: { runNs: run.runNs, runCount: run.runCount, sampled: run.sampled, records: st.records, lost: st.lost + st.mapFull + this.lostInUserspace, bySource: run.parts },
      shed,
      missing,
      loadavg: readLoadavg(),
      mem: readMeminfo(),
    };
  }

  /** Flips the generation the kernel charges into; returns the one to drain. */
  private flipChargeGeneration(): number {
    const old = this.gen;
    if (!this.chargeGroups.some((g) => this.avail.has(g.name))) return old;
    this.gen ^= 1;
    this.native.mapUpdate(this.obj, 'charge_gen', u32(0), u32(this.gen));
    return old;
  }

  /**
   * Entries of threads that are gone (their exit record was lost, or they
   * died while ebtop was not attached): not in this snapshot with this start
   * time. Entries of threads born since the snapshot are kept (start time
   * later than the snapshot's newest).
   */
  private sweepThreadHash(tasks: TaskRecord[]): void {
    const live = new Map<number, number>();
    let newest = 0;
    for (const t of tasks) {
      live.set(t.tid, t.startNs);
      newest = Math.max(newest, t.startNs);
    }
    const d = this.native.mapDump(this.obj, 'thread_hash');
    const stale: Buffer[] = [];
    for (let i = 0; i < d.count; i++) {
      const tid = d.keys.readUInt32LE(i * d.keySize);
      const start = Number(d.values.readBigUInt64LE(i * d.valueSize));
      if (live.get(tid) !== start && start <= newest) stale.push(d.keys.subarray(i * d.keySize, (i + 1) * d.keySize));
    }
    if (stale.length) this.native.mapDelete(this.obj, 'thread_hash', Buffer.concat(stale));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stats?.close();
    this.native.close(this.obj);
  }
}

export { describe } from './loader';
