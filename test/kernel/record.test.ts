// ebtop record / replay against ground truth: what a replay prints of a
// recording made while known workloads ran is held to the workloads' own
// reports (wait4 rusage, the bytes their calls returned, where they block),
// exactly as the live tests hold live samples. Then a recorder killed with
// SIGKILL (the rest replays, a new recorder appends) and retention.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EBTOP, EMULATED, kernelSkipReason, run, WORKLOAD, type Proc, type Sample } from '../helpers/kernel';

const skip = kernelSkipReason();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const c of children) {
    try {
      process.kill(-c.pid!, 'SIGKILL'); // its group, where it leads one (the reader's shell)
    } catch {
      /* not a group leader, or gone */
    }
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
  children = [];
  for (const d of dirs.splice(0)) {
    fs.rmSync(d, { recursive: true, force: true });
    fs.rmSync(`${d}.log`, { force: true });
  }
});

function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ebtop-rec-'));
  dirs.push(d);
  return d;
}

/** Frames on disk so far (the shards' frame headers), read the way replay does. */
async function frames(dir: string): Promise<number> {
  const { listShards, readFrames } = await import('../../src/recording/store');
  return listShards(dir).reduce((n, s) => n + readFrames(s).frames.length, 0);
}

async function waitFrames(dir: string, n: number, rec: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await frames(dir)) < n) {
    if (rec.exitCode !== null) throw new Error(`the recorder exited (${rec.exitCode})`);
    if (Date.now() > deadline) throw new Error(`fewer than ${n} frames in ${dir}`);
    await sleep(100);
  }
}

function recorder(dir: string, args: string[] = []): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(EBTOP, ['record', '-o', dir, '--budget', '0', '--log', `${dir}.log`, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  let out = '';
  child.stderr!.on('data', (d) => (err += d));
  child.stdout!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, stderr: () => err + out, exited };
}

async function replayJson(dir: string, args: string[] = []): Promise<{ code: number | null; samples: (Sample & { replay: boolean })[]; stderr: string }> {
  const r = await run(EBTOP, ['replay', dir, '--json', ...args]);
  return { code: r.code, stderr: r.stderr, samples: r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)) };
}

const sumOf = (samples: Sample[], pid: number, key: string, ppid?: number) =>
  samples.reduce((n, s) => n + s.processes.filter((p) => p.pid === pid && (ppid === undefined || p.ppid === ppid)).reduce((m, p) => m + Number((p as unknown as Record<string, number>)[key] ?? 0), 0), 0);

