// `make bench`'s results as text: the targets of issue 10 with their measured
// figures, the report (bench/results.md), and README.md's generated
// performance region (between the bench:begin / bench:end markers).
'use strict';

const fs = require('fs');
const L = require('./lib');

const { fx, fint, table, median } = L;
const pct = (v, d = 2) => (v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : `${v.toFixed(d)}%`);
const signedPct = (v, d = 3) => (v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : `${v >= 0 ? '+' : ''}${(v * 100).toFixed(d)}%`);
const ratioRange = (xs) => {
  const ok = (xs || []).filter(Number.isFinite);
  if (!ok.length) return 'n/a';
  const m = median(ok);
  return ok.length > 1 ? `${m.toFixed(2)}× (${Math.min(...ok).toFixed(2)}–${Math.max(...ok).toFixed(2)})` : `${m.toFixed(2)}×`;
};
const na = (r) => !r || r.na;
const mib = (v) => (v === null || v === undefined ? 'n/a' : `${v.toFixed(0)} MiB`);
/** a throughput change against none: "+1.2%" */
const change = (v) => (v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)}%`);
/** a workload's throughput in its unit */
const amount = (v, unit) => (unit === 'Gbit/s' ? `${fx(v)} ${unit}` : `${fint(v)} ${unit}`);
/** the units the budget shed: "wait 23 of the workload's 40 s (from 12 s; 30 s in all)" */
const shedText = (bg) => Object.entries(bg.shed || {}).map(([u, x]) => `${u} ${fx(x.duringS, 0)} of the workload's ${fx(bg.seconds, 0)} s (from ${fx(x.firstS, 0)} s; ${fx(x.seconds, 0)} s in all)`).join(', ');
const verdict = (v) => (v <= 1 ? 'met (goal 1% met)' : v <= 2 ? 'met (goal 1% missed)' : '**missed**');

