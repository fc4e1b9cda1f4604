// A recording directory: shard files of frames, written ahead one interval at
// a time, read back from any moment. No knowledge of what a line means
// (format.ts) nor of the model.
//
// A shard: "EBTOPREC" + u32 format version + u32 0, then frames:
//   u32 payload length | u32 crc32(payload) | u8 flags (1: key, 2: a
//   recorder's first) | 3 pad | f64 wall ms | f32 CPU busy share | f32 disk
//   bytes | f32 network bytes | u32 0 | payload
// The three figures are the interval's system totals, so replay draws the
// timeline of a whole recording from the headers alone.
// A segment is a key frame and the frames after it up to the next key frame:
// one brotli stream, flushed after every interval, so each frame's payload
// is that interval's line and a reader needs only the frames from the key on.
// A recorder killed mid-write leaves at most one torn frame at a shard's end:
// readers stop at it (its CRC or length does not hold) and go on with the
// next shard. A recorder never appends to an existing shard: a new one starts
// a new shard (its name sorts after: UTC start time, then the recorder's pid).
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { FORMAT_VERSION } from './format';

const MAGIC = Buffer.from('EBTOPREC');
const FILE_HEADER = 16;
const FRAME_HEADER = 32;
const F_KEY = 1;
const F_START = 2;
/** ebtop-<UTC date>-<time>-<ms>-<recorder pid>-<its shard count>.rec */
const SHARD_RE = /^ebtop-(\d{8}-\d{6}-\d{3})-(\d+)-(\d+)\.rec$/;

/** An interval's system totals, in its frame's header (the replay timeline). */
export interface Summary {
  /** busy share of all CPUs, 0..1 */
  cpu: number;
  diskBytes: number;
  netBytes: number;
}

/** One interval in a shard. */
export interface Frame extends Summary {
  shard: string;
  offset: number;
  length: number;
  crc: number;
  key: boolean;
  /** the first sample of a recorder's run: a baseline, not an interval */
  start: boolean;
  wallMs: number;
}

/** Shard names in the order they were written. */
export function listShards(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((n) => SHARD_RE.test(n))
    .sort((a, b) => {
      const ma = SHARD_RE.exec(a)!;
      const mb = SHARD_RE.exec(b)!;
      return ma[1] < mb[1] ? -1 : ma[1] > mb[1] ? 1 : Number(ma[3]) - Number(mb[3]) || a.localeCompare(b);
    })
    .map((n) => path.join(dir, n));
}

function shardName(wallMs: number, seq: number): string {
  const iso = new Date(wallMs).toISOString(); // 2026-12-03T16:15:43.123Z
  return `ebtop-${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}-${iso.slice(20, 23)}-${process.pid}-${seq}.rec`;
}

export class StoreError extends Error {}

/**
 * The frame headers of one shard, in order, up to the first one that is torn
 * or not whole. Payloads are checked (CRC) when read.
 */
