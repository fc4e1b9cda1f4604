// The other outputs of the real binary: --caps, --batch, and the rows of
// processes BPF cannot see (read from /proc, marked source "proc").
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import readline from 'node:readline';
import { describe, expect, it } from 'vitest';
import { EBTOP, EbtopRun, kernelSkipReason, run, WORKLOAD } from '../helpers/kernel';

const skip = kernelSkipReason();

describe.skipIf(skip)('views (kernel)', () => {
  it('--caps lists every source with its state and hook, and --no-disk turns the disk ones off', async () => {
    const caps = await run(EBTOP, ['--caps']);
    expect(caps.code).toBe(0);
    const rows = caps.stdout.trim().split('\n').map((l) => l.split(/\s{2,}/));
    const byName = new Map(rows.map((r) => [r[0], r]));
    for (const s of ['cpu.counters', 'cpu.exit', 'lifecycle.exec', 'lifecycle.fork', 'disk.bio', 'disk.lat', 'disk.fs', 'disk.fswrite', 'wait.switch']) {
      expect(byName.get(s)?.[1], s).toBe('attached');
    }
    expect(byName.get('cpu.counters')![2]).toBe('iter/task');
    expect(byName.get('cpu.exit')![2]).toBe('tp_btf/sched_switch');
    const off = await run(EBTOP, ['--caps', '--no-disk']);
    const offRows = new Map(off.stdout.trim().split('\n').map((l) => l.split(/\s{2,}/)).map((r) => [r[0], r]));
    expect(offRows.get('disk.bio')![1]).toBe('off');
    expect(offRows.get('cpu.exit')![1]).toBe('attached');
    const noWait = await run(EBTOP, ['--caps', '--no-wait']);
    const noWaitRows = new Map(noWait.stdout.trim().split('\n').map((l) => l.split(/\s{2,}/)).map((r) => [r[0], r]));
    expect(noWaitRows.get('wait.switch')![1]).toBe('off');
  });

  it('--batch prints a summary and a table per interval, its columns as declared', async () => {
    const r = await run(EBTOP, ['--batch', '-d', '0.3', '-n', '2']);
    expect(r.code).toBe(0);
    const blocks = r.stdout.trim().split(/\n\n\n?/).filter((b) => b.startsWith('ebtop - ') || /PID/.test(b));
    const summaries = r.stdout.split('\n').filter((l) => l.startsWith('ebtop - '));
    expect(summaries).toHaveLength(2);
    expect(summaries[0]).toMatch(/interval \d+(\.\d+)?ms .*cpus \d+ .*tasks \d+, \d+ thr/);
    const header = r.stdout.split('\n').find((l) => /^\s*PID USER/.test(l))!;
    expect(header.trim().split(/\s+/)).toEqual(['PID', 'USER', 'CPU%', 'ONCPU', 'RUNQ', 'OFFCPU', 'DISK-R', 'DISK-W', 'IO-LAT', 'NET-TX', 'NET-RX', 'RETX%', 'WAIT', 'CMD']);
    // the batch run's own row is there, with its own pid
    expect(blocks.length).toBeGreaterThan(0);
    const own = r.stdout.split('\n').filter((l) => new RegExp(`^\\s*${r.pid}\\s`).test(l));
    expect(own.length).toBeGreaterThanOrEqual(1);
  });

  it('shows processes BPF cannot see from /proc, marked source "proc", with their threads', async () => {
    // On these VMs the sandbox's PID 1 and its threads are invisible to BPF.
    const ebtop = new EbtopRun(['-d', '0.3', '-n', '2', '--cumulative']);
    expect(await ebtop.exited).toBe(0);
    const proc = ebtop.samples.at(-1)!.processes.filter((p) => p.source === 'proc');
    console.log(`source "proc" rows: ${proc.map((p) => `${p.pid} ${p.comm} (${p.threads} thr)`).join(', ') || 'none'}`);
    for (const p of proc) {
      expect(p.comm).toBe(fs.readFileSync(`/proc/${p.pid}/comm`, 'utf8').trim().slice(0, 15));
      expect(p.threads).toBe(fs.readdirSync(`/proc/${p.pid}/task`).length);
      const total = fs.readdirSync(`/proc/${p.pid}/task`).reduce((n, t) => n + Number(fs.readFileSync(`/proc/${p.pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]), 0);
      expect(p.oncpu_ns).toBeLessThanOrEqual(total);
    }
    // PID 1 shows up, from BPF or from /proc; no process twice
    const pids = ebtop.samples.at(-1)!.processes.map((p) => p.pid);
    expect(pids).toContain(1);
    expect(new Set(pids).size).toBe(pids.length);
  });

  it('resident memory and cgroup of a process equal what /proc says', async () => {
    const hog = spawn(WORKLOAD('hog'), ['200'], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve) => readline.createInterface({ input: hog.stdout! }).on('line', (l) => l === 'ready' && resolve()));
      const ebtop = new EbtopRun(['-d', '0.3', '-n', '2', '-p', String(hog.pid)]);
      expect(await ebtop.exited).toBe(0);
      const row = ebtop.samples.at(-1)!.processes[0] as unknown as { rss_bytes: number; cgroup: string; mem_pct: number };
      const pages = Number(fs.readFileSync(`/proc/${hog.pid}/statm`, 'utf8').split(' ')[1]);
      const path = /^0::(.*)$/m.exec(fs.readFileSync(`/proc/${hog.pid}/cgroup`, 'utf8'))![1];
      console.log(`hog: ebtop rss ${row.rss_bytes} B (${row.mem_pct}%), /proc statm ${pages} pages; cgroup '${row.cgroup}' (path ${path})`);
      // The same kernel counters (mm rss_stat), read a moment apart by an idle
      // process. BPF reads the percpu counters' shared count (what
      // get_mm_counter returns); /proc/<pid>/statm on 6.18 adds the per-CPU
      // parts not yet folded in: below the batch (max(32, 2 x ncpu) pages) per
      // CPU for each of the three counters.
      const ncpu = os.cpus().length;
      const slack = 3 * ncpu * Math.max(32, 2 * ncpu) * 4096;
      expect(Math.abs(row.rss_bytes - pages * 4096)).toBeLessThanOrEqual(slack);
      expect(row.rss_bytes).toBeGreaterThan(200 * 1024 * 1024);
      expect(row.cgroup).toBe(path === '/' ? '/' : path.split('/').pop());
    } finally {
      hog.kill();
    }
  });
});
