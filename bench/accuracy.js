// `make bench`, accuracy: ebtop against the tool a user would run instead,
// on the same workload in the same window, both against the workload's own
// report (or the kernel's exact counters where the workload has none).
// Each check returns { id, title, truth, rows: [{tool, value, vsTruth, note}],
// targets: [{name, target, value, met, quick}] }; bench.js renders them.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const L = require('./lib');
const T = require('./tools');

const rel = (a, b) => (b ? (a - b) / b : null);
const pctOf = (a, b) => (b ? (a / b) * 100 : null);

/** Sum of a process field over ebtop samples for the given pids (a Set), or rows matching `pick`. */
function ebtopSum(samples, field, pick) {
  let n = 0;
  for (const s of samples) for (const p of s.processes) if (pick(p)) n += p[field] ?? 0;
  return n;
}

/** Mean over samples of the per-sample sum of `field` for rows matching pick. */
function meanOfSums(samples, field, pick) {
  if (!samples.length) return null;
  let total = 0;
  for (const s of samples) for (const r of s.rows ?? s.processes) if (pick(r)) total += r[field] ?? 0;
  return total / samples.length;
}

/** On-CPU ns of the processes of a process group so far (/proc/<pid>/schedstat of each of their threads). */
function groupCpuNs(pgid) {
  let ns = 0;
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const f = L.statFields(e);
    if (!f || Number(f[2]) !== pgid) continue;
    let tids = [];
    try {
      tids = fs.readdirSync(`/proc/${e}/task`);
    } catch {
      continue;
    }
    for (const t of tids) ns += Number((L.readText(`/proc/${e}/task/${t}/schedstat`) || '0').split(' ')[0]);
  }
  return ns;
}

/** Start the comparison tools that exist here; missing ones are listed. */
function startTools(wanted) {
  const running = {};
  const missing = [];
  for (const [key, make, exe] of wanted) {
    if (!T.available(exe)) missing.push(exe);
    else running[key] = make();
  }
  return { running, missing, stop: () => Promise.all(Object.values(running).map((t) => t.stop())) };
}

// ------------------------------------------------------------------ CPU% of stress-ng --cpu 2

async function cpuStress(cfg) {
  if (!T.available('stress-ng')) return { id: 'cpu', title: 'stress-ng --cpu 2: CPU%', na: 'stress-ng not installed' };
  L.progress('accuracy: stress-ng --cpu 2 (CPU% vs top, htop, pidstat)');
  const e = L.ebtopJson(['-d', '1']);
  await e.waitSamples(1);
  const secs = cfg.quick ? 6 : 12;
  const stress = L.start('stress-ng', ['--cpu', '2', '--timeout', `${secs}s`, '--metrics-brief'], { group: true, label: 'stress-ng' });
  await L.sleep(700);
  // its processes: the group it leads (the parent and its workers)
  const pids = new Set();
  for (const e of fs.readdirSync('/proc')) if (/^\d+$/.test(e) && Number(L.statFields(e)?.[2]) === stress.pid) pids.add(Number(e));
  const tools = startTools([
    ['top', T.top, 'top'],
    ['htop', () => T.htop(['-p', [...pids].join(',')]), 'htop'],
    ['pidstat', () => T.pidstat('cpu'), 'pidstat'],
  ]);
  await L.sleep(1300);
  const w0 = L.hr();
  const t0 = groupCpuNs(stress.pid);
  await L.sleep((secs - 4) * 1000);
  const w1 = L.hr();
  const t1 = groupCpuNs(stress.pid);
  await stress.exited;
  await L.sleep(1200);
  await tools.stop();
  await e.stop();
  const truth = ((t1 - t0) / (w1 - w0)) * 100;
  // stress-ng's own figure for its whole run: usr + sys time over real time (--metrics-brief)
  const m = /cpu\s+\d+\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)/.exec(stress.err + stress.out);
  const own = m ? ((Number(m[2]) + Number(m[3])) / Number(m[1])) * 100 : null;
  const isStress = (r) => pids.has(r.pid);
  // tool samples whose 1 s lie inside the window
  const inWin = (samples) => T.within(samples, w0 + 1e9, w1);
  const rows = [{ tool: 'ebtop --json -d 1', value: meanOfSums(inWin(e.samples), 'cpu_pct', isStress), samples: inWin(e.samples).length }];
  for (const [key, t] of Object.entries(tools.running)) rows.push({ tool: t.name, value: meanOfSums(inWin(t.samples), 'cpu', isStress), samples: inWin(t.samples).length });
  for (const r of rows) r.vsTruth = r.value === null ? null : r.value - truth;
  return {
    id: 'cpu',
    title: 'stress-ng --cpu 2: CPU% of its processes',
    unit: '% of one CPU',
    truth: { label: 'kernel on-CPU ns of its processes over the same window (schedstat)', value: truth, also: own === null ? null : `stress-ng's own usr+sys/real over its run: ${own.toFixed(1)}%` },
    rows,
    missing: tools.missing,
    vsLabel: 'error (points)',
    targets: [{ name: 'ebtop CPU% of stress-ng --cpu 2 within 5 points of the kernel\'s', target: '±5', value: rows[0].vsTruth, met: rows[0].value !== null && Math.abs(rows[0].vsTruth) <= 5 }],
  };
}

