// The drill-down's "started": wall-clock time from the boot-time start, so a
// suspend after the start is counted, shown as local time with its offset.
// Clocks and /proc are injected.
import { afterEach, describe, expect, it } from 'vitest';
import { localTime, startedText, type Clocks } from '../../src/procstart';

const S = 1e9;
const NOON = Date.parse('2026-01-01T12:00:00Z');
const tz = process.env.TZ;
afterEach(() => {
  process.env.TZ = tz;
});

/** A machine `suspended` s suspended so far, now at `mono` s monotonic, with the given processes' boot-time starts. */
function clocks(mono: number, suspended: number, starts: Record<number, number>): Clocks {
  return {
    uptime: () => `${(mono + suspended).toFixed(2)} 0.00`,
    monoNs: () => mono * S,
    wallMs: () => NOON,
    procStartBootNs: (pid) => (pid in starts ? starts[pid] * S : null),
  };
}

describe('started', () => {
  it('counts a suspend after the start (the monotonic clock stops in suspend)', () => {
    process.env.TZ = 'Asia/Kolkata'; // +05:30, no daylight saving
    // started at 1000 s, 10 min of running since, then 1 h suspended: 70 min ago
    expect(startedText(42, 1000 * S, clocks(1600, 3600, { 42: 1000 }))).toBe('2026-01-01 16:20:00 +05:30');
  });

  it('without suspend: now minus the time since the start, live or gone', () => {
    process.env.TZ = 'Asia/Kolkata';
    expect(startedText(42, 1000 * S, clocks(1090, 0, { 42: 1000 }))).toBe('2026-01-01 17:28:30 +05:30');
    expect(startedText(42, 1000 * S, clocks(1090, 0, {}))).toBe('2026-01-01 17:28:30 +05:30');
  });

  it('a pid now held by a later process is not read as the start; after a suspend the figure is marked ~', () => {
    process.env.TZ = 'UTC';
    // pid 42 now belongs to a process started at 1500 s: ignored, the monotonic start used
    expect(startedText(42, 1000 * S, clocks(1600, 3600, { 42: 5100 }))).toBe('~2026-01-01 11:50:00 +00:00');
  });

  it('prints the local offset, negative and fractional ones included', () => {
    process.env.TZ = 'America/St_Johns'; // -03:30 in January
    expect(localTime(NOON)).toBe('2026-01-01 08:30:00 -03:30');
    process.env.TZ = 'UTC';
    expect(localTime(NOON)).toBe('2026-01-01 12:00:00 +00:00');
  });
});
