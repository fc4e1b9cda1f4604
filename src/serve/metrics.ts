// `ebtop serve`'s numbers: the one declared table of exported metrics (name,
// help, unit, type, the schema slots or derived value each reads) and the
// pure fold of each interval's groups into per-group monotonic counters,
// bounded: at most `top` groups per ranking domain, the rest in `other`, a
// group that falls out folding its totals into `other` so that no counter and
// no sum over groups ever goes backwards. No I/O and no clock here: the
// interval's length comes in with it, so it is tested with hand-made
// intervals (test/unit/serve.test.ts).
import type { GroupRow } from '../groups';
import type { Interval } from '../model';
// the schema places every group (fills CPU.at...) when the subsystems' index is loaded
import '../subsystems';
import { CPU } from '../subsystems/cpu';
import { DISK, LAT_BUCKETS, LATENCY, WRITEBACK, bucketBounds } from '../subsystems/disk';
import { NET, NET_TCP } from '../subsystems/net';
import { REASON_INFO, REASONS, reasonsNs, WAIT } from '../subsystems/wait';
import { SHED_ORDER } from '../budget';

/** What a group contributes to a metric: its interval deltas and its live members' gauges. */
export type GroupIn = Pick<GroupRow, 'key' | 'delta' | 'members' | 'live' | 'rssBytes' | 'threads'>;

export type MetricType = 'counter' | 'gauge' | 'histogram';

/** A ranking domain: the metrics whose groups are ranked (and bounded) together. */
export type DomainName = 'cpu' | 'wait' | 'disk' | 'net' | 'mem';

export interface Metric {
  /** sample name as scraped: counters end in _total, histograms are the base of _bucket/_sum/_count */
  name: string;
  help: string;
  /** base unit (seconds, bytes) or '' */
  unit: string;
  type: MetricType;
  domain: DomainName;
  /** the group (or hook source) whose attachment makes it real; null: always there */
  needs: string | null;
  /** one label name and its values (a counter per value), or none */
  label?: { name: string; values: readonly string[] };
  /** the values it adds for a group this interval, in raw units (ns, bytes, counts), `width` of them */
  width: number;
  read(g: GroupIn, out: Float64Array, at: number): void;
  /** raw unit -> exported unit (ns -> s) */
  scale: number;
  /** reads only charge slots: the system's unattributed charges are exported beside it */
  charge: boolean;
}

/** Latency histogram bounds, ns: powers of 4 from 16 µs to 4.3 s, each a bound of the kernel's log-linear buckets. */
export const LAT_LE_NS: readonly number[] = Array.from({ length: 10 }, (_, i) => 2 ** (14 + 2 * i));
/** kernel bucket -> the exported bucket it falls in (its upper bound ≤ le), LAT_LE_NS.length for +Inf */
const LE_OF: Uint8Array = (() => {
  const out = new Uint8Array(LAT_BUCKETS);
  for (let i = 0; i < LAT_BUCKETS; i++) {
    const high = bucketBounds(i)[1];
    const j = LAT_LE_NS.findIndex((le) => high <= le);
    out[i] = j < 0 ? LAT_LE_NS.length : j;
  }
  return out;
})();

const slotOf = (slot: () => number, scale = 1): Pick<Metric, 'width' | 'read'> => ({
  width: 1,
  read: (g, out, at) => {
    out[at] += g.delta[slot()] * scale;
  },
});
const slotsOf = (slots: readonly (() => number)[]): Pick<Metric, 'width' | 'read'> => ({
  width: slots.length,
  read: (g, out, at) => {
    for (let i = 0; i < slots.length; i++) out[at + i] += g.delta[slots[i]()];
  },
});

const counter = (m: Omit<Metric, 'type' | 'scale' | 'charge'> & Partial<Pick<Metric, 'scale'>>, charge = false): Metric => ({ type: 'counter', scale: 1, charge, ...m });
const NS = 1e-9;
const NONE: ReadonlySet<string> = new Set();
const ACTIONABLE = REASONS.filter((r) => REASON_INFO[r].tone !== 'muted').map((r) => REASONS.indexOf(r));

/**
 * The ranking domains: what "activity" means for each (per second, the
 * newcomers' rate over their first interval against the incumbents' average
 * rate over the window). Gauge domains are ranked anew every interval.
 */