// ------------------------------------------------------------------ 300 short-lived processes

async function shortLived(cfg) {
  L.progress('accuracy: 300 processes of 20 ms (CPU each tool attributes, wait4 truth)');
  const e = L.ebtopJson(['-d', '1']);
  await e.waitSamples(1);
  const tools = cfg.quick
    ? { running: {}, missing: [], stop: async () => {} }
    : startTools([
        ['top', T.top, 'top'],
        ['htop', () => T.htop(['-F', 'burn']), 'htop'],
        ['pidstat', () => T.pidstat('cpu'), 'pidstat'],
      ]);
  await L.sleep(1500);
  const w0 = L.hr();
  const r = await L.run(L.WORKLOAD('spawner'), ['300', '20', L.WORKLOAD('burn')]);
  const report = JSON.parse(r.stdout);
  await e.sampleAfter(L.hr() + 100e6);
  const w1 = L.hr();
  await L.sleep(1200);
  await tools.stop();
  await e.stop();
  const children = new Set(report.children);
  const truth = report.rusage_ns;
  const got = ebtopSum(e.samples, 'oncpu_ns', (p) => children.has(p.pid));
  const exits = new Set();
  for (const s of e.samples) for (const p of s.processes) if (children.has(p.pid) && p.exited) exits.add(p.pid);
  const rows = [{ tool: 'ebtop --json -d 1', value: pctOf(got, truth), note: `${exits.size}/300 exits reported` }];
  const isBurn = (x) => children.has(x.pid);
  for (const t of Object.values(tools.running)) {
    // each sample: % of one CPU over its ~1 s
    const ns = T.within(t.samples, w0, w1 + 1e9).reduce((n, s) => n + s.rows.filter(isBurn).reduce((m, x) => m + x.cpu, 0) * 1e7, 0);
    rows.push({ tool: t.name, value: pctOf(ns, truth) });
  }
  return {
    id: 'short',
    title: '300 processes of 20 ms CPU each: share of their CPU time attributed',
    unit: '% of wait4() rusage',
    truth: { label: 'the parent\'s wait4() rusage of the 300 children', value: truth / 1e6, unitTruth: 'ms' },
    rows,
    missing: tools.missing,
    targets: [{ name: 'short-lived CPU attributed (300 × 20 ms)', target: '≥ 99%', value: rows[0].value, met: rows[0].value >= 99, quick: true }],
  };
}

// ------------------------------------------------------------------ fio

/** A directory on the disk (not tmpfs) for fio's files. */
function diskDir() {
  for (const base of ['/var/tmp', L.ROOT]) {
    try {
      const d = fs.mkdtempSync(path.join(base, 'ebtop-bench-fio-'));
      L.atCleanup(() => fs.rmSync(d, { recursive: true, force: true }));
      return d;
    } catch {
      /* next */
    }
  }
  throw new Error('no writable directory on disk for fio');
}

function blockStat(dev) {
  const f = (L.readText(`/sys/block/${dev}/stat`) || '').trim().split(/\s+/).map(Number);
  // reads merges sectors ticks(ms) writes merges sectors ticks ...
  return { reads: f[0], rticks: f[3], writes: f[4], wticks: f[7] };
}

