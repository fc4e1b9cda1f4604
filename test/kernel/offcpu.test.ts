// `ebtop offcpu` against a pipe reader that times its own reads: the folded
// stacks' total is its blocked time (reads of 1 ms or more, as it measured
// them, less their on-CPU and run-queue time from schedstat), the top stack is where a pipe read sleeps, and the SVG flame graph
// is well-formed XML whose widths add up to that total. Its duration runs on
// the monotonic clock (a wall-clock step must not stretch it).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import pino from 'pino';
import sax from 'sax';
import { describe, expect, it, vi } from 'vitest';
import { capture } from '../../src/offcpu';
import { EBTOP, kernelSkipReason, WORKLOAD } from '../helpers/kernel';

const skip = kernelSkipReason();

describe.skipIf(skip)('ebtop offcpu (kernel)', () => {
  it('-p <pipe reader> --folded --svg: totals match its blocked time, top stack in anon_pipe_read', async () => {
    const svgFile = path.join(os.tmpdir(), `ebtop-offcpu-${process.pid}.svg`);
    const reader = spawn(WORKLOAD('waiter'), ['blocked', '3'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines: string[] = [];
    const readerDone = new Promise<void>((resolve) => reader.on('exit', () => resolve()));
    const announced = new Promise<number>((resolve) =>
      readline.createInterface({ input: reader.stdout! }).on('line', (l) => {
        lines.push(l);
        if (lines.length === 1) resolve((JSON.parse(l) as { pid: number }).pid);
      }),
    );
    const pid = await announced;
    const ebtop = spawn(EBTOP, ['offcpu', '-p', String(pid), '-d', '4.5', '--folded', '--svg', svgFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    ebtop.stdout!.on('data', (d) => (out += d));
    const code = new Promise<number | null>((resolve) => ebtop.on('exit', resolve));
    // the reader starts its timed reads once the programs are attached
    await new Promise<void>((resolve) =>
      ebtop.stderr!.on('data', (d) => {
        err += d;
        if (/recording/.test(err)) resolve();
      }),
    );
    reader.stdin!.write('g');
    await readerDone;
    expect(await code, err).toBe(0);
    const truth = (JSON.parse(lines[1]) as { blocked_ns: number }).blocked_ns;

    const stacks = out.trimEnd().split('\n').map((l) => {
      const m = /^(\S+) (\d+)$/.exec(l);
      expect(m, `folded line: ${l}`).not.toBeNull();
      const frames = m![1].split(';');
      expect(frames.every((f) => f.length > 0)).toBe(true);
      return { frames, ns: Number(m![2]) };
    });
    const total = stacks.reduce((n, s) => n + s.ns, 0);
    const top = stacks.reduce((a, b) => (b.ns > a.ns ? b : a));
    console.log(`offcpu: ${stacks.length} stacks, ${(total / 1e6).toFixed(2)} ms; the reader measured ${(truth / 1e6).toFixed(2)} ms blocked in reads ≥ 1 ms; top: ${top.frames.join(';')}`);
    expect(Math.abs(total - truth) / truth).toBeLessThan(0.02);
    expect(top.frames[0]).toBe('waiter');
    expect(top.frames[1]).toBe('[pipe]');
    expect(top.frames).toContain('anon_pipe_read');
    // user frames named from the process's ELF symbols (libc's read wrapper), outside the kernel ones
    expect(top.frames.slice(0, top.frames.indexOf('entry_SYSCALL_64_after_hwframe')).some((f) => /^(__libc_|__)?read$/.test(f))).toBe(true);
    expect(top.ns / total).toBeGreaterThan(0.9);

    // The SVG: strict XML; the root spans the total; each row's rectangles add up to their parent's width.
    const rects: { depth: number; ns: number; width: number }[] = [];
    let rootTotal = -1;
    const parser = sax.parser(true);
    parser.onerror = (e) => {
      throw e;
    };
    parser.onopentag = (t) => {
      if (t.name === 'svg') rootTotal = Number(t.attributes['data-total-ns']);
      if (t.name === 'rect' && t.attributes['data-depth'] !== undefined) {
        rects.push({ depth: Number(t.attributes['data-depth']), ns: Number(t.attributes['data-ns']), width: Number(t.attributes.width) });
      }
    };
    parser.write(fs.readFileSync(svgFile, 'utf8')).close();
    fs.rmSync(svgFile, { force: true });
    expect(rootTotal).toBe(total);
    const root = rects.filter((r) => r.depth === 0);
    expect(root).toHaveLength(1);
    expect(root[0].ns).toBe(total);
    const nsPerPx = total / root[0].width;
    for (const depth of [1, 2]) {
      const row = rects.filter((r) => r.depth === depth);
      expect(row.reduce((n, r) => n + r.ns, 0)).toBe(total);
      expect(Math.abs(row.reduce((n, r) => n + r.width, 0) * nsPerPx - total) / total).toBeLessThan(0.001);
    }
  }, 20_000);

  it('-d runs on the monotonic clock: the wall clock stepped back an hour at the start, the capture still ends after its second', async () => {
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    await new Promise((resolve) => sleeper.on('spawn', resolve));
    vi.useFakeTimers({ toFake: ['Date'] }); // Date only: timers and performance.now() stay real
    try {
      const t0 = performance.now();
      const done = capture({ pids: [sleeper.pid!], seconds: 1, minBlockMs: 1, log: pino({ level: 'silent' }), onRecording: () => vi.setSystemTime(Date.now() - 3600_000) });
      const ended = await Promise.race([done.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 10_000))]);
      const took = performance.now() - t0;
      expect(ended, 'still capturing 10 s into a 1 s capture').toBe(true);
      expect(took).toBeGreaterThanOrEqual(1000);
    } finally {
      vi.useRealTimers(); // a capture still running on the stepped clock ends on the real one
      sleeper.kill('SIGKILL');
    }
  }, 30_000);
});
