#!/usr/bin/env node
// What the net subsystem's BPF programs cost per event, from the kernel's own
// run statistics (run_time_ns / run_cnt per program, bpf_stats enabled by the
// collector): small messages and bulk over TCP, UDP and unix sockets, with the
// 6.3+ hooks and with the sys_exit fallback forced on. No assertions; a
// markdown table on stdout. Run as root after `make build`:
//
//   sudo node bench/net-cost.js        (BENCH_NET_SECONDS=2 per workload)
'use strict';

const cp = require('child_process');
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const { Collector } = require(path.join(ROOT, 'dist', 'collector.js'));
const pino = require('pino');

const SECONDS = Number(process.env.BENCH_NET_SECONDS || 2);
const progress = (msg) => process.stderr.write(`net-cost: ${msg}\n`);

if (process.getuid() !== 0) {
  process.stderr.write('net-cost: needs root\n');
  process.exit(2);
}

/** An iperf3 run: server (-s -1) and client with these arguments. */
function iperf(args) {
  const port = 10000 + Math.floor(Math.random() * 20000);
  const server = cp.spawn('iperf3', ['-s', '-1', '-p', String(port)], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const r = cp.spawnSync('iperf3', ['-c', '127.0.0.1', '-p', String(port), '-t', String(SECONDS), ...args], { stdio: 'ignore' });
    if (r.status === 0) break;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50); // server not up yet
  }
  // it exits after one test; kill it if the client never got through
  server.kill('SIGKILL');
}

const python = (code) => () => cp.spawnSync('python3', ['-c', code], { stdio: 'ignore' });

const WORKLOADS = [
  ['TCP small (iperf3 -l 64)', () => iperf(['-l', '64'])],
  ['TCP bulk (iperf3, 128 KiB writes)', () => iperf([])],
  ['UDP small (iperf3 -u -b 0 -l 64)', () => iperf(['-u', '-b', '0', '-l', '64'])],
  ['unix small (socketpair, 64 B, 300k each way)', python("import socket\na,b=socket.socketpair()\nfor _ in range(300000):\n a.send(b'x'*64); b.recv(64)")],
];
const FALLBACK_EXTRA = [
  ['other syscalls (getppid x 1M): filtered by number', python('import os\nfor _ in range(1000000): os.getppid()')],
  ['file read/write (dd bs=1, 1M each): fd table walked', () => cp.spawnSync('dd', ['if=/dev/zero', 'of=/dev/null', 'bs=1', 'count=1000000'], { stdio: 'ignore' })],
];

function stats(c) {
  // the collector's native handle and object: private, read here for per-program figures
  const out = new Map();
  for (const p of c.native.progStats(c.obj)) out.set(p.name, { ns: Number(p.runTimeNs), n: Number(p.runCount) });
  return out;
}

function measure(title, features, programs, workloads) {
  const c = Collector.open({ log: pino({ level: 'silent' }), features });
  const rows = [];
  try {
    for (const [name, run] of workloads) {
      progress(`${title}: ${name}`);
      const before = stats(c);
      run();
      const after = stats(c);
      const cells = programs.map((p) => {
        const a = after.get(p);
        const b = before.get(p) ?? { ns: 0, n: 0 };
        const n = a ? a.n - b.n : 0;
        return n ? `${Math.round((a.ns - b.ns) / n)} ns (${n.toLocaleString('en')})` : 'n/a';
      });
      rows.push(`| ${name} | ${cells.join(' | ')} |`);
    }
  } finally {
    c.close();
  }
  return [`### ${title}`, '', `| workload | ${programs.map((p) => `${p} ns/event (events)`).join(' | ')} |`, `| --- | ${programs.map(() => '---').join(' | ')} |`, ...rows, ''].join('\n');
}

const out = [
  `Net subsystem BPF cost per event (${new Date().toISOString().slice(0, 10)}, ${SECONDS} s per workload, ${fs.readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()})`,
  '',
  measure('6.3+ hooks: sock_send_length / sock_recv_length', undefined, ['send_btf', 'recv_btf'], WORKLOADS),
  measure(
    'TCP lifecycle: connect/send/recv/close churn (each hook runs its program and the one for nested events)',
    undefined,
    ['state_btf', 'state_nested_btf', 'destroy_btf', 'destroy_nested_btf', 'send_btf', 'recv_btf'],
    [['tcpcycle 3000 connections (1-112 KB each)', () => cp.spawnSync(path.join(ROOT, 'test', 'workloads', 'bin', 'tcpcycle'), ['3000', '0'], { stdio: 'ignore' })]],
  ),
  measure(
    'fallback before 6.3: sys_exit (every syscall of every process runs both programs)',
    { hasType: (n) => n !== 'btf_trace_sock_send_length' && n !== 'btf_trace_sock_recv_length' },
    ['send_sys_btf', 'recv_sys_btf'],
    [...WORKLOADS, ...FALLBACK_EXTRA],
  ),
];
process.stdout.write(out.join('\n'));
