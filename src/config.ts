// The TUI's settings file: $XDG_CONFIG_HOME/ebtop/config.json (default
// ~/.config/ebtop/; under sudo the invoking user's). A corrupt or unreadable
// file gives a warning and the defaults, never a crash; writes are atomic
// (a temporary file renamed over the old one) and owned by that user.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { COLUMNS } from './columns';

export interface Config {
  columns: string[];
  sort: string;
  invert: boolean;
  tree: boolean;
  monochrome: boolean;
  delayMs: number;
}

interface Owner {
  home: string;
  uid?: number;
  gid?: number;
}

/** Whose settings these are: the user behind sudo, else this process's user. */
function owner(env: NodeJS.ProcessEnv, passwd: string | null): Owner {
  const sudoUser = env.SUDO_USER;
  if (sudoUser && sudoUser !== 'root' && passwd) {
    const line = passwd.split('\n').find((l) => l.split(':')[0] === sudoUser);
    if (line) {
      const f = line.split(':');
      return { home: f[5], uid: Number(f[2]), gid: Number(f[3]) };
    }
  }
  return { home: env.HOME || os.homedir() };
}

function readPasswd(): string | null {
  try {
    return fs.readFileSync('/etc/passwd', 'utf8');
  } catch {
    return null;
  }
}

export function configPath(env: NodeJS.ProcessEnv = process.env, passwd: string | null = readPasswd()): string {
  const o = owner(env, passwd);
  // XDG_CONFIG_HOME is the invoking user's only when sudo kept it (sudo -E)
  const base = env.XDG_CONFIG_HOME && (!env.SUDO_USER || env.SUDO_USER === 'root' || env.XDG_CONFIG_HOME.startsWith(o.home)) ? env.XDG_CONFIG_HOME : path.join(o.home, '.config');
  return path.join(base, 'ebtop', 'config.json');
}

/**
 * The settings over `defaults`; a value of the wrong type, an unknown
 * column, or an unreadable/corrupt file: the default, and a one-line warning.
 */
export function loadConfig(file: string, defaults: Config): { config: Config; warning: string | null } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { config: defaults, warning: null };
    return { config: defaults, warning: `cannot read ${file}: ${(e as Error).message}; using defaults` };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { config: defaults, warning: `${file} is not valid JSON; using defaults` };
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { config: defaults, warning: `${file} is not a settings object; using defaults` };
  const r = raw as Record<string, unknown>;
  const c: Config = { ...defaults };
  const bad: string[] = [];
  const known = new Set(COLUMNS.map((x) => x.id));
  if (r.columns !== undefined) {
    if (Array.isArray(r.columns) && r.columns.every((x) => typeof x === 'string' && known.has(x)) && r.columns.length > 0) c.columns = r.columns as string[];
    else bad.push('columns');
  }
  if (r.sort !== undefined) {
    if (typeof r.sort === 'string' && known.has(r.sort)) c.sort = r.sort;
    else bad.push('sort');
  }
  for (const k of ['invert', 'tree', 'monochrome'] as const) {
    if (r[k] === undefined) continue;
    if (typeof r[k] === 'boolean') c[k] = r[k] as boolean;
    else bad.push(k);
  }
  if (r.delayMs !== undefined) {
    if (typeof r.delayMs === 'number' && r.delayMs >= 100 && r.delayMs <= 3_600_000) c.delayMs = r.delayMs;
    else bad.push('delayMs');
  }
  return { config: c, warning: bad.length ? `${file}: ignored ${bad.join(', ')}` : null };
}

/** Writes atomically; owned by the invoking user under sudo. */
export function saveConfig(file: string, c: Config, env: NodeJS.ProcessEnv = process.env): void {
  const o = owner(env, readPasswd());
  const dir = path.dirname(file);
  const made = fs.mkdirSync(dir, { recursive: true }); // the first directory it created, if any
  const tmp = path.join(dir, `.config.json.${process.pid}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(c, null, 2) + '\n', { mode: 0o644 });
  if (o.uid !== undefined && process.getuid?.() === 0) {
    fs.chownSync(tmp, o.uid, o.gid ?? o.uid);
    // directories created just now belong to the user too
    if (made) for (let d = dir; d.length >= made.length; d = path.dirname(d)) fs.chownSync(d, o.uid, o.gid ?? o.uid);
  }
  fs.renameSync(tmp, file);
}