export const DOMAINS: Record<DomainName, { help: string; gauge: boolean; activity(g: GroupIn): number }> = {
  cpu: { help: 'on-CPU + run-queue ns', gauge: false, activity: (g) => g.delta[CPU.at.oncpu_ns] + g.delta[CPU.at.runq_ns] },
  // idleness (sleep, poll, cond...) is not activity: a sleeping daemon does not push out a process waiting on disk
  wait: {
    help: 'off-CPU ns in reasons a user can act on (disk, net, lock, pipe, other, ipc)',
    gauge: false,
    activity: (g) => {
      const r = reasonsNs({ v: g.delta, spanNs: 0, avail: NONE });
      return ACTIONABLE.reduce((n, i) => n + r[i], 0);
    },
  },
  disk: { help: 'block bytes read + written + written back', gauge: false, activity: (g) => g.delta[DISK.at.read_bytes] + g.delta[DISK.at.write_bytes] + g.delta[WRITEBACK.at.writeback_bytes] },
  net: {
    help: 'TCP/UDP/unix bytes sent and received, plus TCP connection events and retransmits',
    gauge: false,
    activity: (g) => {
      let n = 0;
      for (let i = NET.at.tcp_tx_bytes; i < NET.base + NET.size; i++) n += g.delta[i];
      for (let i = NET_TCP.base; i < NET_TCP.base + NET_TCP.size; i++) n += g.delta[i];
      return n;
    },
  },
  mem: { help: 'resident memory now', gauge: true, activity: (g) => g.rssBytes },
};

