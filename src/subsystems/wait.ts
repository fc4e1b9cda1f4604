// The wait subsystem, declared as data: why each thread is off CPU. Every
// blocked interval is classified at switch-out (bpf/wait.bpf.h, inline in the
// core's sched_switch program) and closed at wakeup (bpf/wait.bpf.c) into one
// of seven reasons; host steal while running is counted beside them. Here:
// the group (with how an interval still open at a snapshot is settled), the
// WAIT column, the one-line breakdown and the JSON fields.
import { onTracepoint } from '../probe';
import { CPU, OFFCPU, RAW } from './cpu';
import { group } from './schema';
import type { Column, JsonField, Subsystem, Values } from './types';

/** The reasons, in struct ebtop_wait_counters order (EBTOP_WAIT_* in bpf/ebtop.h). */
export const REASONS = ['disk', 'net', 'lock', 'sleep', 'pipe', 'poll', 'other'] as const;
export type Reason = (typeof REASONS)[number];

const REASON_SLOTS = ['disk_ns', 'net_ns', 'lock_ns', 'sleep_ns', 'pipe_ns', 'poll_ns', 'other_ns'] as const;

/**
 * A thread's interval still open at a snapshot: counted up to the snapshot
 * time in its reason (the kernel adds it for good at the wakeup), so a thread
 * asleep for minutes shows its reason every refresh, while its record stays
 * byte-identical between two dumps. An interval that began after `atNs`
 * (the thread blocked between the timestamp and the iterator's read) counts
 * from the next snapshot on.
 */
export function settleOpen(c: Float64Array, atNs: number): void {
  const since = c[WAIT.at.open_since_ns];
  if (!since) return;
  const reason = Math.min(c[WAIT.at.open_cat], REASONS.length - 1);
  if (atNs > since) c[WAIT.at.disk_ns + reason] += atNs - since;
  c[WAIT.at.open_since_ns] = 0;
  c[WAIT.at.open_cat] = 0;
}

/** struct ebtop_wait_counters: per thread, in task-local storage. */
export const WAIT = group({
  name: 'wait',
  kind: 'task',
  struct: 'ebtop_wait_counters',
  member: 'thr.wait',
  slots: [...REASON_SLOTS, 'steal_ns', 'open_since_ns', 'open_cat'],
  source: 'wait.wakeup',
  settle: (c, atNs) => settleOpen(c, atNs),
  // the reasons are measured intervals that together are the off-CPU time
  partition: { of: OFFCPU.name, slots: REASON_SLOTS },
});

const steal = (r: Values) => r.v[WAIT.at.steal_ns];

/**
 * A row's ns per reason, in REASONS order; they add up to its off-CPU time.
 * For threads BPF sees off-CPU time is their sum (GroupSpec.partition); for
 * the few read from /proc (PID 1 here) nothing is classified and their
 * off-CPU time is other.
 */
export function reasonsNs(r: Values): number[] {
  const out: number[] = [];
  let known = 0;
  for (let i = 0; i < REASONS.length - 1; i++) {
    out.push(r.v[WAIT.at.disk_ns + i]);
    known += out[i];
  }
  out.push(Math.max(0, r.v[OFFCPU.at.offcpu_ns] - known));
  return out;
}

/**
 * Thread time of a row: on-CPU + run-queue + off-CPU + steal, i.e. the wall
 * time of each of its threads over the span, summed (one thread: wall time).
 */
export function threadTime(r: Values): number {
  return r.v[CPU.at.oncpu_ns] + r.v[CPU.at.runq_ns] + r.v[OFFCPU.at.offcpu_ns] + steal(r);
}

/** The reason a row waited most for, and its share of the row's thread time (%); null when it never waited. */
export function dominantWait(r: Values): { reason: Reason; pct: number } | null {
  const all = reasonsNs(r);
  let best = -1;
  let ns = 0;
  for (let i = 0; i < all.length; i++) {
    if (all[i] > ns) {
      ns = all[i];
      best = i;
    }
  }
  const total = threadTime(r);
  return best < 0 || total <= 0 ? null : { reason: REASONS[best], pct: (ns / total) * 100 };
}

const cap = (s: string) => s[0].toUpperCase() + s.slice(1);

/**
 * Where a row's time went, on one line, as shares of its thread time:
 * `CPU 45% Runq 3% Disk 30% Lock 15% Net 5% Sleep 2%`. CPU and run queue
 * first, then the reasons (and host steal) largest first; parts that round
 * to 0% are left out.
 */
export function waitBreakdown(r: Values): string {
  const total = threadTime(r);
  if (total <= 0) return '';
  const pct = (ns: number) => Math.round((ns / total) * 100);
  const parts: [string, number][] = [
    ['CPU', r.v[CPU.at.oncpu_ns]],
    ['Runq', r.v[CPU.at.runq_ns]],
  ];
  const all = reasonsNs(r);
  const waits: [string, number][] = REASONS.map((name, i) => [cap(name), all[i]]);
  waits.push(['Steal', steal(r)]);
  waits.sort((a, b) => b[1] - a[1]);
  return [...parts, ...waits]
    .filter(([, ns]) => pct(ns) > 0)
    .map(([name, ns]) => `${name} ${pct(ns)}%`)
    .join(' ');
}

