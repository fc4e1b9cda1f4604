// The wait subsystem in the model, with a fake clock: intervals still open at
// a snapshot are counted up to it and never twice, off-CPU time is the sum of
// the reasons, the JSON reasons add up to offcpu_ns, and the WAIT column and
// the one-line breakdown say where the time went.
import { describe, expect, it } from 'vitest';
import type { TaskRecord } from '../../src/abi';
import { column } from '../../src/columns';
import { Model, type ProcessRow, type RawSample } from '../../src/model';
import { SCHEMA } from '../../src/subsystems';
import { CPU, OFFCPU } from '../../src/subsystems/cpu';
import { dominantWait, REASONS, settleOpen, WAIT, waitBreakdown, type Reason } from '../../src/subsystems/wait';
import { processJson } from '../../src/views/json';

const MS = 1e6;
const S = 1e9;

interface Th {
  tid: number;
  pid?: number;
  kind?: 'task' | 'exit';
  timeNs?: number;
  oncpu?: number;
  runq?: number;
  /** closed intervals so far, by reason */
  closed?: Partial<Record<Reason, number>>;
  steal?: number;
  /** the interval still open: since when, why */
  open?: [sinceNs: number, reason: Reason];
}

function task(t: Th): TaskRecord {
  const c = new Float64Array(SCHEMA.taskSlots);
  c[CPU.at.oncpu_ns] = t.oncpu ?? 0;
  c[CPU.at.runq_ns] = t.runq ?? 0;
  for (const [r, ns] of Object.entries(t.closed ?? {})) c[WAIT.at.disk_ns + REASONS.indexOf(r as Reason)] = ns;
  c[WAIT.at.steal_ns] = t.steal ?? 0;
  if (t.open) {
    c[WAIT.at.open_since_ns] = t.open[0];
    c[WAIT.at.open_cat] = REASONS.indexOf(t.open[1]);
  }
  const pid = t.pid ?? t.tid;
  return { kind: t.kind ?? 'task', tid: t.tid, pid, ppid: 1, uid: 0, flags: 0, state: 1, exitCode: 0, startNs: 0, pstartNs: 0, timeNs: t.timeNs ?? 0, comm: 'w', c };
}

const sample = (timeNs: number, tasks: TaskRecord[], events: TaskRecord[] = [], procTasks: TaskRecord[] = []): RawSample => ({
  timeNs, wallMs: timeNs / MS, tasks, procTasks, events, charges: [], idleNs: null, bpf: { runNs: 0, runCount: 0, records: 0, lost: 0 }, loadavg: null,
});

const model = () => new Model({ ncpu: 2, threads: true, cmdline: () => null });
const reason = (r: ProcessRow, name: Reason) => r.v[WAIT.at.disk_ns + REASONS.indexOf(name)];
const of = (rows: ProcessRow[], pid: number) => rows.find((r) => r.pid === pid)!;

describe('wait: open intervals', () => {
  it('settleOpen counts the open part up to the snapshot in its reason and clears the open state', () => {
    const c = task({ tid: 1, closed: { pipe: 5 * MS }, open: [10 * MS, 'pipe'] }).c;
    settleOpen(c, 25 * MS);
    expect(c[WAIT.at.pipe_ns]).toBe(20 * MS);
    expect(c[WAIT.at.open_since_ns]).toBe(0);
    expect(c[WAIT.at.open_cat]).toBe(0);
    // begun after the snapshot time (blocked between the timestamp and the iterator's read): not yet
    const late = task({ tid: 1, open: [30 * MS, 'disk'] }).c;
    settleOpen(late, 25 * MS);
    expect(late[WAIT.at.disk_ns]).toBe(0);
  });

  it('a thread asleep across snapshots shows its reason every interval; the wakeup adds the rest, never twice', () => {
    const m = model();
    m.update(sample(0, [task({ tid: 7, open: [-0.5 * S, 'sleep'] })]));
    // blocked the whole interval: all of it is sleep, though the record did not change
    let iv = m.update(sample(S, [task({ tid: 7, open: [-0.5 * S, 'sleep'] })]))!;
    expect(reason(of(iv.processes, 7), 'sleep')).toBe(S);
    expect(of(iv.processes, 7).v[OFFCPU.at.offcpu_ns]).toBe(S);
    // woke at 1.2 s (closed: 1.7 s of sleep since -0.5 s), ran 100 ms, blocked on a pipe at 1.3 s
    iv = m.update(sample(2 * S, [task({ tid: 7, oncpu: 100 * MS, closed: { sleep: 1.7 * S }, open: [1.3 * S, 'pipe'] })]))!;
    const p = of(iv.processes, 7);
    expect(reason(p, 'sleep')).toBeCloseTo(0.2 * S, 0);
    expect(reason(p, 'pipe')).toBeCloseTo(0.7 * S, 0);
    expect(p.v[OFFCPU.at.offcpu_ns]).toBeCloseTo(0.9 * S, 0);
    expect(p.v[CPU.at.oncpu_ns] + p.v[OFFCPU.at.offcpu_ns]).toBeCloseTo(S, 0);
  });

  it('an exit record carries what was still open at the last snapshot (closed at the wakeup before exit)', () => {
    const m = model();
    m.update(sample(0, [task({ tid: 8, open: [-S, 'pipe'] })]));
    // woken by the exit signal at 0.6 s, dead at 0.61 s
    const exit = task({ tid: 8, kind: 'exit', timeNs: 0.61 * S, oncpu: 10 * MS, closed: { pipe: 1.6 * S } });
    const iv = m.update(sample(S, [], [exit]))!;
    const p = of(iv.processes, 8);
    expect(p.exited).toBe(true);
    expect(reason(p, 'pipe')).toBeCloseTo(0.6 * S, 0);
    expect(p.v[CPU.at.oncpu_ns] + p.v[OFFCPU.at.offcpu_ns]).toBeCloseTo(0.61 * S, 0);
  });

  it('an exit record with an interval still open (its wakeup missed) counts it up to the exit time', () => {
    const m = model();
    m.update(sample(0, [task({ tid: 9, open: [-S, 'lock'] })]));
    const exit = task({ tid: 9, kind: 'exit', timeNs: 0.5 * S, open: [-S, 'lock'] });
    const p = of(m.update(sample(S, [], [exit]))!.processes, 9);
    expect(reason(p, 'lock')).toBe(0.5 * S);
  });
});

