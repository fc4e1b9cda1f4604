// A process's start from /proc matched to ebtop's identity for it. The model
// names a process by pid and CLOCK_MONOTONIC start (BPF's task start_time);
// /proc/<pid>/stat gives CLOCK_BOOTTIME, which also counts time suspended.
// Used by the signal check (is this pid still that process?) and the
// drill-down's wall-clock start.
import { bootToMonotonicNs } from './procfs';
import { readProcText } from './procread';

/** /proc/<pid>/stat counts start in 1/100 s (CLK_TCK, as procfs.ts). */
const TICK_NS = 1e7;
/**
 * Slack of the comparison: a tick, /proc/uptime's 10 ms, and the 50 ms below
 * which bootToMonotonicNs calls the boot/monotonic offset 0. A reused pid is a
 * process started after the tagged one was seen and exited, and a pid space
 * wrapped in 100 ms is not a thing to expect.
 */
const SLACK_NS = 100e6;

/** The clocks and /proc reads these need, injectable for tests. */
export interface Clocks {
  /** /proc/uptime's text (CLOCK_BOOTTIME) */
  uptime(): string | null;
  /** CLOCK_MONOTONIC, ns */
  monoNs(): number;
  /** wall clock, ms since the epoch */
  wallMs(): number;
  /** a live process's start, CLOCK_BOOTTIME ns; null when it is gone */
  procStartBootNs(pid: number): number | null;
}

/** /proc/<pid>/stat field 22: CLOCK_BOOTTIME ticks, as ns; null when the process is gone. */
export function procStartBootNs(pid: number): number | null {
  const stat = readProcText(`/proc/${pid}/stat`);
  if (!stat) return null;
  const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  return Number.isFinite(ticks) ? ticks * TICK_NS : null;
}

export const SYSTEM: Clocks = {
  uptime: () => readProcText('/proc/uptime'),
  monoNs: () => Number(process.hrtime.bigint()),
  wallMs: () => Date.now(),
  procStartBootNs,
};

/** Time spent suspended since boot, ns (CLOCK_BOOTTIME - CLOCK_MONOTONIC; 0 below 50 ms). */
export const suspendedNs = (c: Clocks, monoNs = c.monoNs()): number => bootToMonotonicNs(c.uptime() ?? '0', monoNs);

/**
 * Is a process that started at `bootNs` (CLOCK_BOOTTIME) the one recorded as
 * starting at `startNs` (CLOCK_MONOTONIC, ebtop's identity)? Boot time is
 * monotonic time plus the time suspended before the start, which is at most
 * the time suspended until now (`suspended`).
 */
export function sameStart(bootNs: number, startNs: number, suspended: number): boolean {
  return bootNs >= startNs - SLACK_NS && bootNs <= startNs + suspended + SLACK_NS;
}

/**
 * When the process (pid, monotonic startNs) started, wall-clock ms. Live: from
 * its CLOCK_BOOTTIME start, so time suspended since is counted (`exact`).
 * Gone, on a machine that was suspended: its boot-time start is unknown and
 * the figure leaves out any suspend after the start (not `exact`).
 */
export function startedWallMs(pid: number, startNs: number, c: Clocks = SYSTEM): { ms: number; exact: boolean } {
  const mono = c.monoNs();
  const wall = c.wallMs();
  const suspended = suspendedNs(c, mono);
  const boot = c.procStartBootNs(pid);
  if (boot !== null && sameStart(boot, startNs, suspended)) return { ms: wall - (mono + suspended - boot) / 1e6, exact: true };
  return { ms: wall - (mono - startNs) / 1e6, exact: suspended === 0 };
}

/** Wall-clock ms as local time with its UTC offset: 2026-12-03 14:05:09 +01:00. */
export function localTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${sign}${p(Math.floor(Math.abs(off) / 60))}:${p(Math.abs(off) % 60)}`;
}

/** The drill-down's "started": local time with offset, `~` before it when not exact (see startedWallMs). */
export function startedText(pid: number, startNs: number, c: Clocks = SYSTEM): string {
  const s = startedWallMs(pid, startNs, c);
  return `${s.exact ? '' : '~'}${localTime(s.ms)}`;
}
