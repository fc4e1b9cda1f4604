// CPU accounting against independent ground truth: the workloads' own
// reports, wait4() rusage, /proc/<pid>/{schedstat,sched,status}, and the
// machine's capacity (ncpu × elapsed). Tolerances are the maxima.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import readline from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { EbtopRun, EMULATED, kernelSkipReason, relErr, run, WORKLOAD, type Proc, type Sample } from '../helpers/kernel';

const skip = kernelSkipReason();

/** Host steal of all CPUs so far, ns (/proc/stat's 8th cpu column, in USER_HZ ticks). */
function procStatSteal(): number {
  const f = fs.readFileSync('/proc/stat', 'latin1').split('\n')[0].trim().split(/\s+/);
  return (Number(f[8]) * 1e9) / 100;
}
let ebtop: EbtopRun | undefined;

afterEach(async () => {
  await ebtop?.stop();
  ebtop = undefined;
});

/** Every row of `pid` in every sample, in order. */
function rowsOf(samples: Sample[], pid: number): Proc[] {
  return samples.flatMap((s) => s.processes.filter((p) => p.pid === pid));
}

describe.skipIf(skip)('CPU accounting (kernel)', () => {
  it('on-CPU total of a CPU burner equals its wait4() rusage to the microsecond (final counters, not a tick stale)', async () => {
    ebtop = new EbtopRun(['-d', '0.5']);
    await ebtop.waitSamples(1);
    const r = await run(WORKLOAD('reap'), [WORKLOAD('burn'), '1500']);
    const report = JSON.parse(r.stdout.split('\n').find((l) => l.startsWith('{'))!) as { pid: number; status: number; rusage_ns: number };
    await ebtop.untilExited([report.pid]);
    const rows = rowsOf(ebtop.samples, report.pid);
    const total = rows.reduce((t, p) => t + p.oncpu_ns, 0);
    console.log(`burner: wait4 rusage ${(report.rusage_ns / 1e6).toFixed(3)} ms, ebtop ${(total / 1e6).toFixed(6)} ms over ${rows.length} rows (diff ${total - report.rusage_ns} ns)`);
    expect(report.status).toBe(0);
    expect(rows.filter((p) => p.exited)).toHaveLength(1);
    expect(rows.at(-1)!.exited).toBe(true);
    expect(rows.at(-1)!.exit_code).toBe(0);
    // burn from its exec on; a refresh between reap's fork and that exec shows
    // the child under reap's name first (milliseconds of it under emulation)
    const named = rows.findIndex((p) => p.comm === 'burn');
    expect(named).toBeGreaterThanOrEqual(0);
    expect(rows.slice(0, named).every((p) => p.comm === 'reap')).toBe(true);
    expect(rows.slice(named).every((p) => p.comm === 'burn')).toBe(true);
    // rusage is the same sum_exec_runtime, its user and system parts each
    // truncated to the us: ebtop's exact ns lie within 2 us above it. A value
    // taken at sched_process_exit instead of the last switch-out is up to a
    // tick (4 ms at HZ=250) short.
    expect(total - report.rusage_ns).toBeGreaterThanOrEqual(0);
    expect(total - report.rusage_ns).toBeLessThan(2000);
  });

  it('300 processes of 20 ms: ≥99% reported with comm and parent, each one\'s on-CPU equal to its wait4() rusage', async () => {
    ebtop = new EbtopRun(['-d', '1']);
    await ebtop.waitSamples(1);
    // top, the way people measure today, over the same workload.
    const top = spawn('top', ['-b', '-d', '1', '-w', '512'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let topBurnPct = 0;
    readline.createInterface({ input: top.stdout }).on('line', (line) => {
      const f = line.trim().split(/\s+/);
      if (f[11] === 'burn') topBurnPct += Number(f[8]);
    });
    const spawner = await run(WORKLOAD('spawner'), ['300', '20', WORKLOAD('burn')]);
    top.kill();
    expect(spawner.code).toBe(0);
    const report = JSON.parse(spawner.stdout) as { pid: number; rusage_ns: number; children: number[]; child_rusage_ns: number[] };
    await ebtop.untilExited(report.children);

    const children = new Set(report.children);
    const exited = new Map<number, Proc>();
    let ebtopNs = 0;
    for (const s of ebtop.samples) {
      for (const p of s.processes) {
        if (!children.has(p.pid)) continue;
        ebtopNs += p.oncpu_ns;
        if (p.exited && p.comm === 'burn' && p.ppid === report.pid) exited.set(p.pid, p);
      }
    }
    const topNs = topBurnPct * 1e7; // % of a CPU over 1 s samples -> ns
    console.log(
      `300 x 20 ms: ebtop reported ${exited.size}/300 exits, ${(ebtopNs / 1e6).toFixed(1)} ms; ` +
        `wait4 rusage ${(report.rusage_ns / 1e6).toFixed(1)} ms (err ${(relErr(ebtopNs, report.rusage_ns) * 100).toFixed(2)}%); ` +
        `top -b attributed ${(topNs / 1e6).toFixed(1)} ms (${((topNs / report.rusage_ns) * 100).toFixed(1)}%)`,
    );
    expect(exited.size).toBeGreaterThanOrEqual(297);
    expect(relErr(ebtopNs, report.rusage_ns)).toBeLessThan(0.02);
    // child by child: the same sum_exec_runtime, rusage truncated to the us (two parts)
    const perChild = new Map<number, number>();
    // only rows of these children: a pid can be reused by another process in
    // the window (pid_max wraps on a busy machine), never with the spawner as
    // parent. Not by comm: a refresh between fork and exec shows the child as
    // "spawner" for its first microseconds (milliseconds under emulation).
    for (const s of ebtop.samples) for (const p of s.processes) if (children.has(p.pid) && p.ppid === report.pid) perChild.set(p.pid, (perChild.get(p.pid) ?? 0) + p.oncpu_ns);
    // ebtop takes a child's final counters at its last switch-out; the parent's
    // wait4() can reap the zombie while it is still finishing that switch on
    // another CPU, so under load rusage may miss its last microseconds (seen:
    // +17 and +41 us). Never the other way: ebtop below rusage is an error
    // (an exit record taken at sched_process_exit is 181 us short).
    const diff = (pid: number) => perChild.get(pid)! - report.child_rusage_ns[report.children.indexOf(pid)];
    const mine = report.children.filter((pid) => exited.has(pid));
    // seen: +199 us on hardware (interrupts served on the dying task's CPU are
    // its time too), +4.2 ms under emulation
    const above = EMULATED ? 20_000_000 : 1_000_000;
    const off = mine.filter((pid) => !(diff(pid) >= 0 && diff(pid) < above));
    const exact = mine.filter((pid) => diff(pid) >= 0 && diff(pid) < 2000);
    console.log(`children within [0, 2 us) above their rusage: ${exact.length}/${mine.length}; outside [0, ${above / 1000} us): ${off.length}`, off.map((pid) => `${pid}: ${diff(pid)} ns`).join('; '));
    expect(off).toEqual([]);
    expect(exact.length).toBeGreaterThanOrEqual(Math.ceil(mine.length * 0.95));
  });

  it('follows a process whose second thread execs (it takes over the leader\'s tid)', async () => {
    ebtop = new EbtopRun(['-d', '0.3']);
    await ebtop.waitSamples(1);
    const r = await run(WORKLOAD('texec'), [WORKLOAD('burn')]);
    const report = JSON.parse(r.stdout) as { pid: number; status: number; rusage_ns: number };
    await ebtop.sampleAfter(Date.now() + 100);
    const rows = rowsOf(ebtop.samples, report.pid);
    const total = rows.reduce((t, p) => t + p.oncpu_ns, 0);
    const lost = ebtop.samples.reduce((t, s) => t + (s.system as { lost_threads?: number }).lost_threads!, 0);
    console.log(`thread exec: wait4 ${(report.rusage_ns / 1e6).toFixed(1)} ms, ebtop ${(total / 1e6).toFixed(1)} ms over ${rows.length} rows, lost threads ${lost}`);
    expect(report.status).toBe(0);
    expect(rows.filter((p) => p.exited)).toHaveLength(1);
    expect(rows.at(-1)!.comm).toBe('burn');
    expect(relErr(total, report.rusage_ns)).toBeLessThan(0.02);
  });

  it('run-queue wait, switches and migrations of a busy multi-thread process match /proc', async () => {
    ebtop = new EbtopRun(['-d', '0.5', '--cumulative', '--threads']);
    await ebtop.waitSamples(1);
    const child = spawn(WORKLOAD('mtbusy'), ['4', '3000'], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve) => readline.createInterface({ input: child.stdout! }).on('line', (l) => l === 'parked' && resolve()));
      await new Promise((r) => setTimeout(r, 100)); // the main thread is back in read() too
      const pid = child.pid!;
      const truth = { runq: 0, oncpu: 0, nvcsw: 0, nivcsw: 0, migrations: 0 };
      const perThread = new Map<number, { oncpu: number; nivcsw: number }>();
      for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
        const [oncpu, runq] = fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
        const sched = fs.readFileSync(`/proc/${pid}/task/${tid}/sched`, 'utf8');
        const get = (k: string) => Number(new RegExp(`^${k.replace('.', '\\.')}\\s*:\\s*(\\S+)`, 'm').exec(sched)![1]);
        truth.oncpu += oncpu;
        truth.runq += runq;
        truth.nvcsw += get('nr_voluntary_switches');
        truth.nivcsw += get('nr_involuntary_switches');
        truth.migrations += get('se.nr_migrations');
        perThread.set(Number(tid), { oncpu, nivcsw: get('nr_involuntary_switches') });
      }
      const s = await ebtop.sampleAfter(Date.now() + 50);
      const row = s.processes.find((p) => p.pid === pid)!;
      console.log(`mtbusy /proc: ${JSON.stringify(truth)}; ebtop: ${JSON.stringify({ runq: row.runq_ns, oncpu: row.oncpu_ns, nvcsw: row.nvcsw, nivcsw: row.nivcsw, migrations: row.migrations })}`);
      expect(truth.runq).toBeGreaterThan(50e6); // the workload really queued
      expect(truth.nivcsw).toBeGreaterThan(10);
      // Every thread is parked: /proc and ebtop read the same kernel fields
      // (se.sum_exec_runtime, sched_info.run_delay, nvcsw, nivcsw,
      // se.nr_migrations) of a process born after ebtop's baseline: equal.
      expect({ runq: row.runq_ns, oncpu: row.oncpu_ns, nvcsw: row.nvcsw, nivcsw: row.nivcsw, migrations: row.migrations }).toEqual(truth);
      // and thread by thread
      const detail = (row as Proc & { threads_detail: { tid: number; oncpu_ns: number; nivcsw: number }[] }).threads_detail;
      expect([...perThread].filter(([, t]) => t.oncpu > 100e6)).toHaveLength(4);
      for (const [tid, t] of perThread) {
        const d = detail.find((x) => x.tid === tid)!;
        expect({ tid, oncpu: d.oncpu_ns, nivcsw: d.nivcsw }).toEqual({ tid, oncpu: t.oncpu, nivcsw: t.nivcsw });
      }
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('conservation: all processes on-CPU + idle is within 1% of ncpu × elapsed, less host steal', async () => {
    // Host steal is time the CPUs were not ours: sum_exec_runtime leaves it
    // out (PARAVIRT_TIME_ACCOUNTING) and /proc/stat's idle too; on a shared
    // machine it grows with the host's load, so it is read in the same window.
    // Its window is the samples after the first one: from the first's arrival
    // to the last's, both read the moment a sample arrives: the delay from a
    // snapshot to its arrival is on both ends (read at the exit, the window
    // also held ebtop's detaching, up to a second on a loaded machine).
    ebtop = new EbtopRun(['-d', '1', '-n', '6']);
    await ebtop.waitSamples(1);
    const steal0 = procStatSteal();
    const busy = run('stress-ng', ['--cpu', '2', '--timeout', '3', '--quiet']).then(() =>
      run('stress-ng', ['--cpu', '1', '--timeout', '2', '--quiet']),
    );
    await ebtop.waitSamples(6);
    const steal = procStatSteal() - steal0;
    expect(await ebtop.exited).toBe(0);
    await busy;
    let oncpu = 0;
    let idle = 0;
    let capacity = 0;
    const window = ebtop.samples.slice(1);
    for (const s of window) {
      oncpu += s.processes.reduce((t, p) => t + p.oncpu_ns, 0);
      idle += s.system.idle_ns!;
      capacity += s.ncpu * s.interval_ns;
    }
    console.log(
      `conservation over ${window.length} samples: on-CPU ${(oncpu / 1e9).toFixed(3)} s + idle ${(idle / 1e9).toFixed(3)} s + steal ${(steal / 1e9).toFixed(3)} s ` +
        `= ${(((oncpu + idle + steal) / capacity) * 100).toFixed(2)}% of ${(capacity / 1e9).toFixed(3)} CPU-seconds; busy fraction ${((oncpu / capacity) * 100).toFixed(1)}%`,
    );
    expect(window).toHaveLength(5);
    expect(oncpu / capacity).toBeGreaterThan(0.4); // there was a busy phase
    // Steal bounds it from one side only: /proc/stat's idle is the idle
    // clock's, and a halted vCPU woken while the host runs something else
    // waits (steal, in /proc/stat's steal too) before it leaves idle, so
    // part of the steal is in idle as well (11-39% of it beside a hog and a
    // qemu guest, none on a quiet host). Without steal it is at most the
    // capacity; with all of it, at least.
    expect((oncpu + idle) / capacity).toBeLessThan(1.01);
    expect((oncpu + idle + steal) / capacity).toBeGreaterThan(0.99);
  });

  it('stress-ng --cpu 2: its family\'s on-CPU time over the run equals its wait4 rusage within 1%', async () => {
    // Truth from the same run, not what an idle machine would give: wait4()
    // of stress-ng covers its workers too (it reaps them: RUSAGE_BOTH), so a
    // CPU hog beside it changes both sides alike.
    ebtop = new EbtopRun(['-d', '1']);
    await ebtop.waitSamples(1);
    const start = Date.now();
    const r = await run(WORKLOAD('reap'), ['/usr/bin/stress-ng', '--cpu', '2', '--timeout', '4', '--quiet']);
    const report = JSON.parse(r.stdout) as { pid: number; rusage_ns: number };
    await ebtop.sampleAfter(Date.now() + 100);
    const family = (s: Sample) => {
      const pids = new Set([report.pid]);
      for (let grew = true; grew; ) {
        grew = false;
        for (const p of s.processes) if (pids.has(p.ppid) && !pids.has(p.pid)) (pids.add(p.pid), (grew = true));
      }
      return s.processes.filter((p) => pids.has(p.pid));
    };
    const during = ebtop.samples.filter((s) => s.receivedAt > start);
    const oncpu = during.reduce((t, s) => t + family(s).reduce((u, p) => u + p.oncpu_ns, 0), 0);
    const pcts = during.map((s) => family(s).reduce((t, p) => t + p.cpu_pct, 0));
    // the workers' own on-CPU time: the sum is the family's, not the parent's alone
    const workers = new Map<number, number>();
    for (const s of during) for (const p of family(s)) if (p.pid !== report.pid) workers.set(p.pid, (workers.get(p.pid) ?? 0) + p.oncpu_ns);
    const ran = [...workers.values()].filter((ns) => ns > 0);
    console.log(
      `stress-ng --cpu 2: family on-CPU ${(oncpu / 1e6).toFixed(1)} ms, wait4 rusage ${(report.rusage_ns / 1e6).toFixed(1)} ms ` +
        `(${((oncpu / report.rusage_ns - 1) * 100).toFixed(3)}%); workers' on-CPU ${ran.map((ns) => (ns / 1e6).toFixed(1)).join(', ')} ms; ` +
        `CPU% per interval ${pcts.map((p) => p.toFixed(1)).join(', ')}`,
    );
    // Both workers ran: how much depends on what else wanted the CPUs (a hog
    // beside it left them 1.5 of their 8 CPU-seconds), so no figure is asked of it.
    expect(ran.length).toBeGreaterThanOrEqual(2);
    expect(relErr(oncpu, report.rusage_ns)).toBeLessThan(0.01);
  });
});
