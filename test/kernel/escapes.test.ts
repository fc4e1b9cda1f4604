// Names as terminal attacks: a process whose comm (PR_SET_NAME) and command
// line hold escape sequences (OSC 0 title, OSC 52 clipboard, SGR, CSI 2J), BEL,
// DEL, raw and UTF-8 encoded C1 bytes and a blessed tag (test/workloads/
// evilname.c). No output of the real binary may carry one of them raw: batch,
// `ebtop offcpu` (report, --folded), the SVG (well-formed XML), JSON (escaped
// only: the values are the exact bytes) and the TUI's drill-down of that pid
// (its raw byte stream, read through tmux pipe-pane).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import sax from 'sax';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EBTOP, kernelSkipReason, ROOT, WORKLOAD } from '../helpers/kernel';
import { capture, killServer, keys, setTmp, sq, tmpDir, tmux, waitFor, why as noTmux } from '../helpers/tmux';

const skip = kernelSkipReason();

/** The names as the kernel keeps them, decoded as ebtop decodes /proc and BPF (latin1: one character a byte). */
const COMM = '\x1b]0;PWN\x07\x1b[8m\x9b\xc2\x9d';
const ARGV = 'evil\x1b]52;c;UFdO\x07\x90q\x9c\x9b6n\xc2\x9b0m\n\x7f{red-fg}tag{/red-fg}\x1b[2J';
/** What a text output shows of them: each unsafe character a space (Â: the latin1 reading of 0xc2). */
const COMM_SHOWN = ' ]0;PWN  [8m Â ';
const ARGV_SHOWN = 'evil ]52;c;UFdO  q  6nÂ 0m  {red-fg}tag{/red-fg} [2J';

/** C0 (but the newline), DEL, C1, bidi controls, line/paragraph separators: none may be in a text output. */
const UNSAFE = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;

/**
 * Output bytes: valid UTF-8 (no raw C1 byte), and no unsafe character once
 * decoded. Soft, like the other checks: every leak is listed, not the first.
 */
function expectClean(out: Buffer, what: string): void {
  const text = out.toString('utf8');
  expect.soft(Buffer.from(text, 'utf8').equals(out), `${what}: not valid UTF-8 (a raw byte from a name?)`).toBe(true);
  const bad = UNSAFE.exec(text);
  expect.soft(bad && `${what}: U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0')} at ${bad.index}: ${JSON.stringify(text.slice(Math.max(0, bad.index - 30), bad.index + 30))}`).toBeNull();
}

/** Runs the binary to its end; stdout as bytes (a string would hide raw bytes as U+FFFD). */
function runRaw(args: string[]): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(EBTOP, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, COLUMNS: '400' } });
    const out: Buffer[] = [];
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => out.push(d));
    c.stderr.on('data', (d) => (stderr += d));
    c.on('error', reject);
    c.on('exit', (code) => resolve({ code, stdout: Buffer.concat(out), stderr }));
  });
}