// Each job runs ~4 s (rate-limited or time-based) so that tools sampling
// every second have something to see.
const FIO_JOBS = {
  direct_write: { label: 'direct sequential write, bs 1 MiB, 64 MiB/s for 4 s', args: ['--rw=write', '--bs=1M', '--size=256M', '--rate=64m', '--direct=1'], dir: 'write' },
  direct_read: { label: 'direct random read, bs 4 KiB, 4 s', args: ['--rw=randread', '--bs=4k', '--size=64M', '--direct=1', '--time_based', '--runtime=4'], dir: 'read' },
  buffered_write: { label: 'buffered write, bs 64 KiB, 32 MiB/s for 4 s, then fsync', args: ['--rw=write', '--bs=64k', '--size=128M', '--rate=32m', '--end_fsync=1'], dir: 'write' },
  buffered_read: { label: 'buffered read, cold cache, bs 64 KiB, 32 MiB/s for 4 s', args: ['--rw=read', '--bs=64k', '--size=128M', '--rate=32m', '--invalidate=1'], dir: 'read' },
};

async function fio(cfg) {
  if (!T.available('fio')) return { id: 'fio', title: 'fio', na: 'fio not installed' };
  L.progress('accuracy: fio direct and buffered (bytes and latency vs fio, pidstat -d, iotop, iostat)');
  const dir = diskDir();
  const dev = T.diskOf(dir);
  const phases = [];
  const jobs = cfg.quick ? ['direct_write', 'direct_read', 'buffered_write', 'buffered_read'] : Object.keys(FIO_JOBS);
  for (const name of jobs) {
    const job = FIO_JOBS[name];
    const e = L.ebtopJson(['-d', '1']);
    await e.waitSamples(1);
    const tools = cfg.quick
      ? { running: {}, missing: [], stop: async () => {} }
      : startTools([
          ['pidstat', () => T.pidstat('disk'), 'pidstat'],
          ['iotop', T.iotop, 'iotop'],
          ...(dev ? [['iostat', () => T.iostat(dev), 'iostat']] : []),
        ]);
    await L.sleep(1200);
    const b0 = dev ? blockStat(dev) : null;
    const w0 = L.hr();
    // direct and buffered jobs each on their own file; a buffered write starts a fresh one
    // (a read job then reads exactly the file the write left, no layout, no readahead past it)
    const file = path.join(dir, name.startsWith('direct') ? 'direct' : 'buffered');
    if (name === 'buffered_write') fs.rmSync(file, { force: true });
    const r = await L.run('fio', ['--name=bench', `--filename=${file}`, '--ioengine=psync', '--output-format=json', ...job.args]);
    const w1 = L.hr();
    const b1 = dev ? blockStat(dev) : null;
    // writeback after fio exits is charged to it as a late row: give the flushers a moment
    await e.sampleAfter(L.hr() + 1500e6);
    await L.sleep(1100);
    await tools.stop();
    await e.stop();
    const rep = JSON.parse(r.stdout.slice(r.stdout.indexOf('{')));
    const j = rep.jobs[0];
    const side = j[job.dir];
    // fio forks a process per job: its parent (the one we started) reads and
    // writes a little of its own (/proc, its output); the job's process is its
    // child. By pid, never by name: other fio runs may share the machine.
    const jobPids = new Set();
    for (const s of e.samples) for (const p of s.processes) if (p.ppid === r.pid) jobPids.add(p.pid);
    const fioPids = new Set([r.pid, ...jobPids]);
    const pick = (p) => jobPids.has(p.pid);
    const eb = {
      disk: ebtopSum(e.samples, job.dir === 'read' ? 'disk_read_bytes' : 'disk_write_bytes', pick),
      writeback: ebtopSum(e.samples, 'writeback_bytes', pick),
      dirtied: ebtopSum(e.samples, 'dirtied_bytes', pick),
      fsRead: ebtopSum(e.samples, 'fs_read_bytes', pick),
      ios: ebtopSum(e.samples, job.dir === 'read' ? 'disk_reads' : 'disk_writes', pick),
    };
    // latency: requests' average, weighted by their count per interval
    let latSum = 0;
    let latN = 0;
    for (const s of e.samples)
      for (const p of s.processes)
        if (pick(p) && p.io_lat_avg_ns !== null && p.io_lat_avg_ns !== undefined) {
          const n = (p.disk_reads ?? 0) + (p.disk_writes ?? 0) + 0;
          latSum += p.io_lat_avg_ns * Math.max(1, n);
          latN += Math.max(1, n);
        }
    const bytes = side.io_bytes;
    // What ebtop reports for the bytes fio moved: block-layer bytes for direct
    // I/O and for a cold buffered read; for a buffered write, the page-cache
    // bytes it dirtied (then block layer + writeback: what reached the disk for it).
    const rowsB =
      name === 'buffered_write'
        ? [
            { tool: 'ebtop dirtied_bytes', value: eb.dirtied, vsTruth: rel(eb.dirtied, bytes) },
            { tool: 'ebtop disk_write_bytes + writeback_bytes', value: eb.disk + eb.writeback, vsTruth: rel(eb.disk + eb.writeback, bytes) },
          ]
        : [{ tool: `ebtop ${job.dir === 'read' ? 'disk_read_bytes' : 'disk_write_bytes'}`, value: eb.disk, vsTruth: rel(eb.disk, bytes) }];
    if (name === 'buffered_read') rowsB.push({ tool: 'ebtop fs_read_bytes (page cache, page granular)', value: eb.fsRead, vsTruth: rel(eb.fsRead, bytes) });
    const perProc = (t, key) => T.within(t.samples, w0, w1 + 1.5e9).reduce((n, s) => n + s.rows.filter((x) => fioPids.has(x.pid)).reduce((m, x) => m + x[key] * 1024, 0), 0);
    const kb = job.dir === 'read' ? 'rdKBs' : 'wrKBs';
    for (const key of ['pidstat', 'iotop']) if (tools.running[key]) rowsB.push({ tool: tools.running[key].name, value: perProc(tools.running[key], kb), vsTruth: rel(perProc(tools.running[key], kb), bytes) });
    if (tools.running.iostat) {
      const kbs = T.within(tools.running.iostat.samples, w0, w1 + 1.5e9).reduce((n, s) => n + (job.dir === 'read' ? s.readKB : s.writeKB), 0);
      rowsB.push({ tool: `${tools.running.iostat.name} (whole device)`, value: kbs * 1024, vsTruth: rel(kbs * 1024, bytes) });
    }
    const dReq = b0 && b1 ? (job.dir === 'read' ? b1.reads - b0.reads : b1.writes - b0.writes) : 0;
    const dTicks = b0 && b1 ? (job.dir === 'read' ? b1.rticks - b0.rticks : b1.wticks - b0.wticks) : 0;
    phases.push({
      name,
      label: job.label,
      fio: { bytes, ios: side.total_ios, clatMeanNs: side.clat_ns?.mean ?? null, latMeanNs: side.lat_ns?.mean ?? null },
      rows: rowsB,
      ebtop: { ...eb, latAvgNs: latN ? latSum / latN : null },
      device: dReq > 0 ? { avgNs: (dTicks / dReq) * 1e6, requests: dReq } : null,
      missing: tools.missing,
    });
  }
  const bytesOk = (p) => p.rows[0].vsTruth !== null && Math.abs(p.rows[0].vsTruth) <= 0.001;
  return {
    id: 'fio',
    title: 'fio: bytes and latency',
    phases,
    targets: [
      {
        name: 'fio bytes within 0.1% (direct and buffered, read and write)',
        target: '≤ 0.1%',
        value: Math.max(...phases.map((p) => Math.abs(p.rows[0].vsTruth ?? 1))) * 100,
        met: phases.every(bytesOk),
        quick: true,
      },
    ],
  };
}

