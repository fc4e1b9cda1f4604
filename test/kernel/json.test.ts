// The NDJSON output is a public contract (README "JSON output"): every field, its type,
// and values that hold against what the machine did.
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { EbtopRun, EMULATED, kernelSkipReason, relErr, type Sample } from '../helpers/kernel';

const skip = kernelSkipReason();

const int = (v: unknown) => Number.isInteger(v);
const intOrNull = (v: unknown) => v === null || Number.isInteger(v);
const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
const numOrNull = (v: unknown) => v === null || num(v);
const str = (v: unknown) => typeof v === 'string';
const bool = (v: unknown) => typeof v === 'boolean';
// spelled out, not taken from src: this is the contract (the first seven never move; later reasons follow)
const WAIT_KEYS = ['disk_ns', 'net_ns', 'lock_ns', 'sleep_ns', 'pipe_ns', 'poll_ns', 'other_ns', 'cond_ns', 'child_ns', 'signal_ns', 'ipc_ns', 'idle_ns'];
/** the wait reasons: these keys in this order, integers */
const waitOrNull = (v: unknown) => v === null || (typeof v === 'object' && Object.keys(v as object).join() === WAIT_KEYS.join() && Object.values(v as object).every(int));

/** Every field of a process object and its type check, in output order. */
const PROCESS: Record<string, (v: unknown) => boolean> = {
  pid: int, ppid: int, user: str, comm: str, cmdline: str, threads: int, exited: bool, exit_code: intOrNull,
  cpu_pct: num, oncpu_ns: int, runq_ns: int, offcpu_ns: int, nvcsw: int, nivcsw: int, migrations: int, slices: int,
  rss_bytes: int, mem_pct: num, cgroup: str,
  disk_read_bytes: intOrNull, disk_write_bytes: intOrNull, writeback_bytes: intOrNull, dirtied_bytes: intOrNull, disk_reads: intOrNull, disk_writes: intOrNull,
  io_lat_min_ns: intOrNull, io_lat_avg_ns: intOrNull, io_lat_p50_ns: intOrNull, io_lat_p99_ns: intOrNull, io_lat_max_ns: intOrNull, io_seq_pct: numOrNull,
  fs_read_bytes: intOrNull, fs_write_bytes: intOrNull, cache_hit_pct: numOrNull,
  net_tx_bytes: intOrNull, net_rx_bytes: intOrNull, tcp_tx_bytes: intOrNull, tcp_rx_bytes: intOrNull, udp_tx_bytes: intOrNull, udp_rx_bytes: intOrNull, unix_tx_bytes: intOrNull, unix_rx_bytes: intOrNull,
  tcp_active: intOrNull, tcp_new: intOrNull, tcp_closed: intOrNull, tcp_retransmits: intOrNull, tcp_retrans_pct: numOrNull, tcp_errors: intOrNull,
  wait: waitOrNull, steal_ns: intOrNull,
  state: str, kthread: bool, source: str,
};
/** Every field of a threads_detail entry. */
const THREAD: Record<string, (v: unknown) => boolean> = {
  tid: int, comm: str, exited: bool,
  cpu_pct: num, oncpu_ns: int, runq_ns: int, offcpu_ns: int, nvcsw: int, nivcsw: int, migrations: int, slices: int,
  disk_read_bytes: intOrNull, disk_write_bytes: intOrNull, dirtied_bytes: intOrNull, disk_reads: intOrNull, disk_writes: intOrNull,
  io_seq_pct: numOrNull, fs_read_bytes: intOrNull, fs_write_bytes: intOrNull, cache_hit_pct: numOrNull,
  net_tx_bytes: intOrNull, net_rx_bytes: intOrNull, tcp_tx_bytes: intOrNull, tcp_rx_bytes: intOrNull, udp_tx_bytes: intOrNull, udp_rx_bytes: intOrNull, unix_tx_bytes: intOrNull, unix_rx_bytes: intOrNull,
  wait: waitOrNull, steal_ns: intOrNull,
};
/** Every field of a system.disk.devices entry. */
const DEVICE: Record<string, (v: unknown) => boolean> = {
  name: str, read_bytes: intOrNull, write_bytes: intOrNull, reads: intOrNull, writes: intOrNull, io_lat_avg_ns: intOrNull, io_lat_p99_ns: intOrNull,
};
/** Every field of a cgroups entry: identity, then the process's counter fields (cpu_pct to steal_ns, in their order), then its pressure. */
const PSI = (v: unknown) => v === null || (typeof v === 'object' && Object.keys(v as object).join() === 'some_pct,full_pct' && Object.values(v as object).every(numOrNull));
const CGROUP: Record<string, (v: unknown) => boolean> = {
  path: str, name: str, processes: int, exited: int, threads: int,
  ...Object.fromEntries(Object.entries(PROCESS).slice(Object.keys(PROCESS).indexOf('cpu_pct'), Object.keys(PROCESS).indexOf('steal_ns') + 1)),
  pressure: (v) => v === null || (typeof v === 'object' && Object.keys(v as object).join() === 'cpu,memory,io' && Object.values(v as object).every(PSI)),
};
const SYSTEM: Record<string, (v: unknown) => boolean> = {
  busy_ns: intOrNull, idle_ns: intOrNull, exited: int, bpf: (v) => v !== null && typeof v === 'object', forks: int, execs: int, lost_threads: int,
  loadavg: (v) => Array.isArray(v) && v.length === 3 && v.every(num), disk: (v) => v !== null && typeof v === 'object',
  net: (v) => v !== null && typeof v === 'object',
};

