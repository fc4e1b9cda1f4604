#!/usr/bin/env node
// What the disk subsystem's BPF programs cost per request, from the kernel's
// own run statistics (run_time_ns / run_cnt per program, kernel.bpf_stats_enabled
// held on for the run), under fio 4 KiB random direct reads at depth 16
// (libaio) with `ebtop --json -d 1 --budget 0` running: the high-IOPS case
// where the per-request hooks dominate ebtop's cost. No assertions; a markdown
// table on stdout. Run as root after `make build`:
//
//   sudo make bench-disk   (or node bench/disk-cost.js; BENCH_DISK_RUNS=3 runs of
//                           BENCH_DISK_SECONDS=15; BENCH_DISK_DIR: a directory on
//                           the disk, default /var/tmp)
//
// BENCH_DISK_OTHER=<another build's bin/ebtop> alternates the two builds run
// by run (a fresh ebtop for each run): on a shared machine the load moves
// between runs more than a change of a few tens of ns, so an A/B needs both
// measured in the same stretch of time.
'use strict';

const fs = require('fs');
const path = require('path');
const L = require('./lib');

const RUNS = Number(process.env.BENCH_DISK_RUNS || 3);
const SECONDS = Number(process.env.BENCH_DISK_SECONDS || 15);
const DIR = process.env.BENCH_DISK_DIR || '/var/tmp';
const STATS = '/proc/sys/kernel/bpf_stats_enabled';
/** The programs that run per request or per bio, whichever variant this kernel loads. */
const PROGRAMS = /^(bio_queue|io_start|io_done|rq_insert|rq_issue|rq_complete)_(btf|raw)$/;

async function main() {
  if (process.getuid() !== 0) throw new Error('needs root');
  for (const tool of ['fio', 'bpftool']) if (!L.findExe(tool)) throw new Error(`${tool} not found`);
  const dir = fs.mkdtempSync(path.join(DIR, 'ebtop-disk-cost-'));
  L.atCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'f');
  L.progress(`laying out 256 MiB in ${file}`);
  await L.run('fio', ['--name=lay', '--rw=write', '--bs=1M', '--direct=1', '--size=256M', `--filename=${file}`]);

  const before = fs.readFileSync(STATS, 'utf8').trim();
  fs.writeFileSync(STATS, '1');
  L.atCleanup(() => fs.writeFileSync(STATS, before));
  const builds = [L.EBTOP, ...(process.env.BENCH_DISK_OTHER ? [path.resolve(process.env.BENCH_DISK_OTHER)] : [])];
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    for (const exe of builds) {
      L.progress(`run ${i + 1}/${RUNS} (${exe}): fio randread 4k direct libaio iodepth 16, ${SECONDS} s`);
      const ebtop = L.start(exe, ['--json', '-d', '1', '--budget', '0'], { label: 'ebtop --json' });
      await L.firstJsonLine(ebtop);
      const a = L.progStats(ebtop.pid);
      const r = await L.run('fio', ['--name=r', '--rw=randread', '--bs=4k', '--direct=1', '--ioengine=libaio', '--iodepth=16', '--size=256M', `--runtime=${SECONDS}`, '--time_based', `--filename=${file}`, '--output-format=json']);
      const d = L.statsDiff(a, L.progStats(ebtop.pid));
      await ebtop.stop();
      const job = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))).jobs[0];
      const progs = Object.fromEntries(Object.entries(d).filter(([k, v]) => PROGRAMS.test(k) && v.cnt > 0));
      runs.push({ build: builds.length > 1 ? (exe === L.EBTOP ? 'this' : 'other') : '', ios: job.read.total_ios, iops: job.read.iops, progs });
    }
  }

  const names = [...new Set(runs.flatMap((r) => Object.keys(r.progs)))].sort();
  const rows = runs.map((r) => {
    const cells = names.map((n) => (r.progs[n] ? `${Math.round(r.progs[n].ns / r.progs[n].cnt)} (${r.progs[n].cnt.toLocaleString('en')})` : 'n/a'));
    const total = names.reduce((s, n) => s + (r.progs[n]?.ns ?? 0), 0);
    const reqNs = names.filter((n) => !n.startsWith('bio_queue')).reduce((s, n) => s + (r.progs[n]?.ns ?? 0), 0);
    return `| ${r.build} | ${Math.round(r.iops).toLocaleString('en')} | ${cells.join(' | ')} | ${Math.round(reqNs / r.ios)} | ${Math.round(total / r.ios)} |`;
  });
  const reqNs = (r) => names.filter((n) => !n.startsWith('bio_queue')).reduce((s, n) => s + (r.progs[n]?.ns ?? 0), 0) / r.ios;
  const medians = [...new Set(runs.map((r) => r.build))].map((b) => `median request hooks (start + done) per I/O${b ? `, ${b} build` : ''}: ${Math.round(L.median(runs.filter((r) => r.build === b).map(reqNs)))} ns`);
  process.stdout.write(
    [
      `fio 4 KiB randread, direct, libaio, iodepth 16, ${SECONDS} s per run; ns per event (events)`,
      '',
      `| build | fio IOPS | ${names.join(' | ')} | request hooks ns per I/O | all ns per I/O |`,
      `| --- | --- | ${names.map(() => '---').join(' | ')} | --- | --- |`,
      ...rows,
      '',
      ...medians,
      '',
    ].join('\n'),
  );
}

main().then(
  () => L.cleanupSync(),
  (e) => {
    L.progress(`failed: ${e.message}`);
    L.cleanupSync();
    process.exit(1);
  },
);
