// Signals go only to the process the user chose. A tag or a selection names a
// process by pid and start time; the pid may since have been freed and given to
// another process, so right before kill(2) its start is read again from
// /proc/<pid>/stat and a pid that now belongs to a later process is skipped.
// (A pidfd would close the last microseconds between the check and the kill;
// Node has none built in.)
import { sameStart, suspendedNs, SYSTEM, type Clocks } from './procstart';

export type SignalResult = 'sent' | 'gone' | 'reused' | string;

/**
 * kill(pid, sig) if pid is still the process that started at startNs
 * (CLOCK_MONOTONIC ns, as the model's rows): 'sent', 'gone' (exited),
 * 'reused' (another process has the pid now), or kill's error code.
 */
export function signalIfSame(pid: number, startNs: number, sig: number, clocks: Clocks = SYSTEM): SignalResult {
  const bootNs = clocks.procStartBootNs(pid);
  if (bootNs === null) return 'gone';
  if (!sameStart(bootNs, startNs, suspendedNs(clocks))) return 'reused';
  try {
    process.kill(pid, sig);
    return 'sent';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    return code === 'ESRCH' ? 'gone' : code;
  }
}
