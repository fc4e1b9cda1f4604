// Disk accounting against independent ground truth: fio's own JSON report,
// the parent's wait4() rusage (ru_inblock / ru_oublock), /sys/block/<dev>/stat,
// and what a test wrote itself. The collector and model run in this process,
// so each interval starts and ends exactly where a test wants it to.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Collector } from '../../src/collector';
import { Model, type Interval, type ProcessRow } from '../../src/model';
import { DISK, LATENCY, WRITEBACK, cacheHitPct, rowLatency, seqPct, type DiskSystem } from '../../src/subsystems/disk';
import type { Features } from '../../src/probe';
import { intervalJson } from '../../src/views/json';
import { kernelSkipReason, relErr, run, WORKLOAD } from '../helpers/kernel';

const skip = kernelSkipReason();
const MiB = 1 << 20;

/** An in-process collector and model: sample() closes an interval now. */
class Sampler {
  readonly c: Collector;
  readonly m: Model;
  constructor(features?: Partial<Features>) {
    this.c = Collector.open({ log: pino({ level: 'silent' }), features });
    this.m = new Model({ ncpu: os.cpus().length, threads: true, avail: this.c.avail });
    this.m.update(this.c.sample());
  }
  sample(): Interval {
    return this.m.update(this.c.sample())!;
  }
  close(): void {
    this.c.close();
  }
}

const v = (r: ProcessRow, i: number) => r.v[i];
const ioBytes = (r: ProcessRow) => v(r, DISK.at.read_bytes) + v(r, DISK.at.write_bytes);

/** The root file system's disk, as /sys/block names it (vda here). */
function rootDisk(): string {
  const st = fs.statSync('/var/tmp');
  const major = Number(BigInt(st.dev) >> 8n) & 0xfff;
  const minor = (st.dev & 0xff) | ((st.dev >> 12) & 0xfff00);
  const uevent = fs.readFileSync(`/sys/dev/block/${major}:${minor}/uevent`, 'latin1');
  const name = /^DEVNAME=(.+)$/m.exec(uevent)![1];
  // a partition's stat is under its disk; the tests compare with the whole disk
  return fs.existsSync(`/sys/block/${name}`) ? name : path.basename(path.dirname(fs.realpathSync(`/sys/class/block/${name}`)));
}

/** /sys/block/<dev>/stat: reads, read sectors, read ms, writes, write sectors, write ms, in flight. */
function blockStat(dev: string) {
  const f = fs.readFileSync(`/sys/block/${dev}/stat`, 'latin1').trim().split(/\s+/).map(Number);
  return { reads: f[0], readSectors: f[2], readMs: f[3], writes: f[4], writeSectors: f[6], writeMs: f[7], inflight: f[8] };
}

interface FioJob {
  read: { io_bytes: number; total_ios: number; clat_ns: { percentile: Record<string, number> } };
  write: { io_bytes: number; total_ios: number };
}

async function fio(args: string[]): Promise<{ pid: number; job: FioJob }> {
  const r = await run('fio', ['--output-format=json', ...args]);
  if (r.code !== 0) throw new Error(`fio failed: ${r.stderr}`);
  return { pid: r.pid, job: (JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { jobs: FioJob[] }).jobs[0] };
}

/** fio's job process: the child of the fio process fio was started as. */
function fioJob(iv: Interval, fioPid: number): ProcessRow {
  const rows = iv.processes.filter((p) => p.ppid === fioPid && p.comm === 'fio');
  expect(rows, 'one fio job process').toHaveLength(1);
  return rows[0];
}

let dir = '';

describe.skipIf(skip)('disk accounting (kernel)', () => {
  beforeAll(() => {
    dir = fs.mkdtempSync('/var/tmp/ebtop-disk-');
  });
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('fio direct psync: bytes and bios equal fio\'s own counts; sequential writes, random reads; latency against /sys/block stat and fio clat', async () => {
    const s = new Sampler();
    try {
      const file = path.join(dir, 'fio.dat');
      const common = [`--filename=${file}`, '--direct=1', '--ioengine=psync', '--size=64M'];
      const w = await fio(['--name=w', '--rw=write', '--bs=1M', ...common]);
      const wiv = s.sample();
      const wrow = fioJob(wiv, w.pid);
      const dev = rootDisk();
      const before = blockStat(dev);
      const r = await fio(['--name=r', '--rw=randread', '--bs=4k', '--io_size=16M', ...common]);
      const after = blockStat(dev);
      const riv = s.sample();
      const rrow = fioJob(riv, r.pid);
      const lat = rowLatency(rrow)!;
      const statAvg = ((after.readMs - before.readMs) * 1e6) / (after.reads - before.reads);
      const fioP99 = r.job.read.clat_ns.percentile['99.000000'];
      console.log(
        `fio psync: write ${v(wrow, DISK.at.write_bytes)} B / ${v(wrow, DISK.at.writes)} bios (fio ${w.job.write.io_bytes} / ${w.job.write.total_ios}), seq ${seqPct(wrow)?.toFixed(1)}%; ` +
          `read ${v(rrow, DISK.at.read_bytes)} B / ${v(rrow, DISK.at.reads)} bios (fio ${r.job.read.io_bytes} / ${r.job.read.total_ios}), seq ${seqPct(rrow)?.toFixed(1)}%; ` +
          `latency avg ${lat.avgNs} ns (/sys/block/${dev}/stat ${statAvg.toFixed(0)} ns over ${after.reads - before.reads} reads), p50 ${lat.p50Ns} p99 ${lat.p99Ns} (fio clat p99 ${fioP99}) max ${lat.maxNs}, ${lat.count} requests`,
      );
      expect(relErr(v(wrow, DISK.at.write_bytes), w.job.write.io_bytes)).toBeLessThan(0.001);
      expect(relErr(v(wrow, DISK.at.writes), w.job.write.total_ios)).toBeLessThan(0.001);
      expect(relErr(v(rrow, DISK.at.read_bytes), r.job.read.io_bytes)).toBeLessThan(0.001);
      expect(relErr(v(rrow, DISK.at.reads), r.job.read.total_ios)).toBeLessThan(0.001);
      expect(seqPct(wrow)).toBeGreaterThanOrEqual(90);
      expect(seqPct(rrow)).toBeLessThanOrEqual(10);
      expect(relErr(lat.avgNs, statAvg)).toBeLessThan(0.03);
      expect(lat.p50Ns).toBeLessThanOrEqual(lat.p99Ns);
      expect(lat.p99Ns).toBeLessThanOrEqual(lat.maxNs);
      expect(lat.p99Ns).toBeLessThanOrEqual(fioP99);
      expect(lat.p99Ns).toBeGreaterThanOrEqual(fioP99 / 2);
    } finally {
      s.close();
    }
  });
});