/** Every target of issue 10 with its figure: met true/false, or null (not measured). */
function targets(res) {
  const out = [];
  const add = (name, target, value, met, quick = false, why = null) => out.push({ name, target, value, met, quick, why });
  const acc = res.accuracy || {};
  const ov = res.overhead || {};
  const sc = res.scale || {};
  // userspace CPU vs htop
  for (const [n, t] of Object.entries(ov.tui || {})) {
    if (na(t)) {
      add(`Userspace CPU ≤ 0.5× htop, first ${60} s, ~${n} processes`, '≤ 0.5×', 'n/a', null, false, t?.na);
      continue;
    }
    for (const [w, label] of [['first60', `first ${t.firstWindow} s`], ['after', `after ${t.firstWindow} s (steady)`]]) {
      const m = median(t.ratio[w] || []);
      add(`Userspace CPU ≤ 0.5× htop's, ${label}, ~${t.procs} processes`, '≤ 0.5×', m === null ? 'n/a' : `${m.toFixed(2)}× (${fx(t.tools.ebtop[w])}% vs ${fx(t.tools.htop[w])}% of a core)`, m === null ? null : m <= 0.5);
    }
  }
  const sv = ov.serve;
  if (sv && !sv.na) {
    add(`ebtop serve: resident memory over ${Math.round(sv.seconds / 60)} min of 3,000 new command names a minute (${sv.names} names; last fifth vs the fifth after warm-up)`, '±10%', `${sv.rssEarlyMiB.toFixed(1)} → ${sv.rssLateMiB.toFixed(1)} MiB (${((sv.rssRatio - 1) * 100).toFixed(1)}%)`, sv.rssFlat);
    add(`ebtop serve: groups per metric at every scrape (${sv.scrapes} scrapes)`, `≤ ${sv.top + 1}`, `${sv.maxGroups} (${sv.maxLines} samples a scrape at most)`, sv.seriesBounded);
  }
  const rc = ov.recorder;
  if (rc) {
    if (rc.na) add('Recorder: a day of 1 s samples at ~400 processes', '≤ 100 MB', 'n/a', null, false, rc.na);
    else {
      add(
        `Recorder: a day of 1 s samples at ~${rc.procs} processes (bytes per interval over ${rc.intervals} recorded × 86,400)`,
        '≤ 100 MB',
        `${(rc.bytesPerDay / 1e6).toFixed(1)} MB (${Math.round(rc.bytesPerInterval)} B an interval); recorder ${rc.recorderCpuPct.toFixed(2)}% of a core + BPF ${rc.bpfPctOfAll === null ? 'n/a' : `${rc.bpfPctOfAll.toFixed(2)}%`} of all CPU`,
        rc.bytesPerDay <= 100e6,
      );
      const sk = rc.seek;
      if (sk && !sk.na) {
        const worst = Math.max(...sk.seekMs);
        add(`Recorder: a seek to any moment of a day-long recording (${sk.frames} frames, ${(sk.bytes / 1e6).toFixed(0)} MB; ${sk.seekMs.length} random seeks, nothing cached)`, '< 200 ms', `median ${median(sk.seekMs).toFixed(0)} ms, worst ${worst.toFixed(0)} ms; opening the recording ${sk.openMs.toFixed(0)} ms`, worst < 200);
      } else add('Recorder: a seek in a day-long recording', '< 200 ms', 'n/a', null, false, sk?.na);
    }
  }
  const tp = ov.throughput;
  for (const w of ov.busy?.workloads || []) {
    const name = `Whole tool ≤ 2% of all CPU (goal 1%), TUI and --json: ${w.name}`;
    if (w.na) {
      add(name, '≤ 2%', 'n/a', null, false, w.na);
      continue;
    }
    const worst = Math.max(w.tuiCost.totalPct, w.jsonCost.totalPct);
    add(name, '≤ 2%', `TUI ${pct(w.tuiCost.totalPct)} · --json ${pct(w.jsonCost.totalPct)} (goal 1% ${worst <= 1 ? 'met' : 'missed'})`, worst <= 2);
  }
  const bg = ov.budget;
  if (bg) {
    if (bg.na) add('Budget run: cost per interval held at --budget 2', '≤ 2%', 'n/a', null, false, bg.na);
    else {
      add(
        `Budget run (${bg.name}): cost per judged interval held at --budget ${bg.budgetPct}`,
        `≤ ${bg.budgetPct}%`,
        `median ${pct(bg.median)}, ${bg.within}/${bg.intervals.length} intervals within, max ${pct(bg.max)}; shed: ${shedText(bg) || 'nothing'}`,
        bg.median === null ? null : bg.median <= bg.budgetPct,
      );
      add('Budget run: CPU columns exact (burners\' on-CPU time in ebtop = wait4 rusage)', '0 ≤ diff < 2 µs', bg.burners.map((b) => `${fint(b.diffNs)} ns (${b.shedRows}/${b.rows} rows shed)`).join('; ') || 'n/a', bg.burners.length ? bg.burners.every((b) => b.exact) : null);
    }
  }
  if (tp && !tp.na && tp.pipePinned) {
    const p = tp.pipePinned;
    add(
      'Context-switch worst case (perf bench sched pipe pinned): loss ≤ 1.5× the minimal pair\'s',
      '≤ 1.5×',
      p.ratio === null ? 'n/a' : `${p.ratio.toFixed(2)}× (${pct(p.lossEbtop * 100, 1)} vs ${pct(p.lossMinimal * 100, 1)}; BPF ${fint(tp.pipeNs?.ebtop)} vs ${fint(tp.pipeNs?.minimal)} ns per switch)`,
      p.ratio === null ? null : p.ratio <= 1.5,
    );
  }
  if (acc.short) add('Short-lived CPU attributed (300 × 20 ms)', '≥ 99%', na(acc.short) ? 'n/a' : pct(acc.short.rows[0].value, 3), na(acc.short) ? null : acc.short.rows[0].value >= 99, true, acc.short.na);
  if (acc.fio) {
    const worst = na(acc.fio) ? null : Math.max(...acc.fio.phases.map((p) => Math.abs(p.rows[0].vsTruth ?? 1)));
    add('fio bytes within 0.1% (direct and buffered, read and write)', '≤ 0.1%', worst === null ? 'n/a' : `${(worst * 100).toFixed(4)}% (worst of 4 jobs)`, worst === null ? null : worst <= 0.001, true, acc.fio.na);
  }
  if (acc.iperf) {
    const v = na(acc.iperf) ? null : Math.max(Math.abs(acc.iperf.rows[0].vsTruth), Math.abs(acc.iperf.rows[1].vsTruth));
    add('iperf3 bytes within 0.1% (client sent, server received)', '≤ 0.1%', v === null ? 'n/a' : `${(v * 100).toFixed(5)}%`, v === null ? null : v <= 0.001, true, acc.iperf.na);
  }
  if (ov.startup) add('Start-up to first sample', '< 300 ms', na(ov.startup) ? 'n/a' : `${fint(ov.startup.ms)} ms (CPU ${fint(ov.startup.cpuMs)} ms)`, na(ov.startup) ? null : ov.startup.ms < 300, false, ov.startup.na);
  const t400 = (ov.tui || {})[Object.keys(ov.tui || {}).find((k) => Number(k) <= 1000)];
  if (t400 && !t400.na && t400.tools.ebtop) add(`RSS at ~${t400.procs} processes (TUI)`, '< 100 MiB', mib(t400.tools.ebtop.rss), t400.tools.ebtop.rss < 100);
  if (sc.threads) {
    const th = sc.threads;
    add('RSS at 10,000 threads (TUI)', '< 150 MiB', na(th) ? 'n/a' : mib(th.tui.rss), na(th) ? null : th.tui.rss < 150, false, th.na);
    add('Refresh at 10,000 threads (TUI)', '< 50 ms CPU', na(th) ? 'n/a' : `${fx(th.tui.refreshCpuMs, 1)} ms`, na(th) ? null : th.tui.refreshCpuMs < 50, false, th.na);
  }
  if (sc.storm) {
    const s = sc.storm;
    add('Spawn storm (1,000 execs/s for 10 s): every exit reported, or the loss counted', '0 missing', na(s) ? 'n/a' : `${s.exitsReported}/${s.spawned} exits, ${s.lost} lost`, na(s) ? null : s.ok, true, s.na);
  }
  if (sc.connections) {
    const c = sc.connections;
    add('10,000 open TCP connections: all tracked, none lost', `${c.n ?? 10000} each side`, na(c) ? 'n/a' : `${c.client}/${c.server}, ${c.lost} lost, ${c.overflow} overflow`, na(c) ? null : c.client === c.n && c.server === c.n && c.lost === 0, false, c.na);
  }
  for (const k of ['cpu', 'retrans', 'offcpu']) {
    const r = acc[k];
    if (!r) continue;
    if (r.na) add(r.title, '', 'n/a', null, false, r.na);
    else for (const t of r.targets) add(t.name, t.target, typeof t.value === 'number' ? fx(t.value, 2) : t.value, t.met);
  }
  return out;
}

