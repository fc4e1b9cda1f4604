// The refresh cadence runs on the monotonic clock: with the wall clock stepped
// back an hour (NTP, date -s) ticks still come every delay. Collector and
// model are stand-ins; the timers and clocks are vitest's fakes.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('../../src/collector', () => ({
  Collector: { open: () => ({ avail: new Set(), sample: () => ({}), close: () => {} }) },
}));
vi.mock('../../src/model', () => ({
  Model: class {
    update() {
      return { processes: [] };
    }
    setCumulative() {
      return null;
    }
  },
}));
vi.mock('../../src/procfs', () => ({
  CgroupNames: class {},
  UserNames: class {},
  onlineCpuCount: () => 2,
  pageSize: () => 4096,
  readCmdline: () => null,
}));

import { Session } from '../../src/session';

const log = { isLevelEnabled: () => false, debug: () => {}, info: () => {} } as never;

describe('session cadence', () => {
  beforeEach(() => vi.useFakeTimers({ now: new Date('2026-01-01T12:00:00Z') }));
  afterEach(() => vi.useRealTimers());

  it('keeps ticking every delay when the wall clock steps back an hour', () => {
    const s = new Session({ log, delayMs: 1000, cumulative: false });
    let ticks = 0;
    s.start(() => ticks++, (e) => { throw e; });
    vi.advanceTimersByTime(3000);
    expect(ticks).toBe(3);
    vi.setSystemTime(Date.now() - 3600_000);
    vi.advanceTimersByTime(3000);
    expect(ticks).toBe(6);
    s.stop();
  });

  it('does not burst when the wall clock steps forward an hour', () => {
    const s = new Session({ log, delayMs: 1000, cumulative: false });
    let ticks = 0;
    s.start(() => ticks++, (e) => { throw e; });
    vi.advanceTimersByTime(1000);
    vi.setSystemTime(Date.now() + 3600_000);
    vi.advanceTimersByTime(2000);
    expect(ticks).toBe(3);
    s.stop();
  });
});