function checkShape(o: Record<string, unknown>, shape: Record<string, (v: unknown) => boolean>, what: string, optional: string[] = []): void {
  const keys = Object.keys(o).filter((k) => !optional.includes(k));
  expect(keys, `${what} keys`).toEqual(Object.keys(shape));
  for (const [k, ok] of Object.entries(shape)) expect(ok(o[k]), `${what}.${k} = ${JSON.stringify(o[k])}`).toBe(true);
}

describe.skipIf(skip)('--json contract (kernel)', () => {
  const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
  afterAll(() => sleeper.kill());

  it('prints -n samples of the documented shape, every field and type, then exits 0', async () => {
    const ebtop = new EbtopRun(['-d', '0.4', '-n', '3', '--threads']);
    expect(await ebtop.exited).toBe(0);
    expect(ebtop.samples).toHaveLength(3);
    let prevTime: number | null = null;
    for (const s of ebtop.samples as (Sample & Record<string, unknown>)[]) {
      const { receivedAt, ...top } = s;
      // the interval is the time between this sample and the previous one (near
      // what was asked on an idle machine; the cadence catches up after a slow refresh)
      // (the monotonic and the wall clock are read one after the other: under
      // emulation a vCPU can stand still between the two reads, seen 2.04 and 4.3 ms)
      const at = Date.parse(s.time);
      if (prevTime !== null) expect(Math.abs(s.interval_ns / 1e6 - (at - prevTime))).toBeLessThanOrEqual(EMULATED ? 20 : 2);
      prevTime = at;
      expect(s.interval_ns).toBeGreaterThan(0);
      expect(Object.keys(top)).toEqual(['type', 'time', 'interval_ns', 'ncpu', 'shed', 'system', 'processes', 'cgroups']);
      expect(s.type).toBe('sample');
      // units the budget shed in the interval (none here: the helper runs without a budget)
      expect(top.shed).toEqual([]);
      expect(new Date(s.time).toISOString()).toBe(s.time);
      expect(int(s.interval_ns)).toBe(true);
      expect(s.ncpu).toBeGreaterThan(0);
      checkShape(s.system as unknown as Record<string, unknown>, SYSTEM, 'system');
      expect(Object.keys(s.system.bpf)).toEqual(['run_ns', 'events', 'lost']);
      for (const k of ['run_ns', 'events', 'lost'] as const) expect(int(s.system.bpf[k])).toBe(true);
      const disk = (s.system as unknown as { disk: { devices: Record<string, unknown>[]; unattributed_write_bytes: unknown } }).disk;
      expect(Object.keys(disk)).toEqual(['devices', 'unattributed_write_bytes', 'requests_overflow']);
      expect(int(disk.unattributed_write_bytes)).toBe(true);
      for (const d of disk.devices) checkShape(d, DEVICE, `device ${d.name}`);
      const net = (s.system as unknown as { net: Record<string, unknown> }).net;
      expect(Object.keys(net)).toEqual(['tx_bytes', 'rx_bytes', 'unattributed_retransmits', 'tcp_active', 'conns_tracked', 'conns_overflow']);
      for (const v of Object.values(net)) expect(int(v)).toBe(true);
      expect(s.processes.length).toBeGreaterThan(10);
      for (const p of s.processes as unknown as Record<string, unknown>[]) {
        const { threads_detail: detail, ...rest } = p;
        checkShape(rest, PROCESS, `process ${p.pid}`, ['late']);
        // (the reasons' sum is not checked against offcpu_ns: other is the rest, so it
        // could not fail; test/kernel/wait.test.ts holds the reasons to the wall clock)
        expect(rest.late === undefined || rest.late === true).toBe(true);
        expect(p.exited ? int(p.exit_code) : p.exit_code === null).toBe(true);
        expect(Array.isArray(detail)).toBe(true);
        for (const t of detail as Record<string, unknown>[]) checkShape(t, THREAD, `thread ${t.tid} of ${p.pid}`);
        if (!p.exited) expect((detail as unknown[]).length).toBeGreaterThanOrEqual(p.threads as number);
      }
      // cgroups: each process in exactly one, so they add up to the processes
      const cgroups = (s as unknown as { cgroups: Record<string, unknown>[] }).cgroups;
      expect(cgroups.length).toBeGreaterThan(0);
      for (const c of cgroups) checkShape(c, CGROUP, `cgroup ${c.path}`);
      const total = (xs: Record<string, unknown>[], k: string) => xs.reduce((t, x) => t + (x[k] as number), 0);
      for (const k of ['oncpu_ns', 'runq_ns', 'offcpu_ns', 'nvcsw']) expect(total(cgroups, k), `cgroups' ${k}`).toBe(total(s.processes as unknown as Record<string, unknown>[], k));
      expect(total(cgroups, 'processes') + total(cgroups, 'exited')).toBe(s.processes.length);
      expect(new Set(cgroups.map((c) => c.path)).size).toBe(cgroups.length);
    }
  });

  it('-n 1 -d 2 exits right after its one sample, not an interval later', async () => {
    // From its one sample to its exit: an interval later would be 2,000 ms.
    // (Not from its start: start-up time depends on the machine's load.)
    const t0 = Date.now();
    const ebtop = new EbtopRun(['-d', '2', '-n', '1']);
    expect(await ebtop.exited).toBe(0);
    const exitedAt = Date.now();
    expect(ebtop.samples).toHaveLength(1);
    const after = exitedAt - ebtop.samples[0].receivedAt;
    console.log(`--json -n 1 -d 2 took ${exitedAt - t0} ms, ${after} ms of it after its sample`);
    expect(after).toBeLessThan(1000);
  });

  it('a sleeping process is off-CPU for the whole interval; -p keeps only the asked PIDs', async () => {
    const ebtop = new EbtopRun(['-d', '0.5', '-n', '2', '-p', String(sleeper.pid)]);
    expect(await ebtop.exited).toBe(0);
    const s = ebtop.samples[1];
    expect(s.processes.map((p) => p.pid)).toEqual([sleeper.pid]);
    const p = s.processes[0];
    expect(p.comm).toBe('sleep');
    expect(p.cmdline).toBe('sleep 30');
    expect(p.oncpu_ns).toBe(0);
    expect(relErr(p.offcpu_ns, s.interval_ns)).toBeLessThan(0.001);
  });
});
