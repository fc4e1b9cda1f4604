// `ebtop replay` driven as a person would, in tmux, on a recording made by a
// real recorder (test/fixtures/recording-v1: a burner ran in the middle, its
// wall-clock span in truth.json): T steps forward, the header names the
// recorded moment, the burner is on top only in the intervals it ran in, g
// jumps to a typed time, t steps back, k sends nothing, q restores the terminal.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Recording } from '../../src/recording/replay';
import { capture, exitCode, expectRestored, keys, killServer, pids, requireRunnable, setTmp, start, waitFor, why } from '../helpers/tmux';

requireRunnable();

const FIXTURE = path.resolve(__dirname, '..', 'fixtures', 'recording-v1');
const truth = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'truth.json'), 'utf8')) as { burner: { pid: number }; burnerStartMs: number; burnerEndMs: number };

/** The shown interval's place in the recording ("n of N"). */
const ordinal = (screen: string) => Number(/, (\d+) of \d+\)/.exec(screen)?.[1] ?? NaN);

/** The moment the header shows (local time, as drawn), ms. */
function shown(screen: string): number {
  const m = /REPLAY (\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})/.exec(screen);
  if (!m) throw new Error(`no REPLAY line:\n${screen}`);
  return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])).getTime();
}

describe.skipIf(why)('replay TUI (tmux, a recorded burner)', () => {
  beforeAll(() => setTmp(fs.mkdtempSync(path.join(os.tmpdir(), 'ebtop-tui-replay-'))));
  afterAll(() => killServer());

  it('steps, jumps and shows the burner on top only while it ran; no signals; q restores the terminal', async () => {
    start('replay', 180, 45, `replay ${FIXTURE}`);
    let screen = await waitFor('replay', 'the first recorded interval', (s) => /REPLAY /.test(s) && pids(s).length > 0);
    expect(screen).toMatch(/paused/);
    expect(screen).toMatch(/^ CPU /m);
    const firstMs = shown(screen);
    // forward through the whole recording, one interval per T: the moment moves on, the top row is read each time
    const seen: { ms: number; top: number }[] = [{ ms: firstMs, top: pids(screen)[0] }];
    const rec = new Recording(FIXTURE);
    expect(ordinal(screen)).toBe(1);
    for (let n = 2; n <= rec.intervals.length; n++) {
      keys('replay', 'T');
      screen = await waitFor('replay', `interval ${n}`, (s) => ordinal(s) === n, 8000);
      seen.push({ ms: shown(screen), top: pids(screen)[0] });
    }
    expect(seen.length).toBe(rec.frames.length - 1);
    expect(seen[seen.length - 1].ms).toBeGreaterThan(firstMs);
    keys('replay', 'T'); // at the end T stays
    await new Promise((r) => setTimeout(r, 300));
    expect(ordinal(capture('replay'))).toBe(rec.intervals.length);
    // the header's time is to the second: an interval [end - 1 s, end] overlaps the burner's run when on top
    const onTop = seen.filter((x) => x.top === truth.burner.pid);
    console.log(`replay: ${seen.length} intervals; burner on top at ${onTop.map((x) => new Date(x.ms).toISOString().slice(11, 19)).join(' ')}; it ran ${new Date(truth.burnerStartMs).toISOString().slice(11, 23)} to ${new Date(truth.burnerEndMs).toISOString().slice(11, 23)}`);
    expect(onTop.length).toBeGreaterThan(0);
    for (const x of onTop) {
      expect(x.ms + 1000).toBeGreaterThan(truth.burnerStartMs);
      expect(x.ms - 2000).toBeLessThan(truth.burnerEndMs);
    }
    // intervals wholly before it started or after it ended: never on top
    for (const x of seen.filter((y) => y.ms + 1000 < truth.burnerStartMs - 1000 || y.ms - 1000 > truth.burnerEndMs + 1000)) expect(x.top).not.toBe(truth.burner.pid);

    // a jump to a typed time: the middle of the burner's run
    const mid = new Date((truth.burnerStartMs + truth.burnerEndMs) / 2);
    keys('replay', 'g');
    await waitFor('replay', 'the jump prompt', (s) => /Go to/.test(s));
    keys('replay', '-l', mid.toISOString());
    keys('replay', 'Enter');
    screen = await waitFor('replay', 'the burner at the jump', (s) => /REPLAY /.test(s) && Math.abs(shown(s) - mid.getTime()) < 1500);
    expect(pids(screen)[0]).toBe(truth.burner.pid);
    // one interval back
    const at = ordinal(screen);
    keys('replay', 't');
    screen = await waitFor('replay', 'one interval back', (s) => ordinal(s) === at - 1);
    // a replay signals nobody
    keys('replay', 'k');
    screen = await waitFor('replay', 'the refusal', (s) => /a replay sends no signals/.test(s));
    keys('replay', 'q');
    screen = await waitFor('replay', 'the exit', (s) => exitCode(s) !== null);
    expect(exitCode(screen)).toBe(0);
    expectRestored('replay', capture('replay'));
  });
});
