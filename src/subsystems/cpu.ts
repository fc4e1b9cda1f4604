// The CPU subsystem, declared as data: the kernel's own per-thread counters
// (task_struct, read by the task iterator and the last switch-out), off-CPU
// time derived per thread, their columns and JSON fields. It is part of the
// core: the iterator, the exit record and exec/fork are its hooks.
import { onTracepoint } from '../probe';
import { readProcText } from '../procread';
import { fmtCount, fmtDuration, fmtPct } from '../format';
import { group } from './schema';
import type { Column, Cue, JsonField, ProcReader, Subsystem, Values } from './types';

/** struct ebtop_cpu_counters, member for member. */
export const CPU = group({
  name: 'cpu',
  kind: 'task',
  struct: 'ebtop_cpu_counters',
  member: 'cpu',
  slots: ['oncpu_ns', 'runq_ns', 'slices', 'nvcsw', 'nivcsw', 'migrations'],
  source: 'cpu.counters',
});

/** Off-CPU time of a thread over the span it was alive in the interval. */
export const OFFCPU = group({
  name: 'offcpu',
  kind: 'thread',
  slots: ['offcpu_ns'],
  source: 'cpu.counters',
  perThread: (d, aliveNs) => Math.max(0, aliveNs - d[CPU.at.oncpu_ns] - d[CPU.at.runq_ns]),
});

/** On-CPU time as % of one CPU over the row's span. */
export function cpuPct(r: Values): number {
  return r.spanNs > 0 ? (r.v[CPU.at.oncpu_ns] / r.spanNs) * 100 : 0;
}

const round2 = (v: number) => Math.round(v * 100) / 100;
const slot = (i: () => number) => (r: Values) => r.v[i()];
const oncpu = slot(() => CPU.at.oncpu_ns);
const runq = slot(() => CPU.at.runq_ns);
const offcpu = slot(() => OFFCPU.at.offcpu_ns);
const nvcsw = slot(() => CPU.at.nvcsw);
const nivcsw = slot(() => CPU.at.nivcsw);
const migrations = slot(() => CPU.at.migrations);
const slices = slot(() => CPU.at.slices);

const col = (c: Omit<Column, 'align' | 'descending' | 'needs'> & Partial<Column>): Column => ({ align: 'right', descending: true, needs: 'cpu', ...c });

/**
 * CPU saturation: it waited in the run queue at least as long as it ran, and
 * for at least 1% of the span (a process that barely ran is not saturated).
 */
export function saturated(r: Values): boolean {
  const q = runq(r);
  return q >= oncpu(r) && q >= r.spanNs * 0.01 && q > 0;
}
const saturation = (r: Values): Cue | null => (saturated(r) ? 'saturated' : null);

const columns: Column[] = [
  col({ id: 'cpu', title: 'CPU%', width: 6, help: 'on-CPU time / interval (100% = one CPU); red: saturated (waited for a CPU as long as it ran)', text: (r) => fmtPct(cpuPct(r)), value: oncpu, cue: saturation }),
  col({ id: 'oncpu', title: 'ONCPU', width: 8, help: 'on-CPU time in the interval', text: (r) => fmtDuration(oncpu(r)), value: oncpu }),
  col({ id: 'runq', title: 'RUNQ', width: 8, help: 'time runnable but waiting for a CPU', text: (r) => fmtDuration(runq(r)), value: runq, cue: saturation }),
  col({ id: 'offcpu', title: 'OFFCPU', width: 8, needs: 'offcpu', help: 'time alive but neither running nor runnable (summed over threads)', text: (r) => fmtDuration(offcpu(r)), value: offcpu }),
  col({ id: 'csw', title: 'CSW v/iv', width: 11, help: 'voluntary / involuntary context switches', text: (r) => `${fmtCount(nvcsw(r))}/${fmtCount(nivcsw(r))}`, value: (r) => nvcsw(r) + nivcsw(r) }),
  col({ id: 'migr', title: 'MIGR', width: 6, help: 'migrations between CPUs', text: (r) => fmtCount(migrations(r)), value: migrations }),
];

