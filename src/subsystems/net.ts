// The net subsystem, declared as data: bytes per thread by socket class (in
// the caller's context), TCP connection counts charged to each connection's
// owner, and the per-connection table (bpf/net.bpf.c keeps it; collect()
// dumps it, the folder turns it and the closed connections' records into
// per-process gauges, deltas and the --connections list).
import { fmtBytes, fmtCount, fmtDuration, fmtPct } from '../format';
import type { Interval } from '../model';
import { onTracepoint, type HookSpec } from '../probe';
import { group } from './schema';
import type { CollectIO, Column, FoldInput, FoldOutput, Folder, JsonField, RecordSpec, RowLike, Subsystem, Values } from './types';
import { RAW } from './cpu';

/** struct ebtop_net_counters: per thread, in task-local storage. */
export const NET = group({
  name: 'net',
  kind: 'task',
  struct: 'ebtop_net_counters',
  member: 'thr.net',
  slots: ['net_tx_bytes', 'net_rx_bytes', 'tcp_tx_bytes', 'tcp_rx_bytes', 'udp_tx_bytes', 'udp_rx_bytes', 'unix_tx_bytes', 'unix_rx_bytes'],
  source: 'net.send',
});

/** struct ebtop_net_tcp: per owner of a TCP socket, drained each refresh. */
export const NET_TCP = group({
  name: 'net_tcp',
  kind: 'charge',
  struct: 'ebtop_net_tcp',
  map: 'net_tcp',
  slots: ['tcp_new', 'tcp_closed', 'tcp_errors', 'tcp_retransmits'],
  source: 'net.tcp',
});

/** Received bytes come from their own hook (sock_recv_length): fields and columns of rx need it. */
const RECV = 'net.recv';

/** Bounds set before load; tests shrink them to see overflow counted. */
export const NET_LIMITS = { connections: 65536 };

export const REC_CONN = 5;

// ------------------------------------------------------------------ records

/** struct ebtop_conn, member by member (test/unit/net.test.ts holds it to the object's BTF). */
export const CONN_LAYOUT = {
  size: 120,
  fields: {
    type: [0, 4], pid: [4, 4], pstart_ns: [8, 8], id: [16, 8], start_ns: [24, 8], end_ns: [32, 8],
    tx_bytes: [40, 8], rx_bytes: [48, 8], retransmits: [56, 8], segs_out: [64, 8],
    netns: [72, 4], family: [76, 2], state: [78, 1], flags: [79, 1], lport: [80, 2], rport: [82, 2], pad: [84, 4],
    laddr: [88, 16], raddr: [104, 16],
  } as Record<string, readonly [offset: number, size: number]>,
};

/** ebtop_conn.flags (bpf/ebtop.h EBTOP_CONN_*) that userspace reads */
export const CONN_ESTABLISHED = 0x4;
export const CONN_FOUND = 0x10;

/** One TCP connection as the kernel last had it (live), or its final values (closed). */
export interface Conn {
  /** socket cookie (or address): unique among live connections (see idOf) */
  id: number;
  pid: number;
  pstartNs: number;
  startNs: number;
  /** closed: when it was destroyed; live: 0 */
  endNs: number;
  txBytes: number;
  rxBytes: number;
  retransmits: number;
  segsOut: number;
  netns: number;
  family: number;
  state: number;
  flags: number;
  lport: number;
  rport: number;
  laddr: string;
  raddr: string;
}

const u64 = (b: Buffer, o: number) => b.readUInt32LE(o) + b.readUInt32LE(o + 4) * 0x1_0000_0000;

/**
 * A connection id (u64) as an exact number: cookies count up from 1; kernel
 * socket addresses (raw_tp fallback) differ only in their low 53 bits.
 */
export function idOf(b: Buffer, o: number): number {
  return b.readUInt32LE(o) + (b.readUInt32LE(o + 4) & 0x1f_ffff) * 0x1_0000_0000;
}
const F = CONN_LAYOUT.fields;
export const AF_INET = 2;
export const AF_INET6 = 10;

