// pino to a file: the terminal belongs to the TUI.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';

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

export function createLogger(file: string, level = process.env.EBTOP_LOG_LEVEL ?? 'info'): Logger {
  const dest = pino.destination({ dest: file, sync: true, mkdir: true });
  return pino({ level, base: { pid: process.pid } }, dest);
}

/** Start-up milestones at level debug: wall ms since the process started and its CPU ms so far. */
export function mark(log: Logger, what: string): void {
  if (!log.isLevelEnabled('debug')) return;
  const u = process.cpuUsage();
  log.debug({ wallMs: Math.round(process.uptime() * 1000), cpuMs: Math.round((u.user + u.system) / 1000) }, `start-up: ${what}`);
}
