// The tools a user would run instead of ebtop, started and read the way a
// user reads them, for `make bench`'s accuracy table: top -b, htop (its
// screen in tmux), pidstat -u / -d, iotop-c -b, iostat, nethogs -t, ss, nstat.
// Each runner collects timestamped samples (`at`: lib.hr() when read) until
// stop(); parsing is per tool, nothing else here knows the workloads.
'use strict';

const fs = require('fs');
const path = require('path');
const readline = require('readline');
const L = require('./lib');

/** A line-oriented tool: onLine(line, at) for each line of its stdout. */
function lineTool(cmd, args, onLine, opts = {}) {
  const child = L.start(cmd, args, { sudoEnv: true, env: { LC_ALL: 'C', ...(opts.env || {}) }, lines: true, label: path.basename(cmd) });
  readline.createInterface({ input: child.stdout }).on('line', (line) => onLine(line, L.hr()));
  return child;
}

/** top -b -d 1: per iteration, every process row ({pid, cpu, comm}). */
function top() {
  const samples = [];
  let cur = null;
  const child = lineTool('top', ['-b', '-d', '1', '-w', '512'], (line, at) => {
    if (line.startsWith('top - ')) {
      cur = { at, rows: [] };
      samples.push(cur);
      return;
    }
    const f = line.trim().split(/\s+/);
    if (!cur || f.length < 12 || !/^\d+$/.test(f[0])) return;
    cur.rows.push({ pid: Number(f[0]), cpu: Number(f[8]), comm: f.slice(11).join(' ') });
  });
  return { samples, stop: () => child.stop(), name: 'top -b -d 1' };
}

/** pidstat -u (CPU) or -d (disk) every second: rows per timestamp. */
function pidstat(kind) {
  const samples = [];
  let cur = null;
  let last = '';
  const child = lineTool('pidstat', [kind === 'disk' ? '-d' : '-u', '1'], (line, at) => {
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || !/^\d\d:\d\d:\d\d$/.test(f[0]) || !/^\d+$/.test(f[2])) return;
    if (f[0] !== last) {
      last = f[0];
      cur = { at, rows: [] };
      samples.push(cur);
    }
    // -u: Time UID PID %usr %system %guest %wait %CPU CPU Command
    // -d: Time UID PID kB_rd/s kB_wr/s kB_ccwr/s iodelay Command
    if (kind === 'disk') cur.rows.push({ pid: Number(f[2]), rdKBs: Number(f[3]), wrKBs: Number(f[4]), comm: f.slice(7).join(' ') });
    else cur.rows.push({ pid: Number(f[2]), cpu: Number(f[7]), comm: f.slice(9).join(' ') });
  });
  return { samples, stop: () => child.stop(), name: `pidstat ${kind === 'disk' ? '-d' : '-u'} 1` };
}

/** iotop-c -b -o -P -k -d 1: per iteration, processes that did I/O ({pid, rdKBs, wrKBs}). */
function iotop() {
  const samples = [];
  let cur = null;
  // iotop-c block-buffers a pipe: stdbuf makes it write each line as it goes
  const child = lineTool('stdbuf', ['-oL', 'iotop', '-b', '-o', '-P', '-k', '-d', '1'], (line, at) => {
    if (/^\s*Total DISK READ/.test(line)) {
      cur = { at, rows: [] };
      samples.push(cur);
      return;
    }
    // PID PRIO USER DISK-READ K/s DISK-WRITE K/s SWAPIN IO COMMAND
    const m = /^\s*(\d+)\s+\S+\s+\S+\s+([\d.]+)\s+K\/s\s+([\d.]+)\s+K\/s\s+(.*)$/.exec(line);
    if (cur && m) cur.rows.push({ pid: Number(m[1]), rdKBs: Number(m[2]), wrKBs: Number(m[3]), comm: m[4].replace(/^([\d.]+ % *)+/, '').trim() });
  });
  return { samples, stop: () => child.stop(), name: 'iotop -b -o -P -k -d 1' };
}

/** iostat -d -k -y 1 DEV: per second, the device's kB read and written in that second. */
function iostat(dev) {
  const samples = [];
  const child = lineTool('iostat', ['-d', '-k', '-y', '1', dev], (line, at) => {
    const f = line.trim().split(/\s+/);
    // Device tps kB_read/s kB_wrtn/s kB_dscd/s kB_read kB_wrtn kB_dscd
    if (f[0] === dev && f.length >= 7) samples.push({ at, readKB: Number(f[5]), writeKB: Number(f[6]) });
  });
  return { samples, stop: () => child.stop(), name: `iostat -d -k -y 1 ${dev}` };
}

