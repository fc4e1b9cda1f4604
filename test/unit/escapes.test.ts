// Text from other processes on its way out, without a kernel: printable()
// and its line and JSON forms, and the text writers that use them (folded
// stacks, the offcpu report, the SVG, menus, header segments). The real
// binary's outputs are test/kernel/escapes.test.ts.
import sax from 'sax';
import { describe, expect, it } from 'vitest';
import { jsonSafe, printable, printableLines } from '../../src/format';
import { folded, topReport, type StackTotal } from '../../src/offcpu';
import { flameSvg } from '../../src/views/flame';
import { escapeTags, segments } from '../../src/views/header';
import { menuLines } from '../../src/views/panels';

/** Every class printable() removes, one of each: C0, DEL, C1, bidi mark/override/isolate, line and paragraph separators. */
const EVIL = 'a\x1b]0;PWN\x07\x00\x7f\x85\x90\x9b\x9f\u061c\u200e\u200f\u202a\u202e\u2066\u2069\u2028\u2029{bold}b';
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;

describe('printable', () => {
  it('turns every unsafe character into one space, leaves the rest', () => {
    const out = printable(EVIL);
    expect(out).toHaveLength(EVIL.length);
    expect(out).not.toMatch(UNSAFE);
    expect(out).toBe(`a ]0;PWN${' '.repeat(16)}{bold}b`);
    expect(printable('plain ünïcode ✓ \u00a0 😀')).toBe('plain ünïcode ✓ \u00a0 😀');
  });

  it('printableLines keeps the newlines between lines, nothing else', () => {
    expect(printableLines(`x\n${EVIL}\ny\r\n`)).toBe(`x\n${printable(EVIL)}\ny \n`);
  });

  it('jsonSafe: the same JSON value, with nothing a terminal acts on left raw', () => {
    const json = JSON.stringify({ comm: EVIL });
    expect(json).toMatch(/[\x7f-\x9f\u2028]/); // what JSON.stringify leaves raw
    const safe = jsonSafe(json);
    expect(safe).not.toMatch(UNSAFE);
    expect(JSON.parse(safe)).toEqual({ comm: EVIL });
    expect(safe).toContain('\\u009b');
  });
});

describe('text writers', () => {
  const stacks: StackTotal[] = [{ pid: 7, comm: EVIL, reason: 'sleep', frames: [`user${EVIL}`, 'do_nanosleep'], userFrames: 1, ns: 5e6, count: 3 }];

  it('folded: names cleaned where the line is written, one line per stack', () => {
    const out = folded(stacks);
    expect(out).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/);
    expect(out.split('\n')).toHaveLength(2);
    expect(out).toMatch(/^a_\]0_PWN_\{bold\}b;\[sleep\];usera_\]0_PWN_\{bold\}b;do_nanosleep 5000000\n$/);
  });

  it('topReport: every line printable', () => {
    const out = topReport(stacks, [7], 1, 1, 5);
    expect(out.replace(/\n/g, '')).not.toMatch(UNSAFE);
    expect(out).toContain(`PID 7 (${printable(EVIL)}): blocked`);
  });

  it('flameSvg: names printable and XML-escaped, the file well-formed', () => {
    const svg = flameSvg([...stacks, { ...stacks[0], comm: '<&"\'>\ud800', frames: ['x'] }], `title ${EVIL}`);
    expect(svg.replace(/\n/g, '')).not.toMatch(UNSAFE);
    expect(svg).not.toMatch(/[\ud800-\udfff]/);
    const texts: string[] = [];
    const parser = sax.parser(true);
    parser.onerror = (e) => {
      throw e;
    };
    parser.ontext = (t) => void texts.push(t);
    parser.write(svg).close();
    expect(texts).toContain(`title ${printable(EVIL)}`);
    expect(texts.some((t) => t.startsWith('<&"\'>\ufffd ('))).toBe(true);
  });

  it('menus and header segments: printable, tags escaped', () => {
    for (const l of [...menuLines(`Users ${EVIL}`, ['root', EVIL], 1, 80, 10), segments([[EVIL], [EVIL, 'bold']], 120)]) {
      expect(l).not.toMatch(UNSAFE);
      expect(l).not.toContain('{bold}b');
      if (l.includes('PWN')) expect(l).toContain(escapeTags('{bold}b'));
    }
  });
});