describe('wait: off-CPU time and the JSON reasons', () => {
  it('off-CPU is the sum of the reasons (run-queue time the kernel has not reported yet is not off-CPU)', () => {
    const m = model();
    m.update(sample(0, [task({ tid: 3 })]));
    // ran 300 ms, slept 500 ms; the remaining 200 ms it was runnable and not yet switched in
    const iv = m.update(sample(S, [task({ tid: 3, oncpu: 300 * MS, closed: { sleep: 500 * MS } })]))!;
    expect(of(iv.processes, 3).v[OFFCPU.at.offcpu_ns]).toBe(500 * MS);
  });

  it('JSON: the reasons add up to offcpu_ns; steal is beside them', () => {
    const m = model();
    m.update(sample(0, [task({ tid: 4 }), task({ tid: 5, pid: 4 })]));
    const iv = m.update(
      sample(S, [
        task({ tid: 4, oncpu: 100 * MS, steal: 3 * MS, closed: { disk: 600 * MS, lock: 297 * MS } }),
        task({ tid: 5, pid: 4, closed: { net: 250 * MS }, open: [0.25 * S, 'poll'] }),
      ]),
    )!;
    const j = processJson(iv, of(iv.processes, 4), { threads: true }) as Record<string, unknown> & { wait: Record<string, number>; threads_detail: Record<string, unknown>[] };
    expect(j.wait).toEqual({
      disk_ns: 600 * MS, net_ns: 250 * MS, lock_ns: 297 * MS, sleep_ns: 0, pipe_ns: 0, poll_ns: 750 * MS, other_ns: 0,
      cond_ns: 0, child_ns: 0, signal_ns: 0, ipc_ns: 0, idle_ns: 0,
    });
    // the seven first keys keep their order; later reasons come after other
    expect(Object.keys(j.wait).slice(0, 7)).toEqual(['disk_ns', 'net_ns', 'lock_ns', 'sleep_ns', 'pipe_ns', 'poll_ns', 'other_ns']);
    expect(Object.values(j.wait).reduce((a, b) => a + b, 0)).toBe(j.offcpu_ns);
    expect(j.steal_ns).toBe(3 * MS);
    // wall = on-CPU + run queue + off-CPU + steal, for each thread
    for (const t of j.threads_detail) expect((t.oncpu_ns as number) + (t.runq_ns as number) + (t.offcpu_ns as number) + (t.steal_ns as number)).toBe(S);
    expect(Object.keys(j).indexOf('wait')).toBeGreaterThan(Object.keys(j).indexOf('offcpu_ns'));
  });

  it('JSON: a process read from /proc (no BPF intervals) has its off-CPU time as other', () => {
    const m = model();
    m.update(sample(0, [], [], [task({ tid: 1 })]));
    const iv = m.update(sample(S, [], [], [task({ tid: 1, oncpu: 10 * MS })]))!;
    const j = processJson(iv, of(iv.processes, 1), { threads: false }) as { wait: Record<string, number>; offcpu_ns: number };
    expect(j.offcpu_ns).toBe(990 * MS);
    expect(j.wait.other_ns).toBe(990 * MS);
  });

  it('JSON: wait and steal_ns are null when the wait hooks are not attached (--no-wait)', () => {
    const avail = new Set(SCHEMA.groups.filter((g) => g.name !== 'wait').map((g) => g.name));
    const m = new Model({ ncpu: 2, avail, cmdline: () => null });
    m.update(sample(0, [task({ tid: 6 })]));
    const iv = m.update(sample(S, [task({ tid: 6, oncpu: 10 * MS })]))!;
    const j = processJson(iv, of(iv.processes, 6), { threads: false }) as Record<string, unknown>;
    expect(j.wait).toBeNull();
    expect(j.steal_ns).toBeNull();
    expect(j.offcpu_ns).toBe(990 * MS); // from the CPU counters then
  });
});

