// Processes BPF cannot see are read from /proc (src/collector.ts): a /proc
// scan every 5 s finds them, each refresh reads them. A pid that scan found
// invisible can exit and be given to a process BPF does see before the next
// scan; from then on it must come from the task iterator alone, never from
// both (its threads twice: CPU and wait counted twice, the /proc copy marked
// source "proc"). Nothing is invisible on this host, so the test puts the
// machine in the state the scan would leave: a live, BPF-visible process's
// pid on the invisible list, as if its pid's earlier holder had been listed.
import { spawn, type ChildProcess } from 'node:child_process';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Collector } from '../../src/collector';
import { kernelSkipReason } from '../helpers/kernel';

const skip = kernelSkipReason();

describe.skipIf(skip)('processes read from /proc (kernel)', () => {
  let c: Collector;
  let child: ChildProcess;

  beforeAll(async () => {
    c = Collector.open({ log: pino({ level: 'silent' }) });
    c.sample(); // the first refresh scans /proc; the next scan is 5 s away
    child = spawn('sleep', ['30'], { stdio: 'ignore' });
    await new Promise((resolve) => child.on('spawn', resolve));
  });
  afterAll(() => {
    child?.kill('SIGKILL');
    c?.close();
  });

  it('a pid the last scan found invisible, now a process BPF sees, is read from the iterator alone', () => {
    const pid = child.pid!;
    // what the last scan left: this pid's earlier holder was invisible to BPF
    (c as unknown as { invisible: number[] }).invisible = [pid];
    const s = c.sample(); // well before the next scan
    expect(s.tasks.filter((t) => t.pid === pid).map((t) => t.tid)).toEqual([pid]);
    expect(s.procTasks.filter((t) => t.pid === pid).map((t) => t.tid)).toEqual([]);
    // and the next refreshes neither
    expect(c.sample().procTasks.filter((t) => t.pid === pid)).toEqual([]);
  });
});
