// The cgroup view in a real terminal: two fresh v2 cgroups of the test's own
// (a CPU burner in one, a sleeper in the other), v toggles to the cgroup
// view, the busy one is on top of the two, Enter lists its processes (the
// burner's PID), Esc comes back and v returns to the processes.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgroup2Mount } from '../../src/procfs';
import { capture as captureOf, CPU_METER, exitCode, keys, killServer, lines, requireRunnable, setTmp, start, titleRow, tmpDir, waitFor, why } from '../helpers/tmux';
import { WORKLOAD } from '../helpers/kernel';

requireRunnable();

const MOUNT = why ? null : cgroup2Mount();
const PREFIX = `ebtop-tui-${process.pid}`;
const CGROUPS = { busy: `/${PREFIX}-busy`, idle: `/${PREFIX}-idle` };
const procs: ChildProcess[] = [];

/** The table's cgroup lines: PROCS first, the name last. */
const cgroupTitle = (s: string) => lines(s).find((l) => /^\s*\S?PROCS\S? .*CGROUP\s*$/.test(l));
function names(s: string): string[] {
  const ls = lines(s);
  const at = ls.findIndex((l) => /^\s*\S?PROCS\S? /.test(l));
  return ls.slice(at + 1).filter((l) => /^\s*\d+ /.test(l)).map((l) => l.trim().split(/\s+/).at(-1)!);
}

describe.skipIf(why || !MOUNT)('cgroup view in tmux', () => {
  beforeAll(() => {
    setTmp(fs.mkdtempSync(path.join(os.tmpdir(), 'ebtop-tui-cg-')));
    for (const [k, dir] of Object.entries(CGROUPS)) {
      fs.mkdirSync(`${MOUNT}${dir}`);
      const p = k === 'busy' ? spawn(WORKLOAD('burn'), ['120000'], { stdio: 'ignore' }) : spawn('sleep', ['120'], { stdio: 'ignore' });
      fs.writeFileSync(`${MOUNT}${dir}/cgroup.procs`, String(p.pid));
      procs.push(p);
    }
  });
  afterAll(async () => {
    killServer();
    for (const p of procs) p.kill('SIGKILL');
    await Promise.all(procs.map((p) => (p.exitCode !== null || p.signalCode ? null : new Promise((r) => p.once('exit', r)))));
    for (const dir of Object.values(CGROUPS)) {
      try {
        fs.rmdirSync(`${MOUNT}${dir}`);
      } catch {
        /* not made */
      }
    }
    fs.rmSync(tmpDir(), { recursive: true, force: true });
  });

  it('v shows one line per cgroup, the busy one above the idle one; Enter lists its processes', async () => {
    start('cg', 200, 50, '-d 0.5');
    await waitFor('cg', 'the first interval', (x) => Boolean(titleRow(x)) && CPU_METER.test(x));
    keys('cg', 'v');
    let s = await waitFor('cg', 'the cgroup view', (x) => Boolean(cgroupTitle(x)) && x.includes(', cgroups'));
    expect(cgroupTitle(s)).toMatch(/PROCS\s+\S?CPU%\s+ONCPU\s+RUNQ\s+OFFCPU\s+DISK-R\s+DISK-W\s+IO-LAT\s+NET-TX\s+NET-RX\s+RETX%\s+WAIT\s+PSI cpu\/mem\/io\s+CGROUP/);
    // narrowed to the test's two (the machine is shared: others' groups may be busier)
    keys('cg', '\\', ...PREFIX.split(''), 'Enter');
    s = await waitFor('cg', 'the two cgroups of the test, the busy one first', (x) => names(x).length === 2 && names(x)[0] === `${PREFIX}-busy`);
    expect(names(s)).toEqual([`${PREFIX}-busy`, `${PREFIX}-idle`]);
    const busy = lines(s).find((l) => l.trim().endsWith(`${PREFIX}-busy`))!;
    // one live process burning a CPU (the pressure from the second interval it is shown)
    expect(busy).toMatch(/^\s*1\s+(\d{2}\.\d|100)\s/);
    keys('cg', 'Home', 'Enter');
    // its pressure from the second interval the cgroup is shown (a busy machine may redraw the drill-down before)
    s = await waitFor('cg', 'the drill-down of the busy cgroup, with its pressure', (x) => x.includes(`cgroup ${PREFIX}-busy`) && x.includes(String(procs[0].pid)) && /stalled, some \/ full\): cpu \d/.test(x));
    expect(s).toContain(CGROUPS.busy);
    expect(s).toMatch(/processes 1 live, 0 exited this interval/);
    expect(s).toMatch(/pressure \(share of the interval stalled, some \/ full\): cpu \d/);
    expect(lines(s).some((l) => new RegExp(`^\\s*${procs[0].pid}\\s.*burn`).test(l))).toBe(true);
    keys('cg', 'Escape');
    s = await waitFor('cg', 'back to the cgroup lines', (x) => !x.includes(`cgroup ${PREFIX}-busy`) && names(x)[0] === `${PREFIX}-busy`);
    // Esc clears the filter; apart from v (ESC v together would read as Alt-v)
    keys('cg', 'Escape');
    await waitFor('cg', 'the filter cleared', (x) => !x.includes('filter "') && names(x).length > 2);
    keys('cg', 'v');
    s = await waitFor('cg', 'the process view again', (x) => Boolean(titleRow(x)) && !x.includes(', cgroups'));
    expect(s).toMatch(/burn 120000/);
    keys('cg', 'q');
    await waitFor('cg', 'ebtop to exit', (x) => exitCode(x) !== null);
    expect(exitCode(captureOf('cg'))).toBe(0);
  });
});


