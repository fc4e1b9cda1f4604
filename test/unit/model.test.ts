import { describe, expect, it } from 'vitest';
import { F_GROUP_DEAD, F_KTHREAD, F_ZOMBIE, type RingRecord, type TaskRecord } from '../../src/abi';
import { exitStatus, Model, stateLetter, type RawSample } from '../../src/model';
import { SCHEMA, SUBSYSTEMS } from '../../src/subsystems';
import { CPU, cpuPct, OFFCPU } from '../../src/subsystems/cpu';
import type { Values } from '../../src/subsystems/types';
import { WRITEBACK } from '../../src/subsystems/disk';
import { intervalJson } from '../../src/views/json';
import { ASCII, buildLines, initialState } from '../../src/views/viewstate';
import type { ChargeRecord } from '../../src/abi';

const MS = 1e6;
const S = 1e9;

type Cpu = { oncpuNs?: number; runqNs?: number; nvcsw?: number; nivcsw?: number; migrations?: number; slices?: number };

/** A task record; CPU counters by name; the process's start time is the thread's when it leads, else 0. */
function task(over: Partial<Omit<TaskRecord, 'c'>> & Cpu & { tid: number }): TaskRecord {
  const { oncpuNs = 0, runqNs = 0, nvcsw = 0, nivcsw = 0, migrations = 0, slices = 0, ...rest } = over;
  const c = new Float64Array(SCHEMA.taskSlots);
  c[CPU.at.oncpu_ns] = oncpuNs;
  c[CPU.at.runq_ns] = runqNs;
  c[CPU.at.nvcsw] = nvcsw;
  c[CPU.at.nivcsw] = nivcsw;
  c[CPU.at.migrations] = migrations;
  c[CPU.at.slices] = slices;
  const pid = rest.pid ?? rest.tid;
  return {
    kind: 'task',
    pid,
    ppid: 1,
    uid: 0,
    flags: 0,
    state: 1,
    exitCode: 0,
    startNs: 0,
    pstartNs: pid === rest.tid ? (rest.startNs ?? 0) : 0,
    timeNs: 0,
    comm: 'x',
    ...rest,
    c,
  };
}

/** A row's CPU numbers by name. */
function cpuOf(r: Values) {
  return { oncpuNs: r.v[CPU.at.oncpu_ns], runqNs: r.v[CPU.at.runq_ns], nvcsw: r.v[CPU.at.nvcsw], offcpuNs: r.v[OFFCPU.at.offcpu_ns], cpuPct: cpuPct(r) };
}

function sample(timeNs: number, tasks: TaskRecord[], events: RingRecord[] = [], idleNs: number[] | null = null, charges: ChargeRecord[] = []): RawSample {
  return { timeNs, wallMs: timeNs / MS, tasks, procTasks: [], events, charges, ext: {}, idleNs, bpf: { runNs: 0, runCount: 0, records: 0, lost: 0 }, loadavg: [0.5, 0.25, 0.125] };
}

/** A drained writeback charge for process (pid, start). */
function writeback(pid: number, startNs: number, bytes: number): ChargeRecord {
  const v = new Float64Array(SCHEMA.slots);
  v[WRITEBACK.at.writeback_bytes] = bytes;
  v[WRITEBACK.at.writeback_ios] = 1;
  return { pid, startNs, v };
}

// These records carry no wait counters: off-CPU time comes from the CPU
// counters (with wait attached it is the sum of the wait reasons: wait.test.ts).
const model = (cumulative = false) =>
  new Model({ ncpu: 2, cumulative, threads: true, subsystems: SUBSYSTEMS.filter((s) => s.name !== 'wait'), userName: (u) => (u === 0 ? 'root' : `u${u}`), cmdline: () => ['prog', '--flag'] });

