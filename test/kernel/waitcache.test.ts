// The wait subsystem's per-thread cache of an fd's category against a reused
// fd and struct file (test/workloads/fdreuse.c): a thread blocked in turn on
// a pipe, a TCP socket that takes the pipe's fd (and most likely its struct
// file) and a unix socket that takes the TCP socket's (the same file
// operations: only the socket's inode tells them apart) must have each wait
// under its own reason, as the workload's own clock measured them.
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { describe, expect, it } from 'vitest';
import { EbtopRun, kernelSkipReason, WORKLOAD, type Sample } from '../helpers/kernel';

const skip = kernelSkipReason();

interface ThreadWait {
  tid: number;
  wait: Record<string, number>;
}

describe.skipIf(skip)('wait reason cache (kernel)', () => {
  it('a socket on the fd (and struct file) a pipe just had, a unix socket on the TCP socket\'s: net for the TCP waits, pipe for the pipe\'s and the unix socket\'s', async () => {
    const ebtop = new EbtopRun(['-d', '0.5', '--threads']);
    try {
      await ebtop.waitSamples(1);
      const child = spawn(WORKLOAD('fdreuse'), ['3'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const lines: string[] = [];
      readline.createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(code).toBe(0);
      await ebtop.sampleAfter(Date.now() + 100);
      const { pid, tids } = JSON.parse(lines[0]) as { pid: number; tids: number[] };
      const truth = JSON.parse(lines[1]) as { pipe_ns: number; tcp_ns: number; unix_ns: number; rounds: number };
      let net = 0;
      let pipe = 0;
      for (const s of ebtop.samples as Sample[]) {
        const p = s.processes.find((x) => x.pid === pid) as unknown as { threads_detail: ThreadWait[] } | undefined;
        const t = p?.threads_detail.find((x) => x.tid === tids[0]);
        net += t?.wait.net_ns ?? 0;
        pipe += t?.wait.pipe_ns ?? 0;
      }
      // a unix socket's wait is a pipe's (README's rule table)
      const pipeTruth = truth.pipe_ns + truth.unix_ns;
      console.log(
        `fdreuse ${truth.rounds} rounds: ebtop net ${(net / 1e6).toFixed(1)} ms, pipe ${(pipe / 1e6).toFixed(1)} ms; ` +
          `its own clock: tcp ${(truth.tcp_ns / 1e6).toFixed(1)} ms, pipe ${(truth.pipe_ns / 1e6).toFixed(1)} ms + unix ${(truth.unix_ns / 1e6).toFixed(1)} ms`,
      );
      expect(truth.rounds).toBeGreaterThan(30);
      // each reason near its own share (the samples' edges cut the first and last round)
      expect(net).toBeGreaterThan(0.8 * truth.tcp_ns);
      expect(net).toBeLessThan(1.1 * truth.tcp_ns);
      expect(pipe).toBeGreaterThan(0.8 * pipeTruth);
      expect(pipe).toBeLessThan(1.1 * pipeTruth);
    } finally {
      await ebtop.stop();
    }
  });
});