describe('wait: WAIT column and breakdown', () => {
  const row = (oncpu: number, runq: number, waits: Partial<Record<Reason, number>>, steal = 0): ProcessRow => {
    const v = new Float64Array(SCHEMA.slots);
    v[CPU.at.oncpu_ns] = oncpu;
    v[CPU.at.runq_ns] = runq;
    let off = 0;
    for (const [r, ns] of Object.entries(waits)) {
      v[WAIT.at.disk_ns + REASONS.indexOf(r as Reason)] = ns;
      off += ns;
    }
    v[OFFCPU.at.offcpu_ns] = off;
    v[WAIT.at.steal_ns] = steal;
    const avail = new Set(SCHEMA.groups.map((g) => g.name));
    return { pid: 1, startNs: 0, ppid: 0, uid: 0, user: 'root', comm: 'x', cmdline: 'x', threads: 1, state: 'S', kthread: false, source: 'bpf', exited: false, exitCode: null, late: false, v, spanNs: S, avail, threadsDetail: [] };
  };

  it('shows the dominant reason and its share of wall time; "-" when it never waited', () => {
    const c = column('wait');
    expect(c.text(row(300 * MS, 80 * MS, { disk: 620 * MS }))).toBe('disk 62%');
    expect(c.text(row(4 * MS, 0, { other: 996 * MS }))).toBe('other 100%'); // fits its width
    expect(c.text(row(S, 0, {}))).toBe('-');
    expect(c.text(row(0, 0, { sleep: S }))).toBe('sleep 100%');
    expect(dominantWait(row(100 * MS, 0, { lock: 500 * MS, net: 400 * MS }))).toEqual({ reason: 'lock', pct: 50, muted: false });
    // two threads: shares of their summed wall time, never above 100%
    expect(dominantWait(row(S, 0, { poll: S }))!.pct).toBe(50);
    expect(c.text(row(0, 0, { other: 999 * MS })).length).toBeLessThanOrEqual(c.width);
  });

  it('a row read from /proc (nothing classified): its off-CPU time is other, in the column as in JSON', () => {
    const r = row(10 * MS, 0, {});
    r.v[OFFCPU.at.offcpu_ns] = 990 * MS;
    expect(column('wait').text(r)).toBe('other 99%');
  });

  it('idleness is named only when nothing to act on reaches 5%; then dimmed, contention and I/O bold', () => {
    const c = column('wait');
    const cue = (r: ProcessRow) => c.cue!(r, {} as never);
    // an idle pool: 8 threads parked on a condition variable, main asleep
    const pool = row(0, 0, { cond: 8 * S, sleep: S });
    expect(dominantWait(pool)).toEqual({ reason: 'cond', pct: (8 / 9) * 100, muted: true });
    expect(cue(pool)).toBe('idle');
    // the same pool with one thread waiting 10% of its time on disk: disk is what matters
    const busy = row(0, 0, { cond: 8 * S, sleep: 0.1 * S, disk: 0.9 * S });
    expect(dominantWait(busy)).toEqual({ reason: 'disk', pct: 10, muted: false });
    expect(cue(busy)).toBe('waiting');
    // below 5%: still the idleness
    expect(dominantWait(row(0, 0, { idle: 0.97 * S, lock: 0.03 * S }))!.reason).toBe('idle');
    // the run queue stands out too (red when saturated: waited as long as it ran)
    const runq = row(300 * MS, 400 * MS, { poll: 300 * MS });
    expect(dominantWait(runq)).toEqual({ reason: 'runq', pct: 40, muted: false });
    expect(cue(runq)).toBe('saturated');
    expect(c.text(runq)).toBe('runq 40%');
    // neutral reasons (pipe, ipc, other) are named but not marked
    expect(cue(row(0, 0, { pipe: S }))).toBeNull();
    for (const r of ['idle', 'sleep', 'poll', 'cond', 'child', 'signal'] as Reason[]) expect(dominantWait(row(0, 0, { [r]: S }))!.muted).toBe(true);
    for (const r of ['lock', 'disk', 'net'] as Reason[]) expect(cue(row(0, 0, { [r]: S }))).toBe('waiting');
  });

  it('one line for the selected process: CPU and run queue, then reasons largest first, 0% left out, named as WAIT names them', () => {
    expect(waitBreakdown(row(450 * MS, 30 * MS, { disk: 300 * MS, lock: 150 * MS, net: 50 * MS, sleep: 20 * MS, poll: 1 * MS }))).toBe('cpu 45% runq 3% disk 30% lock 15% net 5% sleep 2%');
    expect(waitBreakdown(row(500 * MS, 0, { pipe: 400 * MS }, 100 * MS))).toBe('cpu 50% pipe 40% steal 10%');
    expect(waitBreakdown(row(0, 0, { cond: 600 * MS, child: 300 * MS, idle: 100 * MS }))).toBe('cond 60% child 30% idle 10%');
    expect(waitBreakdown(row(0, 0, {}))).toBe('');
  });
});
