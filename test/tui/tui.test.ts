// The real binary in a real terminal: tmux runs `bin/ebtop`, the test sends
// keys and reads the screen back with capture-pane. Needs root (BPF) and tmux.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..', '..');
const EBTOP = path.join(ROOT, 'bin', 'ebtop');
/** A private tmux server: the test never sees or touches anyone else's sessions. */
const SOCKET = `ebtop-tui-test-${process.pid}`;

function skipReason(): string | null {
  let why: string | null = null;
  if (process.getuid?.() !== 0) why = 'not root (the TUI loads BPF programs)';
  else {
    try {
      execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    } catch {
      why = 'tmux is not installed';
    }
  }
  if (why) console.warn(`skipping TUI tests: ${why}`);
  return why;
}

const why = skipReason();
if (why && process.env.EBTOP_REQUIRE_BPF === '1') {
  it('can run the TUI tests (EBTOP_REQUIRE_BPF=1)', () => {
    throw new Error(`EBTOP_REQUIRE_BPF=1 but the TUI tests cannot run: ${why}`);
  });
}

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', SOCKET, '-f', '/dev/null', ...args], { encoding: 'utf8' });
}

let tmp = '';

/** Starts `ebtop ARGS` in a detached session; afterwards the pane shows its exit code and the tty modes. */
function start(name: string, width: number, height: number, args: string, stty = true, env = ''): void {
  const log = path.join(tmp, `${name}.log`);
  const cmd = `cd ${sq(ROOT)} && ${env} ${sq(EBTOP)} ${args} --log ${sq(log)}; echo EBTOP_EXIT=$?;${stty ? ' stty -a;' : ''} sleep 30`;
  tmux('new-session', '-d', '-s', name, '-x', String(width), '-y', String(height), cmd);
}

function capture(name: string, escapes = false): string {
  return tmux('capture-pane', '-p', ...(escapes ? ['-e'] : []), '-t', name);
}

