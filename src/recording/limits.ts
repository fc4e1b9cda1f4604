// `ebtop record`'s defaults and the parsers of its durations and sizes: apart
// from the recorder, so the command line reads them without loading it.

export const RECORD_DEFAULTS = { dir: '/var/lib/ebtop', retain: '1d', maxSize: '1G', segmentFrames: 120, shardMs: 3600_000 };

/** "90s", "10m", "24h", "7d" (a bare number: seconds) -> ms, or null. */
export function durationMs(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)?$/.exec(text.trim());
  if (!m) return null;
  const ms = Number(m[1]) * { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  return ms > 0 && Number.isFinite(ms) ? ms : null;
}

/** "500M", "2G", "100k", "4096" (bytes) -> bytes, or null. */
export function sizeBytes(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)i?[bB]?$/.exec(text.trim());
  if (!m) return null;
  const n = Number(m[1]) * 1024 ** ' kmgt'.indexOf((m[2] || ' ').toLowerCase());
  return n >= 1 && Number.isFinite(n) ? Math.floor(n) : null;
}

