// pino to a file: the terminal belongs to the TUI. The file is opened so that
// root never writes through a path another user controls: a log the user
// named (--log) is opened with the invoking user's rights (src/invoker.ts);
// the default one without following a symlink, and only if it is ebtop's
// own (a user can plant a file or link in /tmp, or in a group-writable
// /var/log, ahead of root).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { UserError } from './errors';
import { APPEND, openAsInvoker } from './invoker';

export type Logger = pino.Logger;

export function defaultLogPath(): string {
  if (process.geteuid?.() === 0) {
    try {
      fs.accessSync('/var/log', fs.constants.W_OK);
      return '/var/log/ebtop.log';
    } catch {
      /* fall through */
    }
  }
  return path.join(os.tmpdir(), `ebtop-${process.getuid?.() ?? 'user'}.log`);
}

/** The default log's descriptor: never through a symlink, never into a file someone else owns. */
function openDefaultLog(file: string): number {
  let fd: number;
  try {
    fd = fs.openSync(file, APPEND | fs.constants.O_NOFOLLOW, 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(code === 'ELOOP' ? `log ${file} is a symbolic link: not followed; remove it or pass --log FILE` : `cannot open log ${file}: ${(e as Error).message}`);
  }
  const st = fs.fstatSync(fd);
  if (!st.isFile() || st.uid !== process.geteuid?.()) {
    fs.closeSync(fd);
    throw new UserError(`log ${file} is not ebtop's (${st.isFile() ? `owned by uid ${st.uid}` : 'not a regular file'}); remove it or pass --log FILE`);
  }
  return fd;
}

/** named: the user gave the path (--log), else it is defaultLogPath(). */
export function createLogger(file: string, named = false, level = process.env.EBTOP_LOG_LEVEL ?? 'info'): Logger {
  let fd: number;
  if (named) {
    try {
      fd = openAsInvoker(file, APPEND, 0o644);
    } catch (e) {
      throw new UserError(`cannot open log ${file}: ${(e as Error).message}`);
    }
  } else fd = openDefaultLog(file);
  const dest = pino.destination({ fd, sync: true });
  return pino({ level, base: { pid: process.pid } }, dest);
}

/** Start-up milestones at level debug: wall ms since the process started and its CPU ms so far. */
export function mark(log: Logger, what: string): void {
  if (!log.isLevelEnabled('debug')) return;
  const u = process.cpuUsage();
  log.debug({ wallMs: Math.round(process.uptime() * 1000), cpuMs: Math.round((u.user + u.system) / 1000) }, `start-up: ${what}`);
}
