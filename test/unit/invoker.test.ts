// Files root writes for a sudo user: the log and the SVG the user names are
// opened with that user's rights, and the default log is never opened
// through a symlink or into a file someone else owns. `nobody` plays the
// user behind sudo.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPEND, openAsInvoker, WRITE_NEW } from '../../src/invoker';
import { createLogger } from '../../src/log';
import { EBTOP } from '../helpers/kernel';
import { ENV, GID, nobodySkipReason, UID } from '../helpers/nobody';


describe.skipIf(nobodySkipReason('root-file'))('files root opens for a sudo user', () => {
  let dir = ''; // 0755, root's: nobody may look, not write
  let secret = ''; // root's 0600 file
  let home = ''; // nobody's
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ebtop-invoker-'));
    fs.chmodSync(dir, 0o755);
    secret = path.join(dir, 'secret');
    fs.writeFileSync(secret, 'root only\n', { mode: 0o600 });
    home = path.join(dir, 'home');
    fs.mkdirSync(home, { mode: 0o755 });
    fs.chownSync(home, UID, GID);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a file named by the user is created as the user where they may write', () => {
    const f = path.join(home, 'flame.svg');
    fs.closeSync(openAsInvoker(f, WRITE_NEW, 0o644, ENV));
    expect(fs.statSync(f).uid).toBe(UID);
    // root's own ids are back
    expect(process.geteuid!()).toBe(0);
    expect(process.getegid!()).toBe(0);
  });

  it('nowhere the user may not write: not in a root directory, not through their symlink to a root file', () => {
    expect(() => openAsInvoker(path.join(dir, 'planted'), WRITE_NEW, 0o644, ENV)).toThrow(/EACCES/);
    expect(fs.existsSync(path.join(dir, 'planted'))).toBe(false);
    const link = path.join(home, 'link');
    fs.symlinkSync(secret, link);
    fs.lchownSync(link, UID, GID);
    expect(() => openAsInvoker(link, APPEND, 0o644, ENV)).toThrow(/EACCES/);
    expect(fs.readFileSync(secret, 'utf8')).toBe('root only\n');
    expect(process.geteuid!()).toBe(0);
  });

  it('the default log: never through a symlink, never into a file someone else owns', () => {
    const link = path.join(home, 'ebtop-0.log');
    fs.symlinkSync(secret, link);
    expect(() => createLogger(link, false)).toThrow(/symbolic link/);
    const theirs = path.join(home, 'theirs.log');
    fs.writeFileSync(theirs, '');
    fs.chownSync(theirs, UID, GID);
    expect(() => createLogger(theirs, false)).toThrow(/not ebtop's/);
    expect(fs.readFileSync(secret, 'utf8')).toBe('root only\n');
    expect(fs.readFileSync(theirs, 'utf8')).toBe('');
  });

  it('sudo ebtop --log <a root directory>: one-line error, exit 2, nothing created', () => {
    const target = path.join(dir, 'cron-like');
    const r = spawnSync(EBTOP, ['--log', target, '--caps'], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, SUDO_USER: 'nobody' } });
    expect(r.status).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^ebtop: cannot open log .*EACCES/);
    expect(fs.existsSync(target)).toBe(false);
  });
});