function targetTable(ts) {
  return table(
    ['target', 'goal', 'measured', ''],
    ts.map((t) => [t.name, t.target, t.value, t.met === true ? 'met' : t.met === false ? '**missed**' : `n/a${t.why ? ` (${t.why})` : ''}`]),
  );
}

// ------------------------------------------------------------------ sections

function accuracySection(acc) {
  const out = ['## Accuracy', '', 'Each tool on the same workload in the same window, against the workload\'s own report (or the kernel\'s exact counters).', ''];
  if (acc.cpu) {
    const c = acc.cpu;
    out.push(`### ${c.title || 'stress-ng --cpu 2'}`, '');
    if (c.na) out.push(`n/a: ${c.na}`, '');
    else {
      out.push(`Truth: ${fx(c.truth.value)}% (${c.truth.label}; ${c.truth.also ?? ''}). Mean of each tool's per-second figure over the window.`, '');
      out.push(table(['tool', 'CPU % of one core', 'error (points)', 'samples'], c.rows.map((r) => [r.tool, fx(r.value), r.vsTruth === null ? 'n/a' : `${r.vsTruth >= 0 ? '+' : ''}${fx(r.vsTruth)}`, r.samples])), '');
    }
  }
  if (acc.short) {
    const s = acc.short;
    out.push('### 300 processes of 20 ms CPU each', '');
    if (s.na) out.push(`n/a: ${s.na}`, '');
    else {
      out.push(`Truth: ${fx(s.truth.value, 1)} ms (${s.truth.label}). A tool sampling /proc sees a 20 ms process only if it is alive at a sample.`, '');
      out.push(table(['tool', 'share of their CPU attributed', ''], s.rows.map((r) => [r.tool, pct(r.value, 3), r.note ?? ''])), '');
    }
  }
  if (acc.fio) {
    const f = acc.fio;
    out.push('### fio: bytes and latency', '');
    if (f.na) out.push(`n/a: ${f.na}`, '');
    else {
      out.push('Bytes against fio\'s own io_bytes (the job\'s process; pidstat and iotop per process, iostat for the whole device). Latency: fio\'s completion latency, ebtop\'s block-layer request latency (queued to completed), and the device\'s own (`/sys/block/<dev>/stat` time / requests, ms resolution).', '');
      const tools = [...new Set(f.phases.flatMap((p) => p.rows.map((r) => r.tool)))];
      out.push(
        table(
          ['job', 'fio bytes', ...tools.map((t) => t.replace(/ \(.*\)$/, '')), 'latency: fio clat / ebtop / device'],
          f.phases.map((p) => [
            p.label,
            fint(p.fio.bytes),
            ...tools.map((t) => {
              const r = p.rows.find((x) => x.tool === t);
              return r ? `${fint(r.value)} (${signedPct(r.vsTruth)})` : '—';
            }),
            `${fx((p.fio.clatMeanNs ?? NaN) / 1000, 1)} / ${fx((p.ebtop.latAvgNs ?? NaN) / 1000, 1)} / ${p.device ? fx(p.device.avgNs / 1000, 1) : 'n/a'} µs`,
          ]),
        ),
        '',
      );
      const miss = [...new Set(f.phases.flatMap((p) => p.missing || []))];
      if (miss.length) out.push(`Not installed here: ${miss.join(', ')}.`, '');
    }
  }
  if (acc.iperf) {
    const i = acc.iperf;
    out.push('### iperf3 over loopback', '');
    if (i.na) out.push(`n/a: ${i.na}`, '');
    else {
      out.push(`Truth: iperf3's report: ${fint(i.truth.sent)} B sent, ${fint(i.truth.received)} B received. ebtop counts what the process passed to the socket (payload plus iperf3's control connection); nethogs counts packets on \`lo\` by connection, once per packet.`, '');
      out.push(table(['tool', 'bytes', 'vs iperf3'], i.rows.map((r) => [r.tool, fint(r.value), signedPct(r.vsTruth, 4)])), '');
      if (i.connections) {
        const c = i.connections;
        out.push(`Connection list while it ran (port of the test): \`ss -tn state established\` ${c.ss}, ebtop --connections ${c.ebtop}, the same 4-tuples in both: ${c.both}${c.onlySs.length ? `; only in ss: ${c.onlySs.join(', ')}` : ''}${c.onlyEbtop.length ? `; only in ebtop: ${c.onlyEbtop.join(', ')}` : ''}.`, '');
      }
    }
  }
  if (acc.retrans) {
    const r = acc.retrans;
    out.push(`### ${r.title || 'TCP retransmits'}`, '');
    if (r.na) out.push(`n/a: ${r.na}`, '');
    else {
      out.push(`Truth: ${fint(r.truth.value)} (${r.truth.label}); ${r.note}.`, '');
      out.push(table(['tool', 'retransmitted segments', 'vs iperf3'], r.rows.map((x) => [x.tool, fint(x.value), signedPct(x.vsTruth, 2)])), '');
    }
  }
  if (acc.offcpu) {
    const o = acc.offcpu;
    out.push('### Why a thread waits: the wait subsystem vs its stacks', '');
    if (o.na) out.push(`n/a: ${o.na}`, '');
    else {
      out.push('Workloads of known behaviour (`test/workloads/waiter.c`). Wait: ebtop --json over ~3 s, the expected reason\'s share of the off-CPU time of the threads the workload names, and of the whole process. Stacks: `ebtop offcpu --folded` over the same 3 s (blocked intervals ≥ 50 µs, the reason refined by kernel frames). Agreement: 100 − the total variation distance between the two splits of the whole process.', '');
      out.push(table(['workload', 'expected', 'wait: named threads', 'wait: process (top)', 'stacks: process (top)', 'agreement'], o.rows.map((r) => [r.workload, r.expect, pct(r.named, 1), `${pct(r.wait, 1)} (${r.waitTop})`, `${pct(r.stacks, 1)} (${r.stacksTop})`, pct(r.agreement, 1)])), '');
    }
  }
  return out;
}

