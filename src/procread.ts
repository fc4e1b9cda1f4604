// Reading small /proc files without garbage. Every /proc file reports size 0,
// and fs.readFileSync sizes such a file with a fresh 64 KiB buffer per read:
// the per-refresh reads of the processes BPF cannot see (PID 1's 13 threads,
// four files each) made ~2 MB of garbage a refresh, most of ebtop's young
// generation churn. One buffer, reused, grown only for a larger file.
import fs from 'node:fs';

let buf = Buffer.allocUnsafe(16 * 1024);

/** The file's text (latin1), or null when it cannot be opened or read. */
export function readProcText(file: string): string | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, n);
        buf = bigger;
      }
      const got = fs.readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    return buf.toString('latin1', 0, n);
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}