export function readFrames(file: string): { frames: Frame[]; torn: boolean } {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    const size = fs.fstatSync(fd).size;
    const head = Buffer.alloc(FILE_HEADER);
    if (fs.readSync(fd, head, 0, FILE_HEADER, 0) < FILE_HEADER || !head.subarray(0, 8).equals(MAGIC)) {
      throw new StoreError(`${file}: not an ebtop recording`);
    }
    const version = head.readUInt32LE(8);
    if (version > FORMAT_VERSION) throw new StoreError(`${file}: recorded with format ${version}, newer than this ebtop reads (${FORMAT_VERSION})`);
    const frames: Frame[] = [];
    // headers read through a window of the file (one read per MiB, not one per frame)
    const WINDOW = 1 << 20;
    const win = Buffer.alloc(WINDOW);
    let winAt = 0;
    let winLen = 0;
    /** the header at file offset `at`: its offset in `win`, or -1 */
    const header = (at: number): number => {
      if (at < winAt || at + FRAME_HEADER > winAt + winLen) {
        winAt = at;
        winLen = fs.readSync(fd, win, 0, WINDOW, at);
        if (winLen < FRAME_HEADER) return -1;
      }
      return at - winAt;
    };
    let off = FILE_HEADER;
    let torn = false;
    while (off < size) {
      const o = off + FRAME_HEADER <= size ? header(off) : -1;
      if (o < 0) {
        torn = true;
        break;
      }
      const length = win.readUInt32LE(o);
      const wallMs = win.readDoubleLE(o + 12);
      if (off + FRAME_HEADER + length > size || !Number.isFinite(wallMs)) {
        torn = true;
        break;
      }
      frames.push({
        shard: file,
        offset: off + FRAME_HEADER,
        length,
        crc: win.readUInt32LE(o + 4),
        key: (win[o + 8] & F_KEY) !== 0,
        start: (win[o + 8] & F_START) !== 0,
        wallMs,
        cpu: win.readFloatLE(o + 20),
        diskBytes: win.readFloatLE(o + 24),
        netBytes: win.readFloatLE(o + 28),
      });
      off += FRAME_HEADER + length;
    }
    // a segment must start with a key frame: frames before the first are unreadable
    const first = frames.findIndex((f) => f.key);
    return { frames: first < 0 ? [] : frames.slice(first), torn };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The lines of frames[from..to] (inclusive) of one segment: frames[from]
 * must be its key frame. Stops early at a frame whose CRC fails.
 */
export function readLines(frames: Frame[], from: number, to: number): string[] {
  const parts: Buffer[] = [];
  let fd = -1;
  let open = '';
  try {
    for (let i = from; i <= to; i++) {
      const f = frames[i];
      if (f.shard !== open) {
        if (fd >= 0) fs.closeSync(fd);
        fd = fs.openSync(f.shard, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
        open = f.shard;
      }
      const b = Buffer.alloc(f.length);
      fs.readSync(fd, b, 0, f.length, f.offset);
      if (zlib.crc32(b) !== f.crc) break;
      parts.push(b);
    }
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
  if (!parts.length) return [];
  const text = zlib.brotliDecompressSync(Buffer.concat(parts), { finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH }).toString('utf8');
  const lines = text.split('\n');
  lines.pop(); // after the last newline
  return lines;
}

export interface WriterOptions {
  dir: string;
  /** a new segment (key line) every this many intervals: what a seek decodes at most */
  segmentFrames: number;
  /** a new shard when the current one reaches this many bytes, or this age */
  shardBytes: number;
  shardMs: number;
  /** retention: the oldest shards go while the directory holds more, or are older */
  maxBytes: number;
  retainMs: number;
  /** creates a file for writing (the caller decides whose rights) */
  create(file: string): number;
  /** removes a file (the caller decides whose rights) */
  remove(file: string): void;
  now?: () => number;
}

/**
 * Appends intervals. Each append compresses one line into the current
 * segment's stream, flushes it, and writes the frame in one write(2), so
 * what is on disk is always whole intervals (but for one torn at a crash).
 */
export class Writer {
  private fd = -1;
  private file = '';
  private bytes = 0;
  private openedAt = 0;
  private inSegment = 0;
  private stream: zlib.BrotliCompress | null = null;
  private seq = 0;
  /** sizes of the shards in the directory, oldest first (kept up to date rather than re-read) */
  private shards: { file: string; bytes: number; lastMs: number }[] = [];
  private queue: Promise<void> = Promise.resolve();
  /** shards removed by retention, for the log */
  removed: string[] = [];

  constructor(private readonly o: WriterOptions) {
    const now = this.now();
    for (const f of listShards(o.dir)) {
      const st = fs.lstatSync(f);
      if (st.isFile()) this.shards.push({ file: f, bytes: st.size, lastMs: st.mtimeMs || now });
    }
  }

  private now(): number {
    return this.o.now ? this.o.now() : Date.now();
  }

  /** Whether the next append starts a segment (the encoder must then write a key line). */
  get keyNext(): boolean {
    return this.stream === null || this.inSegment >= this.o.segmentFrames || this.shardFull();
  }

  private shardFull(): boolean {
    return this.fd < 0 || this.bytes >= this.o.shardBytes || this.now() - this.openedAt >= this.o.shardMs;
  }

  /**
   * Appends one line; key: it is a key line (keyNext was true when it was
   * encoded); start: the recorder's first sample. Serialized.
   */
  append(line: string, f: { key: boolean; start: boolean; wallMs: number; summary: Summary }): Promise<void> {
    const run = this.queue.then(() => this.write(line, f.key, f.start, f.wallMs, f.summary));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async write(line: string, key: boolean, start: boolean, wallMs: number, sum: Summary): Promise<void> {
    if (key) {
      this.stream?.close();
      this.stream = zlib.createBrotliCompress({
        params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 7, [zlib.constants.BROTLI_PARAM_LGWIN]: 22, [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT },
      });
      this.inSegment = 0;
      if (this.shardFull()) this.rotate();
    } else if (!this.stream) throw new Error('a delta line before any key line');
    const payload = await flushLine(this.stream!, line + '\n');
    const h = Buffer.alloc(FRAME_HEADER);
    h.writeUInt32LE(payload.length, 0);
    h.writeUInt32LE(zlib.crc32(payload), 4);
    h[8] = (key ? F_KEY : 0) | (start ? F_START : 0);
    h.writeDoubleLE(wallMs, 12);
    h.writeFloatLE(sum.cpu, 20);
    h.writeFloatLE(sum.diskBytes, 24);
    h.writeFloatLE(sum.netBytes, 28);
    const frame = Buffer.concat([h, payload]);
    fs.writeSync(this.fd, frame);
    this.bytes += frame.length;
    this.inSegment++;
    const cur = this.shards[this.shards.length - 1];
    cur.bytes = this.bytes;
    cur.lastMs = this.now();
    this.retain();
  }

  private rotate(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    let file = path.join(this.o.dir, shardName(this.now(), this.seq++));
    while (fs.existsSync(file)) file = path.join(this.o.dir, shardName(this.now(), this.seq++));
    this.fd = this.o.create(file);
    const head = Buffer.alloc(FILE_HEADER);
    MAGIC.copy(head);
    head.writeUInt32LE(FORMAT_VERSION, 8);
    fs.writeSync(this.fd, head);
    this.file = file;
    this.bytes = FILE_HEADER;
    this.openedAt = this.now();
    this.shards.push({ file, bytes: this.bytes, lastMs: this.openedAt });
  }

  /** Retention after every interval: the oldest shards go (never the one being written). */
  private retain(): void {
    let total = this.shards.reduce((n, s) => n + s.bytes, 0);
    const old = this.now() - this.o.retainMs;
    while (this.shards.length > 1 && (total > this.o.maxBytes || this.shards[0].lastMs < old)) {
      const s = this.shards.shift()!;
      total -= s.bytes;
      try {
        this.o.remove(s.file);
        this.removed.push(s.file);
      } catch {
        /* gone already (another tool, a user): nothing to free */
      }
    }
  }

  /** The directory's size as retention counts it. */
  get totalBytes(): number {
    return this.shards.reduce((n, s) => n + s.bytes, 0);
  }

  get currentShard(): string {
    return this.file;
  }

  async close(): Promise<void> {
    await this.queue;
    this.stream?.close();
    this.stream = null;
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}

/** Compresses `text` into the stream and returns what the flush produced: everything up to and including it. */
function flushLine(stream: zlib.BrotliCompress, text: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const onData = (c: Buffer) => chunks.push(c);
    const onError = (e: Error) => {
      stream.off('data', onData);
      reject(e);
    };
    stream.on('data', onData);
    stream.once('error', onError);
    stream.write(text);
    stream.flush(zlib.constants.BROTLI_OPERATION_FLUSH, () => {
      // data events for the flushed output are emitted before the callback
      stream.off('data', onData);
      stream.off('error', onError);
      resolve(Buffer.concat(chunks));
    });
  });
}