/** Every exported per-group metric, in exposition order. The README's list and the dashboard are checked against it. */
export const METRICS: readonly Metric[] = [
  counter({ name: 'ebtop_cpu_seconds_total', help: 'On-CPU time (sum_exec_runtime), exited processes included', unit: 'seconds', domain: 'cpu', needs: 'cpu', ...slotOf(() => CPU.at.oncpu_ns), scale: NS }),
  counter({ name: 'ebtop_runqueue_seconds_total', help: 'Time runnable but waiting for a CPU (sched_info.run_delay)', unit: 'seconds', domain: 'cpu', needs: 'cpu', ...slotOf(() => CPU.at.runq_ns), scale: NS }),
  counter({
    name: 'ebtop_context_switches_total', help: 'Context switches', unit: '', domain: 'cpu', needs: 'cpu',
    label: { name: 'kind', values: ['voluntary', 'involuntary'] }, ...slotsOf([() => CPU.at.nvcsw, () => CPU.at.nivcsw]),
  }),
  counter({ name: 'ebtop_migrations_total', help: 'Migrations between CPUs', unit: '', domain: 'cpu', needs: 'cpu', ...slotOf(() => CPU.at.migrations) }),
  counter({
    name: 'ebtop_process_exits_total', help: 'Processes that exited', unit: '', domain: 'cpu', needs: null, width: 1,
    read: (g, out, at) => {
      for (const r of g.members) if (r.exited && !r.late) out[at]++;
    },
  }),
  counter({
    name: 'ebtop_offcpu_seconds_total', help: 'Time off CPU (alive, neither running nor runnable), by why it waited', unit: 'seconds', domain: 'wait', needs: WAIT.name,
    label: { name: 'reason', values: REASONS }, width: REASONS.length, scale: NS,
    read: (g, out, at) => {
      const r = reasonsNs({ v: g.delta, spanNs: 0, avail: NONE });
      for (let i = 0; i < r.length; i++) out[at + i] += r[i];
    },
  }),
  counter({ name: 'ebtop_steal_seconds_total', help: 'Host steal while running (a VM\'s CPU taken by its host)', unit: 'seconds', domain: 'wait', needs: WAIT.name, ...slotOf(() => WAIT.at.steal_ns), scale: NS }),
  counter({ name: 'ebtop_disk_read_bytes_total', help: 'Bytes read from block devices (bios submitted)', unit: 'bytes', domain: 'disk', needs: DISK.name, ...slotOf(() => DISK.at.read_bytes) }),
  counter({ name: 'ebtop_disk_written_bytes_total', help: 'Bytes written to block devices by the process itself (bios submitted)', unit: 'bytes', domain: 'disk', needs: DISK.name, ...slotOf(() => DISK.at.write_bytes) }),
  counter({ name: 'ebtop_disk_reads_total', help: 'Read bios submitted', unit: '', domain: 'disk', needs: DISK.name, ...slotOf(() => DISK.at.reads) }),
  counter({ name: 'ebtop_disk_writes_total', help: 'Write bios submitted', unit: '', domain: 'disk', needs: DISK.name, ...slotOf(() => DISK.at.writes) }),
  counter({ name: 'ebtop_disk_writeback_bytes_total', help: 'Bytes the kernel wrote back for pages the process dirtied', unit: 'bytes', domain: 'disk', needs: WRITEBACK.name, ...slotOf(() => WRITEBACK.at.writeback_bytes) }, true),
  {
    name: 'ebtop_disk_io_latency_seconds', help: 'Block request latency, insertion to completion', unit: 'seconds', type: 'histogram', domain: 'disk', needs: LATENCY.name, scale: NS, charge: true,
    // per exported bucket (non-cumulative counts), then the sum in ns
    width: LAT_LE_NS.length + 2,
    read: (g, out, at) => {
      const base = (LATENCY.at as Record<string, number>).lat;
      for (let i = 0; i < LAT_BUCKETS; i++) {
        const n = g.delta[base + i];
        if (n) out[at + LE_OF[i]] += n;
      }
      out[at + LAT_LE_NS.length + 1] += g.delta[LATENCY.at.lat_sum_ns];
    },
  },
  counter({
    name: 'ebtop_network_transmit_bytes_total', help: 'Bytes sent, by socket class', unit: 'bytes', domain: 'net', needs: NET.name,
    label: { name: 'class', values: ['tcp', 'udp', 'unix'] }, ...slotsOf([() => NET.at.tcp_tx_bytes, () => NET.at.udp_tx_bytes, () => NET.at.unix_tx_bytes]),
  }),
  counter({
    name: 'ebtop_network_receive_bytes_total', help: 'Bytes received, by socket class', unit: 'bytes', domain: 'net', needs: 'net.recv',
    label: { name: 'class', values: ['tcp', 'udp', 'unix'] }, ...slotsOf([() => NET.at.tcp_rx_bytes, () => NET.at.udp_rx_bytes, () => NET.at.unix_rx_bytes]),
  }),
  counter({
    name: 'ebtop_tcp_connections_total', help: 'TCP connections: opened (connected or accepted), closed, failed (connect errors, resets)', unit: '', domain: 'net', needs: NET_TCP.name,
    label: { name: 'event', values: ['opened', 'closed', 'failed'] }, ...slotsOf([() => NET_TCP.at.tcp_new, () => NET_TCP.at.tcp_closed, () => NET_TCP.at.tcp_errors]),
  }, true),
  counter({ name: 'ebtop_tcp_retransmits_total', help: 'TCP segments retransmitted', unit: '', domain: 'net', needs: NET_TCP.name, ...slotOf(() => NET_TCP.at.tcp_retransmits) }, true),
  { name: 'ebtop_resident_memory_bytes', help: 'Resident memory of the live members (shared pages counted once per process, as ps does)', unit: 'bytes', type: 'gauge', domain: 'mem', needs: null, scale: 1, charge: false, width: 1, read: (g, out, at) => void (out[at] += g.rssBytes) },
  { name: 'ebtop_processes', help: 'Live processes', unit: '', type: 'gauge', domain: 'mem', needs: null, scale: 1, charge: false, width: 1, read: (g, out, at) => void (out[at] += g.live) },
  { name: 'ebtop_threads', help: 'Live threads', unit: '', type: 'gauge', domain: 'mem', needs: null, scale: 1, charge: false, width: 1, read: (g, out, at) => void (out[at] += g.threads) },
];

