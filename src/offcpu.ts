// `ebtop offcpu`: where the asked processes wait, in depth. Loads the core's
// sched_switch program (classify at switch-out, user stack for the asked
// processes, close at switch-in) and the stack-taking wakeup program (it
// records; it does not close), for the asked tgids only;
// every blocked interval of at least --min-block arrives as one ring record
// with the kernel stack where it slept. Here: the capture, the stack rules
// that refine the cheap reason, aggregation, and the text and folded outputs
// (the SVG flame graph is views/flame.ts).
import fs from 'node:fs';
import { u64 } from './abi';
import { describe as describeError, probeFeatures, readMachine } from './collector';
import { UserError } from './errors';
import { printable } from './format';
import type { Logger } from './log';
import { loadObject, u32 } from './loader';
import { loadNative } from './native';
import { preflight, type HookSpec } from './probe';
import { KernelSymbols, UserSymbols } from './symbols';
import { SUBSYSTEMS } from './subsystems';
import { cpu } from './subsystems/cpu';
import { REASONS, WAIT_RIDES, type Reason } from './subsystems/wait';

export const REC_OFFCPU = 6;
/** offcpu_pids' size (bpf/wait.bpf.h, src/subsystems/wait.ts maps) */
const MAX_PIDS = 64;
const DEPTH = 32;

/** struct ebtop_offcpu (bpf/ebtop.h); test/unit/offcpu.test.ts holds it to the object's BTF. */
export const OFFCPU_LAYOUT = {
  size: 48 + 2 * 8 * DEPTH,
  fields: {
    type: [0, 4], tid: [4, 4], pid: [8, 4], cat: [12, 4], block_ns: [16, 8], kframes: [24, 4], uframes: [28, 4],
    comm: [32, 16], kstack: [48, 8 * DEPTH], ustack: [48 + 8 * DEPTH, 8 * DEPTH],
  } as Record<string, readonly [number, number]>,
};

export interface OffcpuRecord {
  tid: number;
  pid: number;
  reason: Reason;
  blockNs: number;
  comm: string;
  /** innermost first */
  kstack: bigint[];
  ustack: bigint[];
}

/** Decodes the addon's framed ring data ([u32 len][record][pad to 8]), keeping the offcpu records. */
export function decodeOffcpu(b: Buffer): OffcpuRecord[] {
  const F = OFFCPU_LAYOUT.fields;
  const out: OffcpuRecord[] = [];
  for (let o = 0; o + 4 <= b.length; ) {
    const len = b.readUInt32LE(o);
    const r = o + 4;
    if (len >= OFFCPU_LAYOUT.size && r + len <= b.length && b.readUInt32LE(r) === REC_OFFCPU) {
      const stack = (at: number, n: number) => Array.from({ length: Math.min(n, DEPTH) }, (_, i) => b.readBigUInt64LE(r + at + i * 8)).filter((ip) => ip !== 0n);
      const commAt = r + F.comm[0];
      const nul = b.indexOf(0, commAt);
      out.push({
        tid: b.readUInt32LE(r + F.tid[0]),
        pid: b.readUInt32LE(r + F.pid[0]),
        reason: REASONS[Math.min(b.readUInt32LE(r + F.cat[0]), REASONS.length - 1)],
        blockNs: u64(b, r + F.block_ns[0]),
        comm: b.toString('latin1', commAt, nul < 0 || nul > commAt + 16 ? commAt + 16 : nul),
        kstack: stack(F.kstack[0], b.readUInt32LE(r + F.kframes[0])),
        ustack: stack(F.ustack[0], b.readUInt32LE(r + F.uframes[0])),
      });
    }
    o += (4 + len + 7) & ~7;
  }
  return out;
}

/**
 * Kernel frames that tell why a thread slept, better than the cheap signals
 * at switch-out can. bpf_get_task_stack strips scheduler text (schedule,
 * io_schedule, schedule_timeout, mutex/rwsem slow paths, do_nanosleep), so
 * the rules name their callers, the frames that survive on 6.18
 * (README "How it works", why it waits). The innermost frame that matches wins.
 * No futex frames: a futex's stack is the same for a mutex and a condition
 * variable, the operation and value at switch-out tell them apart.
 */
