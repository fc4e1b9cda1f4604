// `ebtop replay`: a recording as a second source behind the same views. The
// recorded raw samples go through the same Model a live session uses, with
// the names the live model was given, so the TUI, --json and every figure in
// them cannot tell a replay from the live run but for the moment it shows.
//
// Interval i is the model's update from sample i-1 (baseline) to sample i.
// Stepping forward feeds the next sample to the same model (its totals and
// recent percentiles go on); any other move rebuilds the model from the
// baseline before the target (a seek: at most one segment decoded).
import { Model, type Interval, type ProcessRow } from '../model';
import { Decoder, FormatError, type Decoded, type Lookups } from './format';
import { listShards, readFrames, readLines, StoreError, type Frame } from './store';
import { UserError } from '../errors';
import type { Seekable, TuiSource } from '../views/tui';

/** The recorded moments of a directory, from the frame headers. */
export class Recording {
  readonly frames: Frame[] = [];
  /** shards whose end was torn (a recorder killed mid-write) */
  readonly torn: string[] = [];
  /** the last two segments decoded: key frame index -> lines decoded so far */
  private cache: { start: number; decoded: Decoded[] }[] = [];

  constructor(readonly dir: string) {
    let shards: string[];
    try {
      shards = listShards(dir);
    } catch (e) {
      throw new UserError(`cannot read ${dir}: ${(e as Error).message}`);
    }
    for (const s of shards) {
      try {
        const r = readFrames(s);
        for (const f of r.frames) this.frames.push(f);
        if (r.torn) this.torn.push(s);
      } catch (e) {
        if (e instanceof StoreError) throw new UserError(e.message);
        throw e;
      }
    }
    for (let i = 1; i < this.frames.length; i++) if (this.isInterval(i)) this.intervals.push(i);
    if (!this.intervals.length) throw new UserError(`${dir}: no recorded interval (a recording needs two samples)`);
  }

  /** the frames that close an interval, in order */
  readonly intervals: number[] = [];

  /** 1-based place of frame i among the intervals (the header's "n of N") */
  ordinal(i: number): number {
    let lo = 0;
    let hi = this.intervals.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.intervals[mid] < i) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  }

  /** Frame i closes an interval: the sample before it is from the same recorder run. */
  isInterval(i: number): boolean {
    return i > 0 && i < this.frames.length && !this.frames[i].start;
  }

  /** The first and the last interval. */
  get first(): number {
    return this.intervals[0];
  }

  get last(): number {
    return this.intervals[this.intervals.length - 1];
  }

  /** The interval shown at wall time t: the last one that ends at or before t (else the first). */
  indexAt(wallMs: number): number {
    let lo = 0;
    let hi = this.frames.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.frames[mid].wallMs <= wallMs) lo = mid;
      else hi = mid - 1;
    }
    let i = lo;
    while (i < this.frames.length && !this.isInterval(i)) i++;
    if (i >= this.frames.length) i = this.last;
    return i;
  }

  /** The next (dir 1) or previous (dir -1) interval from i, or i at either end. */
  step(i: number, dir: 1 | -1): number {
    for (let j = i + dir; j > 0 && j < this.frames.length; j += dir) if (this.isInterval(j)) return j;
    return i;
  }

  /** Frame i decoded, with every frame of its segment before it (cached). */
  decoded(i: number): { d: Decoded; segment: Decoded[]; start: number } {
    let start = i;
    while (start > 0 && !this.frames[start].key) start--;
    let seg = this.cache.find((c) => c.start === start);
    if (!seg || seg.decoded.length <= i - start) {
      // the whole segment at once: stepping through it then decodes nothing more
      let end = i;
      while (end + 1 < this.frames.length && !this.frames[end + 1].key) end++;
      const lines = readLines(this.frames, start, end);
      if (lines.length < i - start + 1) throw new UserError(`${this.frames[i].shard}: a frame is damaged (its checksum fails)`);
      const dec = new Decoder();
      try {
        seg = { start, decoded: lines.map((l) => dec.decode(l)) };
      } catch (e) {
        if (e instanceof FormatError) throw new UserError(`${this.frames[start].shard}: ${e.message}`);
        throw e;
      }
      this.cache = [seg, ...this.cache.filter((c) => c.start !== start)].slice(0, 2);
    }
    return { d: seg.decoded[i - start], segment: seg.decoded, start };
  }
}