// ------------------------------------------------------------------ iperf3 over loopback

function freePort() {
  return 20000 + Math.floor(Math.random() * 20000);
}

async function listening(port, netns) {
  const until = Date.now() + 10000;
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  while (Date.now() < until) {
    for (const f of ['tcp', 'tcp6']) {
      const text = L.readText(netns ? `/proc/${netns}/net/${f}` : `/proc/net/${f}`) || '';
      for (const line of text.split('\n')) if (line.includes(hex) && / 0A /.test(line)) return;
    }
    await L.sleep(50);
  }
  throw new Error(`nothing listens on port ${port}`);
}

async function iperf(cfg) {
  if (!T.available('iperf3')) return { id: 'iperf', title: 'iperf3', na: 'iperf3 not installed' };
  L.progress('accuracy: iperf3 over loopback (bytes vs iperf3 and nethogs; connections vs ss)');
  const port = freePort();
  const e = L.ebtopJson(['-d', '1', '--connections']);
  await e.waitSamples(1);
  const tools = cfg.quick ? { running: {}, missing: [], stop: async () => {} } : startTools([['nethogs', () => T.nethogs('lo'), 'nethogs']]);
  await L.sleep(1000);
  const server = L.start('iperf3', ['-s', '-1', '-p', String(port), '-J'], { label: 'iperf3 -s' });
  await listening(port);
  const client = L.start('iperf3', ['-c', '127.0.0.1', '-p', String(port), '-t', cfg.quick ? '3' : '5', '-J'], { label: 'iperf3 -c' });
  // the connection list, both ways, while it runs
  let listCheck = null;
  if (!cfg.quick) {
    await L.sleep(2500);
    const ss = (await T.ssConnections()).filter((c) => c.includes(`:${port} `) || c.endsWith(`:${port}`));
    const s = await e.sampleAfter(L.hr());
    const mine = new Set();
    for (const p of s.processes) if (p.pid === client.pid || p.pid === server.pid) for (const c of p.connections ?? []) if (c.state === 'ESTABLISHED' || c.state === 'established' || !c.closed) mine.add(`${T.norm(`${c.laddr}:${c.lport}`)} ${T.norm(`${c.raddr}:${c.rport}`)}`);
    const ssSet = new Set(ss);
    listCheck = { ss: ssSet.size, ebtop: mine.size, both: [...ssSet].filter((x) => mine.has(x)).length, onlySs: [...ssSet].filter((x) => !mine.has(x)), onlyEbtop: [...mine].filter((x) => !ssSet.has(x)) };
  }
  const cr = await client.exited;
  const sr = await server.exited;
  if (cr.code !== 0 || sr.code !== 0) throw new Error(`iperf3 failed: ${client.err || server.err}`);
  await e.sampleAfter(L.hr() + 100e6);
  await L.sleep(1200);
  await tools.stop();
  await e.stop();
  const crep = JSON.parse(client.out);
  const srep = JSON.parse(server.out);
  const sent = crep.end.sum_sent.bytes;
  const received = srep.end.sum_received.bytes;
  const tx = ebtopSum(e.samples, 'tcp_tx_bytes', (p) => p.pid === client.pid);
  const rx = ebtopSum(e.samples, 'tcp_rx_bytes', (p) => p.pid === server.pid);
  const rows = [
    { tool: 'ebtop: client tcp_tx_bytes', value: tx, vsTruth: rel(tx, sent), truth: sent },
    { tool: 'ebtop: server tcp_rx_bytes', value: rx, vsTruth: rel(rx, received), truth: received },
  ];
  const nh = tools.running.nethogs;
  if (nh && nh.samples.length) {
    const last = nh.samples[nh.samples.length - 1].rows;
    const cl = last.find((x) => x.pid === client.pid);
    const sv = last.find((x) => x.pid === server.pid);
    rows.push({ tool: `${nh.name}: client sent`, value: cl ? cl.sent : 0, vsTruth: rel(cl ? cl.sent : 0, sent), truth: sent });
    rows.push({ tool: `${nh.name}: server received`, value: sv ? sv.received : 0, vsTruth: rel(sv ? sv.received : 0, received), truth: received });
  }
  const worst = Math.max(Math.abs(rows[0].vsTruth), Math.abs(rows[1].vsTruth));
  return {
    id: 'iperf',
    title: 'iperf3 over loopback: bytes',
    truth: { label: 'iperf3\'s own report (client sum_sent, server sum_received)', sent, received },
    rows,
    connections: listCheck,
    missing: tools.missing,
    targets: [{ name: 'iperf3 bytes within 0.1%', target: '≤ 0.1%', value: worst * 100, met: worst <= 0.001, quick: true }],
  };
}

