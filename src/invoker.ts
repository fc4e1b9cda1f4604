// Who ebtop acts for, and files opened with that user's rights. Under sudo
// ebtop runs as root for a user who names files (--log, --svg) and owns the
// directories of others (~/.config): root must not create, write or follow
// a path that user controls. Such files are opened with the user's
// effective uid and gids for the open(2) alone, so a planted symlink reaches
// only what the user could reach anyway; the descriptor then stays with root.
import fs from 'node:fs';
import os from 'node:os';

export interface Invoker {
  name?: string;
  home: string;
  uid?: number;
  gid?: number;
}

/** The user behind sudo (from /etc/passwd), else this process's user. */
export function invoker(env: NodeJS.ProcessEnv = process.env, passwd: string | null = readPasswd()): Invoker {
  const sudoUser = env.SUDO_USER;
  if (sudoUser && sudoUser !== 'root' && passwd) {
    const line = passwd.split('\n').find((l) => l.split(':')[0] === sudoUser);
    if (line) {
      const f = line.split(':');
      return { name: sudoUser, home: f[5], uid: Number(f[2]), gid: Number(f[3]) };
    }
  }
  return { home: env.HOME || os.homedir() };
}

export function readPasswd(): string | null {
  try {
    return fs.readFileSync('/etc/passwd', 'utf8');
  } catch {
    return null;
  }
}

/** The user whose rights file work needs when that is not this process's: root acting for a sudo user. */
export function actingFor(env: NodeJS.ProcessEnv = process.env): Required<Invoker> | null {
  if (process.getuid?.() !== 0 || process.geteuid?.() !== 0) return null;
  const o = invoker(env);
  return o.uid !== undefined && o.uid > 0 && Number.isInteger(o.uid) && Number.isInteger(o.gid) ? (o as Required<Invoker>) : null;
}

/**
 * fn() as the invoking user under sudo (effective uid, gid and groups
 * switched around the call, restored after), else as this process. Node
 * switches every thread's ids (glibc's setxid broadcast), and fn must be
 * synchronous: nothing else runs under the user's ids meanwhile.
 */
export function asInvoker<T>(fn: () => T, env: NodeJS.ProcessEnv = process.env): T {
  const u = actingFor(env);
  if (!u) return fn();
  const groups = process.getgroups!();
  const egid = process.getegid!();
  process.setgroups!(u.name ? groupsOf(u) : [u.gid]);
  process.setegid!(u.gid);
  process.seteuid!(u.uid);
  try {
    return fn();
  } finally {
    process.seteuid!(0);
    process.setegid!(egid);
    process.setgroups!(groups);
  }
}

/** open(2) as the invoking user under sudo, else as this process (asInvoker). */
export function openAsInvoker(file: string, flags: number, mode = 0o644, env: NodeJS.ProcessEnv = process.env): number {
  return asInvoker(() => fs.openSync(file, flags, mode), env);
}

/** The user's primary and supplementary groups (/etc/group), as the kernel would check them for the user. */
function groupsOf(u: Required<Invoker>): number[] {
  const out = new Set<number>([u.gid]);
  let text = '';
  try {
    text = fs.readFileSync('/etc/group', 'utf8');
  } catch {
    return [...out];
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length >= 4 && f[3].split(',').includes(u.name)) out.add(Number(f[2]));
  }
  return [...out].filter(Number.isInteger);
}

/** Flags for a file ebtop creates or replaces (write, truncate). */
export const WRITE_NEW = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC;
/** Flags for a log appended to. */
export const APPEND = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_APPEND;