/** The system-wide metrics (no group label). */
export const SYSTEM_METRICS: readonly { name: string; help: string; unit: string; type: 'counter' | 'gauge'; label?: string }[] = [
  { name: 'ebtop_system_cpu_busy_seconds_total', help: 'CPU time not idle, all CPUs (/proc/stat)', unit: 'seconds', type: 'counter' },
  { name: 'ebtop_system_cpu_idle_seconds_total', help: 'CPU time idle, all CPUs (/proc/stat)', unit: 'seconds', type: 'counter' },
  { name: 'ebtop_system_forks_total', help: 'Processes and threads created', unit: '', type: 'counter' },
  { name: 'ebtop_system_execs_total', help: 'Executions (exec)', unit: '', type: 'counter' },
  { name: 'ebtop_system_process_exits_total', help: 'Processes that exited', unit: '', type: 'counter' },
  { name: 'ebtop_self_cpu_seconds_total', help: "ebtop's own process CPU time", unit: 'seconds', type: 'counter' },
  { name: 'ebtop_bpf_run_seconds_total', help: "ebtop's BPF programs' run time", unit: 'seconds', type: 'counter' },
  { name: 'ebtop_bpf_events_total', help: "ebtop's BPF program runs", unit: '', type: 'counter' },
  { name: 'ebtop_lost_records_total', help: 'Records and charges lost (ring buffer full, bounded map full): counts missing from every figure', unit: '', type: 'counter' },
  { name: 'ebtop_lost_threads_total', help: 'Threads that vanished without an exit record (their last partial interval is lost)', unit: '', type: 'counter' },
  { name: 'ebtop_cost_ratio', help: "ebtop's whole cost over the last interval (BPF + its process) as a share of all CPU", unit: 'ratio', type: 'gauge' },
  { name: 'ebtop_budget_shed', help: 'Sources the --budget shed now (1) to hold the cost under it', unit: '', type: 'gauge', label: 'unit' },
  { name: 'ebtop_intervals_total', help: 'Intervals folded', unit: '', type: 'counter' },
  { name: 'ebtop_groups', help: 'Groups with series of their own, by ranking domain (at most --top)', unit: '', type: 'gauge', label: 'domain' },
  { name: 'ebtop_group_evictions_total', help: 'Groups that fell out of the top and folded into other, by ranking domain', unit: '', type: 'counter', label: 'domain' },
];

/** The unattributed twin of a charge metric: the same numbers for charges with no owner process. */
export function unattributedName(m: Metric): string {
  return m.name.replace(/^ebtop_/, 'ebtop_unattributed_');
}

