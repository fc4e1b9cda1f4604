// --budget under a synthetic storm (stress-ng --switch): ebtop sheds at least
// one unit while its cost stays above the budget, the shed units' fields are
// null in every interval they missed, their programs really stop running
// (kernel run statistics of the shed programs do not move), they come back
// after the storm, and the CPU columns stay exact throughout: a burner's and a
// hog's (burning from before the storm until after the restore) on-CPU
// totals equal their wait4() rusage. A process that was waiting
// for its child when wait was shed, woke while shed and blocked on a pipe
// read shows pipe after the restore, not the child wait left open at the shed.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { EBTOP, EbtopRun, kernelSkipReason, run, WORKLOAD, type Sample } from '../helpers/kernel';

const skip = kernelSkipReason();

/** The fields each unit's shedding makes null (src/budget.ts SHED_ORDER; spelled out: this is the contract). */
const FIELDS: Record<string, string[]> = {
  wait: ['wait', 'steal_ns'],
  'net.recv': ['net_rx_bytes'],
  'net.send': ['net_tx_bytes'],
  'disk.fs': ['fs_read_bytes'],
  'disk.fswrite': ['fs_write_bytes'],
};
/** Each unit's programs, every variant (the loaded one is checked; the kernel keeps 15 characters of a name). */
const PROGRAMS: Record<string, string[]> = {
  wait: ['wakeup_new_btf', 'wakeup_new_raw'],
  'net.recv': ['recv_btf', 'recv_sys_btf', 'recv_sys_raw'],
  'net.send': ['send_btf', 'send_sys_btf', 'send_sys_raw'],
  'disk.fs': ['get_pages_btf', 'get_pages_raw', 'read_sys_btf', 'read_sys_raw'],
  'disk.fswrite': ['da_write_end_btf', 'da_write_end_raw', 'write_end_btf', 'write_end_raw', 'journalled_write_end_btf', 'journalled_write_end_raw'],
};

type Row = Sample['processes'][number] & Record<string, unknown>;