export const STACK_RULES: readonly [frame: string, reason: Reason][] = [
  ['anon_pipe_read', 'pipe'],
  ['anon_pipe_write', 'pipe'],
  ['pipe_read', 'pipe'],
  ['pipe_write', 'pipe'],
  ['unix_stream_read_generic', 'pipe'],
  ['unix_stream_sendmsg', 'pipe'],
  ['unix_dgram_recvmsg', 'pipe'],
  ['sk_wait_data', 'net'],
  ['sk_stream_wait_memory', 'net'],
  ['inet_csk_accept', 'idle'], // a server waiting for its next client, as accept() at switch-out
  ['__inet_stream_connect', 'net'],
  ['__skb_wait_for_more_packets', 'net'],
  ['do_epoll_wait', 'poll'],
  ['do_sys_poll', 'poll'],
  ['do_select', 'poll'],
  ['io_cqring_wait', 'poll'],
  ['hrtimer_nanosleep', 'sleep'],
  ['__iomap_dio_rw', 'disk'],
  ['submit_bio_wait', 'disk'],
  ['blkdev_issue_flush', 'disk'],
  ['folio_wait_bit_common', 'disk'],
  ['jbd2_log_wait_commit', 'disk'],
  ['msleep', 'sleep'], // a kernel thread's msleep() sleeps in D, which reads lock at switch-out
];
const RULES = new Map(STACK_RULES);

/** The reason a kernel stack (innermost first, names) shows, or the cheap one when no rule matches. */
export function refineReason(frames: readonly string[], cheap: Reason): Reason {
  for (const f of frames) {
    const r = RULES.get(f);
    if (r) return r;
  }
  return cheap;
}

/** One distinct stack: user frames outermost first, then kernel frames outermost first. */
export interface StackTotal {
  pid: number;
  comm: string;
  reason: Reason;
  /** outermost first */
  frames: string[];
  /** how many user frames lead `frames` */
  userFrames: number;
  ns: number;
  count: number;
}

/**
 * Names (comm, symbols: another process's or the kernel's text) safe inside
 * a folded line: no control or bidi character (printable), no separator.
 */
const clean = (s: string) => printable(s).replace(/[;\s]+/g, '_');

/** Records grouped by process, reason (refined by the kernel stack) and stack, largest first. */
export function aggregate(records: OffcpuRecord[], kname: (a: bigint) => string, uname: (pid: number, a: bigint) => string): StackTotal[] {
  const by = new Map<string, StackTotal>();
  for (const r of records) {
    const kframes = r.kstack.map(kname);
    const uframes = r.ustack.map((a) => uname(r.pid, a));
    const reason = refineReason(kframes, r.reason);
    const frames = [...uframes.reverse(), ...kframes.reverse()].map(clean);
    const key = `${r.pid}\0${reason}\0${frames.join(';')}`;
    const s = by.get(key);
    if (s) {
      s.ns += r.blockNs;
      s.count++;
    } else by.set(key, { pid: r.pid, comm: r.comm, reason, frames, userFrames: uframes.length, ns: r.blockNs, count: 1 });
  }
  return [...by.values()].sort((a, b) => b.ns - a.ns);
}

/** Folded stacks, one `comm;[reason];frame;...;frame ns` line each (flamegraph.pl, speedscope, inferno). */
export function folded(stacks: StackTotal[]): string {
  // every name through clean() here, where the line is written, whatever built the stacks
  return stacks.map((s) => `${[clean(s.comm), `[${s.reason}]`, ...s.frames.map(clean)].join(';')} ${s.ns}\n`).join('');
}

const fmtS = (ns: number) => `${(ns / 1e9).toFixed(3)} s`;

/** The top stacks per process with their time, share and reason. */
export function topReport(stacks: StackTotal[], pids: number[], seconds: number, minBlockMs: number, top: number): string {
  const lines: string[] = [];
  for (const pid of pids) {
    const mine = stacks.filter((s) => s.pid === pid);
    const total = mine.reduce((n, s) => n + s.ns, 0);
    const count = mine.reduce((n, s) => n + s.count, 0);
    const byReason = new Map<Reason, number>();
    for (const s of mine) byReason.set(s.reason, (byReason.get(s.reason) ?? 0) + s.ns);
    const reasons = [...byReason].sort((a, b) => b[1] - a[1]).map(([r, ns]) => `${r} ${((ns / total) * 100).toFixed(1)}%`).join(', ');
    lines.push(`PID ${pid} (${mine[0]?.comm ?? '?'}): blocked ${fmtS(total)} of ${seconds} s in ${count} intervals ≥ ${minBlockMs} ms${reasons ? `: ${reasons}` : ''}`);
    mine.slice(0, top).forEach((s, i) => {
      lines.push(`  #${i + 1}  ${fmtS(s.ns)}  ${((s.ns / total) * 100).toFixed(1)}%  ${s.reason}  ${s.count}×`);
      const kernel = s.frames.slice(s.userFrames).reverse();
      const user = s.frames.slice(0, s.userFrames).reverse();
      for (const f of kernel) lines.push(`      ${f}`);
      if (user.length) lines.push('      -- user --');
      for (const f of user) lines.push(`      ${f}`);
    });
    lines.push('');
  }
  // the one way out: every line printable (comm and frame names are other processes' text)
  return lines.map(printable).join('\n');
}