function overheadSection(ov) {
  const out = ['## Overhead', ''];
  if (ov.tui) {
    out.push('### Userspace CPU, TUIs in tmux (200×50, 1 s refresh)', '');
    out.push('CPU of all the tool\'s threads (`/proc/<pid>/task/*/schedstat`) as % of one core over each window from its start; median of interleaved rounds (top, htop, ebtop, top, ...). Ratios: ebtop / htop within each round, median (range). BPF run time is kernel time of the traced tasks and is not in these figures (below).', '');
    for (const [n, t] of Object.entries(ov.tui)) {
      if (na(t)) {
        out.push(`~${n} processes: n/a (${t?.na})`, '');
        continue;
      }
      out.push(`**~${t.procs} processes, ${t.threads} threads** (${t.tools.ebtop?.runs.length ?? 0} rounds of ${t.seconds} s):`, '');
      out.push(
        table(
          ['tool', 'first 15 s', `first ${t.firstWindow} s`, `after ${t.firstWindow} s`, 'RSS'],
          Object.values(t.tools).map((x) => [x.name, pct(x.first15), pct(x.first60), pct(x.after), mib(x.rss)]),
        ),
        '',
      );
      out.push(`ebtop / htop: first 15 s ${ratioRange(t.ratio.first15)}, first ${t.firstWindow} s ${ratioRange(t.ratio.first60)}, after ${ratioRange(t.ratio.after)}.`, '');
    }
  }
  if (ov.startup) {
    const s = ov.startup;
    out.push('### Start-up', '');
    if (s.na) out.push(`n/a: ${s.na}`, '');
    else out.push(`\`ebtop --json -n 1 -d 0.1\`: spawn to the first sample, less the 0.1 s interval: median ${fint(s.ms)} ms over ${s.runs.length} runs (${s.runs.map((r) => fint(r.ms)).join(', ')}); CPU of the whole run (wait4) median ${fint(s.cpuMs)} ms. For scale, \`node -e 0\`: ${fint(s.nodeMs)} ms.`, '');
  }
  if (ov.bpf) {
    out.push('### BPF run time per subsystem', '');
    if (ov.bpf.na) out.push(`n/a: ${ov.bpf.na}`, '');
    else {
      out.push('From the kernel\'s run statistics (kernel.bpf_stats_enabled=1 while measuring), every program of ebtop with all subsystems attached; % of one CPU over the workload\'s run.', '');
      const rows = [];
      for (const w of ov.bpf) {
        const subs = Object.entries(w.subsystems).sort((a, b) => b[1].cpuPct - a[1].cpuPct);
        subs.forEach(([name, s], i) => rows.push([i === 0 ? `${w.workload} (${fint(w.ctxPerS)} switches/s)` : '', name, fint(s.runsPerS), fint(s.nsPerRun), pct(s.cpuPct, 3), i === 0 ? `${pct(w.totalCpuPct, 3)}${w.nsPerSwitch ? `; ${fint(w.nsPerSwitch)} ns per switch` : ''}` : '']));
      }
      out.push(table(['workload', 'subsystem', 'runs/s', 'ns/run', '% of one CPU', 'all programs'], rows), '');
      const progRows = [];
      for (const w of ov.bpf) for (const p of w.programs.filter((x) => x.runsPerS >= 1).sort((a, b) => b.cpuPct - a.cpuPct)) progRows.push([w.workload, p.prog, p.subsystem, fint(p.runsPerS), fint(p.nsPerRun), pct(p.cpuPct, 3)]);
      out.push('<details><summary>Per program</summary>', '', table(['workload', 'program', 'subsystem', 'runs/s', 'ns/run', '% of one CPU'], progRows), '', '</details>', '');
    }
  }
  if (ov.throughput) {
    const t = ov.throughput;
    out.push('### Context-switch worst case: throughput lost while ebtop runs', '');
    if (t.na) out.push(`n/a: ${t.na}`, '');
    else {
      const rows = [];
      const p = t.pipePinned;
      const fmtOps = (xs) => fint(median(xs));
      rows.push(['perf bench sched pipe, pinned to CPU 0 (ops/s)', fmtOps(p.ops.none), `minimal pair ${fmtOps(p.ops.minimal)}; ebtop ${fmtOps(p.ops.ebtop)}`, `minimal ${pct(p.lossMinimal * 100, 1)}; ebtop ${pct(p.lossEbtop * 100, 1)}; ratio ${p.ratio === null ? 'n/a' : `${p.ratio.toFixed(2)}×`}`]);
      out.push(table(['workload', 'without ebtop', 'with ebtop', 'loss (median of per-round losses)'], rows), '');
      out.push(
        `Context-switch worst case: ${p.ops.none.length} interleaved rounds of none / minimal pair / ebtop with every subsystem (as it runs: its BPF statistics sampled). The minimal pair (\`bench/minimal.bpf.c\`) stores a timestamp in task-local storage at sched_switch and at sched_wakeup, nothing else. Losses per round: minimal ${p.lossesMinimal.map((x) => (x * 100).toFixed(1)).join(', ')}; ebtop ${p.lossesEbtop.map((x) => (x * 100).toFixed(1)).join(', ')} (%). BPF run time per context switch (all programs, statistics on, separate runs): minimal ${fint(t.pipeNs?.minimal)} ns, ebtop ${fint(t.pipeNs?.ebtop)} ns.`,
        '',
      );
    }
  }
  if (ov.busy) out.push(...busySection(ov.busy));
  if (ov.budget) out.push(...budgetSection(ov.budget));
  return out;
}