// ------------------------------------------------------------------ retransmits in a private namespace

async function retransmits() {
  for (const exe of ['iperf3', 'nft', 'ip', 'nstat']) if (!T.available(exe)) return { id: 'retrans', title: 'TCP retransmits', na: `${exe} not installed` };
  L.progress('accuracy: retransmits under 1% loss in a private namespace (vs iperf3 and nstat)');
  const tag = `ebb${process.pid % 10000}`;
  const [nsA, nsB] = [`${tag}a`, `${tag}b`];
  const ip = (...a) => L.run('ip', a);
  L.atCleanup(() => {
    for (const ns of [nsA, nsB]) {
      try {
        require('child_process').execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        /* gone */
      }
    }
  });
  await ip('netns', 'add', nsA);
  await ip('netns', 'add', nsB);
  await ip('link', 'add', `${tag}x`, 'netns', nsA, 'type', 'veth', 'peer', 'name', `${tag}y`, 'netns', nsB);
  await ip('-n', nsA, 'addr', 'add', '10.204.0.1/24', 'dev', `${tag}x`);
  await ip('-n', nsB, 'addr', 'add', '10.204.0.2/24', 'dev', `${tag}y`);
  for (const [ns, dev] of [[nsA, `${tag}x`], [nsB, `${tag}y`]]) {
    await ip('-n', ns, 'link', 'set', dev, 'up');
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
  }
  const port = freePort();
  const rules = path.join(L.tmp(), 'loss.nft');
  // drop 1% of the data segments arriving at the server
  fs.writeFileSync(rules, `table inet ebtopbench {\n chain in {\n  type filter hook input priority 0;\n  tcp dport ${port} meta length > 1000 numgen random mod 100 < 1 drop\n }\n}\n`);
  await L.run('ip', ['netns', 'exec', nsB, 'nft', '-f', rules]);
  const e = L.ebtopJson(['-d', '1']);
  await e.waitSamples(1);
  const server = L.start('ip', ['netns', 'exec', nsB, 'iperf3', '-s', '-1', '-p', String(port), '-J'], { label: 'iperf3 -s (netns)' });
  await listening(port, server.pid);
  const n0 = await T.retransSegs(nsA);
  const c = await L.run('ip', ['netns', 'exec', nsA, 'iperf3', '-c', '10.204.0.2', '-p', String(port), '-t', '4', '-J']);
  await server.exited;
  const n1 = await T.retransSegs(nsA);
  await e.sampleAfter(L.hr() + 100e6);
  await e.stop();
  const rep = JSON.parse(c.stdout);
  const truth = rep.end.sum_sent.retransmits;
  // the client is the iperf3 process ip netns exec became (same pid)
  const got = ebtopSum(e.samples, 'tcp_retransmits', (p) => p.pid === c.pid);
  const unattributed = e.samples.reduce((n, s) => n + (s.system.net?.unattributed_retransmits ?? 0), 0);
  const nstat = n0 === null || n1 === null ? null : n1 - n0;
  const rows = [
    { tool: 'ebtop: client tcp_retransmits', value: got, vsTruth: rel(got, truth) },
    { tool: 'nstat TcpRetransSegs (client namespace)', value: nstat, vsTruth: nstat === null ? null : rel(nstat, truth) },
  ];
  return {
    id: 'retrans',
    title: 'TCP retransmits under 1% loss (nftables, private network namespaces)',
    truth: { label: 'iperf3\'s sum_sent.retransmits', value: truth },
    rows,
    note: `unattributed retransmits in the same window: ${unattributed}`,
    targets: [{ name: 'retransmits within 2% of iperf3', target: '≤ 2%', value: Math.abs(rows[0].vsTruth ?? 1) * 100, met: Math.abs(rows[0].vsTruth ?? 1) <= 0.02 }],
  };
}