describe.skipIf(skip)('names with control bytes (kernel)', () => {
  let evil: ChildProcess;
  let pid = 0;
  let tid = 0;

  beforeAll(async () => {
    evil = spawn(WORKLOAD('evilname'), ['120', 'x'.repeat(96)], { stdio: ['pipe', 'pipe', 'inherit'] });
    const first = await new Promise<string>((resolve) => readline.createInterface({ input: evil.stdout! }).once('line', resolve));
    ({ pid, tid } = JSON.parse(first) as { pid: number; tid: number });
    // the workload named itself as intended: the bytes are the kernel's
    expect(fs.readFileSync(`/proc/${pid}/comm`, 'latin1')).toBe(`${COMM}\n`);
    expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1')).toContain(ARGV);
  });
  afterAll(() => {
    evil?.kill('SIGKILL');
  });

  it('--batch --threads: its row and its threads\' rows, printable', async () => {
    const r = await runRaw(['--batch', '--threads', '-p', String(pid), '-d', '0.3', '-n', '2']);
    expect(r.code, r.stderr).toBe(0);
    expectClean(r.stdout, 'batch');
    const text = r.stdout.toString('utf8');
    const row = (id: number) => text.split('\n').find((l) => new RegExp(`^\\s*${id} `).test(l)) ?? '';
    expect.soft(row(pid)).toContain(ARGV_SHOWN);
    // a thread's row: its comm, trailing blanks trimmed
    expect.soft(row(tid)).toContain(COMM_SHOWN.trimEnd());
  });

  it('--json --threads: the names escaped, never raw, and exactly the kernel\'s bytes', async () => {
    const r = await runRaw(['--json', '--threads', '-p', String(pid), '-d', '0.3', '-n', '2']);
    expect(r.code, r.stderr).toBe(0);
    expectClean(r.stdout, 'json');
    const sample = JSON.parse(r.stdout.toString('utf8').trim().split('\n').at(-1)!) as {
      processes: { pid: number; comm: string; cmdline: string; threads_detail: { tid: number; comm: string }[] }[];
    };
    const p = sample.processes.find((x) => x.pid === pid)!;
    expect.soft(p.comm).toBe(COMM);
    expect.soft(p.cmdline).toContain(ARGV);
    expect.soft(p.threads_detail.find((t) => t.tid === tid)?.comm).toBe(COMM);
  });

  it('offcpu: the report, --folded and the SVG, printable; the SVG well-formed XML', async () => {
    const svgFile = path.join(os.tmpdir(), `ebtop-escapes-${process.pid}.svg`);
    try {
      const report = await runRaw(['offcpu', '-p', String(pid), '-d', '1', '--svg', svgFile]);
      expect(report.code, report.stderr).toBe(0);
      expectClean(report.stdout, 'offcpu report');
      expect.soft(report.stdout.toString('utf8')).toContain(`PID ${pid} (${COMM_SHOWN}): blocked`);

      const svg = fs.readFileSync(svgFile);
      expectClean(svg, 'svg');
      const titles: string[] = [];
      let inTitle = false;
      let xmlError: string | null = null;
      const parser = sax.parser(true);
      parser.onerror = (e) => {
        xmlError ??= e.message;
        parser.error = null; // resume: the titles after it are checked too
      };
      parser.onopentag = (t) => void (inTitle = t.name === 'title');
      parser.onclosetag = () => void (inTitle = false);
      parser.ontext = (t) => void (inTitle && titles.push(t));
      parser.write(svg.toString('utf8')).close();
      expect.soft(xmlError, 'the SVG is not well-formed XML').toBeNull();
      // what sax lets by: characters XML 1.0 does not allow at all (its Char production)
      const notChar = /[^\t\n\r\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u.exec(svg.toString('utf8'));
      expect.soft(notChar && `U+${notChar[0].codePointAt(0)!.toString(16).padStart(4, '0')} at ${notChar.index}`, 'a character XML forbids').toBeNull();
      expect.soft(titles.some((t) => t.startsWith(`${COMM_SHOWN} (`)), titles.slice(0, 3).join(' | ')).toBe(true);

      const folded = await runRaw(['offcpu', '-p', String(pid), '-d', '1', '--folded']);
      expect(folded.code, folded.stderr).toBe(0);
      expectClean(folded.stdout, 'folded');
      const lines = folded.stdout.toString('utf8').trimEnd().split('\n');
      expect(lines.length).toBeGreaterThan(0);
      for (const l of lines) {
        const m = /^(\S+) (\d+)$/.exec(l);
        expect.soft(m, `folded line: ${JSON.stringify(l)}`).not.toBeNull();
        if (!m) continue;
        expect.soft(m![1].split(';')[0]).toBe('_]0_PWN_[8m_Â_');
      }
    } finally {
      fs.rmSync(svgFile, { force: true });
    }
  }, 20_000);

  it.skipIf(noTmux)('TUI: the drill-down of that pid writes none of it to the terminal', async () => {
    setTmp(fs.mkdtempSync(path.join(os.tmpdir(), 'ebtop-escapes-')));
    const raw = path.join(tmpDir(), 'pane.raw');
    try {
      // ebtop starts once the pane's output is piped to a file: every byte it writes is read back
      const cmd = `sleep 1; cd ${sq(ROOT)} && XDG_CONFIG_HOME=${sq(path.join(tmpDir(), 'config'))} ${sq(EBTOP)} -p ${pid} -d 0.3 --log ${sq(path.join(tmpDir(), 'ebtop.log'))}; sleep 30`;
      tmux('new-session', '-d', '-s', 'evil', '-x', '200', '-y', '50', cmd);
      tmux('pipe-pane', '-o', '-t', 'evil', `cat >> ${sq(raw)}`);
      await waitFor('evil', 'its row in the table', (s) => new RegExp(`^\\s*${pid} `, 'm').test(s), 15_000);
      keys('evil', 'Enter');
      const screen = await waitFor('evil', 'the drill-down', (s) => /Threads \(3\)/.test(s));
      await new Promise((r) => setTimeout(r, 700)); // a refresh or two of the drill-down
      // what a person sees: the names with spaces for the controls, the tag as text
      expect.soft(screen).toContain(`PID ${pid}  ${COMM_SHOWN}`);
      expect.soft(screen).toContain('{red-fg}tag{/red-fg}');
      // nor drawn with the name's attributes: blessed turns SGR in its content into cell attributes (8: concealed)
      const head = capture('evil', true).split('\n').find((l) => l.includes('PWN')) ?? '';
      expect.soft(head, JSON.stringify(head)).not.toMatch(/\x1b\[([0-9]+;)*8(;[0-9]+)*m/);
      // the terminal's state: its title is still ebtop's (OSC 0 from the name would make it PWN)
      expect.soft(tmux('display-message', '-p', '-t', 'evil', '#{pane_title}').trim()).not.toContain('PWN');
      // the bytes ebtop wrote: its own escape sequences, none of the name's
      const bytes = fs.readFileSync(raw);
      const text = bytes.toString('utf8');
      expect.soft(Buffer.from(text, 'utf8').equals(bytes), 'the TUI wrote a raw (non-UTF-8) byte').toBe(true);
      const c1 = /[\x80-\x9f]/.exec(text);
      expect.soft(c1 && `C1 U+00${c1[0].charCodeAt(0).toString(16)} at ${c1.index}: ${JSON.stringify(text.slice(Math.max(0, c1.index - 30), c1.index + 30))}`).toBeNull();
      for (const seq of ['\x1b]0;PWN', 'PWN\x07', '\x1b]52', '\x07\x90', '\x7f{']) expect.soft(text.includes(seq), JSON.stringify(seq)).toBe(false);
      expect.soft(text).toContain(']0;PWN');
    } finally {
      killServer();
      fs.rmSync(tmpDir(), { recursive: true, force: true });
    }
  }, 40_000);
});