function busySection(b) {
  const out = ['### Whole-tool cost on busy workloads', ''];
  if (b.na) return [...out, `n/a: ${b.na}`, ''];
  out.push(
    `Each workload ${b.rounds > 1 ? `in ${b.rounds} interleaved rounds` : 'once'} three ways, ${b.seconds} s each: without ebtop, with the TUI (default columns, 200×50 in tmux, \`-d 1\`) and with \`ebtop --json -d 1\`, both with every source attached (\`--budget 0\`), measured from ${b.warmup} s after ebtop's start. ` +
      'Cost: ebtop\'s BPF programs\' run time (the kernel\'s run statistics, on for the whole section, so every figure here includes their two clock reads per program run) + its process tree\'s CPU (utime+stime and its reaped children\'s, /proc), as a share of all CPU time (CPUs × wall) over the workload\'s run; medians over the rounds. ' +
      'Throughput: the workload\'s own report, change against the run without ebtop in the same round. Machine busy: /proc/stat over the run without ebtop. ' +
      'ebtop\'s own figure: the same cost as its samples report it (system.bpf.run_ns + its own row\'s oncpu_ns).',
    '',
  );
  const rows = [];
  const progs = [];
  for (const w of b.workloads) {
    if (w.na) {
      rows.push([w.name, `n/a: ${w.na}`, '', '', '', '', '', '', '']);
      continue;
    }
    const c = (x) => `**${pct(x.totalPct)}** (${pct(x.bpfPct)} + ${pct(x.procPct)})`;
    rows.push([w.name, amount(w.value, w.unit), pct(w.busyPct, 0), c(w.tuiCost), change(w.tuiChange), c(w.jsonCost), change(w.jsonChange), w.jsonSelf ? pct(w.jsonSelf.totalPct) : 'n/a', verdict(Math.max(w.tuiCost.totalPct, w.jsonCost.totalPct))]);
    progs.push([w.name, w.top.map((p) => `${p.prog} (${p.subsystem}) ${fint(p.nsPerRun)} ns × ${fint(p.runsPerS)}/s = ${pct(p.pct, 2)}`).join('; ')]);
  }
  out.push(table(['workload', 'without ebtop', 'machine busy', 'TUI: cost (BPF + process)', 'TUI: throughput', '--json: cost (BPF + process)', '--json: throughput', "--json: ebtop's own figure", '≤ 2% of all CPU'], rows), '');
  if (progs.length) out.push('The top BPF programs by run time (--json run): ns per run × runs per second = % of all CPU.', '', table(['workload', 'programs'], progs), '');
  return out;
}

