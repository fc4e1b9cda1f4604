// The refresh interval's bounds, in one place for the -d flag, the TUI's d key
// and the settings file: below 100 ms the sampling itself is most of the
// work; above an hour is a typo more likely than a wish.
export const DELAY_MIN_MS = 100;
export const DELAY_MAX_MS = 3_600_000;

/** Seconds as typed (-d, d key) to ms, or null when not a number within the bounds. */
export function delayMs(seconds: string): number | null {
  const s = seconds.trim() === '' ? NaN : Number(seconds);
  const ms = Math.round(s * 1000);
  return Number.isFinite(ms) && ms >= DELAY_MIN_MS && ms <= DELAY_MAX_MS ? ms : null;
}

export const DELAY_RANGE = `${DELAY_MIN_MS / 1000} to ${DELAY_MAX_MS / 1000} seconds`;
