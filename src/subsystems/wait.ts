// The wait subsystem, declared as data: why each thread is off CPU. Every
// blocked interval is classified at switch-out and closed at switch-in, both
// inline in the core's sched_switch program (bpf/wait.bpf.h), into one of the
// reasons; host steal while running is counted beside them. Here: the
// reasons table, the group (with how an interval still open at a snapshot is
// settled), the WAIT column, the one-line breakdown and the JSON fields.
import { onTracepoint } from '../probe';
import { CPU, OFFCPU, RAW, saturated } from './cpu';
import { group } from './schema';
import type { Column, JsonField, Subsystem, Values } from './types';

/**
 * The reasons, in struct ebtop_wait_counters order (EBTOP_WAIT_* in
 * bpf/ebtop.h). Reasons added after the first seven come after other, so the
 * JSON keys of the first seven keep their order.
 */
export const REASONS = ['disk', 'net', 'lock', 'sleep', 'pipe', 'poll', 'other', 'cond', 'child', 'signal', 'ipc', 'idle'] as const;
export type Reason = (typeof REASONS)[number];

/**
 * How a reason reads: `muted` is idleness (the thread waits for work, time,
 * a child or another thread's signal: nothing to fix in it), `stands` is a
 * cost a user can act on (contention, I/O); the rest are neutral. `bar`: the
 * drill-down bar's colour tag and letter.
 */
export const REASON_INFO: Record<Reason, { tone: 'muted' | 'neutral' | 'stands'; bar: [tag: string, letter: string]; what: string }> = {
  disk: { tone: 'stands', bar: ['yellow-fg', 'D'], what: 'block I/O: iowait, fsync, reads and writes of files and block devices, libaio' },
  net: { tone: 'stands', bar: ['magenta-fg', 'N'], what: 'an IP socket: recv, send, connect' },
  lock: { tone: 'stands', bar: ['cyan-fg', 'L'], what: 'contention: a contended mutex, flock/fcntl locks, a kernel mutex (D state)' },
  sleep: { tone: 'muted', bar: ['blue-fg', 'S'], what: 'nanosleep, timerfd' },
  pipe: { tone: 'neutral', bar: ['white-fg', 'P'], what: 'a pipe, FIFO or unix socket' },
  poll: { tone: 'muted', bar: ['white-fg', 'o'], what: 'poll, select, epoll, io_uring: any of several events' },
  other: { tone: 'neutral', bar: ['gray-fg', '.'], what: 'no rule matched' },
  cond: { tone: 'muted', bar: ['blue-fg', 'c'], what: 'another thread: condition variables, semaphores, join, eventfd' },
  child: { tone: 'muted', bar: ['blue-fg', 'w'], what: 'a child process: wait4, waitid, vfork' },
  signal: { tone: 'muted', bar: ['blue-fg', 'g'], what: 'a signal: pause, sigsuspend, sigtimedwait, signalfd; stopped' },
  ipc: { tone: 'neutral', bar: ['white-fg', 'M'], what: 'System V / POSIX message queues and semaphores' },
  idle: { tone: 'muted', bar: ['gray-fg', 'i'], what: 'waiting for work: idle kernel threads, accept, a KVM guest\'s halted CPU' },
};

const REASON_SLOTS = REASONS.map((r) => `${r}_ns` as const);
/** index of other in REASONS: what a row's unclassified off-CPU time counts as */
const OTHER = REASONS.indexOf('other');

/**
 * A thread's interval still open at a snapshot: counted up to the snapshot
 * time in its reason (the kernel adds it for good at the switch-in; a thread
 * woken but not yet switched in arrives closed at its wakeup, bpf/wait.bpf.h
 * wait_iter_record, its run-queue tail left to run_delay), so a thread
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
  source: 'wait.switch',
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
  for (let i = 0; i < REASONS.length; i++) {
    out.push(i === OTHER ? 0 : r.v[WAIT.at.disk_ns + i]);
    known += out[i];
  }
  out[OTHER] = Math.max(0, r.v[OFFCPU.at.offcpu_ns] - known);
  return out;
}

/**
 * Thread time of a row: on-CPU + run-queue + off-CPU + steal, i.e. the wall
 * time of each of its threads over the span, summed (one thread: wall time).
 */
export function threadTime(r: Values): number {
  return r.v[CPU.at.oncpu_ns] + r.v[CPU.at.runq_ns] + r.v[OFFCPU.at.offcpu_ns] + steal(r);
}

/** What the WAIT column can name: a reason, or the run queue (waiting for a CPU). */
export type WaitName = Reason | 'runq';

/**
 * A share of thread time that a reason a user can act on (not muted) needs
 * to be named over larger idleness: a pool idle 90% of the time whose one
 * busy thread waits 10% on disk reads disk, not cond.
 */
export const ACTIONABLE_PCT = 5;

