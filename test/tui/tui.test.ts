// The real binary in a real terminal: tmux runs `bin/ebtop`, the test sends
// keys and reads the screen back with capture-pane. Needs root (BPF) and tmux.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  capture, CPU_METER, exitCode, expectRestored, keys, killServer, lines, pids, requireRunnable, selectedRow, setTmp, sortedBy, sq, start, titleRow, tmpDir, tmux, waitFor, why,
} from '../helpers/tmux';

requireRunnable();

describe.skipIf(why)('TUI in tmux', () => {
  beforeAll(() => setTmp(fs.mkdtempSync(path.join(os.tmpdir(), 'ebtop-tui-'))));
  afterAll(() => {
    killServer();
    fs.rmSync(tmpDir(), { recursive: true, force: true });
  });

  it('draws meters, header and processes; sorts, selects, and restores the terminal on q', async () => {
    start('main', 200, 50, '-d 0.5');
    let s = await waitFor('main', 'the first interval', (x) => Boolean(titleRow(x)) && CPU_METER.test(x) && /bin\/ebtop -d 0\.5/.test(x));
    expect(s).toMatch(/Tasks: \d+, \d+ thr; \d+ running/);
    expect(s).toMatch(/Exited this interval: \d+ \(\S+ CPU\)/);
    expect(s).toMatch(/Overhead: ebtop \d+(\.\d+)?% \+ bpf ~?\d+(\.\d+)?% cpu, \S+ runs, \d+ lost/);
    expect(s).toMatch(/Mem\[\|* *\S+\/\S+\]/);
    // every column, in order, under its title; sorted by CPU% (the default), biggest first
    expect(titleRow(s)).toMatch(/PID USER\s+\S?CPU%\s+ONCPU\s+RUNQ\s+OFFCPU\s+DISK-R\s+DISK-W\s+IO-LAT\s+NET-TX\s+NET-RX\s+RETX%\s+WAIT\s+CMD/);
    expect(titleRow(s)).toMatch(/[▼v]CPU%/);
    expect(sortedBy('CPU%')(s)).toBe(true);
    // ebtop's own row: PID USER CPU% ONCPU RUNQ OFFCPU DISK-R DISK-W IO-LAT NET-TX NET-RX RETX% WAIT CMD
    expect(s).toMatch(/^\s*\d+ \S+\s+\d+(\.\d)?(\s+\S+){9}\s+([a-z]+ \d+%|-)\s+node (--\S+ )*\S*bin\/ebtop -d 0\.5/m);

    // '<' three times: CPU% -> S -> USER -> PID, ascending
    keys('main', '<', '<', '<');
    s = await waitFor('main', 'sort by PID', sortedBy('PID'));
    expect(titleRow(s)).toMatch(/[▲^]PID/);
    let p = pids(s);
    expect(p.length).toBeGreaterThan(20);
    expect(p).toEqual([...p].sort((a, b) => a - b));

    // 'K' hides kernel threads (their command is [name]), as in htop; again shows them
    const kernelRow = /\s\[(kworker|kthreadd|rcu_|ksoftirqd|migration|cpuhp)[^\]]*\]\s*$/m; // not a process titled "name [run]"
    expect(s).toMatch(kernelRow);
    keys('main', 'K');
    s = await waitFor('main', 'kernel threads hidden', (x) => x.includes('kernel hidden'));
    expect(s).not.toMatch(kernelRow);
    keys('main', 'K');
    s = await waitFor('main', 'kernel threads shown', (x) => !x.includes('kernel hidden') && kernelRow.test(x));

    // selection: Home selects the first row, Down the next (sorted by PID the order is stable)
    keys('main', 'Home');
    await waitFor('main', 'the first row selected', (x) => selectedRow(x) === 0, 3000, true);
    keys('main', 'Down');
    await waitFor('main', 'the second row selected', (x) => selectedRow(x) === 1, 3000, true);

    // 'I' inverts
    keys('main', 'I');
    s = await waitFor('main', 'inverted PID sort', sortedBy('PID', true));
    expect(titleRow(s)).toMatch(/[▼v]PID/);
    p = pids(s);
    expect(p).toEqual([...p].sort((a, b) => b - a));

    // '>' moves right; 'T' and 'P' jump to ONCPU and CPU%
    keys('main', '>');
    await waitFor('main', 'sort by USER', sortedBy('USER'));
    keys('main', 'T');
    s = await waitFor('main', 'sort by ONCPU', sortedBy('ONCPU'));
    expect(titleRow(s)).toMatch(/[▼v]ONCPU/);
    keys('main', 'P');
    await waitFor('main', 'sort by CPU%', sortedBy('CPU%'));

    keys('main', 'q');
    s = await waitFor('main', 'ebtop to exit', (x) => exitCode(x) !== null && /icanon/.test(x));
    expect(exitCode(s)).toBe(0);
    expectRestored('main', s);
  });

  it('H shows and hides the threads of each process under it (with --threads)', async () => {
    start('threads', 160, 40, '-d 0.5 --threads -s pid');
    let s = await waitFor('threads', 'the first interval', (x) => Boolean(titleRow(x)) && pids(x).length > 5);
    const branch = /^\s*\d+ .*(├─|└─|\|-|`-) \S+/m;
    expect(s).toContain(', threads'); // --threads starts with them shown
    expect(s).toMatch(branch);
    keys('threads', 'H');
    s = await waitFor('threads', 'threads hidden', (x) => !x.includes(', threads'));
    expect(s).not.toMatch(branch);
    keys('threads', 'H');
    s = await waitFor('threads', 'threads shown again', (x) => x.includes(', threads') && branch.test(x));
    keys('threads', 'q');
    await waitFor('threads', 'ebtop to exit', (x) => exitCode(x) !== null);
  });

  /** PID of the ebtop started in session `name` (the pane runs a shell, ebtop is its child). */
  function ebtopPid(name: string): number {
    const shell = tmux('display-message', '-p', '-t', name, '#{pane_pid}').trim();
    const children = fs.readFileSync(`/proc/${shell}/task/${shell}/children`, 'utf8').trim().split(/\s+/).map(Number);
    const pid = children.find((c) => fs.readFileSync(`/proc/${c}/cmdline`, 'utf8').includes('bin/ebtop'));
    if (!pid) throw new Error(`no ebtop under the pane's shell ${shell}`);
    return pid;
  }

  it.each(['C-c', 'F10', 'SIGTERM', 'SIGINT'])('quits on %s and restores the terminal', async (how) => {
    const name = `quit-${how}`;
    start(name, 160, 30, '-d 0.5');
    await waitFor(name, 'the first interval', (x) => Boolean(titleRow(x)) && CPU_METER.test(x));
    if (how.startsWith('SIG')) process.kill(ebtopPid(name), how);
    else keys(name, how);
    const s = await waitFor(name, 'ebtop to exit', (x) => exitCode(x) !== null && /icanon/.test(x));
    expect(exitCode(s)).toBe(0);
    expectRestored(name, s);
  });

  it('restores the terminal after a crash and says so in one line', async () => {
    // An uncaught exception injected into the real binary, shortly after it
    // switched to the alternate screen (so the TUI owns the terminal by then).
    const boom = path.join(tmpDir(), 'boom.js');
    fs.writeFileSync(
      boom,
      `const write = process.stdout.write.bind(process.stdout);
let armed = false;
process.stdout.write = (chunk, ...rest) => {
  if (!armed && String(chunk).includes('\\x1b[?1049h')) {
    armed = true;
    setTimeout(() => { throw new Error('injected crash'); }, 300);
  }
  return write(chunk, ...rest);
};
`,
    );
    start('crash', 100, 30, `-d 0.5`, true, `NODE_OPTIONS=--require=${sq(boom)}`);
    const s = await waitFor('crash', 'ebtop to exit', (x) => exitCode(x) !== null && /icanon/.test(x));
    expect(exitCode(s)).toBe(1);
    const before = lines(s.slice(0, s.indexOf('EBTOP_EXIT='))).filter((l) => l.trim());
    expect(before).toEqual(['ebtop: internal error: injected crash (see the log)']);
    expectRestored('crash', s);
    const log = fs.readFileSync(path.join(tmpDir(), 'crash.log'), 'utf8');
    expect(log).toContain('tui started');
    expect(log).toContain('injected crash');
  });

  it('refuses a terminal smaller than 80x24 with one line and exit code 2', async () => {
    start('small', 60, 10, '-d 0.5', false);
    const s = await waitFor('small', 'ebtop to exit', (x) => exitCode(x) !== null);
    expect(exitCode(s)).toBe(2);
    const before = lines(s.slice(0, s.indexOf('EBTOP_EXIT='))).filter((l) => l.trim());
    // the error may wrap at 60 columns: join the pane's lines back together
    expect(before.join('')).toBe('ebtop: terminal too small (60x10); need at least 80x24');
  });
});