const field = (key: string, get: (r: Values) => number, needs = 'cpu'): JsonField => ({ key, needs, thread: true, get });
const json: JsonField[] = [
  field('cpu_pct', (r) => round2(cpuPct(r))),
  field('oncpu_ns', (r) => Math.round(oncpu(r))),
  field('runq_ns', (r) => Math.round(runq(r))),
  field('offcpu_ns', (r) => Math.round(offcpu(r)), 'offcpu'),
  field('nvcsw', nvcsw),
  field('nivcsw', nivcsw),
  field('migrations', migrations),
  field('slices', slices),
];

// every refresh for the tasks BPF cannot see: without garbage (procread.ts)
const readText = readProcText;

/** /proc/<pid>/sched prints "name : value". */
function schedField(text: string, name: string): number {
  const i = text.indexOf(`\n${name} `);
  if (i < 0) return 0;
  const colon = text.indexOf(':', i);
  return Number.parseInt(text.slice(colon + 1, text.indexOf('\n', colon)), 10) || 0;
}

/** The same counters from /proc, for the few tasks BPF cannot see (PID 1 here). */
const proc: ProcReader = {
  group: 'cpu',
  read(dir) {
    const schedstat = readText(`${dir}/schedstat`);
    const sched = readText(`${dir}/sched`);
    if (!schedstat || !sched) return null;
    const [oncpuNs, runqNs, pcount] = schedstat.trim().split(' ').map(Number);
    return [oncpuNs, runqNs, pcount, schedField(sched, 'nr_voluntary_switches'), schedField(sched, 'nr_involuntary_switches'), schedField(sched, 'se.nr_migrations')];
  },
};

/**
 * A raw_tp program's task pointers are not BTF-typed, so task-local storage
 * cannot take them: where one is chosen, per-thread state lives in the tid hash.
 */
export const RAW = { use_thread_hash: 1 };

export const cpu: Subsystem = {
  name: 'cpu',
  what: 'CPU time, run-queue wait, switches, migrations (the core: always on)',
  optional: false,
  hooks: [
    {
      source: 'cpu.counters',
      what: 'on-CPU, run-queue wait, slices, switches, migrations (kernel counters)',
      variants: [{ program: 'dump_task', hook: 'iter/task', needsType: 'bpf_iter__task' }],
      required: true,
    },
    {
      source: 'cpu.exit',
      what: 'exact final counters of exiting threads; switch-in time of running ones',
      variants: [
        ...onTracepoint('switch', 'sched_switch', { consts: RAW }),
      ],
      required: true,
      config: (f) => ({
        // prev_state became sched_switch's 4th argument in 5.18; before, prev->__state is read
        switch_has_prev_state: f.tracepointArgs('sched_switch') >= 4 ? 1 : 0,
        // per-thread state: task-local storage (5.11+), else a per-tid hash
        use_thread_hash: f.hasMapType('task_storage') ? 0 : 1,
      }),
    },
    {
      source: 'lifecycle.exec',
      what: 'exec: new comm and argv',
      variants: [
        ...onTracepoint('exec', 'sched_process_exec'),
      ],
    },
    {
      source: 'lifecycle.fork',
      what: 'fork: parent at creation',
      variants: [
        ...onTracepoint('fork', 'sched_process_fork'),
      ],
    },
  ],
  maps: [
    { name: 'cpu_run', entries: (m) => m.ncpuPossible },
    // one slot per thread the machine can have, when the per-tid fallback is in use
    { name: 'thread_hash', entries: (m, consts) => (consts.use_thread_hash ? Math.min(m.threadsMax, 1 << 20) : 1) },
    // task-local storage (5.11+): not created where the tid hash holds the state
    { name: 'thread_store', unused: (consts) => consts.use_thread_hash === 1 },
  ],
  groups: [CPU, OFFCPU],
  sparks: [{ label: 'CPU%', value: cpuPct, fmt: (v) => `${fmtPct(v)}%` }],
  columns,
  json,
  proc: [proc],
};
