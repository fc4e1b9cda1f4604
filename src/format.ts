// Fixed-width number formatting shared by the text views.

/** ns as a short duration: 950ns, 12.3us, 4.56ms, 1.23s, 2m03s, 1h02m. */
export function fmtDuration(ns: number): string {
  // thresholds just below each unit, so rounding never prints 1000.0ms
  if (ns < 999.5) return `${Math.round(ns)}ns`;
  if (ns < 999.95e3) return `${(ns / 1e3).toFixed(ns < 9.995e3 ? 2 : 1)}us`;
  if (ns < 999.95e6) return `${(ns / 1e6).toFixed(ns < 9.995e6 ? 2 : 1)}ms`;
  const s = ns / 1e9;
  if (s < 60) return `${s.toFixed(2)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  if (s < 100 * 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, '0')}h`;
}

/** Counts in at most 5 characters: 9999, 12.3k, 123k, 4.56M, 45.6M, 456M, 1.23G, ... */
export function fmtCount(n: number): string {
  if (n < 9999.5) return String(Math.round(n));
  const units = ['k', 'M', 'G', 'T', 'P', 'E'];
  let v = n / 1e3;
  let u = 0;
  while (v >= 999.5 && u < units.length - 1) {
    v /= 1e3;
    u++;
  }
  return `${v.toFixed(v < 9.995 ? 2 : v < 99.95 ? 1 : 0)}${units[u]}`;
}

/** Percentages: 99.4, 200; huge ones (totals over a long span) as counts. */
export function fmtPct(p: number): string {
  if (p >= 99999.5) return fmtCount(p);
  return p >= 100 ? p.toFixed(0) : p.toFixed(1);
}

export function fit(s: string, width: number, align: 'left' | 'right'): string {
  if (s.length > width) return align === 'left' ? s.slice(0, width) : s.slice(s.length - width);
  return align === 'left' ? s.padEnd(width) : s.padStart(width);
}

/**
 * What must never reach a terminal from text another process or the system
 * controls (names, command lines, paths, symbols): C0 (ESC, BEL, CR, ...),
 * DEL, C1 (U+0080-U+009F: CSI, OSC, DCS; a terminal may act on them raw or
 * UTF-8 encoded, and latin1-decoded /proc and BPF bytes 0x80-0x9f are these
 * code points), the bidi marks, embeddings, overrides and isolates (they
 * reorder what is shown), and the line and paragraph separators.
 */
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;
const UNSAFE_G = new RegExp(UNSAFE.source, 'g');
/** the same but the newline: a screen's line separator */
const UNSAFE_LINES_G = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

/**
 * Unsafe characters (UNSAFE above) as spaces, one for one so column widths
 * hold: a command line may contain newlines, or escape sequences that would
 * otherwise reach the terminal.
 */
export function printable(s: string): string {
  return UNSAFE.test(s) ? s.replace(UNSAFE_G, ' ') : s;
}

/**
 * printable() for a block of lines: newlines kept (they separate the lines),
 * everything else unsafe as a space. Where text leaves for a terminal.
 */
export function printableLines(s: string): string {
  return UNSAFE.test(s) ? s.replace(UNSAFE_LINES_G, ' ') : s;
}

/**
 * JSON text with the unsafe characters JSON.stringify leaves raw (DEL, C1,
 * bidi controls, U+2028/9) as \uXXXX escapes: the same JSON value, but
 * nothing a terminal acts on when the stream is shown. Only strings can hold
 * them in JSON text, and an escape there means the same character.
 */
export function jsonSafe(json: string): string {
  return UNSAFE.test(json) ? json.replace(UNSAFE_G, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : json;
}

/** Bytes (or bytes per second) in 1024 steps, at most 6 characters: 0, 512B, 12.3K, 4.56M, 1.23G. */
export function fmtBytes(n: number): string {
  if (n < 0.5) return '0';
  if (n < 1000) return `${Math.round(n)}B`;
  const units = ['K', 'M', 'G', 'T', 'P'];
  let v = n / 1024;
  let u = 0;
  while (v >= 999.5 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 9.995 ? 2 : v < 99.95 ? 1 : 0)}${units[u]}`;
}
