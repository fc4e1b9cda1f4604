// `ebtop record`: a session whose every raw sample (and what the model asked
// the system while taking it) goes to a recording directory, one interval at
// a time, with retention by age and size after every interval. It logs and
// never prints while it runs: it is a service (bin/ebtop-record.service).
//
// The directory: the service's is root's (/var/lib/ebtop, 0700); one a user
// names under sudo is that user's, so every file operation in it is done with
// the user's rights (src/invoker.ts), never root's in a place they control.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../errors';
import { actingFor, asInvoker } from '../invoker';
import type { Logger } from '../log';
import type { Interval } from '../model';
import { pageSize } from '../procfs';
import { Session } from '../session';
import { emptyLookups, Encoder, type Lookups } from './format';
import { RECORD_DEFAULTS } from './limits';
import { Writer, type Summary } from './store';

export interface RecordOptions {
  dir: string;
  delayMs: number;
  retainMs: number;
  maxBytes: number;
  budgetPct: number;
  log: Logger;
  disabled?: ReadonlySet<string>;
  /** a new key line (what a seek decodes at most) every this many intervals */
  segmentFrames?: number;
}

const EXCL = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;

/** The directory made ready: created if missing, and one root may write in. */
function prepareDir(dir: string): void {
  const user = actingFor();
  try {
    asInvoker(() => fs.mkdirSync(dir, { recursive: true, mode: 0o700 }));
  } catch (e) {
    throw new UserError(`cannot create ${dir}: ${(e as Error).message}`);
  }
  const st = fs.lstatSync(dir);
  if (!st.isDirectory()) throw new UserError(`${dir} is not a directory`);
  // root's own directory: nobody else may plant or swap files in it
  if (!user && (st.uid !== 0 || (st.mode & 0o022) !== 0)) {
    throw new UserError(`${dir} must be root's and not writable by others (it is uid ${st.uid}, mode ${(st.mode & 0o777).toString(8)})`);
  }
}

/** One recorder per directory: a lock file with its pid (a dead holder's lock is taken over). */
function lock(dir: string): () => void {
  const file = path.join(dir, '.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = asInvoker(() => fs.openSync(file, EXCL, 0o644));
      fs.writeSync(fd, `${process.pid}\n`);
      fs.closeSync(fd);
      return () => {
        try {
          if (fs.readFileSync(file, 'latin1').trim() === String(process.pid)) asInvoker(() => fs.unlinkSync(file));
        } catch {
          /* gone already */
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new UserError(`cannot lock ${dir}: ${(e as Error).message}`);
      const pid = Number(fs.readFileSync(file, 'latin1').trim());
      let holder = '';
      try {
        holder = fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1');
      } catch {
        /* not running */
      }
      if (pid > 0 && holder.includes('record')) throw new UserError(`another ebtop record (pid ${pid}) writes to ${dir}`);
      asInvoker(() => fs.unlinkSync(file)); // its recorder died: the lock is stale
    }
  }
  throw new UserError(`cannot lock ${dir}`);
}

/** The interval's system totals for the timeline (frame headers). */
function summarize(iv: Interval | null): Summary {
  if (!iv) return { cpu: 0, diskBytes: 0, netBytes: 0 };
  const cpu = iv.system.busyNs !== null && iv.intervalNs > 0 ? iv.system.busyNs / (iv.ncpu * iv.intervalNs) : 0;
  let diskBytes = 0;
  let netBytes = 0;
  for (const s of iv.subsystems) {
    if (!s.system || (s.name !== 'disk' && s.name !== 'net')) continue; // only these two feed the timeline
    const j = s.system(iv) as Record<string, unknown>;
    if (s.name === 'disk') for (const d of (j.devices ?? []) as { read_bytes: number | null; write_bytes: number | null }[]) diskBytes += (d.read_bytes ?? 0) + (d.write_bytes ?? 0);
    if (s.name === 'net') netBytes += Number(j.tx_bytes ?? 0) + Number(j.rx_bytes ?? 0);
  }
  return { cpu, diskBytes, netBytes };
}

/** Runs until SIGINT/SIGTERM; resolves when the last interval is on disk. */
export async function record(o: RecordOptions): Promise<void> {
  const { log } = o;
  prepareDir(o.dir);
  const unlock = lock(o.dir);
  let session: Session | undefined;
  try {
    const writer = new Writer({
      dir: o.dir,
      segmentFrames: o.segmentFrames ?? RECORD_DEFAULTS.segmentFrames,
      // small shards under a small size limit, so retention frees space a little at a time
      shardBytes: Math.max(64 * 1024, Math.floor(o.maxBytes / 10)),
      shardMs: RECORD_DEFAULTS.shardMs,
      maxBytes: o.maxBytes,
      retainMs: o.retainMs,
      create: (file) => asInvoker(() => fs.openSync(file, EXCL, 0o600)),
      remove: (file) => asInvoker(() => fs.unlinkSync(file)),
    });
    let pending: Lookups = emptyLookups();
    const users = new Map<number, string>();
    const cgroups = new Map<number, string>();
    let encoder: Encoder | undefined;
    let first = true;
    let failed: unknown;
    const done = new Promise<void>((resolve) => {
      const finish = () => resolve();
      process.once('SIGINT', finish);
      process.once('SIGTERM', finish);
    });
    let fail: (e: unknown) => void = () => undefined;
    const failedP = new Promise<void>((resolve) => (fail = (e) => ((failed = e), resolve())));
    session = new Session({
      log,
      delayMs: o.delayMs,
      cumulative: false,
      budgetPct: o.budgetPct,
      disabled: o.disabled,
      tap: {
        lookup(kind, key, value) {
          if (kind === 'cmdline') pending.cmdline.push([key, value as string[] | null]);
          else if (kind === 'user') {
            pending.user.push([key, value as string]);
            users.set(key, value as string);
          } else {
            pending.cgroup.push([key, value as string]);
            cgroups.set(key, value as string);
            if (cgroups.size > 4096) cgroups.delete(cgroups.keys().next().value!);
          }
        },
        sample(s, iv) {
          encoder ??= new Encoder({
            ebtop: (require('../../package.json') as { version: string }).version,
            host: os.hostname(),
            kernel: os.release(),
            ncpu: iv?.ncpu ?? os.cpus().length,
            pageSize: pageSize(),
            avail: [...session!.collector.avail],
            delayMs: o.delayMs,
          });
          const key = writer.keyNext;
          if (key) encoder.reset();
          const known = (): Lookups => ({ cmdline: session!.model.cmdlines(), user: [...users], cgroup: [...cgroups] });
          const { line } = encoder.encode(s, pending, known);
          pending = emptyLookups();
          writer.append(line, { key, start: first, wallMs: s.wallMs, summary: summarize(iv) }).then(
            () => {
              for (const f of writer.removed.splice(0)) log.info({ shard: f }, 'retention: removed');
            },
            (e) => fail(e),
          );
          first = false;
        },
      },
    });
    log.info({ dir: o.dir, delayMs: o.delayMs, retainMs: o.retainMs, maxBytes: o.maxBytes }, 'recording');
    session.start(
      () => undefined,
      (e) => fail(e),
    );
    await Promise.race([done, failedP]);
    session.stop();
    session = undefined;
    await writer.close();
    if (failed) throw failed;
    log.info({ dir: o.dir, bytes: writer.totalBytes }, 'recording stopped');
  } finally {
    session?.stop();
    unlock();
  }
}
