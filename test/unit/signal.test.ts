// The signal path refuses a pid that now belongs to another process: a real
// child, its recorded start right or wrong, checked right before kill(2).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { bootToMonotonicNs } from '../../src/procfs';
import { procStartBootNs, sameStart } from '../../src/procstart';
import { signalIfSame } from '../../src/signal';

/** The child's start on ebtop's clock (CLOCK_MONOTONIC ns), as the model records it. */
function monoStart(pid: number): number {
  const suspended = bootToMonotonicNs(fs.readFileSync('/proc/uptime', 'utf8'), Number(process.hrtime.bigint()));
  return procStartBootNs(pid)! - suspended;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

let kids: ChildProcess[] = [];
afterEach(() => {
  for (const k of kids) k.kill('SIGKILL');
  kids = [];
});
function child(): Promise<ChildProcess> {
  const c = spawn('sleep', ['30'], { stdio: 'ignore' });
  kids.push(c);
  return new Promise((resolve) => c.on('spawn', () => resolve(c)));
}
const exited = (c: ChildProcess) => new Promise<NodeJS.Signals | null>((resolve) => c.on('exit', (_code, sig) => resolve(sig)));

describe('signalIfSame', () => {
  it('does not signal a pid whose process started at another time (the pid was reused)', async () => {
    const c = await child();
    // the tag was for an earlier process with this pid, 10 s older
    expect(signalIfSame(c.pid!, monoStart(c.pid!) - 10e9, 15)).toBe('reused');
    await new Promise((r) => setTimeout(r, 100));
    expect(alive(c.pid!)).toBe(true);
  });

  it('signals the process that has the recorded start', async () => {
    const c = await child();
    const gone = exited(c);
    expect(signalIfSame(c.pid!, monoStart(c.pid!), 15)).toBe('sent');
    expect(await gone).toBe('SIGTERM');
  });

  it('reports a process that exited as gone', async () => {
    const c = await child();
    const start = monoStart(c.pid!);
    const gone = exited(c);
    c.kill('SIGKILL');
    await gone; // reaped
    expect(signalIfSame(c.pid!, start, 15)).toBe('gone');
  });

  it('allows for time suspended before the start, not for a start after it', () => {
    // started at 1000 s monotonic after 60 s of suspend: 1060 s boot time
    expect(sameStart(1060e9, 1000e9, 60e9)).toBe(true);
    expect(sameStart(1000e9, 1000e9, 0)).toBe(true);
    expect(sameStart(1000e9 + 5e9, 1000e9, 0)).toBe(false); // a process 5 s younger
    expect(sameStart(1000e9 - 5e9, 1000e9, 0)).toBe(false);
  });
});
