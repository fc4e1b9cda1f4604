// User errors: one line on stderr, exit code 2, no stack trace.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { EBTOP } from '../helpers/kernel';

function ebtop(args: string[], opts: { uid?: number; gid?: number } = {}) {
  const r = spawnSync(EBTOP, args, { encoding: 'utf8', timeout: 20_000, ...opts });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

function expectOneLineError(r: { code: number | null; stderr: string }, pattern: RegExp) {
  expect(r.code).toBe(2);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^ebtop: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
}

describe('command-line errors', () => {
  it('rejects an unknown flag', () => expectOneLineError(ebtop(['--bogus']), /unknown option '--bogus'/));
  it('rejects a bad delay', () => expectOneLineError(ebtop(['-d', 'abc']), /argument 'abc' is invalid\. delay must be 0\.1 to 3600 seconds/));
  // the bounds of the settings file's delayMs: 100 ms .. 1 h
  it('rejects a delay of 0', () => expectOneLineError(ebtop(['-d', '0', '-n', '1', '--json']), /argument '0' is invalid\. delay must be 0\.1 to 3600 seconds/));
  it('rejects a delay above an hour', () => expectOneLineError(ebtop(['-d', '99999', '-n', '1', '--json']), /argument '99999' is invalid\. delay must be 0\.1 to 3600 seconds/));
  it('rejects a delay below 100 ms', () => expectOneLineError(ebtop(['-d', '0.05', '-n', '1', '--json']), /argument '0\.05' is invalid/));
  it('rejects a bad pid list', () => expectOneLineError(ebtop(['-p', '12,x']), /PID/));
  it('rejects an unknown sort column', () => expectOneLineError(ebtop(['--sort', 'nope']), /expected one of/));
  it('rejects --json with --batch', () => expectOneLineError(ebtop(['--json', '--batch']), /cannot be used with/));
  it('rejects switching off a subsystem that does not exist', () => expectOneLineError(ebtop(['--no-bogus']), /unknown option '--no-bogus'/));
  it('rejects switching off the core', () => expectOneLineError(ebtop(['--no-cpu']), /unknown option '--no-cpu'/));
  it('rejects --connections without --json', () => expectOneLineError(ebtop(['--batch', '--connections']), /--connections is an output of --json/));
  it('lists a --no-<subsystem> flag for every optional subsystem', () => {
    const r = ebtop(['--help']);
    expect(r.stdout).toMatch(/--no-disk/);
  });
  it('offcpu: rejects a missing -p', () => expectOneLineError(ebtop(['offcpu', '-d', '1']), /required option '-p, --pid <pids>'/));
  it('offcpu: rejects a bad duration', () => expectOneLineError(ebtop(['offcpu', '-p', '1', '-d', '0']), /duration must be a positive number/));
  it('prints its version and exits 0', () => {
    const r = ebtop(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
  it('prints help and exits 0', () => {
    const r = ebtop(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--json/);
  });
});

// Dropping to an unprivileged uid needs root to begin with.
describe.skipIf(process.getuid?.() !== 0)('privilege errors', () => {
  it('a non-root user gets one line and exit 2', () => {
    const r = ebtop(['--json', '-n', '1'], { uid: 65534, gid: 65534 });
    expectOneLineError(r, /needs root or CAP_BPF\+CAP_PERFMON/);
  });
  // BPF's pids are the initial namespace's: in another one ebtop refuses before loading anything
  it('inside another PID namespace (its own /proc, as in a container): one line and exit 2', () => {
    const r = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', EBTOP, '-n', '1', '--json'], { encoding: 'utf8', timeout: 20_000 });
    expectOneLineError({ code: r.status, stderr: r.stderr }, /runs only in the initial PID namespace/);
    expect(r.stdout).toBe('');
  });
  it('inside another PID namespace with the host\'s /proc: one line and exit 2', () => {
    const r = spawnSync('unshare', ['--pid', '--fork', EBTOP, '-n', '1', '--json'], { encoding: 'utf8', timeout: 20_000 });
    expectOneLineError({ code: r.status, stderr: r.stderr }, /runs only in the initial PID namespace/);
  });
  it('offcpu: a PID that does not exist is one line and exit 2', () => {
    expectOneLineError(ebtop(['offcpu', '-p', '2147483647', '-d', '1']), /no process with PID 2147483647/);
  });
});
