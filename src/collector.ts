// Machine side: loads the BPF programs, then turns one refresh into one
// RawSample (task iterator dump + drained ring records + idle + BPF run stats).
import { decodeRing, sumStats, TaskDumpDecoder, type TaskRecord } from './abi';
import { UserError } from './errors';
import type { Logger } from './log';
import type { RawSample } from './model';
import { BPF_OBJECT_PATH, isNativeError, loadNative, type BpfObject, type Native } from './native';
import { planPrograms, preflight, type Features, type Source } from './probe';
import { listPids, ProcTaskReader, readLoadavg, readProcStatIdle } from './procfs';

/** How often /proc is scanned for processes BPF cannot see. */
const RESCAN_MS = 5000;

export interface CollectorOptions {
  log: Logger;
  /** capture argv at exec (default true) */
  captureArgs?: boolean;
  ringBytes?: number;
  /** override feature probes (tests force the fallback variants this way) */
  features?: Partial<Features>;
}

export class Collector {
  readonly sources: Source[];
  private iterLink = -1;
  private closed = false;
  private readonly taskDecoder = new TaskDumpDecoder();
  /** processes BPF cannot see (found by the last /proc scan) and their reader */
  private invisible: number[] = [];
  private nextScanAt = 0;
  private readonly procReader = new ProcTaskReader();
  /** ring records the addon dropped because they were not drained in time */
  private droppedInUserspace = 0;

  private constructor(
    private readonly native: Native,
    private readonly obj: BpfObject,
    sources: Source[],
  ) {
    this.sources = sources;
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
    const plan = planPrograms({ hasType: (n) => native.btfHasType(n), rawTracepoints: true, ...opts.features });
    let obj: BpfObject;
    try {
      obj = native.open(BPF_OBJECT_PATH);
    } catch (e) {
      throw new UserError(`cannot open ${BPF_OBJECT_PATH}: ${(e as Error).message} (run make)`);
    }
    const flush = () => {
      const text = native.takeLog();
      if (text) opts.log.info({ libbpf: text }, 'libbpf');
    };
    try {
      for (const p of plan.disable) native.setAutoload(obj, p, false);
      native.setMaxEntries(obj, 'cpu_run', Math.max(1, native.numPossibleCpus()));
      native.setMaxEntries(obj, 'events', opts.ringBytes ?? 8 << 20);
      native.setConst(obj, 'capture_args', u32(opts.captureArgs === false ? 0 : 1));
      native.load(obj);
    } catch (e) {
      flush();
      native.close(obj);
      throw new UserError(`the kernel refused ebtop's BPF programs: ${describe(e)} (details in the log)`);
    }
    flush();
    const c = new Collector(native, obj, plan.sources);
    for (const { program, source } of plan.load) {
      try {
        const link = native.attach(obj, program);
        if (program === 'dump_task') c.iterLink = link;
      } catch (e) {
        const s = c.sources.find((x) => x.source === source)!;
        s.state = 'missing';
        s.why = describe(e);
        opts.log.warn({ program, err: describe(e) }, 'attach failed');
      }
    }
    flush();
    if (c.iterLink < 0) {
      c.close();
      throw new UserError(`cannot read per-task counters: ${c.sources.find((s) => s.source === 'cpu.counters')?.why}`);
    }
    native.ringOpen(obj, 'events');
    try {
      native.enableStats(obj);
    } catch (e) {
      opts.log.warn({ err: describe(e) }, 'BPF run-time stats unavailable');
    }
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
      hook: '/proc/<pid>/task/*/{schedstat,stat,sched}',
      why: `found by a /proc scan every ${RESCAN_MS / 1000} s, read each refresh; marked source "proc"; their exit is not seen`,
    });
    return c;
  }

  sample(): RawSample {
    // Scan /proc first: a process it lists that the iterator then misses is invisible to BPF.
    const scan = Date.now() >= this.nextScanAt ? listPids() : null;
    const timeNs = Number(process.hrtime.bigint());
    const wallMs = Date.now();
    const tasks = this.taskDecoder.decode(this.native.readIter(this.obj, this.iterLink));
    const idleNs = readProcStatIdle();
    const ring = this.native.ringDrain(this.obj);
    const events = decodeRing(ring.data);
    if (scan) {
      const seen = new Set<number>();
      for (const t of tasks) seen.add(t.pid);
      this.invisible = scan.filter((pid) => !seen.has(pid));
      this.nextScanAt = Date.now() + RESCAN_MS;
    }
    const procTasks: TaskRecord[] = [];
    for (const pid of this.invisible) for (const t of this.procReader.read(pid, timeNs)) procTasks.push(t);
    this.procReader.prune(new Set(procTasks.map((t) => t.tid)));
    let runNs = 0;
    let runCount = 0;
    for (const p of this.native.progStats(this.obj)) {
      runNs += Number(p.runTimeNs);
      runCount += Number(p.runCount);
    }
    const st = sumStats(this.native.mapDump(this.obj, 'stats').values);
    this.droppedInUserspace += ring.dropped;
    return {
      timeNs,
      wallMs,
      tasks,
      procTasks,
      events,
      idleNs,
      bpf: { runNs, runCount, records: st.records, lost: st.lost + this.droppedInUserspace },
      loadavg: readLoadavg(),
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.native.close(this.obj);
  }
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
}

export function describe(e: unknown): string {
  if (isNativeError(e)) return `${e.call}: ${e.code} (errno ${e.errno})`;
  return e instanceof Error ? e.message : String(e);
}