/** Each part's tag and letter in the drill-down's bar. */
const BAR: Record<string, [string, string]> = {
  CPU: ['green-fg', 'C'], Runq: ['red-fg', 'R'], Disk: ['yellow-fg', 'D'], Net: ['magenta-fg', 'N'], Lock: ['cyan-fg', 'L'],
  Sleep: ['blue-fg', 'S'], Pipe: ['white-fg', 'P'], Poll: ['white-fg', 'o'], Other: ['gray-fg', '.'], Steal: ['red-fg', '!'],
};

/** The breakdown as a bar of `width` cells, each part's share of thread time, with its letter (tagged for blessed). */
export function breakdownBar(r: Values, width: number): string {
  const total = threadTime(r);
  if (total <= 0) return '';
  const parts: [string, number][] = [['CPU', r.v[CPU.at.oncpu_ns]], ['Runq', r.v[CPU.at.runq_ns]]];
  reasonsNs(r).forEach((ns, i) => parts.push([cap(REASONS[i]), ns]));
  parts.push(['Steal', steal(r)]);
  let out = '';
  let used = 0;
  let acc = 0;
  for (const [name, ns] of parts) {
    acc += ns;
    const end = Math.round((acc / total) * width);
    if (end > used) {
      const [tag, ch] = BAR[name];
      out += `{${tag}}${ch.repeat(end - used)}{/${tag}}`;
      used = end;
    }
  }
  return out;
}

const columns: Column[] = [
  {
    id: 'wait',
    title: 'WAIT',
    width: 10,
    align: 'left',
    descending: true,
    needs: WAIT.name,
    help: 'what it waited for most (disk, net, lock, sleep, pipe, poll, other) and its share of its threads\' wall time',
    text: (r) => {
      const d = dominantWait(r);
      // a process that (all but) never waited: nothing to name
      return d && Math.round(d.pct) > 0 ? `${d.reason} ${Math.round(d.pct)}%` : '-';
    },
    value: (r) => dominantWait(r)?.pct ?? 0,
  },
];

/** The reasons as JSON: they add up to offcpu_ns exactly (both are sums of whole ns). */
function waitJson(r: Values): Record<string, number> {
  const all = reasonsNs(r);
  return Object.fromEntries(REASON_SLOTS.map((k, i) => [k, Math.round(all[i])]));
}

const json: JsonField[] = [
  { key: 'wait', needs: WAIT.name, thread: true, get: waitJson },
  // host steal while it ran, left out of oncpu_ns by the kernel: oncpu + runq + offcpu + steal = wall
  { key: 'steal_ns', needs: WAIT.name, thread: true, get: (r) => Math.round(steal(r)) },
];

/** The core's programs that carry the wait classifier inline (bpf/wait.bpf.h). */
export const WAIT_RIDES = ['dump_task', 'switch_btf', 'switch_raw'];

export const wait: Subsystem = {
  name: 'wait',
  what: 'why each thread is off CPU (disk, net, lock, sleep, pipe, poll, other) and host steal',
  optional: true,
  hooks: [
    {
      source: 'wait.wakeup',
      what: 'blocked intervals, classified at switch-out (in the sched_switch program) and closed at wakeup',
      variants: [
        ...onTracepoint('wakeup', 'sched_wakeup', { consts: RAW }),
      ],
      // switches on the inline part of the core's sched_switch program and iterator
      config: () => ({ wait_enabled: 1 }),
      rides: WAIT_RIDES,
    },
    {
      source: 'wait.new',
      what: 'a new thread\'s time from fork to its first wakeup (other)',
      variants: [
        ...onTracepoint('wakeup_new', 'sched_wakeup_new', { consts: RAW }),
      ],
    },
  ],
  maps: [
    { name: 'offcpu_pids', entries: () => 64 },
    // task-local storage, used only by `ebtop offcpu` (where the kernel has it)
    { name: 'offcpu_ustack', unused: (consts) => !consts.offcpu_stacks || consts.use_thread_hash === 1 },
  ],
  groups: [WAIT],
  columns,
  json,
  // the drill-down's lines: where its time went, as text and as a bar (`ebtop offcpu -p PID` has the stacks)
  drill: (r, _iv, width) =>
    r.avail.has(WAIT.name)
      ? [`{black-fg}{green-bg}${' Where the time went'.padEnd(width)}{/green-bg}{/black-fg}`, ` ${waitBreakdown(r) || 'no time accounted yet'}`, ` ${breakdownBar(r, Math.max(10, width - 2))}`]
      : [],
};
