// NDJSON: one object per interval; the public contract (README "JSON output"). The
// process and cgroup identity fields are declared here; every counter field
// comes from its subsystem's declaration, null when its source is not attached.
import { PSI_RESOURCES, type CgroupRow } from '../cgroups';
import type { Interval, ProcessRow, ThreadRow } from '../model';
import type { JsonField } from '../subsystems/types';
import { jsonSafe } from '../format';

export interface JsonOptions {
  threads: boolean;
  /** optional outputs asked for (JsonField.flag: e.g. 'connections') */
  flags?: ReadonlySet<string>;
  /** the interval comes from a recording (ebtop replay): said in the sample, the one difference */
  replay?: boolean;
  /** the interval's cgroups (each one's own processes summed): the sample's "cgroups" array */
  cgroups?: CgroupRow[];
}

function put(out: Record<string, unknown>, iv: Interval, r: ProcessRow | ThreadRow, thread: boolean, opts: JsonOptions): void {
  for (const s of iv.subsystems) {
    for (const f of s.json as JsonField[]) {
      if (thread && !f.thread) continue;
      if (f.flag && !opts.flags?.has(f.flag)) continue;
      out[f.key] = f.needs === null || iv.avail.has(f.needs) ? f.get(r as ProcessRow) : null;
    }
  }
}

export function processJson(iv: Interval, r: ProcessRow, opts: JsonOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {
    pid: r.pid,
    ppid: r.ppid,
    user: r.user,
    comm: r.comm,
    cmdline: r.cmdline,
    threads: r.threads,
    exited: r.exited,
    exit_code: r.exitCode,
  };
  put(out, iv, r, false, opts);
  out.state = r.state;
  out.kthread = r.kthread;
  out.source = r.source;
  if (r.late) out.late = true;
  if (opts.threads) {
    out.threads_detail = r.threadsDetail.map((t) => {
      const o: Record<string, unknown> = { tid: t.tid, comm: t.comm, exited: t.exited };
      put(o, iv, t, true, opts);
      return o;
    });
  }
  return out;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/**
 * A cgroup: its path and name, its processes, then the same counter fields
 * as a process's (their declarations, process-level; outputs asked for by a
 * flag, such as connections, stay per process), summed over the processes
 * grouped in it this interval, exited ones included; its pressure (PSI).
 */
export function cgroupJson(iv: Interval, c: CgroupRow): Record<string, unknown> {
  const exited = c.members.filter((r) => r.exited).length;
  const out: Record<string, unknown> = { path: c.path, name: c.name, processes: c.members.length - exited, exited, threads: c.threads };
  put(out, iv, c, false, { threads: false });
  const p = c.pressure;
  out.pressure = p ? Object.fromEntries(PSI_RESOURCES.map((k) => [k, p[k] ? { some_pct: round2(p[k]!.somePct), full_pct: p[k]!.fullPct === null ? null : round2(p[k]!.fullPct!) } : null])) : null;
  return out;
}

export function intervalJson(iv: Interval, rows: ProcessRow[], opts: JsonOptions): string {
  const system: Record<string, unknown> = {
    busy_ns: iv.system.busyNs === null ? null : Math.round(iv.system.busyNs),
    idle_ns: iv.system.idleNs === null ? null : Math.round(iv.system.idleNs),
    exited: iv.system.exited,
    bpf: { run_ns: iv.system.bpf.runNs, events: iv.system.bpf.events, lost: iv.system.bpf.lost },
    forks: iv.system.forks,
    execs: iv.system.execs,
    lost_threads: iv.system.lostThreads,
    loadavg: iv.system.loadavg,
  };
  for (const s of iv.subsystems) if (s.system) system[s.name] = s.system(iv);
  // JSON.stringify escapes C0 but leaves DEL, C1 and bidi controls raw: escaped too (same value)
  return jsonSafe(JSON.stringify({
    type: 'sample',
    ...(opts.replay ? { replay: true } : {}),
    time: new Date(iv.wallMs).toISOString(),
    interval_ns: Math.round(iv.intervalNs),
    ncpu: iv.ncpu,
    // units the budget shed at any time in the interval: their fields are null in it
    shed: iv.shed,
    system,
    processes: rows.map((r) => processJson(iv, r, opts)),
    ...(opts.cgroups ? { cgroups: opts.cgroups.map((c) => cgroupJson(iv, c)) } : {}),
  }));
}