// ------------------------------------------------------------------ off-CPU categories vs stacks

// [workload, mode, expected reason]: waiter.c's seven, then the zoo (test/workloads/zoo.c;
// its list, test/workloads/zoo.json, is test/kernel/zoo.test.ts's): every common way a process blocks
const WAITERS = [
  ['waiter', 'sleep', 'sleep'],
  ['waiter', 'pipe', 'pipe'],
  ['waiter', 'unix', 'pipe'],
  ['waiter', 'lock', 'lock'],
  ['waiter', 'tcp', 'net'],
  ['waiter', 'epoll', 'poll'],
  ['waiter', 'disk', 'disk'],
  ...JSON.parse(fs.readFileSync(path.join(L.ROOT, 'test', 'workloads', 'zoo.json'), 'utf8'))
    .filter((z) => !z.needs || fs.existsSync(z.needs))
    .map((z) => ['zoo', z.mode, z.reason]),
];

async function offcpu() {
  L.progress('accuracy: off-CPU categories of known workloads vs their stacks (ebtop offcpu)');
  const rows = [];
  const dir = diskDir();
  for (const [prog, kind, expect] of WAITERS) {
    const w = L.start(L.WORKLOAD(prog), [kind, '6', ...(kind === 'disk' || prog === 'zoo' ? [dir] : [])], { label: `${prog} ${kind}` });
    const rep = await L.firstJsonLine(w);
    const e = L.ebtopJson(['-d', '1', '--threads', '-p', String(rep.pid)]);
    await e.waitSamples(1);
    const st = await L.run(L.EBTOP, ['offcpu', '-p', String(rep.pid), '-d', '3', '--min-block', '0.05', '--folded'], { sudoEnv: true, check: false });
    await e.sampleAfter(L.hr());
    await e.stop();
    await w.stop();
    // the wait subsystem: the whole process's off-CPU time by reason, and the named threads'
    const tids = new Set(rep.tids);
    const proc = {};
    const named = {};
    for (const s of e.samples.slice(1)) {
      for (const p of s.processes) {
        if (p.pid !== rep.pid) continue;
        for (const [k, v] of Object.entries(p.wait ?? {})) proc[k.replace(/_ns$/, '')] = (proc[k.replace(/_ns$/, '')] ?? 0) + v;
        for (const t of p.threads_detail ?? []) {
          if (!tids.has(t.tid)) continue;
          for (const [k, v] of Object.entries(t.wait ?? {})) named[k.replace(/_ns$/, '')] = (named[k.replace(/_ns$/, '')] ?? 0) + v;
        }
      }
    }
    // the stacks (the whole process): folded lines "comm;[reason];frames ns"
    const stacks = {};
    for (const line of st.stdout.split('\n')) {
      const m = /^[^;]*;\[(\w+)\](?:;.*)? (\d+)$/.exec(line);
      if (m) stacks[m[1]] = (stacks[m[1]] ?? 0) + Number(m[2]);
    }
    const share = (d) => {
      const tot = Object.values(d).reduce((x, y) => x + y, 0);
      return Object.fromEntries(Object.entries(d).map(([k, v]) => [k, tot ? (v / tot) * 100 : 0]));
    };
    const [sp, ss, sn] = [share(proc), share(stacks), share(named)];
    // agreement of the two splits: 100 - total variation distance, in points
    const keys = new Set([...Object.keys(sp), ...Object.keys(ss)]);
    let tv = 0;
    for (const k of keys) tv += Math.abs((sp[k] ?? 0) - (ss[k] ?? 0));
    const top = (d) => Object.entries(d).sort((x, y) => y[1] - x[1])[0]?.[0] ?? null;
    rows.push({
      workload: `${prog} ${kind}`,
      expect,
      named: sn[expect] ?? null,
      wait: sp[expect] ?? 0,
      waitTop: top(sp),
      stacks: ss[expect] ?? 0,
      stacksTop: top(ss),
      agreement: Object.keys(ss).length && Object.keys(sp).length ? 100 - tv / 2 : null,
    });
  }
  return {
    id: 'offcpu',
    title: 'Off-CPU reasons of workloads of known behaviour: wait subsystem vs stacks (ebtop offcpu)',
    rows,
    targets: [
      { name: 'off-CPU reason of the waiting threads of known workloads', target: '≥ 90%', value: Math.min(...rows.map((r) => r.named ?? 0)), met: rows.every((r) => (r.named ?? 0) >= 90) },
      { name: 'off-CPU split of each workload: wait subsystem vs its stacks', target: '≥ 90% agree', value: Math.min(...rows.map((r) => r.agreement ?? 0)), met: rows.every((r) => (r.agreement ?? 0) >= 90) },
    ],
  };
}

module.exports = { cpuStress, shortLived, fio, iperf, retransmits, offcpu, ebtopSum, freePort, listening, diskDir };
void os;