export interface CaptureOptions {
  pids: number[];
  seconds: number;
  minBlockMs: number;
  log: Logger;
  /** called once the programs are attached and recording */
  onRecording?: () => void;
}

/** The stack-taking wakeup: tp_btf only (bpf_get_task_stack takes a BTF task). */
const STACK_HOOK: HookSpec = {
  source: 'offcpu.stacks',
  what: 'kernel stack of each blocked interval of the asked processes, at wakeup',
  variants: [{ program: 'wakeup_stacks_btf', hook: 'tp_btf/sched_wakeup', needsType: 'btf_trace_sched_wakeup' }],
  config: () => ({ wait_enabled: 1, offcpu_stacks: 1 }),
  rides: WAIT_RIDES,
};

/** Captures the asked processes' blocked intervals for `seconds`; resolves with the records and the user symbolizers. */
export async function capture(opts: CaptureOptions): Promise<{ records: OffcpuRecord[]; users: Map<number, UserSymbols> }> {
  const why = preflight();
  if (why) throw new UserError(why);
  if (opts.pids.length > MAX_PIDS) throw new UserError(`at most ${MAX_PIDS} PIDs`);
  for (const pid of opts.pids) if (!fs.existsSync(`/proc/${pid}`)) throw new UserError(`no process with PID ${pid}`);
  const native = loadNative();
  const features = probeFeatures(native);
  const switchHook = cpu.hooks.find((h) => h.source === 'cpu.exit')!;
  const hooks = [switchHook, STACK_HOOK];
  const minBlock = Buffer.alloc(8);
  minBlock.writeBigUInt64LE(BigInt(Math.round(opts.minBlockMs * 1e6)));
  const { obj, plan } = loadObject({
    native,
    features: probeFeatures(native),
    hooks,
    maps: SUBSYSTEMS.flatMap((s) => s.maps ?? []),
    machine: readMachine(native),
    log: opts.log,
    prepare: (o) => {
      native.setMaxEntries(o, 'events', 16 << 20);
      native.setConst(o, 'capture_args', u32(0));
      native.setConst(o, 'offcpu_min_block_ns', minBlock);
    },
  });
  const users = new Map(opts.pids.map((pid) => [pid, new UserSymbols(pid)]));
  const records: OffcpuRecord[] = [];
  try {
    const missing = plan.sources.find((s) => s.state === 'missing');
    if (missing) throw new UserError(`cannot take stacks here: ${missing.why}`);
    try {
      for (const p of plan.load) native.attach(obj, p.program);
      const one = Buffer.from([1]);
      for (const pid of opts.pids) native.mapUpdate(obj, 'offcpu_pids', u32(pid), one);
      native.ringOpen(obj, 'events');
    } catch (e) {
      opts.log.error({ libbpf: native.takeLog() }, 'offcpu attach failed');
      throw new UserError(`cannot attach the offcpu programs: ${describeError(e)} (details in the log)`);
    }
    opts.onRecording?.();
    // on the monotonic clock: a wall-clock step (NTP, date -s) neither stretches nor cuts the capture
    const end = performance.now() + opts.seconds * 1000;
    while (performance.now() < end) {
      await new Promise((r) => setTimeout(r, Math.min(200, Math.max(0, end - performance.now()))));
      for (const r of decodeOffcpu(native.ringDrain(obj).data)) records.push(r);
      for (const u of users.values()) u.refresh();
    }
    for (const r of decodeOffcpu(native.ringDrain(obj).data)) records.push(r);
  } finally {
    native.close(obj);
  }
  return { records, users };
}

/** Records to named, aggregated stacks. */
export function symbolize(records: OffcpuRecord[], users: Map<number, UserSymbols>, ksyms = new KernelSymbols()): StackTotal[] {
  return aggregate(
    records,
    (a) => ksyms.name(a),
    (pid, a) => users.get(pid)?.name(a) ?? `0x${a.toString(16)}`,
  );
}
