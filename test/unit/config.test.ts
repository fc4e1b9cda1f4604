// The settings file under sudo: root does the file work with the invoking
// user's rights, so symlinks the user plants in their config directory reach
// nothing the user could not reach themselves. `nobody` plays that user.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, saveConfig, type Config } from '../../src/config';
import { ENV, GID, nobodySkipReason, UID } from '../helpers/nobody';


const defaults: Config = { columns: ['pid', 'cpu', 'cmd'], sort: 'cpu', invert: false, tree: false, monochrome: false, delayMs: 1000 };
const mine: Config = { columns: ['pid', 'cmd'], sort: 'pid', invert: true, tree: true, monochrome: true, delayMs: 2000 };

/** Runs `f`; a failure must be one line (the TUI shows it as a warning). */
function attempt(f: () => void): void {
  try {
    f();
  } catch (e) {
    expect((e as Error).message).not.toContain('\n');
  }
}

describe.skipIf(nobodySkipReason('settings-file'))('the settings file under sudo', () => {
  let root = ''; // 0755, root's: everything below is reachable by nobody
  let locked = ''; // root's 0755 directory: nobody may read, not write
  let home = ''; // nobody's home
  let file = '';
  const own = (p: string) => fs.lchownSync(p, UID, GID);

  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'ebtop-config-'));
    fs.chmodSync(root, 0o755);
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  beforeEach((t) => {
    const d = path.join(root, t.task.name.slice(0, 3));
    fs.mkdirSync(d, { mode: 0o755 });
    locked = path.join(d, 'locked');
    home = path.join(d, 'home');
    fs.mkdirSync(locked, { mode: 0o755 });
    fs.mkdirSync(home, { mode: 0o755 });
    own(home);
    file = path.join(home, '.config', 'ebtop', 'config.json');
  });
  /** ~/.config/ebtop as nobody would have made it. */
  const userDir = () => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    own(path.dirname(path.dirname(file)));
    own(path.dirname(file));
  };

  it('(a) a config directory symlinked to a root directory: nothing is created there', () => {
    fs.mkdirSync(path.join(home, '.config'));
    own(path.join(home, '.config'));
    fs.symlinkSync(locked, path.dirname(file));
    own(path.dirname(file));
    attempt(() => saveConfig(file, mine, ENV));
    expect(fs.readdirSync(locked)).toEqual([]);
  });

  it('(b) the temporary file planted as a symlink to a root file: that file is untouched', () => {
    userDir();
    const victim = path.join(locked, 'victim');
    fs.writeFileSync(victim, "root's\n", { mode: 0o644 });
    const tmp = path.join(path.dirname(file), `.config.json.${process.pid}.tmp`);
    fs.symlinkSync(victim, tmp);
    own(tmp);
    attempt(() => saveConfig(file, mine, ENV));
    expect(fs.readFileSync(victim, 'utf8')).toBe("root's\n");
    expect(fs.statSync(victim).uid).toBe(0);
  });

  it('(c) config.json symlinked to a root-only file: its content appears nowhere', () => {
    userDir();
    const secret = path.join(locked, 'secret');
    fs.writeFileSync(secret, JSON.stringify({ ...mine, note: 'SECRET-4711' }), { mode: 0o600 });
    fs.symlinkSync(secret, file);
    own(file);
    const r = loadConfig(file, defaults, ENV);
    expect(r.config).toEqual(defaults);
    expect(r.warning).toMatch(/^cannot read .*; using defaults$/);
    expect(JSON.stringify(r)).not.toContain('SECRET');
  });

  it('(d) the plain case: created, owned by the user, read back', () => {
    saveConfig(file, mine, ENV);
    for (const p of [file, path.dirname(file), path.dirname(path.dirname(file))]) expect(fs.statSync(p).uid, p).toBe(UID);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['config.json']);
    expect(loadConfig(file, defaults, ENV)).toEqual({ config: mine, warning: null });
  });
});