/** An address as text: dotted IPv4, or RFC 5952 IPv6 (v4-mapped as ::ffff:a.b.c.d). */
export function formatAddr(family: number, b: Buffer, o: number): string {
  if (family === AF_INET) return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(b.readUInt16BE(o + i * 2));
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) return `::ffff:${b[o + 12]}.${b[o + 13]}.${b[o + 14]}.${b[o + 15]}`;
  // the longest run of two or more zero words becomes ::
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  return best < 0 ? hex(words) : `${hex(words.slice(0, best))}::${hex(words.slice(best + bestLen))}`;
}

export function decodeConn(b: Buffer, o: number): Conn {
  const family = b.readUInt16LE(o + F.family[0]);
  return {
    id: idOf(b, o + F.id[0]),
    pid: b.readUInt32LE(o + F.pid[0]),
    pstartNs: u64(b, o + F.pstart_ns[0]),
    startNs: u64(b, o + F.start_ns[0]),
    endNs: u64(b, o + F.end_ns[0]),
    txBytes: u64(b, o + F.tx_bytes[0]),
    rxBytes: u64(b, o + F.rx_bytes[0]),
    retransmits: u64(b, o + F.retransmits[0]),
    segsOut: u64(b, o + F.segs_out[0]),
    netns: b.readUInt32LE(o + F.netns[0]),
    family,
    state: b[o + F.state[0]],
    flags: b[o + F.flags[0]],
    lport: b.readUInt16LE(o + F.lport[0]),
    rport: b.readUInt16LE(o + F.rport[0]),
    laddr: formatAddr(family, b, o + F.laddr[0]),
    raddr: formatAddr(family, b, o + F.raddr[0]),
  };
}

const records: RecordSpec[] = [{ type: REC_CONN, size: CONN_LAYOUT.size, decode: decodeConn }];

// ------------------------------------------------------------------ collect

/** What collect() reads each refresh. */
export interface NetCollected {
  /** the live connection table */
  conns: Conn[];
  /** connections refused by the full table since load (cumulative) */
  connFull: number;
}

/**
 * Decodes successive dumps of the connection table; an entry whose bytes did
 * not change since the last dump (an idle connection) gets the same Conn back.
 */
export class ConnDumpDecoder {
  private prev: Buffer = Buffer.alloc(0);
  private prevValueSize = 0;
  private prevIds: number[] = [];
  private prevConns: Conn[] = [];

  decode(keys: Buffer, values: Buffer, count: number, valueSize: number): Conn[] {
    const out: Conn[] = new Array(count);
    const ids: number[] = new Array(count);
    const size = CONN_LAYOUT.size;
    // a hash table's order holds between dumps where nothing was added or removed:
    // look the previous entry up by id only where the order changed
    let byId: Map<number, number> | undefined;
    for (let i = 0; i < count; i++) {
      const o = i * valueSize;
      const id = (ids[i] = idOf(keys, i * 8));
      let j = i;
      if (this.prevIds[i] !== id) {
        byId ??= new Map(this.prevIds.map((x, k) => [x, k]));
        j = byId.get(id) ?? -1;
      }
      const po = j * this.prevValueSize;
      out[i] = j >= 0 && values.compare(this.prev, po, po + size, o, o + size) === 0 ? this.prevConns[j] : decodeConn(values, o);
    }
    this.prev = values;
    this.prevValueSize = valueSize;
    this.prevIds = ids;
    this.prevConns = out;
    return out;
  }
}

const decoders = new WeakMap<object, ConnDumpDecoder>();
/** entries seen in state CLOSE, by id: since when (performance.now() ms: a wall-clock step must neither sweep them at once nor never) */
const closedSince = new WeakMap<object, Map<number, number>>();
/** A socket stays in CLOSE only until it is destroyed (or reconnects): longer means its destroy was never delivered. */
const STALE_CLOSE_MS = 60_000;

/**
 * Entries the kernel will never end: now and then it runs no program for a
 * tcp_destroy_sock (seen in bursts of thousands of closes, README), so an
 * entry can stay in CLOSE forever. Those are deleted here, keeping the table
 * bounded by the sockets that exist.
 */