function budgetSection(bg) {
  const out = ['### The budget at work', ''];
  if (bg.na) return [...out, `n/a: ${bg.na}`, ''];
  out.push(
    `${bg.name} for ${fx(bg.seconds, 0)} s (${amount(bg.value, bg.unit)}) under \`ebtop --json -d 1 --budget ${bg.budgetPct}\` (the default budget; kernel run statistics on). ` +
      `Cost of each interval the budget judged (from 10 s after ebtop's start, while the workload ran; its own figures, BPF run time + its row's on-CPU time): median ${pct(bg.median)}, 90th percentile ${pct(bg.p90)}, max ${pct(bg.max)}; ${bg.within} of ${bg.intervals.length} within ${bg.budgetPct}% ` +
      `(${bg.intervals.map((x) => x.toFixed(2)).join(' ')}). The whole run from the kernel's statistics and /proc: ${pct(bg.whole.totalPct)} (${pct(bg.whole.bpfPct)} BPF + ${pct(bg.whole.procPct)} process). ` +
      `Shed: ${shedText(bg) || 'nothing'} (intervals with the unit shed at any time in them, while the workload ran, from its start, and in all until the restore); all restored ${bg.restoredAfterS === null ? '**not within 60 s**' : `${fx(bg.restoredAfterS, 1)} s after the workload ended`}. Records lost: ${fint(bg.lost)}.`,
    '',
  );
  if (bg.burners.length) {
    out.push(
      'CPU columns while shedding: burners (`test/workloads/burn`, reaped by `reap`; the hog is killed three intervals after the restore, or 60 s after the workload without one), their on-CPU time summed over ebtop\'s rows against their wait4() rusage (microsecond resolution, two truncated parts: 0 to 2 µs above).',
      '',
      table(['burner', 'rows (shed)', 'wait4 rusage', 'ebtop on-CPU', 'diff', ''], bg.burners.map((b) => [`${b.label ?? 'burn'} (pid ${b.pid})`, `${b.rows} (${b.shedRows})`, `${fint(b.rusageNs)} ns`, `${fint(b.ebtopNs)} ns`, `${fint(b.diffNs)} ns`, b.exact ? 'exact' : '**not exact**'])),
      '',
    );
  }
  return out;
}

