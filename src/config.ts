// The TUI's settings file: $XDG_CONFIG_HOME/ebtop/config.json (default
// ~/.config/ebtop/; under sudo the invoking user's). A corrupt or unreadable
// file gives a warning and the defaults, never a crash; writes are atomic
// (a temporary file renamed over the old one). Under sudo the file is read
// and written by a child process running as that user: every path component
// is theirs to plant symlinks in, so root must not follow them.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CGROUP_ONLY, COLUMNS } from './columns';
import { DELAY_MAX_MS, DELAY_MIN_MS } from './delay';
import { actingFor, invoker, readPasswd, type Invoker } from './invoker';

export interface Config {
  columns: string[];
  sort: string;
  invert: boolean;
  tree: boolean;
  monochrome: boolean;
  delayMs: number;
}

// The file work as the user: read `file`, or write `text` to `tmp` and rename
// it over `file`. Input and errors travel as JSON (stdin, stderr).
const AS_USER = `
const fs = require('fs'), path = require('path');
const { op, file, text, tmp } = JSON.parse(fs.readFileSync(0, 'utf8'));
try {
  if (op === 'read') process.stdout.write(fs.readFileSync(file, 'utf8'));
  else { fs.mkdirSync(path.dirname(file), { recursive: true }); fs.writeFileSync(tmp, text, { mode: 0o644 }); fs.renameSync(tmp, file); }
} catch (e) { process.stderr.write(JSON.stringify({ code: e.code, message: e.message })); process.exitCode = 1; }`;

/**
 * Runs AS_USER with the user's uid and primary gid. spawnSync cannot set
 * supplementary groups and libuv drops them all (setgroups(0)) when it
 * switches: the child reaches at most what the user can, at worst less
 * (a directory writable only through a secondary group gives a warning).
 */
function runAs(u: Required<Invoker>, job: { op: 'read' | 'write'; file: string; text?: string; tmp?: string }): string {
  const r = spawnSync(process.execPath, ['-e', AS_USER], { uid: u.uid, gid: u.gid, cwd: '/', env: {}, input: JSON.stringify(job), encoding: 'utf8', timeout: 5000 });
  if (r.error) throw new Error(`cannot act as ${u.name}: ${r.error.message}`);
  if (r.status === 0) return r.stdout;
  let err: { code?: string; message?: string } = {};
  try {
    err = JSON.parse(r.stderr) as typeof err;
  } catch {
    /* killed, or node itself failed: its first line says why */
  }
  throw Object.assign(new Error(err.message ?? (r.stderr.split('\n')[0] || `failed as ${u.name} (${r.signal ?? r.status})`)), { code: err.code });
}

export function configPath(env: NodeJS.ProcessEnv = process.env, passwd: string | null = readPasswd()): string {
  const o = invoker(env, passwd);
  // XDG_CONFIG_HOME is the invoking user's only when sudo kept it (sudo -E)
  const base = env.XDG_CONFIG_HOME && (!env.SUDO_USER || env.SUDO_USER === 'root' || env.XDG_CONFIG_HOME.startsWith(o.home)) ? env.XDG_CONFIG_HOME : path.join(o.home, '.config');
  return path.join(base, 'ebtop', 'config.json');
}

/**
 * The settings over `defaults`; a value of the wrong type, an unknown
 * column, or an unreadable/corrupt file: the default, and a one-line warning.
 */
export function loadConfig(file: string, defaults: Config, env: NodeJS.ProcessEnv = process.env): { config: Config; warning: string | null } {
  let text: string;
  try {
    const u = actingFor(env);
    text = u ? runAs(u, { op: 'read', file }) : fs.readFileSync(file, 'utf8');
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
    // a cgroup view's own column (PSI) sorts too
    if (typeof r.sort === 'string' && (known.has(r.sort) || CGROUP_ONLY.some((x) => x.id === r.sort))) c.sort = r.sort;
    else bad.push('sort');
  }
  for (const k of ['invert', 'tree', 'monochrome'] as const) {
    if (r[k] === undefined) continue;
    if (typeof r[k] === 'boolean') c[k] = r[k] as boolean;
    else bad.push(k);
  }
  if (r.delayMs !== undefined) {
    if (typeof r.delayMs === 'number' && r.delayMs >= DELAY_MIN_MS && r.delayMs <= DELAY_MAX_MS) c.delayMs = r.delayMs;
    else bad.push('delayMs');
  }
  return { config: c, warning: bad.length ? `${file}: ignored ${bad.join(', ')}` : null };
}

/** Writes atomically; under sudo as the invoking user, so the file is theirs. */
export function saveConfig(file: string, c: Config, env: NodeJS.ProcessEnv = process.env): void {
  const text = JSON.stringify(c, null, 2) + '\n';
  const tmp = path.join(path.dirname(file), `.config.json.${process.pid}.tmp`);
  const u = actingFor(env);
  if (u) {
    runAs(u, { op: 'write', file, text, tmp });
    return;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(tmp, text, { mode: 0o644 });
  fs.renameSync(tmp, file);
}