export function sweepStale(io: CollectIO, keys: Buffer, conns: Conn[], nowMs: number): void {
  let since = closedSince.get(io.obj);
  if (!since) closedSince.set(io.obj, (since = new Map()));
  const seen = new Set<number>();
  const stale: Buffer[] = [];
  conns.forEach((c, i) => {
    if (c.state !== TCP_CLOSE) return;
    seen.add(c.id);
    const t = since!.get(c.id);
    if (t === undefined) since!.set(c.id, nowMs);
    else if (nowMs - t > STALE_CLOSE_MS) stale.push(keys.subarray(i * 8, i * 8 + 8));
  });
  for (const id of since.keys()) if (!seen.has(id)) since.delete(id);
  if (stale.length) io.native.mapDelete(io.obj, 'net_conns', Buffer.concat(stale));
}

function collect(io: CollectIO): NetCollected | undefined {
  if (!io.avail.has('net.tcp')) return undefined;
  let dec = decoders.get(io.obj);
  if (!dec) decoders.set(io.obj, (dec = new ConnDumpDecoder()));
  const d = io.native.mapDump(io.obj, 'net_conns');
  const conns = dec.decode(d.keys, d.values, d.count, d.valueSize);
  sweepStale(io, d.keys, conns, performance.now());
  const st = io.native.mapDump(io.obj, 'net_stats');
  let connFull = 0;
  for (let o = 0; o + 8 <= st.values.length; o += 8) connFull += u64(st.values, o);
  return { conns, connFull };
}

// ------------------------------------------------------------------ folder