/**
 * The wait that matters for a row and its share of the row's thread time
 * (%): the largest of the reasons a user can act on (and the run queue)
 * when it is at least ACTIONABLE_PCT, else the largest of all; null when it
 * never waited. `muted`: the named wait is idleness.
 */
export function dominantWait(r: Values): { reason: WaitName; pct: number; muted: boolean } | null {
  const total = threadTime(r);
  if (total <= 0) return null;
  const all = reasonsNs(r);
  let best = -1;
  let bestAct = -1;
  for (let i = 0; i < all.length; i++) {
    if (all[i] > 0 && (best < 0 || all[i] > all[best])) best = i;
    if (all[i] > 0 && REASON_INFO[REASONS[i]].tone !== 'muted' && (bestAct < 0 || all[i] > all[bestAct])) bestAct = i;
  }
  const runq = r.v[CPU.at.runq_ns];
  const actNs = bestAct < 0 ? 0 : all[bestAct];
  if (Math.max(runq, actNs) * 100 >= ACTIONABLE_PCT * total) {
    return runq > actNs ? { reason: 'runq', pct: (runq / total) * 100, muted: false } : { reason: REASONS[bestAct], pct: (actNs / total) * 100, muted: false };
  }
  if (best < 0) return null;
  const reason = REASONS[best];
  return { reason, pct: (all[best] / total) * 100, muted: REASON_INFO[reason].tone === 'muted' };
}

/**
 * Where a row's time went, on one line, as shares of its thread time, named
 * as the WAIT column and JSON name them:
 * `cpu 45% runq 3% disk 30% lock 15% net 5% sleep 2%`. CPU and run queue
 * first, then the reasons (and host steal) largest first; parts that round
 * to 0% are left out.
 */
export function waitBreakdown(r: Values): string {
  const total = threadTime(r);
  if (total <= 0) return '';
  const pct = (ns: number) => Math.round((ns / total) * 100);
  const parts: [string, number][] = [
    ['cpu', r.v[CPU.at.oncpu_ns]],
    ['runq', r.v[CPU.at.runq_ns]],
  ];
  const all = reasonsNs(r);
  const waits: [string, number][] = REASONS.map((name, i) => [name, all[i]]);
  waits.push(['steal', steal(r)]);
  waits.sort((a, b) => b[1] - a[1]);
  return [...parts, ...waits]
    .filter(([, ns]) => pct(ns) > 0)
    .map(([name, ns]) => `${name} ${pct(ns)}%`)
    .join(' ');
}

/** Each part's tag and letter in the drill-down's bar. */
const BAR: Record<string, [string, string]> = {
  cpu: ['green-fg', 'C'], runq: ['red-fg', 'R'], steal: ['red-fg', '!'],
  ...Object.fromEntries(REASONS.map((r) => [r, REASON_INFO[r].bar])),
};

/** The breakdown as a bar of `width` cells, each part's share of thread time, with its letter (tagged for blessed). */
export function breakdownBar(r: Values, width: number): string {
  const total = threadTime(r);
  if (total <= 0) return '';
  const parts: [string, number][] = [['cpu', r.v[CPU.at.oncpu_ns]], ['runq', r.v[CPU.at.runq_ns]]];
  reasonsNs(r).forEach((ns, i) => parts.push([REASONS[i], ns]));
  parts.push(['steal', steal(r)]);
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
    help: `the wait that matters and its share of its threads' wall time: the largest of lock, disk, net, pipe, ipc, other and the run queue (runq) from ${ACTIONABLE_PCT}%, else the largest idleness (idle, sleep, poll, cond, child, signal: dimmed)`,
    text: (r) => {
      const d = dominantWait(r);
      // a process that (all but) never waited: nothing to name
      return d && Math.round(d.pct) > 0 ? `${d.reason} ${Math.round(d.pct)}%` : '-';
    },
    value: (r) => dominantWait(r)?.pct ?? 0,
    // idleness dimmed; contention, I/O and the run queue stand out
    cue: (r) => {
      const d = dominantWait(r);
      if (!d || Math.round(d.pct) <= 0) return null;
      if (d.muted) return 'idle';
      if (d.reason === 'runq') return saturated(r) ? 'saturated' : 'waiting';
      return REASON_INFO[d.reason].tone === 'stands' ? 'waiting' : null;
    },
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
  what: `why each thread is off CPU (${REASONS.join(', ')}) and host steal`,
  optional: true,
  hooks: [
    {
      // The intervals have no program of their own: they ride in the core's
      // sched_switch (and iterator), and this hook's config switches them on.
      // Its own program is the one piece they cannot see: fork to first wakeup.
      source: 'wait.switch',
      what: 'blocked intervals, classified at switch-out and closed at switch-in (inline in the sched_switch program); a new thread\'s time from fork to its first wakeup (other) at sched_wakeup_new',
      variants: [
        ...onTracepoint('wakeup_new', 'sched_wakeup_new', { consts: RAW }),
      ],
      config: () => ({ wait_enabled: 1 }),
      rides: WAIT_RIDES,
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
