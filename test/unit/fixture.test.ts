// The seam must not change a byte of the JSON contract: raw samples recorded
// with the pre-seam collector (test/fixtures/cpu-samples.json.gz, recorded at
// 890e68e with the NDJSON the pre-seam model made of them) go through today's
// model and JSON view, and the NDJSON must be identical.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { RingRecord, TaskRecord } from '../../src/abi';
import { Model, type RawSample } from '../../src/model';
import { SCHEMA } from '../../src/subsystems';
import { CPU, cpu } from '../../src/subsystems/cpu';
import { intervalJson } from '../../src/views/json';

type OldTask = Omit<TaskRecord, 'c' | 'pstartNs'> & Record<'oncpuNs' | 'runqNs' | 'slices' | 'nvcsw' | 'nivcsw' | 'migrations', number>;
interface Fixture {
  names: Record<string, string>;
  cmdlines: Record<string, string[] | null>;
  samples: (Omit<RawSample, 'tasks' | 'procTasks' | 'events' | 'charges' | 'ext'> & { tasks: OldTask[]; procTasks: OldTask[]; events: (OldTask | RingRecord)[] })[];
  ndjson: Record<string, string>;
}

const fixture = JSON.parse(zlib.gunzipSync(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'cpu-samples.json.gz'))).toString()) as Fixture;

/** The old records named each CPU counter; today's carry the group's slots, and the process's start time. */
function convert(f: Fixture): RawSample[] {
  const leaderStart = new Map<number, number>();
  return f.samples.map((s) => {
    const all = [...s.events, ...s.tasks, ...s.procTasks].filter((r): r is OldTask => r.kind === 'task' || r.kind === 'exit');
    for (const r of all) if (r.tid === r.pid) leaderStart.set(r.pid, r.startNs);
    const task = (r: OldTask): TaskRecord => {
      const c = new Float64Array(SCHEMA.taskSlots);
      c[CPU.at.oncpu_ns] = r.oncpuNs;
      c[CPU.at.runq_ns] = r.runqNs;
      c[CPU.at.slices] = r.slices;
      c[CPU.at.nvcsw] = r.nvcsw;
      c[CPU.at.nivcsw] = r.nivcsw;
      c[CPU.at.migrations] = r.migrations;
      const { oncpuNs, runqNs, slices, nvcsw, nivcsw, migrations, ...rest } = r;
      return { ...rest, pstartNs: leaderStart.get(r.pid) ?? r.startNs, c };
    };
    return {
      ...s,
      tasks: s.tasks.map(task),
      procTasks: s.procTasks.map(task),
      events: s.events.map((e) => (e.kind === 'task' || e.kind === 'exit' ? task(e as OldTask) : (e as RingRecord))),
      charges: [],
      ext: {},
    };
  });
}

describe('JSON contract across the seam', () => {
  for (const [label, opts] of [['plain', {}], ['threads', { threads: true }], ['cumulative', { cumulative: true, threads: true }]] as const) {
    it(`recorded samples give byte-identical NDJSON (${label})`, () => {
      const m = new Model({
        ncpu: 2,
        ...opts,
        subsystems: [cpu],
        userName: (u) => fixture.names[u] ?? String(u),
        cmdline: (p) => fixture.cmdlines[p] ?? null,
      });
      const lines: string[] = [];
      for (const s of convert(fixture)) {
        const iv = m.update(s);
        // fields added since the recording (the contract only adds) are taken out: the budget's shed (none here)
        if (iv) lines.push(intervalJson(iv, iv.processes, { threads: 'threads' in opts }).replace(',"shed":[]', ''));
      }
      const want = fixture.ndjson[label].trimEnd().split('\n');
      expect(lines.length).toBe(want.length);
      for (let i = 0; i < want.length; i++) expect(lines[i], `interval ${i}`).toBe(want[i]);
    });
  }
});