function scaleSection(sc) {
  const out = ['## Scale', ''];
  const rows = [];
  const s = sc.storm;
  if (s) rows.push(['Spawn storm: /bin/true 1,000 times a second for 10 s', na(s) ? `n/a: ${s.na}` : `${fint(s.spawned)} spawned (${fint(s.achievedRate)}/s); ${fint(s.exitsReported)} exits reported (${fint(s.withCmdline)} with their argv); ${s.missing} missing`, na(s) ? '' : String(s.lost), na(s) ? '' : `${fx(s.refreshCpuMs, 1)} ms`, na(s) ? '' : mib(s.rss)]);
  const t = sc.threads;
  if (t) rows.push([`${fint(t.threads ?? 10000)} threads (100 processes × 100), idle`, na(t) ? `n/a: ${t.na}` : `JSON: ${fint(t.json.threadsSeen)} threads seen, ${t.json.lostThreads} vanished unseen; TUI and JSON ran`, na(t) ? '' : String(t.json.lost), na(t) ? '' : `TUI ${fx(t.tui.refreshCpuMs, 1)} ms, JSON ${fx(t.json.refreshCpuMs, 1)} ms`, na(t) ? '' : `TUI ${mib(t.tui.rss)}, JSON ${mib(t.json.rss)}`]);
  const c = sc.connections;
  if (c) rows.push([`${fint(c.n)} TCP connections over loopback, open at once`, na(c) ? `n/a: ${c.na}` : `tcp_active: client ${fint(c.client)}, server ${fint(c.server)}; \`ss\` ${fint(c.ss)}; table peak ${fint(c.tracked)}, overflow ${c.overflow}`, na(c) ? '' : String(c.lost), na(c) ? '' : `${fx(c.refreshCpuMs, 1)} ms`, na(c) ? '' : mib(c.rss)]);
  if (rows.length) out.push(table(['case', 'result', 'records lost', 'CPU per refresh', 'RSS'], rows), '');
  out.push('Records lost: system.bpf.lost (ring buffer full, bounded map full, dropped in userspace), summed over the run. CPU per refresh: all of ebtop\'s threads over the samples once warm.', '');
  return out;
}

function envLine(e, mode) {
  return `${e.date} · Linux ${e.kernel} · ${e.ncpu} CPUs (${e.cpuModel.trim()}) · ${e.memGiB.toFixed(0)} GiB · Node ${e.node} · ebtop ${e.git ?? ''} · ${e.procs} processes at start, load ${e.loadavg.map((x) => x.toFixed(2)).join(' ')} · ${mode} run`;
}

function header(res) {
  const line = envLine(res.env, res.mode);
  if (!res.merged) return line;
  // BENCH_MERGE: these sections from this run, the rest from the earlier one (each figure within one run)
  return `${line} (sections ${res.merged.sections.join(', ')}); the other sections from ${envLine(res.merged.env, 'full')}`;
}

function report(res) {
  const out = [`# ebtop bench${res.mode === 'quick' ? ' (quick)' : ''}`, '', header(res), '', '## Targets (issue 10)', '', targetTable(res.targets), ''];
  if (res.accuracy && Object.keys(res.accuracy).length) out.push(...accuracySection(res.accuracy));
  if (res.overhead && Object.keys(res.overhead).length) out.push(...overheadSection(res.overhead));
  if (res.scale && Object.keys(res.scale).length) out.push(...scaleSection(res.scale));
  out.push('Tools under test run with sudo\'s environment (env_reset): this machine\'s shell sets NODE_EXTRA_CA_CERTS, which makes every Node process parse a CA bundle at start (~25 ms of CPU), and `sudo ebtop` never sees it.');
  return out.join('\n');
}

const BEGIN = '<!-- bench:begin (generated by `make bench` from bench/results.json; do not edit by hand) -->';
const END = '<!-- bench:end -->';

