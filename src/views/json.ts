// NDJSON: one object per interval; the public contract of DESIGN.md.
import type { Interval, ProcessRow, ThreadRow } from '../model';

export interface JsonOptions {
  threads: boolean;
}

const round2 = (v: number) => Math.round(v * 100) / 100;

function counters(r: ProcessRow | ThreadRow) {
  return {
    cpu_pct: round2(r.cpuPct),
    oncpu_ns: Math.round(r.oncpuNs),
    runq_ns: Math.round(r.runqNs),
    offcpu_ns: Math.round(r.offcpuNs),
    nvcsw: r.nvcsw,
    nivcsw: r.nivcsw,
    migrations: r.migrations,
    slices: r.slices,
  };
}

export function processJson(r: ProcessRow, opts: JsonOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {
    pid: r.pid,
    ppid: r.ppid,
    user: r.user,
    comm: r.comm,
    cmdline: r.cmdline,
    threads: r.threads,
    exited: r.exited,
    exit_code: r.exitCode,
    ...counters(r),
    state: r.state,
    kthread: r.kthread,
    source: r.source,
  };
  if (opts.threads) out.threads_detail = r.threadsDetail.map((t) => ({ tid: t.tid, comm: t.comm, exited: t.exited, ...counters(t) }));
  return out;
}

export function intervalJson(iv: Interval, rows: ProcessRow[], opts: JsonOptions): string {
  return JSON.stringify({
    type: 'sample',
    time: new Date(iv.wallMs).toISOString(),
    interval_ns: Math.round(iv.intervalNs),
    ncpu: iv.ncpu,
    system: {
      busy_ns: iv.system.busyNs === null ? null : Math.round(iv.system.busyNs),
      idle_ns: iv.system.idleNs === null ? null : Math.round(iv.system.idleNs),
      exited: iv.system.exited,
      bpf: { run_ns: iv.system.bpf.runNs, events: iv.system.bpf.events, lost: iv.system.bpf.lost },
      forks: iv.system.forks,
      execs: iv.system.execs,
      lost_threads: iv.system.lostThreads,
      loadavg: iv.system.loadavg,
    },
    processes: rows.map((r) => processJson(r, opts)),
  });
}