/** Run counts of the BPF programs a process holds, by name (the kernel's run statistics, via bpftool). */
function runCounts(pid: number): Record<string, number> {
  const ids = new Set<number>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fdinfo`)) {
    try {
      const m = /prog_id:\s*(\d+)/.exec(fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'latin1'));
      if (m) ids.add(Number(m[1]));
    } catch {
      // closed meanwhile
    }
  }
  const out: Record<string, number> = {};
  for (const p of JSON.parse(execFileSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8' })) as { id: number; name: string; run_cnt?: number }[]) {
    if (ids.has(p.id)) out[p.name] = p.run_cnt ?? 0;
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let ebtop: EbtopRun | undefined;
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await ebtop?.stop();
  ebtop = undefined;
});

describe.skipIf(skip)('--budget (kernel)', () => {
  it('--caps lists the budget and the units it may shed, in order; a budget out of bounds is one line and exit 2', async () => {
    const caps = await run(EBTOP, ['--caps']);
    expect(caps.code).toBe(0);
    expect(caps.stdout).toMatch(/^budget: 2% of all CPU \(--budget\)/m);
    const units = caps.stdout.split('\n').filter((l) => /^ {2}\S/.test(l)).map((l) => l.trim().split(/\s{2,}/));
    expect(units.map((u) => u[0])).toEqual(['wait', 'net.recv', 'net.send', 'disk.fs', 'disk.fswrite']);
    expect(units.every((u) => u[1] === 'sheddable')).toBe(true);
    expect(caps.stdout).toMatch(/^never shed: cpu\.counters, cpu\.exit, lifecycle\.exec, lifecycle\.fork/m);
    expect((await run(EBTOP, ['--caps', '--budget', '0'])).stdout).toMatch(/^budget: none \(--budget 0\)/m);
    for (const bad of ['-1', '101', 'two']) {
      const r = await run(EBTOP, ['--json', '--budget', bad]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/budget must be 0 \(no budget\) to 100/);
    }
  });

  it('sheds under a context-switch storm, restores after it, the shed fields null, the CPU columns exact throughout', async () => {
    // each refresh's cost and what was shed, in the log (printed below)
    const logFile = `/tmp/ebtop-budget-test-${process.pid}.log`;
    fs.rmSync(logFile, { force: true });
    process.env.EBTOP_LOG_LEVEL = 'debug';
    ebtop = new EbtopRun(['-d', '0.5', '--budget', '2', '--log', logFile]);
    delete process.env.EBTOP_LOG_LEVEL;
    // waiting for its child (wait4: child) from long before any shed (the
    // budget judges nothing in its first 10 s: src/budget.ts BUDGET.warmupMs),
    // woken once a sample shows wait shed (the test kills its sleep), then
    // blocked reading a pipe nobody writes through the restore
    const late = spawn('sh', ['-c', 'sleep 1000; exec cat'], { stdio: ['pipe', 'ignore', 'ignore'] });
    children.push(late);
    await ebtop.waitSamples(22);
    const pid = ebtop.child.pid!;
    const atStart = runCounts(pid);
    const loaded = (unit: string, stats: Record<string, number>) => PROGRAMS[unit].map((p) => p.slice(0, 15)).filter((p) => p in stats);
    expect(loaded('wait', atStart).length).toBeGreaterThan(0);
    const core = 'switch_btf' in atStart ? 'switch_btf' : 'switch_raw';

    // a hog across everything (killed after the restore), a burner inside the
    // storm: both reaped by reap, which prints their wait4() rusage
    const hogReap = spawn(WORKLOAD('reap'), [WORKLOAD('burn'), '600000'], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(hogReap);
    let hogOut = '';
    hogReap.stdout!.on('data', (d) => (hogOut += d));
    const hogDone = new Promise((r) => hogReap.on('close', r)); // its output read to the end
    const storm = spawn('stress-ng', ['--switch', '2', '--timeout', '8s'], { stdio: 'ignore' });
    children.push(storm);
    const stormDone = new Promise((r) => storm.on('exit', r));
    await sleep(1000);
    const burner = await run(WORKLOAD('reap'), [WORKLOAD('burn'), '1500']);
    // the shed programs do not run: their run counts stand still over shed intervals
    const shedNow = async () => (await ebtop!.sampleAfter(Date.now())).shed;
    let during = await shedNow();
    for (const until = Date.now() + 5000; !during.includes('wait') && Date.now() < until; ) during = await shedNow();
    // wake the late process: a sample already showed wait shed, so it wakes in a later interval
    const lateSleep = Number(fs.readFileSync(`/proc/${late.pid}/task/${late.pid}/children`, 'latin1').trim());
    if (lateSleep > 0) process.kill(lateSleep, 'SIGKILL');
    const before = runCounts(pid);
    await sleep(1200);
    const after = runCounts(pid);
    const stillShed = await shedNow();
    await stormDone;
    const stormEnd = Date.now();

    // after the storm: every unit back (the machine may be busy with others' work: up to 90 s)
    const deadline = Date.now() + 90_000;
    let restoredAt = -1;
    while (Date.now() < deadline) {
      const s = await ebtop.sampleAfter(Date.now());
      if (s.receivedAt > stormEnd && s.shed.length === 0) {
        restoredAt = ebtop.samples.indexOf(s);
        break;
      }
    }
    // three more intervals with everything attached
    await ebtop.waitSamples(restoredAt + 4);
    late.kill('SIGKILL');
    // the hog's burn: reap's one child
    const hogPid = Number(fs.readFileSync(`/proc/${hogReap.pid}/task/${hogReap.pid}/children`, 'latin1').trim());
    process.kill(hogPid, 'SIGKILL');
    await hogDone;
    const report = (out: string) => JSON.parse(out.split('\n').find((l) => l.startsWith('{'))!) as { pid: number; rusage_ns: number };
    const burnerReport = report(burner.stdout);
    const hogReport = report(hogOut);
    await ebtop.sampleAfter(Date.now() + 100);
    const samples = ebtop.samples.slice(22);

    // what was shed, and the cost it took off
    const shedSamples = samples.filter((s) => s.shed.length);
    const firstShed = samples.findIndex((s) => s.shed.length);
    const pctOf = (s: Sample) => ((s.system.bpf.run_ns / (s.ncpu * s.interval_ns)) * 100).toFixed(2);
    console.log(
      `budget 2%: shed ${JSON.stringify([...new Set(shedSamples.flatMap((s) => s.shed))])} in ${shedSamples.length} intervals; ` +
        `BPF % of all CPU before the first shed ${firstShed > 0 ? pctOf(samples[firstShed - 1]) : '?'}, in the shed intervals ${shedSamples.map(pctOf).join(' ')}; ` +
        `restored ${restoredAt < 0 ? 'never' : `${((ebtop.samples[restoredAt].receivedAt - stormEnd) / 1000).toFixed(1)} s after the storm`}`,
    );
    const costs = fs.readFileSync(logFile, 'latin1').split('\n').filter((l) => l.includes('"msg":"tick"')).map((l) => (JSON.parse(l) as { costPct: number }).costPct.toFixed(2));
    console.log(`cost per interval, % of all CPU: ${costs.join(' ')}`);
    expect(shedSamples.length).toBeGreaterThan(0);
    expect(during.length, 'shed while the storm ran').toBeGreaterThan(0);

    // shed programs stood still; the core's kept running
    for (const unit of during.filter((u) => stillShed.includes(u))) {
      for (const prog of loaded(unit, before)) expect(after[prog], `${prog} ran while ${unit} was shed`).toBe(before[prog]);
    }
    expect(after[core]).toBeGreaterThan(before[core]);

    // every field of a shed unit is null in every interval it was shed in (any part of)
    for (const s of samples) {
      for (const unit of s.shed) {
        for (const p of s.processes as Row[]) for (const f of FIELDS[unit]) expect(p[f], `${f} of ${p.pid} while ${unit} was shed`).toBeNull();
      }
      if (!s.shed.includes('wait')) {
        for (const p of s.processes as Row[]) if (p.wait && p.source === 'bpf') expect(Object.values(p.wait as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(p.offcpu_ns);
      }
    }

    // restored after the storm
    expect(restoredAt, 'every unit restored after the storm').toBeGreaterThan(0);
    const restored = ebtop.samples.slice(restoredAt, restoredAt + 4);
    for (const s of restored) {
      expect(s.shed).toEqual([]);
      for (const p of s.processes as Row[]) expect(p.wait, `wait of ${p.pid} after the restore`).not.toBeNull();
    }
    // the late process: its child wait was open when wait was shed, and it woke while shed
    const rowOf = (s: Sample) => (s.processes as Row[]).find((x) => x.pid === late.pid);
    const woke = ebtop.samples.findIndex((s) => rowOf(s)?.comm === 'cat');
    const shedFrom = ebtop.samples.findIndex((s) => s.shed.includes('wait'));
    expect(rowOf(ebtop.samples[shedFrom - 1])?.comm, 'still waiting for its child when wait was shed').toBe('sh');
    expect(shedFrom).toBeLessThan(woke);
    expect(ebtop.samples[woke].shed, 'woke while wait was shed').toContain('wait');
    // after the restore its wait is the pipe read, from the snapshot after the restore on
    for (const s of restored.slice(1)) {
      const w = rowOf(s)!.wait as Record<string, number>;
      console.log(`late process after the restore: ${JSON.stringify(w)} over ${s.interval_ns} ns`);
      expect(w.child_ns, 'the child wait left open at the shed was counted').toBe(0);
      expect(Math.abs(w.pipe_ns - s.interval_ns) / s.interval_ns).toBeLessThan(0.02);
    }

    // CPU columns exact through shed and restore: the same sum_exec_runtime as wait4's rusage (truncated to the us, two parts)
    for (const [name, report] of [
      ['burner', burnerReport],
      ['hog', hogReport],
    ] as const) {
      const rows = ebtop.samples.flatMap((s) => s.processes.filter((p) => p.pid === report.pid && p.comm === 'burn'));
      const total = rows.reduce((t, p) => t + p.oncpu_ns, 0);
      console.log(`${name}: wait4 rusage ${(report.rusage_ns / 1e6).toFixed(3)} ms, ebtop ${(total / 1e6).toFixed(6)} ms over ${rows.length} rows (diff ${total - report.rusage_ns} ns)`);
      expect(rows.filter((p) => p.exited)).toHaveLength(1);
      if (name === 'hog') {
        // it ran through shed intervals and after the restore
        const lived = ebtop.samples.filter((s) => s.processes.some((p) => p.pid === report.pid && p.comm === 'burn'));
        expect(lived.some((s) => s.shed.length > 0)).toBe(true);
        expect(lived.filter((s) => ebtop!.samples.indexOf(s) >= restoredAt).length).toBeGreaterThanOrEqual(3);
      }
      expect(total - report.rusage_ns).toBeGreaterThanOrEqual(0);
      expect(total - report.rusage_ns).toBeLessThan(2000);
    }
  }, 180_000);
});