/** Every metric name a scrape can show, histogram series and unattributed twins included (the dashboard test uses it). */
export function allSampleNames(): Set<string> {
  const out = new Set<string>();
  const add = (m: { name: string; type: string }) => {
    if (m.type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(m.name + s);
    else out.add(m.name);
  };
  for (const m of METRICS) {
    add(m);
    if (m.charge) add({ ...m, name: unattributedName(m) });
  }
  for (const m of SYSTEM_METRICS) add(m);
  return out;
}

/** One interval's system figures, as the fold takes them. */
export interface SystemIn {
  intervalNs: number;
  busyNs: number | null;
  idleNs: number | null;
  forks: number;
  execs: number;
  exited: number;
  bpfRunNs: number;
  bpfEvents: number;
  lost: number;
  lostThreads: number;
  /** charges with no owner (a row vector) */
  unattributed: Float64Array;
  /** ebtop's own process CPU over the interval, ns */
  selfNs: number;
  /** its whole cost, % of all CPU */
  costPct: number;
  shed: readonly string[];
  avail: ReadonlySet<string>;
}

export function systemIn(iv: Interval, selfNs: number, costPct: number): SystemIn {
  const s = iv.system;
  return {
    intervalNs: iv.intervalNs,
    busyNs: s.busyNs,
    idleNs: s.idleNs,
    forks: s.forks,
    execs: s.execs,
    exited: s.exited,
    bpfRunNs: s.bpf.runNs,
    bpfEvents: s.bpf.events,
    lost: s.bpf.lost,
    lostThreads: s.lostThreads,
    unattributed: s.unattributed,
    selfNs,
    costPct,
    shed: iv.shed,
    avail: iv.avail,
  };
}

export interface FoldOptions {
  /** groups with series of their own per ranking domain (the rest: other) */
  top: number;
  /** the incumbents' rate is averaged over this window (an exponential moving average), ns */
  windowNs: number;
  /** a newcomer displaces the slowest incumbent when its rate is above this multiple of the incumbent's average */
  hysteresis?: number;
  /** a group with no process left for this long leaves (its totals into other), ns; default 5 windows */
  retireNs?: number;
}

export const FOLD_DEFAULTS = { top: 100, windowS: 60, hysteresis: 1.25 };

/** The label value of the bucket that keeps every group without its own series. */
export const OTHER = 'other';

interface Entry {
  totals: Float64Array;
  /** average activity per second over the window */
  rate: number;
  /** ns since the fold began when a process of the group was last seen */
  seenNs: number;
}

/** A domain's metrics laid out in one vector: metric i at offset[i]. */
interface Layout {
  metrics: Metric[];
  offset: number[];
  width: number;
}

class Domain {
  readonly entries = new Map<string, Entry>();
  readonly other: Float64Array;
  evictions = 0;
  /** gauge domains: this interval's top groups' values */
  gauges = new Map<string, Float64Array>();
  private readonly tmp: Float64Array;

  constructor(
    readonly name: DomainName,
    readonly layout: Layout,
  ) {
    this.other = new Float64Array(layout.width);
    this.tmp = new Float64Array(layout.width);
  }

  private read(g: GroupIn, into: Float64Array): void {
    const { metrics, offset } = this.layout;
    for (let i = 0; i < metrics.length; i++) metrics[i].read(g, into, offset[i]);
  }

  private evict(key: string, e: Entry): void {
    add(this.other, e.totals);
    this.entries.delete(key);
    this.evictions++;
  }

  fold(groups: readonly GroupIn[], o: Required<FoldOptions>, nowNs: number, intervalNs: number): void {
    const act = DOMAINS[this.name].activity;
    if (DOMAINS[this.name].gauge) {
      // a gauge is now, not a sum: the top groups now, the rest summed
      const ranked = groups.map((g) => ({ g, a: act(g) })).sort((x, y) => y.a - x.a || cmp(x.g.key, y.g.key));
      this.gauges = new Map();
      this.other.fill(0);
      for (const { g } of ranked) {
        if (g.key !== OTHER && this.gauges.size < o.top) {
          const v = new Float64Array(this.layout.width);
          this.read(g, v);
          this.gauges.set(g.key, v);
        } else this.read(g, this.other);
      }
      return;
    }
    const perS = intervalNs > 0 ? 1e9 / intervalNs : 0;
    const alpha = 1 - Math.exp(-intervalNs / o.windowNs);
    const rates = new Map<string, number>();
    for (const g of groups) rates.set(g.key, act(g) * perS);
    for (const [key, e] of this.entries) e.rate += alpha * ((rates.get(key) ?? 0) - e.rate);
    // newcomers, fastest first: a free place, or the slowest incumbent's if clearly faster
    const newcomers = groups.filter((g) => g.key !== OTHER && !this.entries.has(g.key) && rates.get(g.key)! > 0).sort((x, y) => rates.get(y.key)! - rates.get(x.key)! || cmp(x.key, y.key));
    for (const g of newcomers) {
      const rate = rates.get(g.key)!;
      if (this.entries.size >= o.top) {
        let slowKey = '';
        let slow: Entry | undefined;
        for (const [k, e] of this.entries) if (!slow || e.rate < slow.rate) [slowKey, slow] = [k, e];
        if (!slow || !(rate > slow.rate * o.hysteresis)) break;
        this.evict(slowKey, slow);
      }
      this.entries.set(g.key, { totals: new Float64Array(this.layout.width), rate, seenNs: nowNs });
    }
    for (const g of groups) {
      const e = this.entries.get(g.key);
      if (e) e.seenNs = nowNs;
      this.read(g, e ? e.totals : this.other);
    }
    for (const [key, e] of this.entries) if (nowNs - e.seenNs > o.retireNs) this.evict(key, e);
  }

  /** Add a system-wide vector (the unattributed charges) read as a group. */
  readInto(g: GroupIn, into: Float64Array): void {
    this.read(g, into);
  }
}

function add(into: Float64Array, v: Float64Array): void {
  for (let i = 0; i < v.length; i++) into[i] += v[i];
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** What a scrape shows: per metric, each group's values (raw units) and other's. */
export interface MetricValues {
  metric: Metric;
  /** available (its source attached at some time) */
  present: boolean;
  groups: [key: string, values: Float64Array][];
  other: Float64Array;
  /** charge metrics: the system's unattributed values */
  unattributed?: Float64Array;
}

export interface Snapshot {
  metrics: MetricValues[];
  system: { name: string; labels?: Record<string, string>; value: number }[];
}

/**
 * The fold: intervals in, monotonic per-group counters out. Memory is
 * bounded by `top` groups per domain (a vector of its metrics each); groups
 * outside the top hold no state at all: their numbers go to other at once.
 */
export class Fold {
  private readonly o: Required<FoldOptions>;
  private readonly domains = new Map<DomainName, Domain>();
  private nowNs = 0;
  private readonly sys = new Map<string, number>();
  private readonly unattributed = new Map<DomainName, Float64Array>();
  private readonly seen = new Set<string>();
  private costPct = 0;
  private shed: readonly string[] = [];

  constructor(opts: FoldOptions) {
    this.o = { hysteresis: FOLD_DEFAULTS.hysteresis, retireNs: 5 * opts.windowNs, ...opts };
    for (const name of Object.keys(DOMAINS) as DomainName[]) {
      const metrics = METRICS.filter((m) => m.domain === name);
      const offset: number[] = [];
      let width = 0;
      for (const m of metrics) {
        offset.push(width);
        width += m.width;
      }
      const d = new Domain(name, { metrics, offset, width });
      this.domains.set(name, d);
      this.unattributed.set(name, new Float64Array(width));
    }
  }

  /** One interval's groups (groupRows of its rows) and system figures. */
  add(groups: readonly GroupIn[], s: SystemIn): void {
    this.nowNs += s.intervalNs;
    for (const a of s.avail) this.seen.add(a);
    const nobody: GroupIn = { key: '', delta: s.unattributed, members: [], live: 0, rssBytes: 0, threads: 0 };
    for (const d of this.domains.values()) {
      d.fold(groups, this.o, this.nowNs, s.intervalNs);
      if (!DOMAINS[d.name].gauge) d.readInto(nobody, this.unattributed.get(d.name)!);
    }
    const inc = (name: string, v: number | null) => {
      if (v !== null && Number.isFinite(v) && v > 0) this.sys.set(name, (this.sys.get(name) ?? 0) + v);
      else if (!this.sys.has(name) && v !== null) this.sys.set(name, 0);
    };
    inc('ebtop_system_cpu_busy_seconds_total', s.busyNs === null ? null : s.busyNs * NS);
    inc('ebtop_system_cpu_idle_seconds_total', s.idleNs === null ? null : s.idleNs * NS);
    inc('ebtop_system_forks_total', s.forks);
    inc('ebtop_system_execs_total', s.execs);
    inc('ebtop_system_process_exits_total', s.exited);
    inc('ebtop_self_cpu_seconds_total', s.selfNs * NS);
    inc('ebtop_bpf_run_seconds_total', s.bpfRunNs * NS);
    inc('ebtop_bpf_events_total', s.bpfEvents);
    inc('ebtop_lost_records_total', s.lost);
    inc('ebtop_lost_threads_total', s.lostThreads);
    inc('ebtop_intervals_total', 1);
    this.costPct = s.costPct;
    this.shed = s.shed;
  }

  /** Groups with state of their own, all domains (what memory is bounded by). */
  tracked(): number {
    let n = 0;
    for (const d of this.domains.values()) n += d.entries.size + d.gauges.size;
    return n;
  }

  snapshot(): Snapshot {
    const metrics: MetricValues[] = [];
    for (const d of this.domains.values()) {
      const { metrics: ms, offset } = d.layout;
      const gauge = DOMAINS[d.name].gauge;
      const keys = [...(gauge ? d.gauges.keys() : d.entries.keys())].sort(cmp);
      ms.forEach((m, i) => {
        const slice = (v: Float64Array) => v.slice(offset[i], offset[i] + m.width);
        metrics.push({
          metric: m,
          present: m.needs === null || this.seen.has(m.needs),
          groups: keys.map((k) => [k, slice(gauge ? d.gauges.get(k)! : d.entries.get(k)!.totals)]),
          other: slice(d.other),
          ...(m.charge ? { unattributed: slice(this.unattributed.get(d.name)!) } : {}),
        });
      });
    }
    metrics.sort((a, b) => METRICS.indexOf(a.metric) - METRICS.indexOf(b.metric));
    const system: Snapshot['system'] = [];
    for (const m of SYSTEM_METRICS) {
      if (this.sys.has(m.name)) system.push({ name: m.name, value: this.sys.get(m.name)! });
    }
    system.push({ name: 'ebtop_cost_ratio', value: this.costPct / 100 });
    for (const u of SHED_ORDER) system.push({ name: 'ebtop_budget_shed', labels: { unit: u.name }, value: this.shed.includes(u.name) ? 1 : 0 });
    for (const d of this.domains.values()) {
      system.push({ name: 'ebtop_groups', labels: { domain: d.name }, value: DOMAINS[d.name].gauge ? d.gauges.size : d.entries.size });
      if (!DOMAINS[d.name].gauge) system.push({ name: 'ebtop_group_evictions_total', labels: { domain: d.name }, value: d.evictions });
    }
    return { metrics, system };
  }
}