/** The names the live model was given, as of a frame. */
class Names {
  cmdline = new Map<number, string[] | null>();
  user = new Map<number, string>();
  cgroup = new Map<number, string>();

  /**
   * A line's names: the lookups the live model made, then the command lines
   * of its exec records (the live model took those from the records, which a
   * model rebuilt at a later baseline never sees).
   */
  apply(d: Decoded): void {
    const n: Lookups = d.names;
    for (const [k, v] of n.cmdline ?? []) this.cmdline.set(k, v);
    for (const [k, v] of n.user ?? []) this.user.set(k, v);
    for (const [k, v] of n.cgroup ?? []) this.cgroup.set(k, v);
    for (const ev of d.sample.events) if (ev.kind === 'exec') this.cmdline.set(ev.pid, ev.args);
  }
}

export interface ReplayOptions {
  cumulative: boolean;
  threads: boolean;
}

/**
 * A model driven by a recording: at(i) returns interval i, built from the
 * recorded samples i-1 and i.
 */
export class Replayer {
  private model: Model | null = null;
  private names = new Names();
  /** the interval the model last produced */
  pos = -1;
  private cumulative: boolean;

  constructor(
    readonly rec: Recording,
    private readonly opts: ReplayOptions,
  ) {
    this.cumulative = opts.cumulative;
  }

  at(i: number): Interval {
    if (!this.rec.isInterval(i)) throw new Error(`frame ${i} is not an interval`);
    if (this.model && this.pos >= 0 && this.rec.step(this.pos, 1) === i && i === this.pos + 1) {
      const { d } = this.rec.decoded(i);
      this.names.apply(d);
      this.pos = i;
      return this.model.update(d.sample)!;
    }
    // rebuild: the names as of frame i-1 (its segment's key line on), then the baseline
    const { segment, start } = this.rec.decoded(i - 1);
    this.names = new Names();
    for (let j = 0; j <= i - 1 - start; j++) this.names.apply(segment[j]);
    const key = segment[0].key!;
    const names = this.names;
    this.model = new Model({
      ncpu: key.meta.ncpu,
      cumulative: this.cumulative,
      threads: this.opts.threads,
      pageSize: key.meta.pageSize,
      avail: new Set(key.meta.avail),
      userName: (uid) => names.user.get(uid) ?? String(uid),
      cmdline: (pid) => names.cmdline.get(pid) ?? null,
      cgroupPath: (id) => names.cgroup.get(id) ?? '',
    });
    this.model.update(segment[i - 1 - start].sample);
    const { d } = this.rec.decoded(i);
    names.apply(d);
    this.pos = i;
    return this.model.update(d.sample)!;
  }

  setCumulative(on: boolean): Interval | null {
    this.cumulative = on;
    return this.model ? this.model.setCumulative(on) : null;
  }
}

/**
 * The TUI's source for a recording (views/tui.ts TuiSource): shows one
 * interval at a time, paused at the start; space plays it at the recorded
 * pace (each interval for its own length, or the delay set with d/s).
 */
export class ReplaySource implements TuiSource, Seekable {
  readonly seek: Seekable = this;
  private readonly player: Replayer;
  private i: number;
  private playing = false;
  private timer?: NodeJS.Timeout;
  private onInterval?: (iv: Interval, rows: ProcessRow[]) => void;
  private onError?: (e: unknown) => void;
  private delayMs: number | null = null;
  private lastIv: Interval | null = null;
  selfCpuPct = 0;
  private lastUsage = process.cpuUsage();
  private lastAt = process.hrtime.bigint();

  constructor(
    private readonly rec: Recording,
    opts: ReplayOptions & { atMs?: number; pids?: Set<number> },
  ) {
    this.player = new Replayer(rec, opts);
    this.i = opts.atMs === undefined ? rec.first : rec.indexAt(opts.atMs);
    this.pids = opts.pids;
  }

  private readonly pids?: Set<number>;