/** README's generated region: the targets and the headline tables. */
function readmeRegion(res) {
  const out = [BEGIN, '', `Last run: ${header(res)}. Full report: [bench/results.md](bench/results.md).`, '', targetTable(res.targets), ''];
  const tui = res.overhead?.tui || {};
  const tuiRows = [];
  const anyTui = Object.values(tui).find((t) => !na(t));
  for (const t of Object.values(tui)) if (!na(t)) for (const x of Object.values(t.tools)) tuiRows.push([`~${t.procs}`, x.name, pct(x.first15), pct(x.first60), pct(x.after), mib(x.rss)]);
  if (tuiRows.length) out.push(`Userspace CPU at 1 s refresh (TUIs in tmux, % of one core, medians of interleaved rounds; windows from start: first 15 s, first ${anyTui?.firstWindow} s, then ${anyTui?.firstWindow}–${anyTui?.seconds} s):`, '', table(['processes', 'tool', 'first 15 s', 'first 60 s', 'after', 'RSS'], tuiRows), '');
  const tp = res.overhead?.throughput;
  if (tp && !tp.na) out.push(`Context-switch worst case, perf bench sched pipe pinned to one CPU: throughput lost ${pct(tp.pipePinned.lossEbtop * 100, 1)} with ebtop, ${pct(tp.pipePinned.lossMinimal * 100, 1)} with the minimal pair (every subsystem on).`, '');
  const busy = res.overhead?.busy;
  if (busy && !busy.na && busy.workloads.length) {
    const rows = busy.workloads.map((w) => (w.na ? [w.name, 'n/a', 'n/a', 'n/a', '', `n/a: ${w.na}`] : [w.name, amount(w.value, w.unit), pct(w.tuiCost.totalPct), pct(w.jsonCost.totalPct), `${change(w.tuiChange)} / ${change(w.jsonChange)}`, verdict(Math.max(w.tuiCost.totalPct, w.jsonCost.totalPct))]));
    out.push(
      `Whole-tool cost on busy workloads (ebtop's BPF run time + its process tree's CPU, % of all CPU over each ${busy.seconds} s run; TUI with default columns and --json, every source attached):`,
      '',
      table(['workload', 'without ebtop', 'TUI', '--json', 'throughput TUI / --json', '≤ 2% (goal 1%)'], rows),
      '',
    );
  }
  const bg = res.overhead?.budget;
  if (bg && !bg.na) out.push(`The budget at work (${bg.name}, --budget ${bg.budgetPct}): cost per interval median ${pct(bg.median)}, ${bg.within}/${bg.intervals.length} intervals within, max ${pct(bg.max)}; shed ${shedText(bg) || 'nothing'}; restored ${bg.restoredAfterS === null ? 'not within 60 s' : `${fx(bg.restoredAfterS, 1)} s after`}; burners' CPU ${bg.burners.every((x) => x.exact) ? 'exact' : '**not exact**'} (${bg.burners.map((x) => `${fint(x.diffNs)} ns`).join(', ')} against wait4).`, '');
  const bpf = res.overhead?.bpf;
  if (bpf && !bpf.na) {
    const rows = [];
    for (const w of bpf) {
      const subs = Object.entries(w.subsystems).sort((a, b) => b[1].cpuPct - a[1].cpuPct);
      rows.push([w.workload, subs.map(([n, s]) => `${n} ${fint(s.nsPerRun)} ns × ${fint(s.runsPerS)}/s`).join('; '), pct(w.totalCpuPct, 3)]);
    }
    out.push('BPF run time (kernel statistics on while measuring):', '', table(['workload', 'per subsystem: ns per run × runs per second', '% of one CPU'], rows), '');
  }
  const acc = res.accuracy || {};
  const accRows = [];
  if (acc.short && !acc.short.na) for (const r of acc.short.rows) accRows.push(['300 × 20 ms processes: CPU attributed', r.tool, pct(r.value, 2)]);
  if (acc.cpu && !acc.cpu.na) for (const r of acc.cpu.rows) accRows.push([`stress-ng --cpu 2 (kernel: ${fx(acc.cpu.truth.value, 1)}%)`, r.tool, `${fx(r.value, 1)}%`]);
  if (acc.iperf && !acc.iperf.na) for (const r of acc.iperf.rows) accRows.push(['iperf3 bytes vs its report', r.tool, signedPct(r.vsTruth, 4)]);
  if (acc.retrans && !acc.retrans.na) for (const r of acc.retrans.rows) accRows.push([`retransmits vs iperf3 (${fint(acc.retrans.truth.value)})`, r.tool, signedPct(r.vsTruth, 2)]);
  if (accRows.length) out.push('Accuracy against the tools users pick instead (fio and off-CPU: see the report):', '', table(['check', 'tool', 'result'], accRows), '');
  out.push(END);
  return out.join('\n');
}

function updateReadme(file, res) {
  const text = fs.readFileSync(file, 'utf8');
  const a = text.indexOf('<!-- bench:begin');
  const b = text.indexOf(END);
  const region = readmeRegion(res);
  if (a < 0 || b < a) throw new Error(`${file}: no bench:begin / bench:end markers`);
  fs.writeFileSync(file, text.slice(0, a) + region + text.slice(b + END.length));
}

module.exports = { targets, report, updateReadme, readmeRegion };