describe('Model', () => {
  it('takes the first sample as a baseline and reports deltas after it', () => {
    const m = model();
    expect(m.update(sample(10 * S, [task({ tid: 100, oncpuNs: 5 * S, nvcsw: 10 })]))).toBeNull();
    const iv = m.update(sample(11 * S, [task({ tid: 100, oncpuNs: 5 * S + 250 * MS, nvcsw: 14, runqNs: 10 * MS })]))!;
    expect(iv.intervalNs).toBe(S);
    const p = iv.processes.find((r) => r.pid === 100)!;
    expect(cpuOf(p).oncpuNs).toBe(250 * MS);
    expect(cpuOf(p).cpuPct).toBeCloseTo(25);
    expect(cpuOf(p).nvcsw).toBe(4);
    expect(cpuOf(p).offcpuNs).toBe(S - 250 * MS - 10 * MS);
    expect(p.user).toBe('root');
    expect(p.cmdline).toBe('prog --flag');
  });

  it('folds threads into their process: two busy threads on two CPUs = 200%', () => {
    const m = model();
    m.update(sample(0, [task({ tid: 10, startNs: 0 }), task({ tid: 11, pid: 10 })]));
    const iv = m.update(sample(S, [task({ tid: 10, oncpuNs: S }), task({ tid: 11, pid: 10, oncpuNs: S })]))!;
    const p = iv.processes.find((r) => r.pid === 10)!;
    expect(p.threads).toBe(2);
    expect(cpuOf(p).cpuPct).toBeCloseTo(200);
    expect(p.threadsDetail.map((t) => t.tid).sort()).toEqual([10, 11]);
  });

  it('reports an exited process once, with the final counters of its exit record', () => {
    const m = model();
    m.update(sample(0, [task({ tid: 20, oncpuNs: 100 * MS })]));
    const exit = task({ tid: 20, kind: 'exit', oncpuNs: 400 * MS, exitCode: 3 << 8, flags: F_GROUP_DEAD, timeNs: 500 * MS });
    // Unreaped: the zombie is still in the snapshot; it must not count twice.
    const zombie = task({ tid: 20, oncpuNs: 400 * MS, flags: F_ZOMBIE });
    const iv = m.update(sample(S, [zombie], [exit]))!;
    const p = iv.processes.find((r) => r.pid === 20)!;
    expect(p.exited).toBe(true);
    expect(p.exitCode).toBe(3);
    expect(cpuOf(p).oncpuNs).toBe(300 * MS);
    expect(cpuOf(p).offcpuNs).toBe(500 * MS - 300 * MS); // alive until its exit, not the whole interval
    expect(iv.system.exited).toBe(1);
    for (let i = 2; i < 5; i++) {
      const next = m.update(sample(i * S, [zombie]))!; // its parent has not reaped it yet
      expect(next.processes.find((r) => r.pid === 20)).toBeUndefined();
      expect(next.system.lostThreads).toBe(0);
    }
  });

  it('does not resurrect a process that died after a snapshot and shows up as a zombie in the next', () => {
    const m = model();
    m.update(sample(0, []));
    const exit = task({ tid: 21, kind: 'exit', startNs: 0.5 * S, timeNs: 0.6 * S, oncpuNs: 10 * MS, flags: F_GROUP_DEAD });
    expect(m.update(sample(S, [], [exit]))!.processes.find((r) => r.pid === 21)!.exited).toBe(true);
    const zombie = task({ tid: 21, startNs: 0.5 * S, oncpuNs: 10 * MS, flags: F_ZOMBIE });
    expect(m.update(sample(2 * S, [zombie]))!.processes.find((r) => r.pid === 21)).toBeUndefined();
    expect(m.update(sample(3 * S, [zombie]))!.processes.find((r) => r.pid === 21)).toBeUndefined();
  });

  it('counts a process born and dead inside one interval from zero', () => {
    const m = model();
    m.update(sample(10 * S, []));
    const born = task({ tid: 30, kind: 'exit', startNs: 10 * S + 100 * MS, timeNs: 10 * S + 130 * MS, oncpuNs: 20 * MS, comm: 'short' });
    const iv = m.update(sample(11 * S, [], [
      { kind: 'fork', tid: 30, pid: 30, ppid: 1, startNs: born.startNs, timeNs: born.startNs, comm: 'sh' },
      { kind: 'exec', tid: 30, pid: 30, oldTid: 30, startNs: born.startNs, timeNs: born.startNs + MS, comm: 'short', args: ['short', '-x'] },
      born,
    ]))!;
    const p = iv.processes.find((r) => r.pid === 30)!;
    expect(cpuOf(p).oncpuNs).toBe(20 * MS);
    expect(p.exited).toBe(true);
    expect(p.comm).toBe('short');
    expect(p.cmdline).toBe('short -x');
    expect(iv.system.forks).toBe(1);
    expect(iv.system.execs).toBe(1);
  });

  it('does not count the history of a thread born before the previous snapshot but never seen', () => {
    const m = model();
    m.update(sample(10 * S, []));
    const old = task({ tid: 31, kind: 'exit', startNs: 5 * S, timeNs: 10 * S + MS, oncpuNs: 3 * S });
    const iv = m.update(sample(11 * S, [], [old]))!;
    expect(iv.processes.find((r) => r.pid === 31)).toBeUndefined();
  });

  it('treats a reused tid (new start time) as a new thread counted from zero', () => {
    const m = model();
    m.update(sample(0, [task({ tid: 40, startNs: 0, oncpuNs: 900 * MS })]));
    const iv = m.update(sample(S, [task({ tid: 40, startNs: 500 * MS, oncpuNs: 50 * MS })]))!;
    expect(cpuOf(iv.processes.find((r) => r.pid === 40)!).oncpuNs).toBe(50 * MS);
  });

  it('keeps a process alive while a thread lives after its leader exited', () => {
    const m = model();
    m.update(sample(0, [task({ tid: 50 }), task({ tid: 51, pid: 50 })]));
    const leaderExit = task({ tid: 50, kind: 'exit', oncpuNs: 10 * MS, timeNs: S / 2 });
    const iv = m.update(sample(S, [task({ tid: 51, pid: 50, oncpuNs: 20 * MS })], [leaderExit]))!;
    const p = iv.processes.find((r) => r.pid === 50)!;
    expect(p.exited).toBe(false);
    expect(cpuOf(p).oncpuNs).toBe(30 * MS);
    const iv2 = m.update(sample(2 * S, [], [task({ tid: 51, pid: 50, kind: 'exit', oncpuNs: 25 * MS, timeNs: 1.5 * S, flags: F_GROUP_DEAD })]))!;
    const p2 = iv2.processes.find((r) => r.pid === 50)!;
    expect(p2.exited).toBe(true);
    expect(cpuOf(p2).oncpuNs).toBe(5 * MS);
  });

  it('derives per-CPU busy/idle from cumulative idle, guarding a missing previous value', () => {
    const m = model();
    m.update(sample(0, [], [], [10 * S, 20 * S]));
    const iv = m.update(sample(S, [], [], [10.75 * S, 21 * S]))!;
    expect(iv.cpus).toEqual([
      { idleNs: 750 * MS, busyNs: 250 * MS },
      { idleNs: S, busyNs: 0 },
    ]);
    expect(iv.system.idleNs).toBe(1.75 * S);
    expect(iv.system.busyNs).toBe(0.25 * S);
    const noIdle = model();
    noIdle.update(sample(0, []));
    expect(noIdle.update(sample(S, []))!.system.idleNs).toBeNull();
  });

  it('reports totals since the baseline with cumulative, including after exit', () => {
    const m = model(true);
    m.update(sample(0, [task({ tid: 60, oncpuNs: 100 * MS })]));
    m.update(sample(S, [task({ tid: 60, oncpuNs: 300 * MS })]));
    const iv = m.update(sample(2 * S, [], [task({ tid: 60, kind: 'exit', oncpuNs: 500 * MS, timeNs: 1.5 * S })]))!;
    const p = iv.processes.find((r) => r.pid === 60)!;
    expect(cpuOf(p).oncpuNs).toBe(400 * MS);
    expect(cpuOf(p).cpuPct).toBeCloseTo(20); // 400 ms over 2 s
    expect(iv.cumulative).toBe(true);
  });

  for (const order of ['exit first', 'exec first'] as const) {
    it(`follows a non-leader thread that execs and takes over the leader's tid (${order})`, () => {
      const m = model();
      // de_thread gives the exec'ing thread (91) the leader's tid and start time
      m.update(sample(0, [task({ tid: 90, startNs: 0, oncpuNs: 10 * MS }), task({ tid: 91, pid: 90, startNs: 5, oncpuNs: 100 * MS })]));
      const leaderExit = task({ tid: 90, kind: 'exit', startNs: 0, oncpuNs: 11 * MS, timeNs: S / 2 });
      const exec = { kind: 'exec' as const, tid: 90, pid: 90, oldTid: 91, startNs: 0, timeNs: S / 2, comm: 'new', args: ['new'] };
      const events = order === 'exit first' ? [leaderExit, exec] : [exec, leaderExit];
      const iv = m.update(sample(S, [task({ tid: 90, startNs: 0, oncpuNs: 300 * MS, comm: 'new' })], events))!;
      const p = iv.processes.find((r) => r.pid === 90)!;
      expect(p.exited).toBe(false);
      expect(cpuOf(p).oncpuNs).toBe(1 * MS + 200 * MS);
      expect(p.cmdline).toBe('new');
      expect(iv.system.lostThreads).toBe(0);
      const end = task({ tid: 90, kind: 'exit', startNs: 0, oncpuNs: 350 * MS, timeNs: 1.5 * S, flags: F_GROUP_DEAD, comm: 'new' });
      const iv2 = m.update(sample(2 * S, [], [end]))!;
      const p2 = iv2.processes.find((r) => r.pid === 90)!;
      expect(p2.exited).toBe(true);
      expect(cpuOf(p2).oncpuNs).toBe(50 * MS);
    });
  }

  it('counts a thread that vanished without an exit record as lost, once no record came in the 3 snapshots after it went missing', () => {
    const m = model();
    m.update(sample(0, [task({ tid: 70 }), task({ tid: 71, pid: 70 })]));
    const lost = [1, 2, 3, 4].map((i) => m.update(sample(i * S, [task({ tid: 70 })]))!.system.lostThreads);
    expect(lost).toEqual([0, 0, 0, 1]);
  });

  it('takes the exit record of a thread reaped before its final switch-out (it vanished from the snapshot first) with its last interval and command line', () => {
    const m = model();
    const exec = { kind: 'exec' as const, tid: 80, pid: 80, oldTid: 80, startNs: 0, timeNs: 0, comm: 'burn', args: ['burn', '1500'] };
    m.update(sample(0, [task({ tid: 80, oncpuNs: 10 * MS, comm: 'burn' })], [exec]));
    m.update(sample(S, [task({ tid: 80, oncpuNs: 500 * MS, comm: 'burn' })]));
    // reaped: the snapshot no longer lists it, and its exit record is still to come
    const gap = m.update(sample(2 * S, []))!;
    expect(gap.processes.find((r) => r.pid === 80)).toBeUndefined();
    expect(gap.system.lostThreads).toBe(0);
    const end = task({ tid: 80, kind: 'exit', oncpuNs: 1510 * MS, timeNs: 1.9 * S, flags: F_GROUP_DEAD, comm: 'burn' });
    const iv = m.update(sample(3 * S, [], [end]))!;
    const p = iv.processes.find((r) => r.pid === 80)!;
    expect(p.exited).toBe(true);
    expect(cpuOf(p).oncpuNs).toBe(1010 * MS);
    expect(p.cmdline).toBe('burn 1500');
    expect(iv.system.lostThreads).toBe(0);
    expect(m.update(sample(4 * S, []))!.system.lostThreads).toBe(0);
  });

  it('takes back a thread one snapshot missed, its time counted once', () => {
    const m = model();
    m.update(sample(0, [task({ tid: 60, oncpuNs: 0 })]));
    m.update(sample(S, []));
    const iv = m.update(sample(2 * S, [task({ tid: 60, oncpuNs: 700 * MS })]))!;
    expect(cpuOf(iv.processes.find((r) => r.pid === 60)!).oncpuNs).toBe(700 * MS);
    expect(iv.system.lostThreads).toBe(0);
  });

  it('marks kernel threads and gives them a bracketed command line', () => {
    const m = new Model({ ncpu: 1 });
    m.update(sample(0, [task({ tid: 2, flags: F_KTHREAD, comm: 'kthreadd' })]));
    const p = m.update(sample(S, [task({ tid: 2, flags: F_KTHREAD, comm: 'kthreadd' })]))!.processes[0];
    expect(p.kthread).toBe(true);
    expect(p.cmdline).toBe('[kthreadd]');
  });

  it('keeps no state for processes that came and went (no leak under churn)', () => {
    const m = model();
    m.update(sample(0, [task({ tid: 1 })]));
    let pid = 1000;
    for (let tick = 1; tick <= 50; tick++) {
      const events: RingRecord[] = [];
      for (let i = 0; i < 20; i++, pid++) {
        const start = (tick - 1) * S + i * MS;
        events.push({ kind: 'fork', tid: pid, pid, ppid: 1, startNs: start, timeNs: start, comm: 'sh' });
        events.push({ kind: 'exec', tid: pid, pid, oldTid: pid, startNs: start, timeNs: start, comm: 'true', args: ['true'] });
        events.push(task({ tid: pid, kind: 'exit', startNs: start, timeNs: start + MS, oncpuNs: MS, flags: F_GROUP_DEAD }));
      }
      expect(m.update(sample(tick * S, [task({ tid: 1 })], events))!.system.exited).toBe(20);
    }
    const state = m as unknown as Record<'threads' | 'dead' | 'procs' | 'execArgs', Map<number, unknown>>;
    expect(state.threads.size).toBe(1);
    expect(state.procs.size).toBe(1);
    expect(state.execArgs.size).toBe(0);
    expect(state.dead.size).toBeLessThanOrEqual(20); // only the last interval's, while their zombies may show
  });

  it('keeps an exit and a new process that reused its pid in the same interval apart', () => {
    const m = model();
    m.update(sample(0, [task({ tid: 300, startNs: 0, oncpuNs: 10 * MS })]));
    const exit = task({ tid: 300, kind: 'exit', startNs: 0, oncpuNs: 40 * MS, timeNs: 0.3 * S, flags: F_GROUP_DEAD, exitCode: 2 << 8 });
    const reused = task({ tid: 300, startNs: 0.5 * S, oncpuNs: 70 * MS, comm: 'new' });
    const iv = m.update(sample(S, [reused], [exit]))!;
    const rows = iv.processes.filter((r) => r.pid === 300);
    expect(rows.map((r) => [r.exited, r.exitCode, cpuOf(r).oncpuNs])).toEqual([
      [true, 2, 30 * MS],
      [false, null, 70 * MS],
    ]);
    expect(iv.system.exited).toBe(1);
    expect(iv.system.tasks).toBe(1);
    const next = m.update(sample(2 * S, [task({ tid: 300, startNs: 0.5 * S, oncpuNs: 90 * MS, comm: 'new' })]))!;
    expect(next.processes.filter((r) => r.pid === 300).map((r) => [r.exited, cpuOf(r).oncpuNs, r.comm])).toEqual([[false, 20 * MS, 'new']]);
  });

  it('reuses row objects between refreshes', () => {
    const m = model();
    m.update(sample(0, [task({ tid: 310, startNs: 0 })]));
    const a = m.update(sample(S, [task({ tid: 310, startNs: 0, oncpuNs: MS })]))!.processes[0];
    const b = m.update(sample(2 * S, [task({ tid: 310, startNs: 0, oncpuNs: 3 * MS })]))!.processes[0];
    expect(b).toBe(a);
    expect(b.threadsDetail[0]).toBe(a.threadsDetail[0]);
    expect(cpuOf(b).oncpuNs).toBe(2 * MS);
  });

  it('charges a live process, brings an exited one back as late, and keeps ownerless charges apart', () => {
    const m = model();
    m.update(sample(0, [task({ tid: 400, startNs: 5 }), task({ tid: 401, startNs: 6, comm: 'dd' })]));
    // 401 exits in the first interval; its pages are written back in the second and third
    const exit = task({ tid: 401, kind: 'exit', startNs: 6, timeNs: 0.5 * S, flags: F_GROUP_DEAD, comm: 'dd' });
    const iv1 = m.update(sample(S, [task({ tid: 400, startNs: 5 })], [exit], null, [writeback(400, 5, 4096)]))!;
    expect(iv1.processes.find((r) => r.pid === 400)!.v[WRITEBACK.at.writeback_bytes]).toBe(4096);
    expect(iv1.processes.find((r) => r.pid === 401)!.late).toBe(false);
    const iv2 = m.update(sample(2 * S, [task({ tid: 400, startNs: 5 })], [], null, [writeback(401, 6, 1 << 20), writeback(0, 0, 8192), writeback(999, 7, 512)]))!;
    const late = iv2.processes.find((r) => r.pid === 401)!;
    expect([late.exited, late.late, late.comm, late.exitCode, late.threads]).toEqual([true, true, 'dd', 0, 0]);
    expect(late.v[WRITEBACK.at.writeback_bytes]).toBe(1 << 20);
    expect(iv2.system.exited).toBe(0); // not a second exit
    expect(iv2.system.tasks).toBe(1);
    expect(iv2.system.unattributed[WRITEBACK.at.writeback_bytes]).toBe(8192);
    const stranger = iv2.processes.find((r) => r.pid === 999)!;
    expect([stranger.late, stranger.comm, stranger.user]).toEqual([true, '?', '?']);
    const json = JSON.parse(intervalJson(iv2, iv2.processes, { threads: false }));
    const j = json.processes.find((p: { pid: number }) => p.pid === 401);
    expect([j.late, j.exited, j.writeback_bytes]).toEqual([true, true, 1 << 20]);
    expect(json.processes.find((p: { pid: number }) => p.pid === 400).late).toBeUndefined();
    expect(json.system.disk.unattributed_write_bytes).toBe(8192);
    // a third interval: it comes back again, once more late
    const iv3 = m.update(sample(3 * S, [task({ tid: 400, startNs: 5 })], [], null, [writeback(401, 6, 4096)]))!;
    expect(iv3.processes.filter((r) => r.pid === 401).map((r) => [r.late, r.v[WRITEBACK.at.writeback_bytes]])).toEqual([[true, 4096]]);
    // and nothing when nothing is charged
    expect(m.update(sample(4 * S, [task({ tid: 400, startNs: 5 })]))!.processes.map((r) => r.pid)).toEqual([400]);
  });

  it('feeds a subsystem\'s folder every sample and puts its results on rows and the interval', () => {
    const seen: unknown[] = [];
    const fake = {
      name: 'fake', what: '', optional: true, hooks: [], groups: [], columns: [], json: [],
      folder: () => ({
        fold: (input: { collected: unknown; records: unknown[]; baseline: boolean }) => {
          seen.push([input.collected, input.records, input.baseline]);
          return { perProcess: new Map([['500:7', { conns: 3 }]]), system: { total: 3 } };
        },
      }),
    };
    const m = new Model({ ncpu: 1, subsystems: [fake] });
    const s0 = sample(0, [task({ tid: 500, startNs: 7 })]);
    m.update({ ...s0, ext: { fake: { collected: 'a', records: [] } } });
    const iv = m.update({ ...sample(S, [task({ tid: 500, startNs: 7 }), task({ tid: 501, startNs: 8 })]), ext: { fake: { collected: 'b', records: [1, 2] } } })!;
    expect(seen).toEqual([['a', [], true], ['b', [1, 2], false]]);
    expect(iv.processes.find((r) => r.pid === 500)!.ext.fake).toEqual({ conns: 3 });
    expect(iv.processes.find((r) => r.pid === 501)!.ext.fake).toBeUndefined();
    expect(iv.ext.fake).toEqual({ total: 3 });
  });

  it('family totals: exited children count at their parent, per interval and since attach', () => {
    for (const cumulative of [false, true]) {
      const m = model(cumulative);
      const sh = () => task({ tid: 600, startNs: 1, oncpuNs: 10 * MS });
      m.update(sample(0, [sh()]));
      const kid = (tid: number, at: number, ms: number) => task({ tid, ppid: 600, kind: 'exit', startNs: at, timeNs: at + 30 * MS, oncpuNs: ms * MS, flags: F_GROUP_DEAD });
      const fam = (iv: ReturnType<typeof m.update>) => {
        const lines = buildLines(iv!.processes, initialState({ tree: true, collapsed: new Set(['p600:1']) }), ASCII, iv!.cumulative);
        return lines.find((l) => l.proc.pid === 600)!.row.v[CPU.at.oncpu_ns] / MS;
      };
      // rows are reused between refreshes: read each interval before the next
      const f1 = fam(m.update(sample(S, [sh()], [kid(601, 0.2 * S, 20), kid(602, 0.5 * S, 30)])));
      const f2 = fam(m.update(sample(2 * S, [sh()], [kid(603, 1.2 * S, 40)])));
      const f3 = fam(m.update(sample(3 * S, [sh()])));
      expect([f1, f2, f3]).toEqual(cumulative ? [50, 90, 90] : [50, 40, 0]);
    }
  });

  it('guards a zero-length interval', () => {
    const m = model();
    m.update(sample(S, [task({ tid: 80 })]));
    const iv = m.update(sample(S, [task({ tid: 80, oncpuNs: 5 })]))!;
    expect(cpuOf(iv.processes[0]).cpuPct).toBe(0);
  });
});

describe('state and exit status', () => {
  it('maps task states like ps', () => {
    expect(stateLetter(0, 0)).toBe('R');
    expect(stateLetter(1, 0)).toBe('S');
    expect(stateLetter(2, 0)).toBe('D');
    expect(stateLetter(0x402, 0)).toBe('I');
    expect(stateLetter(1, F_ZOMBIE)).toBe('Z');
  });
  it('maps wait status to the shell convention', () => {
    expect(exitStatus(0)).toBe(0);
    expect(exitStatus(1 << 8)).toBe(1);
    expect(exitStatus(9)).toBe(137);
  });
});