  start(onInterval: (iv: Interval, rows: ProcessRow[]) => void, onError: (e: unknown) => void): void {
    this.onInterval = onInterval;
    this.onError = onError;
    setImmediate(() => this.show());
  }

  private show(): void {
    try {
      const iv = this.player.at(this.i);
      this.lastIv = iv;
      this.measure();
      this.onInterval?.(iv, this.filter(iv.processes));
    } catch (e) {
      this.playing = false;
      this.onError?.(e);
    }
  }

  private measure(): void {
    const u = process.cpuUsage();
    const now = process.hrtime.bigint();
    const wall = Number(now - this.lastAt) / 1e3;
    this.selfCpuPct = wall > 0 ? ((u.user + u.system - this.lastUsage.user - this.lastUsage.system) / wall) * 100 : 0;
    this.lastUsage = u;
    this.lastAt = now;
  }

  private filter(rows: ProcessRow[]): ProcessRow[] {
    return this.pids ? rows.filter((r) => this.pids!.has(r.pid)) : rows;
  }

  stop(): void {
    this.playing = false;
    if (this.timer) clearTimeout(this.timer);
  }

  setDelay(ms: number): void {
    this.delayMs = ms;
  }

  setCumulative(on: boolean): { iv: Interval; rows: ProcessRow[] } | null {
    const iv = this.player.setCumulative(on);
    return iv ? { iv, rows: this.filter(iv.processes) } : null;
  }

  position() {
    const f = this.rec.frames;
    return {
      wallMs: f[this.i].wallMs,
      intervalNs: this.lastIv?.intervalNs ?? 0,
      firstMs: f[this.rec.first].wallMs,
      lastMs: f[this.rec.last].wallMs,
      playing: this.playing,
      ordinal: this.rec.ordinal(this.i),
      intervals: this.rec.intervals.length,
    };
  }

  step(dir: 1 | -1): void {
    const next = this.rec.step(this.i, dir);
    if (next === this.i) return;
    this.i = next;
    this.show();
  }

  jump(wallMs: number): void {
    this.i = this.rec.indexAt(wallMs);
    this.show();
  }

  togglePlay(): void {
    this.playing = !this.playing;
    if (this.timer) clearTimeout(this.timer);
    if (this.playing) this.tick();
  }

  private tick(): void {
    if (!this.playing) return;
    const next = this.rec.step(this.i, 1);
    if (next === this.i) {
      this.playing = false; // the end of the recording
      this.show();
      return;
    }
    const wait = this.delayMs ?? Math.max(50, this.rec.frames[next].wallMs - this.rec.frames[this.i].wallMs);
    this.timer = setTimeout(() => {
      this.i = next;
      this.show();
      this.tick();
    }, wait);
  }

  parseTime(text: string): number | null {
    return parseTime(text, this.rec.frames[this.i].wallMs);
  }

  timeline() {
    return this.rec.frames.map((f) => ({ wallMs: f.wallMs, cpu: f.cpu, diskBytes: f.diskBytes, netBytes: f.netBytes }));
  }
}

/**
 * A time as typed: an absolute date-time (ISO, or "03:12[:05]" on the day of
 * `refMs` in local time, the latest such moment not after it), or an offset
 * from refMs ("-10m", "+30s", "-1h"). Null when unreadable.
 */
export function parseTime(text: string, refMs: number): number | null {
  const t = text.trim();
  const off = /^([+-])(\d+(?:\.\d+)?)(s|m|h|d)?$/.exec(t);
  if (off) {
    const ms = Number(off[2]) * { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[(off[3] ?? 's') as 's' | 'm' | 'h' | 'd'];
    return refMs + (off[1] === '-' ? -ms : ms);
  }
  const hm = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(t);
  if (hm) {
    const d = new Date(refMs);
    d.setHours(Number(hm[1]), Number(hm[2]), Number(hm[3] ?? 0), 0);
    if (Number(hm[1]) > 23 || Number(hm[2]) > 59 || Number(hm[3] ?? 0) > 59) return null;
    return d.getTime();
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(t)) {
    const ms = Date.parse(t);
    return Number.isFinite(ms) ? ms : null;
  }
  return null;
}
