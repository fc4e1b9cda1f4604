// `nobody` plays the user behind sudo in tests of what root does for that
// user (files it opens, reads and writes): its ids, and why such a test
// cannot run here (it needs root to act as another uid).
import fs from 'node:fs';

const entry = fs
  .readFileSync('/etc/passwd', 'utf8')
  .split('\n')
  .map((l) => l.split(':'))
  .find((f) => f[0] === 'nobody' && Number(f[2]) > 0);
export const UID = Number(entry?.[2]);
export const GID = Number(entry?.[3]);
/** The environment sudo leaves for root when nobody ran it. */
export const ENV = { SUDO_USER: 'nobody' };

/** Why tests of `what` cannot run here, or null; under EBTOP_REQUIRE_BPF=1 (CI) that is an error. */
export function nobodySkipReason(what: string): string | null {
  let why: string | null = null;
  if (process.getuid?.() !== 0) why = 'not root (acting as another uid needs root)';
  else if (!entry) why = 'no unprivileged user "nobody" in /etc/passwd';
  if (why && process.env.EBTOP_REQUIRE_BPF === '1') throw new Error(`EBTOP_REQUIRE_BPF=1 but the ${what} tests cannot run: ${why}`);
  if (why) console.warn(`skipping ${what} tests: ${why}`);
  return why;
}
