// Signals go only to the process the user chose. A tag or a selection names a
// process by pid and start time; the pid may since have been freed and given to
// another process, so right before kill(2) its start is read again from
// /proc/<pid>/stat and a pid that now belongs to a later process is skipped.
// (A pidfd would close the last microseconds between the check and the kill;
// Node has none built in.)
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

export interface Clocks {
  /** /proc/uptime's text (CLOCK_BOOTTIME) */
  uptime(): string | null;
  /** CLOCK_MONOTONIC, ns */
  monoNs(): number;
}

const SYSTEM: Clocks = { uptime: () => readProcText('/proc/uptime'), monoNs: () => Number(process.hrtime.bigint()) };

/** A live process's start from /proc/<pid>/stat field 22: CLOCK_BOOTTIME ticks, as ns; null when it is gone. */
export function procStartBootNs(pid: number): number | null {
  const stat = readProcText(`/proc/${pid}/stat`);
  if (!stat) return null;
  const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  return Number.isFinite(ticks) ? ticks * TICK_NS : null;
}

/**
 * Is a process that started at `bootNs` (CLOCK_BOOTTIME) the one recorded as
 * starting at `startNs` (CLOCK_MONOTONIC, ebtop's identity)? Boot time is
 * monotonic time plus the time suspended before the start, which is at most
 * the time suspended until now (`suspendedNs`).
 */
export function sameStart(bootNs: number, startNs: number, suspendedNs: number): boolean {
  return bootNs >= startNs - SLACK_NS && bootNs <= startNs + suspendedNs + SLACK_NS;
}

export type SignalResult = 'sent' | 'gone' | 'reused' | string;

/**
 * kill(pid, sig) if pid is still the process that started at startNs
 * (CLOCK_MONOTONIC ns, as the model's rows): 'sent', 'gone' (exited),
 * 'reused' (another process has the pid now), or kill's error code.
 */
export function signalIfSame(pid: number, startNs: number, sig: number, clocks: Clocks = SYSTEM): SignalResult {
  const bootNs = procStartBootNs(pid);
  if (bootNs === null) return 'gone';
  if (!sameStart(bootNs, startNs, bootToMonotonicNs(clocks.uptime() ?? '0', clocks.monoNs()))) return 'reused';
  try {
    process.kill(pid, sig);
    return 'sent';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    return code === 'ESRCH' ? 'gone' : code;
  }
}