export const TCP_STATES = ['?', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING', 'NEW_SYN_RECV'];
const TCP_TIME_WAIT = 6;
const TCP_CLOSE = 7;
const TCP_LISTEN = 10;
const TCP_CLOSING = 11;

/** Open now: a connection being set up, up, or closing; not closed, not a listener. */
export function isOpen(state: number): boolean {
  return state >= 1 && state <= TCP_CLOSING && state !== TCP_TIME_WAIT && state !== TCP_CLOSE && state !== TCP_LISTEN;
}

/** One connection in the --connections list (JSON field names). */
export interface ConnRow {
  proto: 'tcp';
  family: 'ipv4' | 'ipv6';
  laddr: string;
  lport: number;
  raddr: string;
  rport: number;
  state: string;
  /** over the interval (totals since first seen with --cumulative) */
  tx_bytes: number;
  rx_bytes: number;
  retransmits: number;
  age_ns: number;
  /** network namespace inode (as in /proc/<pid>/ns/net) */
  netns: number;
  /** destroyed in this interval (listed this once) */
  closed: boolean;
}

/** One connection followed across dumps: its totals at the last one, and what it shows for this interval. */
interface Track {
  conn: Conn;
  startNs: number;
  /** owner as `${pid}:${start}`, and the pid it was made for (an accepted socket gets its owner later) */
  owner: string;
  ownerPid: number;
  tx: number;
  rx: number;
  retransmits: number;
  segs: number;
  /** shown: the interval's delta, or the totals with --cumulative */
  showTx: number;
  showRx: number;
  showRetransmits: number;
  ageNs: number;
  closed: boolean;
  /** the fold that last saw it in the live table */
  fold: number;
}

/**
 * A process's share of the connection table in one interval (row.ext.net).
 * Its connection list is made when asked for (--connections): the tracks it
 * refers to change at the next fold, as the model's rows do.
 */
export class NetProc {
  /** connections open now */
  active = 0;
  /** data segments its connections sent (tcp_sock data_segs_out): tcp_retrans_pct's denominator */
  segsOut = 0;
  readonly tracks: Track[] = [];
  private rows?: ConnRow[];

  /** sorted by traffic, biggest first */
  get conns(): ConnRow[] {
    return (this.rows ??= this.tracks.map(rowOf).sort(byTraffic));
  }
}

/** The system's share (interval.ext.net). */
export interface NetSystem {
  /** connections open now, owned or not */
  active: number;
  /** entries in the kernel's connection table */
  tracked: number;
  /** connections the full table could not track, in the interval */
  overflow: number;
}

/** Folds kept for an owner's --cumulative totals after its last connection went. */
const KEEP_FOLDS = 600;

function track(c: Conn): Track {
  return { conn: c, startNs: c.startNs, owner: `${c.pid}:${c.pstartNs}`, ownerPid: c.pid, tx: 0, rx: 0, retransmits: 0, segs: 0, showTx: 0, showRx: 0, showRetransmits: 0, ageNs: 0, closed: false, fold: 0 };
}

/**
 * Takes one dump (or final record) of a connection: the interval's deltas
 * against the totals last seen (none: it is new since, all of it counts).
 * `again`: a second copy in the same dump, whose deltas add to the first's.
 * Returns the data segments sent in the interval.
 */
function advance(t: Track, c: Conn, fresh: boolean, cumulative: boolean, again = false): number {
  const dTx = c.txBytes - t.tx;
  const dRx = c.rxBytes - t.rx;
  const dRet = c.retransmits - t.retransmits;
  const dSegs = c.segsOut - t.segs;
  t.conn = c;
  t.tx = c.txBytes;
  t.rx = c.rxBytes;
  t.retransmits = c.retransmits;
  t.segs = c.segsOut;
  if (c.pid !== t.ownerPid) {
    t.owner = `${c.pid}:${c.pstartNs}`;
    t.ownerPid = c.pid;
  }
  t.showTx = cumulative ? c.txBytes : (again ? t.showTx : 0) + Math.max(0, dTx);
  t.showRx = cumulative ? c.rxBytes : (again ? t.showRx : 0) + Math.max(0, dRx);
  t.showRetransmits = cumulative ? c.retransmits : (again ? t.showRetransmits : 0) + Math.max(0, dRet);
  return fresh ? c.segsOut : Math.max(0, dSegs);
}

/**
 * Folds a connection missing from the dump keeps its totals, for its record
 * or its entry to come back: the collector drains the ring before it dumps
 * the table, so a connection destroyed in between is in neither, and its
 * record comes at the next refresh. Forgotten at once, that record counted
 * all its bytes again (seen under emulation: the iperf3 server's rows summed
 * to 232 MB for its 130 MB). Past this, its record was lost.
 */
const VANISH_FOLDS = 3;

/**
 * Per-connection deltas between successive dumps of the live table plus the
 * records of those destroyed, summed per owner. Pure: dumps and records in,
 * per-process and system values out.
 */
export class NetFolder implements Folder {
  /**
   * Connections by id: the last one seen with it in the live table (a reused
   * id with another start time is another connection); kept VANISH_FOLDS
   * folds after it was last seen there.
   */
  private tracks = new Map<number, Track>();
  /**
   * Connections whose id (a socket address) a newer one took while their
   * record was still to come, by `${id}:${startNs}`; kept as long.
   */
  private displaced = new Map<string, Track>();
  private fullAtLast = -1;
  /** --cumulative: per owner, segments since the baseline and the fold that last added to them */
  private totals = new Map<string, { segs: number; fold: number }>();
  private folds = 0;
  private overflowTotal = 0;

  /** The track of a destroyed connection, taken out of the folder; undefined when never seen live (or forgotten). */
  private take(c: Conn): Track | undefined {
    const t = this.tracks.get(c.id);
    if (t?.startNs === c.startNs) {
      this.tracks.delete(c.id);
      return t;
    }
    if (!this.displaced.size) return undefined;
    const key = `${c.id}:${c.startNs}`;
    const d = this.displaced.get(key);
    if (d) this.displaced.delete(key);
    return d;
  }

  fold(input: FoldInput): FoldOutput {
    const col = input.collected as NetCollected | undefined;
    const closed = input.records as Conn[];
    if (!col) return {};
    const n = ++this.folds;
    const { baseline, cumulative } = input;
    const per = new Map<string, NetProc>();
    const proc = (t: Track) => {
      let p = per.get(t.owner);
      if (!p) per.set(t.owner, (p = new NetProc()));
      return p;
    };
    // a record can arrive before its entry is deleted: the dump's copy is then not counted
    let closing: Map<number, number> | undefined;
    if (closed.length) closing = new Map(closed.map((c) => [c.id, c.startNs]));
    let active = 0;

    // the destroyed first: a reused id in the dump is another connection
    for (const c of closed) {
      const known = this.take(c);
      if (baseline || !c.pid) continue;
      const t = known ?? track(c);
      const segs = advance(t, c, !known, cumulative);
      t.closed = true;
      t.ageNs = c.flags & CONN_FOUND ? 0 : Math.max(0, c.endNs - c.startNs);
      const p = proc(t);
      p.segsOut += segs;
      p.tracks.push(t);
    }
    for (const c of col.conns) {
      if (closing?.get(c.id) === c.startNs) continue;
      let t = this.tracks.get(c.id);
      if (t && t.fold === n && t.startNs === c.startNs) {
        // listed twice in this dump (a key-by-key walk starts again when a key
        // it stands on is deleted): the later copy adds what it did meanwhile
        const row = per.get(t.owner);
        const segs = advance(t, c, false, cumulative, true);
        if (row && !baseline) row.segsOut += segs;
        continue;
      }
      const fresh = !t || t.startNs !== c.startNs;
      if (fresh) {
        // its id now keys another connection: the one it keyed may still have a record to come
        if (t) this.displaced.set(`${c.id}:${t.startNs}`, t);
        this.tracks.set(c.id, (t = track(c)));
      }
      const segs = advance(t!, c, fresh, cumulative);
      t!.fold = n;
      t!.ageNs = c.flags & CONN_FOUND ? 0 : Math.max(0, input.toNs - c.startNs);
      const open = isOpen(c.state);
      if (open) active++;
      if (baseline || !c.pid) continue;
      const p = proc(t!);
      if (open) p.active++;
      p.segsOut += segs;
      p.tracks.push(t!);
    }
    // gone from the table without a record: kept a few folds for it (VANISH_FOLDS)
    for (const [id, t] of this.tracks) if (n - t.fold >= VANISH_FOLDS) this.tracks.delete(id);
    for (const [k, t] of this.displaced) if (n - t.fold >= VANISH_FOLDS) this.displaced.delete(k);

    const overflow = this.fullAtLast < 0 ? 0 : Math.max(0, col.connFull - this.fullAtLast);
    this.fullAtLast = col.connFull;
    if (baseline) return { system: { active, tracked: col.conns.length, overflow: 0 } satisfies NetSystem };
    this.overflowTotal += overflow;
    if (cumulative) {
      for (const [k, p] of per) {
        const t = this.totals.get(k) ?? { segs: 0, fold: 0 };
        t.segs += p.segsOut;
        t.fold = n;
        this.totals.set(k, t);
        p.segsOut = t.segs;
      }
      for (const [k, t] of this.totals) if (n - t.fold > KEEP_FOLDS) this.totals.delete(k);
    }
    const system: NetSystem = { active, tracked: col.conns.length, overflow: cumulative ? this.overflowTotal : overflow };
    return { perProcess: per, system };
  }
}

function rowOf(t: Track): ConnRow {
  const c = t.conn;
  return {
    proto: 'tcp',
    family: c.family === AF_INET6 ? 'ipv6' : 'ipv4',
    laddr: c.laddr,
    lport: c.lport,
    raddr: c.raddr,
    rport: c.rport,
    state: TCP_STATES[c.state] ?? String(c.state),
    tx_bytes: t.showTx,
    rx_bytes: t.showRx,
    retransmits: t.showRetransmits,
    age_ns: t.ageNs,
    netns: c.netns,
    closed: t.closed,
  };
}

function byTraffic(a: ConnRow, b: ConnRow): number {
  return b.tx_bytes + b.rx_bytes - (a.tx_bytes + a.rx_bytes) || b.retransmits - a.retransmits || a.lport - b.lport || a.rport - b.rport;
}

// ------------------------------------------------------------- values, views

/** Per second over the interval; with totals (`c`, --cumulative) the total itself. */
const rate = (n: number, r: Values) => (r.totals ? n : r.spanNs > 0 ? (n * 1e9) / r.spanNs : 0);
// thread rows end before the charge slots (charges are per process): 0 there
const at = (i: () => number) => (r: Values) => (i() < r.v.length ? r.v[i()] : 0);
const ext = (r: Values) => r.ext?.net as NetProc | undefined;
const netTx = at(() => NET.at.net_tx_bytes);
const netRx = at(() => NET.at.net_rx_bytes);
const tcpNew = at(() => NET_TCP.at.tcp_new);
const retransmits = at(() => NET_TCP.at.tcp_retransmits);
const active = (r: Values) => ext(r)?.active ?? 0;

/** Retransmitted / data segments sent, %; null when it sent none. */
export function retransPct(r: Values): number | null {
  const segs = ext(r)?.segsOut ?? 0;
  return segs > 0 ? (retransmits(r) / segs) * 100 : null;
}

/** RETX% stands out when anything was retransmitted (the TUI colours it). */
export function retxHighlight(r: RowLike, _iv?: Interval): boolean {
  return r.avail.has(NET_TCP.name) && retransmits(r) > 0;
}

const col = (c: Omit<Column, 'align' | 'descending'> & Partial<Column>): Column => ({ align: 'right', descending: true, ...c });
const retx: Column = {
  ...col({
    id: 'retx',
    title: 'RETX%',
    width: 5,
    needs: NET_TCP.name,
    help: 'TCP segments retransmitted / data segments sent, % (- when it sent none)',
    text: (r) => {
      const p = retransPct(r);
      return p === null ? '-' : fmtPct(p);
    },
    value: (r) => retransPct(r) ?? -1,
  }),
  cue: (r) => (retxHighlight(r) ? 'retrans' : null),
};
const columns: Column[] = [
  col({ id: 'net_tx', title: 'NET-TX', width: 6, needs: NET.name, help: 'bytes sent per second over IP sockets (TCP, UDP, ...)', text: (r) => fmtBytes(rate(netTx(r), r)), value: netTx }),
  col({ id: 'net_rx', title: 'NET-RX', width: 6, needs: RECV, help: 'bytes received per second over IP sockets', text: (r) => fmtBytes(rate(netRx(r), r)), value: netRx }),
  col({ id: 'conn', title: 'CONN', width: 5, needs: NET_TCP.name, help: 'TCP connections open now', text: (r) => fmtCount(active(r)), value: active }),
  col({ id: 'tcp_new', title: 'NEW/s', width: 5, needs: NET_TCP.name, help: 'TCP connections established per second (connected or accepted)', text: (r) => fmtCount(rate(tcpNew(r), r)), value: tcpNew }),
  retx,
];

const field = (key: string, needs: string, get: (r: Values) => unknown, thread = true, flag?: string): JsonField => ({ key, needs, thread, get, ...(flag ? { flag } : {}) });
const slot = (k: (typeof NET.slots)[number]) => at(() => NET.at[k]);
const charge = (k: (typeof NET_TCP.slots)[number]) => at(() => NET_TCP.at[k]);
const json: JsonField[] = [
  field('net_tx_bytes', NET.name, slot('net_tx_bytes')),
  field('net_rx_bytes', RECV, slot('net_rx_bytes')),
  field('tcp_tx_bytes', NET.name, slot('tcp_tx_bytes')),
  field('tcp_rx_bytes', RECV, slot('tcp_rx_bytes')),
  field('udp_tx_bytes', NET.name, slot('udp_tx_bytes')),
  field('udp_rx_bytes', RECV, slot('udp_rx_bytes')),
  field('unix_tx_bytes', NET.name, slot('unix_tx_bytes')),
  field('unix_rx_bytes', RECV, slot('unix_rx_bytes')),
  field('tcp_active', NET_TCP.name, active, false),
  field('tcp_new', NET_TCP.name, charge('tcp_new'), false),
  field('tcp_closed', NET_TCP.name, charge('tcp_closed'), false),
  field('tcp_retransmits', NET_TCP.name, charge('tcp_retransmits'), false),
  field('tcp_retrans_pct', NET_TCP.name, (r) => {
    const p = retransPct(r);
    return p === null ? null : Math.round(p * 100) / 100;
  }, false),
  field('tcp_errors', NET_TCP.name, charge('tcp_errors'), false),
  field('connections', NET_TCP.name, (r) => ext(r)?.conns ?? [], false, 'connections'),
];

/** system.net: IP bytes summed over every process, and what has no owner. */
function system(iv: Interval): unknown {
  const sum = (i: number) => iv.processes.reduce((n, p) => n + p.v[i], 0);
  const tcp = iv.avail.has(NET_TCP.name);
  const s = iv.ext.net as NetSystem | undefined;
  return {
    tx_bytes: iv.avail.has(NET.name) ? sum(NET.at.net_tx_bytes) : null,
    rx_bytes: iv.avail.has(RECV) ? sum(NET.at.net_rx_bytes) : null,
    unattributed_retransmits: tcp ? iv.system.unattributed[NET_TCP.at.tcp_retransmits] : null,
    tcp_active: tcp && s ? s.active : null,
    conns_tracked: tcp && s ? s.tracked : null,
    conns_overflow: tcp && s ? s.overflow : null,
  };
}

/** The header's line: IP traffic per second, connections open, retransmissions. */
function summary(iv: Interval): { label: string; text: string } | null {
  if (!iv.avail.has(NET.name) || iv.intervalNs <= 0) return null;
  const per = (n: number) => (n * 1e9) / iv.intervalNs;
  let tx = 0;
  let rx = 0;
  let retr = 0;
  for (const p of iv.processes) {
    tx += p.delta[NET.at.net_tx_bytes];
    rx += p.delta[NET.at.net_rx_bytes];
    retr += p.delta[NET_TCP.at.tcp_retransmits];
  }
  const s = iv.ext.net as NetSystem | undefined;
  const tcp = iv.avail.has(NET_TCP.name) && s ? `  ${fmtCount(s.active)} TCP open  ${fmtCount(retr)} retransmits` : '';
  return { label: 'Net', text: `tx ${fmtBytes(per(tx))}/s  rx ${fmtBytes(per(rx))}/s${tcp}` };
}

/** The drill-down's network part: its traffic by class and its connections, top by traffic. */
function drill(r: RowLike, _iv: Interval, width: number): string[] {
  if (!r.avail.has(NET.name)) return [];
  const per = (n: number) => `${fmtBytes(rate(n, r))}${r.totals ? '' : '/s'}`;
  const v = r.v;
  const out = [
    `{black-fg}{green-bg}${' Network'.padEnd(width)}{/green-bg}{/black-fg}`,
    ` TCP tx ${per(v[NET.at.tcp_tx_bytes])} rx ${per(v[NET.at.tcp_rx_bytes])}  UDP tx ${per(v[NET.at.udp_tx_bytes])} rx ${per(v[NET.at.udp_rx_bytes])}` +
      `  unix tx ${per(v[NET.at.unix_tx_bytes])} rx ${per(v[NET.at.unix_rx_bytes])}  RETX% ${retransPct(r) === null ? '-' : fmtPct(retransPct(r)!)}`,
  ];
  const conns = ext(r)?.conns ?? [];
  if (!conns.length) return out;
  out.push(` {bold}${'local'.padEnd(28)} ${'remote'.padEnd(28)} ${'state'.padEnd(11)} ${'tx'.padStart(8)} ${'rx'.padStart(8)} retx${' age'.padStart(9)}{/bold}`);
  const addr = (a: string, port: number) => (a.includes(':') ? `[${a}]:${port}` : `${a}:${port}`);
  for (const c of conns.slice(0, 10)) {
    out.push(
      ` ${addr(c.laddr, c.lport).padEnd(28)} ${addr(c.raddr, c.rport).padEnd(28)} ${(c.closed ? 'closed' : c.state).padEnd(11)} ${fmtBytes(c.tx_bytes).padStart(8)} ${fmtBytes(c.rx_bytes).padStart(8)} ${String(c.retransmits).padStart(4)} ${fmtDuration(c.age_ns).padStart(8)}`,
    );
  }
  if (conns.length > 10) out.push(` ... ${conns.length - 10} more connections`);
  return out;
}

/** raw_tp programs cannot ask for socket cookies: every program then keys connections by address. */
const RAW_NET = { ...RAW, net_id_by_ptr: 1 };

/**
 * One TCP tracepoint of source 'net.tcp': its program, and a second one on the
 * same tracepoint for the events the kernel skips for the first, which fire
 * while it runs on that CPU (a softirq interrupting a close(): a program is
 * never nested in itself). bpf/net.bpf.c says how the two share the work.
 */
function tcpHook(name: string, tracepoint: string, what: string, config?: HookSpec['config']): HookSpec[] {
  const spec = (suffix: string, w: string, more?: HookSpec['config']): HookSpec => ({
    source: 'net.tcp',
    what: w,
    variants: onTracepoint(`${name}${suffix}`, tracepoint, { consts: RAW_NET }),
    // tracing programs may call bpf_get_socket_cookie() from 5.12 (the kernel
    // then has bpf_get_socket_ptr_cookie); before, sockets are known by pointer
    config: (f) => ({ ...more?.(f), net_id_by_ptr: f.hasType('bpf_get_socket_ptr_cookie') ? 0 : 1 }),
  });
  return [spec('', what, config), spec('_nested', `${tracepoint} events the kernel skips for the program above (nested in it on a CPU)`)];
}

export const net: Subsystem = {
  name: 'net',
  what: 'bytes per process (TCP, UDP, unix), TCP connections, churn, failures, retransmits',
  optional: true,
  hooks: [
    {
      source: 'net.send',
      what: 'bytes sent per thread by socket class, in the caller\'s context',
      variants: [
        { program: 'send_btf', hook: 'tp_btf/sock_send_length', needsType: 'btf_trace_sock_send_length' },
        // before 6.3: socket syscalls' return values (misses sendmmsg, splice, io_uring)
        ...onTracepoint('send_sys', 'sys_exit', { consts: RAW_NET }),
      ],
    },
    {
      source: RECV,
      what: 'bytes received per thread by socket class (MSG_PEEK skipped)',
      variants: [
        { program: 'recv_btf', hook: 'tp_btf/sock_recv_length', needsType: 'btf_trace_sock_recv_length' },
        ...onTracepoint('recv_sys', 'sys_exit', { consts: RAW_NET }),
      ],
    },
    // 'net.tcp' is made of four hooks, each with a second program for the events the
    // kernel would skip (nested in the first on one CPU): the table needs all of them
    ...tcpHook('state', 'inet_sock_set_state', 'TCP connections: owner at connect(), 4-tuple at ESTABLISHED, failed connects'),
    ...tcpHook('destroy', 'tcp_destroy_sock', 'TCP connections: final record and end of per-socket state'),
    ...tcpHook('retrans', 'tcp_retransmit_skb', 'TCP retransmitted segments, charged to the connection\'s owner', (f) => ({
      // `err` became its third argument in 6.17 (it fires for failed attempts too since)
      net_retrans_has_err: f.tracepointArgs('tcp_retransmit_skb') >= 3 ? 1 : 0,
    })),
    ...tcpHook('reset', 'tcp_receive_reset', 'TCP resets received on established connections'),
  ],
  maps: [
    { name: 'net_conns', entries: () => NET_LIMITS.connections, runtimeAlloc: true },
    { name: 'net_tcp', entries: (m) => Math.min(m.pidMax, 16384), runtimeAlloc: true },
  ],
  groups: [NET, NET_TCP],
  columns,
  json,
  system,
  summary,
  drill,
  sparks: [{ label: 'Net B/s', value: (r) => rate(netTx(r) + netRx(r), r), fmt: (v) => `${fmtBytes(v)}/s` }],
  records,
  collect,
  folder: () => new NetFolder(),
};