/** nethogs -t -a -v 2 -d 1 DEV: per refresh, cumulative bytes per program/pid. */
function nethogs(dev = 'lo') {
  const samples = [];
  let cur = null;
  const child = lineTool('nethogs', ['-t', '-a', '-v', '2', '-d', '1', dev], (line, at) => {
    if (line.startsWith('Refreshing:')) {
      cur = { at, rows: [] };
      samples.push(cur);
      return;
    }
    const m = /^(.*)\/(\d+)\/(\d+)\t([\d.e+]+)\t([\d.e+]+)$/.exec(line);
    if (cur && m) cur.rows.push({ prog: m[1], pid: Number(m[2]), sent: Number(m[4]), received: Number(m[5]) });
  });
  return { samples, stop: () => child.stop(), name: `nethogs -t -a -v 2 -d 1 ${dev}` };
}

/**
 * htop in tmux (a fresh default config), its screen captured every second:
 * the rows of the process table ({pid, cpu, comm}). htop has no batch mode;
 * this reads what a user would see. args: e.g. ['-F', 'stress-ng'] or ['-p', '1,2'].
 */
function htop(args = [], { cols = 200, rows = 50 } = {}) {
  const rc = path.join(L.tmp(), `htoprc-${process.hrtime.bigint()}`);
  const t = L.inTmux(`htop -d 10 ${args.join(' ')}`, { cols, rows, env: { HTOPRC: rc } });
  const samples = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const text = t.capture();
      const at = L.hr();
      const lines = text.split('\n');
      const head = lines.findIndex((l) => /\bPID\b.*\bCPU%/.test(l));
      if (head >= 0) {
        const out = [];
        // default columns: PID USER PRI NI VIRT RES SHR S CPU% MEM% TIME+ Command
        // (the title row glues the sort arrow to CPU%: rows are read by position)
        for (const l of lines.slice(head + 1)) {
          const f = l.trim().split(/\s+/);
          if (f.length < 12 || !/^\d+$/.test(f[0]) || !/^[A-Z]$/.test(f[7])) continue;
          out.push({ pid: Number(f[0]), cpu: Number(f[8]), comm: f.slice(11).join(' ') });
        }
        samples.push({ at, rows: out });
      }
      await L.sleep(1000);
    }
  })();
  return {
    samples,
    name: `htop -d 10 ${args.join(' ')} (screen read every second)`,
    stop: async () => {
      stopped = true;
      await loop;
      await t.stop();
    },
  };
}

/** ss -tni: established TCP connections as 4-tuples "laddr:lport raddr:rport". */
async function ssConnections(netnsName) {
  const args = ['-H', '-t', '-n', 'state', 'established'];
  const r = netnsName ? await L.run('ip', ['netns', 'exec', netnsName, 'ss', ...args]) : await L.run('ss', args);
  const out = [];
  for (const line of r.stdout.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    // Recv-Q Send-Q Local:Port Peer:Port
    out.push(`${norm(f[2])} ${norm(f[3])}`);
  }
  return out;
}

/** "[::ffff:127.0.0.1]:80" / "127.0.0.1:80" -> "127.0.0.1:80"; "[::1]:80" -> "::1:80" */
function norm(addrPort) {
  const i = addrPort.lastIndexOf(':');
  let a = addrPort.slice(0, i).replace(/^\[|\]$/g, '');
  a = a.replace(/^::ffff:/, '');
  return `${a}:${addrPort.slice(i + 1)}`;
}

/** nstat's absolute TcpRetransSegs (in a named network namespace, or ours). */
async function retransSegs(netnsName) {
  const args = ['-asz', 'TcpRetransSegs'];
  const r = netnsName ? await L.run('ip', ['netns', 'exec', netnsName, 'nstat', ...args]) : await L.run('nstat', args);
  const m = /^TcpRetransSegs\s+(\d+)/m.exec(r.stdout);
  return m ? Number(m[1]) : null;
}

/** A tool's samples between two hr() times. */
const within = (samples, from, to) => samples.filter((s) => s.at > from && s.at <= to);

function available(cmd) {
  return Boolean(L.findExe(cmd));
}

/** The whole disk a path lives on, as iostat names it ("vda"). */
function diskOf(p) {
  const st = fs.statSync(p);
  const major = Math.floor(st.dev / 256);
  const minor = st.dev % 256;
  try {
    const sys = fs.realpathSync(`/sys/dev/block/${major}:${minor}`);
    const parent = path.dirname(sys);
    const name = fs.existsSync(path.join(sys, 'partition')) ? path.basename(parent) : path.basename(sys);
    return name;
  } catch {
    return null;
  }
}

module.exports = { top, pidstat, iotop, iostat, nethogs, htop, ssConnections, norm, retransSegs, within, available, diskOf };
