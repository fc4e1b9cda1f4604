// BPF programs and links are owned by ebtop's file descriptors: nothing stays
// attached once it exits, however it exits.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { EbtopRun, kernelSkipReason } from '../helpers/kernel';

const skip = kernelSkipReason();

/** ids of loaded BPF programs of ebtop's (by name), from bpftool. */
function ebtopPrograms(): number[] {
  const progs = JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' })) as { id: number; name?: string }[];
  return progs.filter((p) => p.name === 'switch_btf' || p.name === 'dump_task').map((p) => p.id);
}

async function gone(before: number[], timeoutMs = 5000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let left = ebtopPrograms().filter((id) => !before.includes(id));
  while (left.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    left = ebtopPrograms().filter((id) => !before.includes(id));
  }
  return left;
}

describe.skipIf(skip)('BPF lifetime (kernel)', () => {
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    it(`leaves no program loaded after ${signal}`, async () => {
      const before = ebtopPrograms();
      const ebtop = new EbtopRun(['-d', '0.3']);
      await ebtop.waitSamples(1);
      const mine = ebtopPrograms().filter((id) => !before.includes(id));
      expect(mine.length).toBeGreaterThanOrEqual(2);
      ebtop.child.kill(signal);
      await ebtop.exited;
      expect(await gone(before)).toEqual([]);
    });
  }
});