async function waitFor(name: string, what: string, ok: (screen: string) => boolean, timeoutMs = 8000, escapes = false): Promise<string> {
  const until = Date.now() + timeoutMs;
  let screen = '';
  for (;;) {
    screen = capture(name, escapes);
    if (ok(screen)) return screen;
    if (Date.now() > until) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const log = path.join(tmp, `${name}.log`);
  const tail = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').slice(-10).join('\n') : '(no log)';
  throw new Error(`timed out waiting for ${what}; screen:\n${screen}\nlog tail:\n${tail}`);
}

function keys(name: string, ...k: string[]): void {
  tmux('send-keys', '-t', name, ...k);
}

const lines = (screen: string) => screen.split('\n');
/** The column-title row: PID first, CMD last. */
const titleRow = (screen: string) => lines(screen).find((l) => /^\s*\S?PID\S? USER\s+\S?S\S? .*CMD/.test(l));
/** PIDs of the process rows between the title row and the footer. */
function pids(screen: string): number[] {
  const ls = lines(screen);
  const at = ls.findIndex((l) => /^\s*\S?PID\S? USER/.test(l));
  const out: number[] = [];
  for (const l of ls.slice(at + 1)) {
    const m = /^\s*(\d+) /.exec(l);
    if (m) out.push(Number(m[1]));
  }
  return out;
}
const strip = (screen: string) => screen.replace(/\x1b\[[0-9;]*m/g, '');
/** 0-based table row drawn with the selection's cyan background, or -1 (needs capture-pane -e). */
function selectedRow(screen: string): number {
  const title = lines(strip(screen)).findIndex((l) => /^\s*\S?PID\S? USER/.test(l));
  const at = lines(screen).findIndex((l) => /^(\x1b\[[0-9;]*m)*\x1b\[([0-9;]*;)?46m(\x1b\[[0-9;]*m)*\s*\d+ /.test(l));
  return title < 0 || at < 0 ? -1 : at - title - 1;
}
const sortedBy = (col: string, dir: 'asc' | 'desc') => (s: string) => s.includes(`sort ${col} ${dir}`);
const CPU_METER = /\s\d+\[\|*\s*(\d+(\.\d)?%|n\/a)\]/;

function exitCode(screen: string): number | null {
  const m = /EBTOP_EXIT=(\d+)/.exec(screen);
  return m ? Number(m[1]) : null;
}

/** The tty is back to a line-editing terminal: canonical mode and echo on, normal screen, cursor visible. */
function expectRestored(name: string, screen: string): void {
  const stty = screen.slice(screen.indexOf('EBTOP_EXIT='));
  expect(stty).toMatch(/(^|\s)icanon(\s|$)/m);
  expect(stty).toMatch(/(^|\s)echo(\s|$)/m);
  expect(stty).not.toMatch(/-icanon|-echo\s/);
  expect(tmux('display-message', '-p', '-t', name, '#{alternate_on} #{cursor_flag}').trim()).toBe('0 1');
}

describe.skipIf(why)('TUI in tmux', () => {
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ebtop-tui-'));
  });
  afterAll(() => {
    try {
      tmux('kill-server');
    } catch {
      /* no server left */
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('draws meters, header and processes; sorts, selects, and restores the terminal on q', async () => {
    start('main', 200, 50, '-d 0.5');
    let s = await waitFor('main', 'the first interval', (x) => Boolean(titleRow(x)) && CPU_METER.test(x) && /bin\/ebtop -d 0\.5/.test(x));
    expect(s).toMatch(/Tasks: \d+, \d+ thr; \d+ running/);
    expect(s).toMatch(/Exited: \d+/);
    expect(s).toMatch(/Overhead: ebtop \d+(\.\d+)?% \+ bpf \d+(\.\d+)?% cpu/);
    expect(s).toMatch(/BPF: \S+ runs, \d+ lost/);
    // every column, in order, under its title; sorted by CPU% (the default), biggest first
    expect(titleRow(s)).toMatch(/PID USER\s+S\s+\S?CPU%\s+ONCPU\s+RUNQ\s+OFFCPU\s+NET-TX\s+NET-RX\s+RETX%\s+CSW v\/iv\s+MIGR\s+THR CMD/);
    expect(titleRow(s)).toMatch(/[▼v]CPU%/);
    expect(s).toContain('sort CPU% desc');
    // ebtop's own row: PID USER S CPU% ONCPU RUNQ OFFCPU NET-TX NET-RX RETX% CSW MIGR THR CMD
    expect(s).toMatch(/^\s*\d+ \S+\s+[RSDI]\s+\d+(\.\d)?\s+\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+\d+\S*\/\d+\S*\s+\d+\s+\d+ node \S*bin\/ebtop -d 0\.5/m);

    // '<' three times: CPU% -> S -> USER -> PID, ascending
    keys('main', '<', '<', '<');
    s = await waitFor('main', 'sort by PID', sortedBy('PID', 'asc'));
    expect(titleRow(s)).toMatch(/[▲^]PID/);
    let p = pids(s);
    expect(p.length).toBeGreaterThan(20);
    expect(p).toEqual([...p].sort((a, b) => a - b));

    // 'K' hides kernel threads (their command is [name]), as in htop; again shows them
    const kernelRow = /^\s*\d+ .* \[[^\]]+\]\s*$/m;
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
    s = await waitFor('main', 'inverted PID sort', sortedBy('PID', 'desc'));
    expect(titleRow(s)).toMatch(/[▼v]PID/);
    p = pids(s);
    expect(p).toEqual([...p].sort((a, b) => b - a));

    // '>' moves right; 'T' and 'P' jump to ONCPU and CPU%
    keys('main', '>');
    await waitFor('main', 'sort by USER', sortedBy('USER', 'asc'));
    keys('main', 'T');
    s = await waitFor('main', 'sort by ONCPU', sortedBy('ONCPU', 'desc'));
    expect(titleRow(s)).toMatch(/[▼v]ONCPU/);
    keys('main', 'P');
    await waitFor('main', 'sort by CPU%', sortedBy('CPU%', 'desc'));

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
    const boom = path.join(tmp, 'boom.js');
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
    const log = fs.readFileSync(path.join(tmp, 'crash.log'), 'utf8');
    expect(log).toContain('tui started');
    expect(log).toContain('injected crash');
  });

  it('refuses a terminal smaller than 80x15 with one line and exit code 2', async () => {
    start('small', 60, 10, '-d 0.5', false);
    const s = await waitFor('small', 'ebtop to exit', (x) => exitCode(x) !== null);
    expect(exitCode(s)).toBe(2);
    const before = lines(s.slice(0, s.indexOf('EBTOP_EXIT='))).filter((l) => l.trim());
    // the error may wrap at 60 columns: join the pane's lines back together
    expect(before.join('')).toBe('ebtop: terminal too small (60x10); need at least 80x15');
  });
});
