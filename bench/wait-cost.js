#!/usr/bin/env node
// What the wait subsystem costs in the kernel: BPF run time per context switch
// of ebtop's programs (run_time_ns / run_cnt from `bpftool prog show`, the
// kernel's BPF run statistics, which ebtop switches on), with the wait hooks
// and without (--no-wait), under `perf bench sched pipe` pinned to one CPU
// (every switch blocks on a pipe and is woken: the worst case) and under a
// mixed stress-ng load. Also perf bench's own throughput with each. No
// assertions: a markdown table on stdout. Run as root: `node bench/wait-cost.js`.
//
// Settings (environment): WAIT_BENCH_LOOPS (perf bench loops, 300000),
// WAIT_BENCH_MIXED (stress-ng arguments), WAIT_BENCH_RUNS (runs per case, 3).
'use strict';

const cp = require('child_process');
const fs = require('fs');
const path = require('path');

const EBTOP = path.join(__dirname, '..', 'bin', 'ebtop');
const LOOPS = Number(process.env.WAIT_BENCH_LOOPS || 300000);
const RUNS = Number(process.env.WAIT_BENCH_RUNS || 3);
const MIXED = (process.env.WAIT_BENCH_MIXED || '--pipe 1 --sock 1 --futex 1 --hdd 1 --cpu 1 --timeout 5s').split(' ');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Run statistics of the BPF programs a process holds open, by program name. */
function progStats(pid) {
  const ids = new Set();
  for (const fd of fs.readdirSync(`/proc/${pid}/fdinfo`)) {
    try {
      const m = /prog_id:\s*(\d+)/.exec(fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      if (m) ids.add(Number(m[1]));
    } catch {
      // closed meanwhile
    }
  }
  const all = JSON.parse(cp.execFileSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8' }));
  const out = {};
  for (const p of all) if (ids.has(p.id)) out[p.name] = { ns: p.run_time_ns || 0, cnt: p.run_cnt || 0 };
  return out;
}

function diff(a, b) {
  const out = {};
  for (const [k, v] of Object.entries(b)) out[k] = { ns: v.ns - (a[k]?.ns || 0), cnt: v.cnt - (a[k]?.cnt || 0) };
  return out;
}

async function measure(ebtopArgs, workload) {
  // with wait attached throughout: no budget sheds it under the storm
  const ebtop = cp.spawn(EBTOP, ['--json', '-d', '1', '--budget', '0', ...ebtopArgs], { stdio: ['ignore', 'ignore', 'inherit'] });
  await sleep(1500);
  const before = progStats(ebtop.pid);
  const t0 = process.hrtime.bigint();
  const out = cp.execFileSync(workload[0], workload.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const wall = Number(process.hrtime.bigint() - t0);
  const d = diff(before, progStats(ebtop.pid));
  ebtop.kill('SIGTERM');
  await new Promise((r) => ebtop.on('exit', r));
  const ops = /([\d.]+) ops\/sec/.exec(out);
  return { d, wall, ops: ops ? Number(ops[1]) : null };
}

// The wait subsystem has no wakeup program (it closes intervals at switch-in,
// inside the switch program); a build that had one is still read.
function perSwitch(d) {
  const sw = d.switch_btf || { ns: 0, cnt: 0 };
  const wk = d.wakeup_btf || { ns: 0, cnt: 0 };
  const wn = d.wakeup_new_btf || { ns: 0, cnt: 0 };
  return {
    switches: sw.cnt,
    switchNs: sw.cnt ? sw.ns / sw.cnt : 0,
    wakeups: wk.cnt,
    wakeupNs: wk.cnt ? wk.ns / wk.cnt : 0,
    perSwitchNs: sw.cnt ? (sw.ns + wk.ns + wn.ns) / sw.cnt : 0,
  };
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  if (process.getuid() !== 0) throw new Error('run as root');
  for (const tool of ['perf', 'stress-ng', 'bpftool', 'taskset']) {
    if (cp.spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} not found (Debian: apt-get install linux-perf stress-ng bpftool util-linux)`);
  }
  const pipe = ['taskset', '-c', '0', 'perf', 'bench', 'sched', 'pipe', '-l', String(LOOPS)];
  const mixed = ['stress-ng', ...MIXED, '--quiet'];
  const rows = [];
  const baseOps = [];
  for (let i = 0; i < RUNS; i++) baseOps.push(Number(/([\d.]+) ops\/sec/.exec(cp.execFileSync(pipe[0], pipe.slice(1), { encoding: 'utf8' }))[1]));
  for (const [name, load] of [['perf bench sched pipe, pinned to CPU 0', pipe], ['mixed: stress-ng ' + MIXED.join(' '), mixed]]) {
    for (const [label, args] of [['without wait (--no-wait)', ['--no-wait']], ['with wait', []]]) {
      const runs = [];
      for (let i = 0; i < RUNS; i++) runs.push(await measure(args, load));
      const ps = runs.map((r) => perSwitch(r.d));
      rows.push({
        name,
        label,
        switchNs: median(ps.map((p) => p.switchNs)),
        wakeupNs: median(ps.map((p) => p.wakeupNs)),
        perSwitchNs: median(ps.map((p) => p.perSwitchNs)),
        wakeupsPerSwitch: median(ps.map((p) => (p.switches ? p.wakeups / p.switches : 0))),
        switchesPerSec: median(runs.map((r, i) => ps[i].switches / (r.wall / 1e9))),
        ops: runs[0].ops === null ? null : median(runs.map((r) => r.ops)),
      });
      process.stderr.write(`${name}, ${label}: ${JSON.stringify(rows.at(-1))}\n`);
    }
  }
  const base = median(baseOps);
  let md = `| load | ebtop | switch prog ns/run | wakeup prog ns/run | wakeups per switch | BPF ns per switch (all) | switches/s | perf bench ops/s |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n`;
  md += `| perf bench sched pipe, pinned to CPU 0 | not running | | | | | | ${base.toFixed(0)} |\n`;
  for (const r of rows) {
    md += `| ${r.name} | ${r.label} | ${r.switchNs.toFixed(0)} | ${r.wakeupNs ? r.wakeupNs.toFixed(0) : '–'} | ${r.wakeupsPerSwitch ? r.wakeupsPerSwitch.toFixed(2) : '–'} | ${r.perSwitchNs.toFixed(0)} | ${r.switchesPerSec.toFixed(0)} | ${r.ops === null ? '' : `${r.ops.toFixed(0)} (${(((r.ops - base) / base) * 100).toFixed(1)}%)`} |\n`;
  }
  for (let i = 0; i < rows.length; i += 2) md += `\nAdded by wait, ${rows[i].name}: ${(rows[i + 1].perSwitchNs - rows[i].perSwitchNs).toFixed(0)} ns per switch.\n`;
  process.stdout.write(md);
}

main().catch((e) => {
  process.stderr.write(`wait-cost: ${e.message}\n`);
  process.exit(1);
});