describe.skipIf(skip)('ebtop record and replay (kernel)', () => {
  it('a replay of a recording gives every figure its workload reports: a burner, 100 processes of 20 ms, unix bytes, a blocked reader', async () => {
    const dir = tmpDir();
    const rec = recorder(dir, ['-d', '0.5']);
    await waitFrames(dir, 2, rec.child);
    // blocked reading a pipe nobody writes, from now to the end (a pipe(2): node's
    // stdio 'pipe' is a unix socketpair); the shell prints the reader's pid
    const readerSh = spawn('sh', ['-c', 'sleep 600 | cat & echo $!; wait'], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
    children.push(readerSh);
    const reader = { pid: Number(await new Promise<string>((r) => readerSh.stdout!.once('data', (d) => r(String(d).trim())))) };
    expect(reader.pid).toBeGreaterThan(0);
    // from when it is cat, asleep (an exec under emulation can take longer than an interval)
    const asleep = Date.now() + 20_000;
    const stat = () => {
      try {
        return fs.readFileSync(`/proc/${reader.pid}/stat`, 'latin1');
      } catch {
        return '';
      }
    };
    while (!/^\d+ \(cat\) S /.test(stat()) && Date.now() < asleep) await sleep(20);
    const blockedSince = Date.now();
    const burner = await run(WORKLOAD('reap'), [WORKLOAD('burn'), '700']);
    const spawner = await run(WORKLOAD('spawner'), ['100', '20', WORKLOAD('burn')]);
    const pair = await run(WORKLOAD('sockpair'), []);
    await sleep(1500); // the blocked reader over whole intervals
    const framesBefore = await frames(dir);
    await waitFrames(dir, framesBefore + 2, rec.child);
    rec.child.kill('SIGTERM');
    expect(await rec.exited, rec.stderr()).toBe(0);
    expect(rec.stderr(), 'the recorder prints nothing').toBe('');
    process.kill(-readerSh.pid!, 'SIGKILL'); // sh, sleep and the reader

    const { code, samples, stderr } = await replayJson(dir);
    expect(code, stderr).toBe(0);
    expect(samples.length).toBe((await frames(dir)) - 1); // the first sample is the baseline
    expect(samples.every((s) => s.replay === true && s.type === 'sample')).toBe(true);

    // the burner: its exact on-CPU time, as wait4's rusage (truncated to the us; cross-CPU reap window as in cpu.test.ts)
    const b = JSON.parse(burner.stdout.split('\n').find((l) => l.startsWith('{'))!) as { pid: number; rusage_ns: number };
    const burnNs = sumOf(samples, b.pid, 'oncpu_ns');
    const above = EMULATED ? 20_000_000 : 100_000;
    console.log(`burner: wait4 ${(b.rusage_ns / 1e6).toFixed(3)} ms, replay ${(burnNs / 1e6).toFixed(6)} ms`);
    expect(burnNs - b.rusage_ns).toBeGreaterThanOrEqual(0);
    expect(burnNs - b.rusage_ns).toBeLessThan(above);
    expect(samples.some((s) => s.processes.some((p) => p.pid === b.pid && p.exited && p.comm === 'burn'))).toBe(true);

    // 100 processes of 20 ms: each one's exit, with its rusage
    const sp = JSON.parse(spawner.stdout) as { pid: number; children: number[]; child_rusage_ns: number[] };
    const exited = new Set<number>();
    for (const s of samples) for (const p of s.processes) if (p.exited && p.ppid === sp.pid && sp.children.includes(p.pid)) exited.add(p.pid);
    const off = sp.children.filter((pid, i) => {
      const d = sumOf(samples, pid, 'oncpu_ns', sp.pid) - sp.child_rusage_ns[i];
      return !(d >= 0 && d < above);
    });
    console.log(`100 x 20 ms: ${exited.size}/100 exits in the replay; outside [0, ${above / 1000} us) of their rusage: ${off.length}`);
    expect(exited.size).toBeGreaterThanOrEqual(99);
    expect(off).toEqual([]);

    // unix bytes, exact (the parent's stdout is a unix socket too: its report counts)
    const rep = JSON.parse(pair.stdout) as { parent: number; child: number; parent_tx: number; parent_rx: number; child_rx: number; child_tx: number };
    expect(sumOf(samples, rep.child, 'unix_tx_bytes')).toBe(rep.child_tx);
    expect(sumOf(samples, rep.child, 'unix_rx_bytes')).toBe(rep.child_rx);
    expect(sumOf(samples, rep.parent, 'unix_tx_bytes')).toBe(rep.parent_tx + Buffer.byteLength(pair.stdout));
    expect(sumOf(samples, rep.parent, 'unix_rx_bytes')).toBe(rep.parent_rx);

    // the blocked reader: its whole intervals are pipe waits, and its reasons add up to its off-CPU time
    const rows = samples.map((s) => ({ s, p: s.processes.find((p) => p.pid === reader.pid) })).filter((x) => x.p && !x.p.exited) as { s: Sample; p: Proc & { wait: Record<string, number> } }[];
    // intervals that began after it blocked (a sample's time is its end), but the last (it was killed in it)
    const whole = rows.slice(0, -1).filter(({ s }) => Date.parse(s.time) - s.interval_ns / 1e6 > blockedSince + 20);
    expect(whole.length).toBeGreaterThanOrEqual(2);
    for (const { s, p } of whole) {
      expect(Object.values(p.wait).reduce((a, c) => a + c, 0)).toBe(p.offcpu_ns);
      expect(Math.abs(p.wait.pipe_ns - s.interval_ns) / s.interval_ns, `the reader's waits ${JSON.stringify(p.wait)} over ${s.interval_ns} ns`).toBeLessThan(0.02);
    }
    // the command line the live model read is the one replayed
    // (its exit row: a refresh between fork and exec shows reap's, as live)
    expect(samples.flatMap((s) => s.processes).find((p) => p.pid === b.pid && p.exited)?.cmdline).toBe(`${WORKLOAD('burn')} 700`);
  });

  it('a recorder killed with SIGKILL: the rest replays and exits 0; a new recorder appends to the same directory', async () => {
    const dir = tmpDir();
    const first = recorder(dir, ['-d', '0.2']);
    await waitFrames(dir, 6, first.child);
    first.child.kill('SIGKILL');
    await first.exited;
    const n1 = await frames(dir);
    const a = await replayJson(dir);
    expect(a.code, a.stderr).toBe(0);
    expect(a.samples.length).toBe(n1 - 1);
    // a new recorder takes the dead one's lock and starts a new shard
    const second = recorder(dir, ['-d', '0.2']);
    await waitFrames(dir, n1 + 4, second.child);
    second.child.kill('SIGTERM');
    expect(await second.exited, second.stderr()).toBe(0);
    const n2 = (await frames(dir)) - n1;
    const b = await replayJson(dir);
    expect(b.code, b.stderr).toBe(0);
    // each run's first sample is a baseline: the gap between the runs is not an interval
    expect(b.samples.length).toBe(n1 - 1 + n2 - 1);
    const times = b.samples.map((s) => Date.parse(s.time));
    expect(times.every((t, i) => i === 0 || t > times[i - 1])).toBe(true);
    // one recorder per directory
    const third = recorder(dir, ['-d', '0.2']);
    await waitFrames(dir, n1 + n2 + 1, third.child);
    const fourth = recorder(dir, ['-d', '0.2']);
    expect(await fourth.exited).toBe(2);
    expect(fourth.stderr()).toMatch(/^ebtop: another ebtop record \(pid \d+\) writes to .*\n$/);
    third.child.kill('SIGTERM');
    expect(await third.exited).toBe(0);
  });

  it('retention: by size the oldest shards go and the directory stays under --max-size; by age nothing older than --retain stays', async () => {
    const { listShards } = await import('../../src/recording/store');
    const size = (dir: string) => listShards(dir).reduce((n, f) => n + (fs.existsSync(f) ? fs.statSync(f).size : 0), 0);
    const firstShard = async (dir: string) => {
      for (;;) {
        const s = listShards(dir);
        if (s.length) return s[0];
        await sleep(50);
      }
    };
    // by size (nothing is old enough to go by age)
    const bySize = tmpDir();
    const maxBytes = 160 * 1024;
    const a = recorder(bySize, ['-d', '0.1', '--max-size', String(maxBytes), '--retain', '1d']);
    const oldest = await firstShard(bySize);
    const deadline = Date.now() + 90_000;
    let peak = 0;
    while (fs.existsSync(oldest) && Date.now() < deadline) {
      peak = Math.max(peak, size(bySize));
      await sleep(20);
    }
    for (let i = 0; i < 40; i++, await sleep(50)) peak = Math.max(peak, size(bySize));
    a.child.kill('SIGTERM');
    expect(await a.exited, a.stderr()).toBe(0);
    console.log(`retention by size: peak ${peak} B of ${maxBytes}, ${listShards(bySize).length} shards left`);
    expect(fs.existsSync(oldest), 'the oldest shard was removed').toBe(false);
    expect(peak, 'over the limit by at most the frame just written').toBeLessThan(maxBytes + 32 * 1024);
    expect(fs.readFileSync(`${bySize}.log`, 'latin1')).toMatch(/retention: removed/);
    const r = await replayJson(bySize);
    expect(r.code, r.stderr).toBe(0);
    expect(r.samples.length).toBeGreaterThan(0);

    // by age (the size limit far away): small shards (a tenth of it), so several exist
    const byAge = tmpDir();
    const b = recorder(byAge, ['-d', '0.1', '--max-size', '640k', '--retain', '3s']);
    const firstOfAge = await firstShard(byAge);
    const until = Date.now() + 90_000;
    while (listShards(byAge).length < 2 && Date.now() < until) await sleep(100);
    expect(listShards(byAge).length, 'a second shard').toBeGreaterThan(1);
    await sleep(5000); // past --retain: the first shard was last written to more than 3 s ago
    const now = Date.now();
    const ages = listShards(byAge).map((f) => now - fs.statSync(f).mtimeMs);
    b.child.kill('SIGTERM');
    expect(await b.exited, b.stderr()).toBe(0);
    console.log(`retention by age: shard ages ${ages.map((x) => (x / 1000).toFixed(1)).join(' ')} s`);
    expect(fs.existsSync(firstOfAge), 'the first shard, older than --retain, was removed').toBe(false);
    expect(Math.max(...ages)).toBeLessThan(3000 + 1000);
    expect(fs.readFileSync(`${byAge}.log`, 'latin1')).toMatch(/retention: removed/);
  });
});
