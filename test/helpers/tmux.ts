// Drives the real binary in a real terminal: tmux runs `bin/ebtop` in a
// private server, the tests send keys and read the screen with capture-pane.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { column, fitColumns } from '../../src/columns';

export const ROOT = path.resolve(__dirname, '..', '..');
export const EBTOP = path.join(ROOT, 'bin', 'ebtop');
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

export const why = skipReason();
/** Call at a test file's top level: fails there when the TUI tests must run (CI) but cannot. */
export function requireRunnable(): void {
  if (why && process.env.EBTOP_REQUIRE_BPF === '1') it('can run the TUI tests (EBTOP_REQUIRE_BPF=1)', () => {
    throw new Error(`EBTOP_REQUIRE_BPF=1 but the TUI tests cannot run: ${why}`);
  });
}

export const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', SOCKET, '-f', '/dev/null', ...args], { encoding: 'utf8' });
}

let tmp = '';
/** The scratch directory of this file's sessions (logs, settings). */
export function setTmp(dir: string): void {
  tmp = dir;
}
export const tmpDir = () => tmp;
/** Stops every session of this file's private server. */
export function killServer(): void {
  try {
    tmux('kill-server');
  } catch {
    /* no server left */
  }
}

/** Starts `ebtop ARGS` in a detached session; afterwards the pane shows its exit code and the tty modes. */
export function start(name: string, width: number, height: number, args: string, stty = true, env = '', config = name): void {
  const log = path.join(tmp, `${name}.log`);
  // a private settings directory: the tests neither read nor write the user's
  const cmd = `cd ${sq(ROOT)} && XDG_CONFIG_HOME=${sq(path.join(tmp, 'config', config))} ${env} ${sq(EBTOP)} ${args} --log ${sq(log)}; echo EBTOP_EXIT=$?;${stty ? ' stty -a;' : ''} sleep 30`;
  tmux('new-session', '-d', '-s', name, '-x', String(width), '-y', String(height), cmd);
}

export function capture(name: string, escapes = false): string {
  return tmux('capture-pane', '-p', ...(escapes ? ['-e'] : []), '-t', name);
}

export async function waitFor(name: string, what: string, ok: (screen: string) => boolean, timeoutMs = 8000, escapes = false): Promise<string> {
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

export function keys(name: string, ...k: string[]): void {
  tmux('send-keys', '-t', name, ...k);
}

export const lines = (screen: string) => screen.split('\n');
/** The column-title row: PID first, CMD last. */
export const titleRow = (screen: string) => lines(screen).find((l) => /^\s*\S?PID\S? USER .*CMD/.test(l));
/** PIDs of the process rows between the title row and the footer. */
export function pids(screen: string): number[] {
  const ls = lines(screen);
  const at = ls.findIndex((l) => /^\s*\S?PID\S? USER/.test(l));
  const out: number[] = [];
  for (const l of ls.slice(at + 1)) {
    const m = /^\s*(\d+) /.exec(l);
    if (m) out.push(Number(m[1]));
  }
  return out;
}
export const strip = (screen: string) => screen.replace(/\x1b\[[0-9;]*m/g, '');
/** 0-based table row drawn with the selection's cyan background, or -1 (needs capture-pane -e). */
export function selectedRow(screen: string): number {
  const title = lines(strip(screen)).findIndex((l) => /^\s*\S?PID\S? USER/.test(l));
  const at = lines(screen).findIndex((l) => /^(\x1b\[[0-9;]*m)*\x1b\[([0-9;]*;)?46m(\x1b\[[0-9;]*m)*\s*\d+ /.test(l));
  return title < 0 || at < 0 ? -1 : at - title - 1;
}
/** the footer's sort state: 'inv' when inverted from the column's natural direction */
export const sortedBy = (col: string, inverted = false) => (s: string) => new RegExp(`sort ${col}${inverted ? ' inv' : ''}(,|\\s|$)`, 'm').test(s);
export const CPU_METER = /\s\d+\[\|*\s*(\d+(\.\d)?%|n\/a)\]/;

export function exitCode(screen: string): number | null {
  const m = /EBTOP_EXIT=(\d+)/.exec(screen);
  return m ? Number(m[1]) : null;
}

/** The tty is back to a line-editing terminal: canonical mode and echo on, normal screen, cursor visible. */
export function expectRestored(name: string, screen: string): void {
  const stty = screen.slice(screen.indexOf('EBTOP_EXIT='));
  expect(stty).toMatch(/(^|\s)icanon(\s|$)/m);
  expect(stty).toMatch(/(^|\s)echo(\s|$)/m);
  expect(stty).not.toMatch(/-icanon|-echo\s/);
  // normal screen, cursor visible, no mouse reporting left on
  expect(tmux('display-message', '-p', '-t', name, '#{alternate_on} #{cursor_flag} #{mouse_any_flag} #{mouse_standard_flag}').trim()).toBe('0 1 0 0');
}


/** A left click at 0-based cell (x, y), as an xterm (X10 encoding) reports it: press, then release. */
export async function click(name: string, x: number, y: number): Promise<void> {
  const at = String.fromCharCode(32 + x + 1, 32 + y + 1);
  tmux('send-keys', '-t', name, '-l', `\x1b[M ${at}`);
  await new Promise((r) => setTimeout(r, 80));
  tmux('send-keys', '-t', name, '-l', `\x1b[M#${at}`);
}

/** "1.23s", "45.6ms", "2m03s" back to ns (the table's duration format). */
export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ns|us|ms|s)$/.exec(s);
  if (m) return Number(m[1]) * { ns: 1, us: 1e3, ms: 1e6, s: 1e9 }[m[2] as 'ns']!;
  const mm = /^(\d+)m(\d\d)s$/.exec(s);
  if (mm) return (Number(mm[1]) * 60 + Number(mm[2])) * 1e9;
  throw new Error(`not a duration: ${s}`);
}

/**
 * The table row of `pid`, cut into cells by the columns' declared widths (as
 * the TUI lays them out for `width`), keyed by column id.
 */
export function rowOf(screen: string, pid: number, ids: string[], width: number): Record<string, string> | null {
  const ls = lines(screen);
  const t = ls.findIndex((l) => /^\s*\S?PID\S? /.test(l));
  if (t < 0) return null;
  const row = ls.slice(t + 1).find((l) => new RegExp(`^\\s*${pid} `).test(l));
  if (!row) return null;
  const out: Record<string, string> = {};
  let pos = 0;
  for (const c of fitColumns(ids.map(column), width)) {
    const w = c.width || width - pos;
    out[c.id] = row.slice(pos, pos + w).trim();
    pos += w + 1;
  }
  return out;
}
