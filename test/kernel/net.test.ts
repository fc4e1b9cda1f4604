// Network accounting against independent ground truth: iperf3's own JSON
// reports (bytes, retransmits), and workloads that report what their socket
// calls returned (unix socketpairs, 300 connect/send/recv/close cycles, a
// pre-fork server, 10,000 open connections). Ports are random per test; every
// namespace and process a test starts is removed in a finally block.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import readline from 'node:readline';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Collector } from '../../src/collector';
import { Model, type Interval, type RawSample } from '../../src/model';
import { NET_LIMITS, type Conn, type ConnRow, type NetCollected } from '../../src/subsystems/net';
import type { Features } from '../../src/probe';
import { loadNative } from '../../src/native';
import { intervalJson } from '../../src/views/json';
import { EBTOP, EbtopRun, kernelSkipReason, relErr, run, WORKLOAD, type Sample } from '../helpers/kernel';

const skip = kernelSkipReason();

/** A process object of the JSON output with the net fields. */
type NetProc = Sample['processes'][number] & Record<string, number> & { connections?: ConnRow[] };

let cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

/** A port below the ephemeral range (32768+), random per test. */
const freePort = () => 10000 + Math.floor(Math.random() * 20000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rows(samples: Sample[], pid: number): NetProc[] {
  return samples.flatMap((s) => s.processes.filter((p) => p.pid === pid)) as NetProc[];
}
const sum = (samples: Sample[], pid: number, key: string) => rows(samples, pid).reduce((n, p) => n + (p[key] ?? 0), 0);
const conns = (samples: Sample[], pid: number) => rows(samples, pid).flatMap((p) => p.connections ?? []);

/** A process started in the background; `done` resolves with its exit code and stdout. */
function start(cmd: string, args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
  cleanup.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, done };
}

/** Resolves once something listens on TCP `port` (in the given netns, or ours). */
async function listening(port: number, netnsPid?: number): Promise<void> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  const dir = netnsPid ? `/proc/${netnsPid}/net` : '/proc/net';
  for (let i = 0; i < 100; i++) {
    for (const f of ['tcp', 'tcp6']) {
      const lines = fs.readFileSync(`${dir}/${f}`, 'latin1').split('\n');
      if (lines.some((l) => l.split(/\s+/)[2]?.endsWith(hex.trim()) && l.split(/\s+/)[4] === '0A')) return;
    }
    await sleep(50);
  }
  throw new Error(`nothing listens on port ${port}`);
}

/** Full sockets on `port` now (TIME_WAIT ones are not sockets any more). */
function socketsOn(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  return ['tcp', 'tcp6'].reduce((n, f) => n + fs.readFileSync(`/proc/net/${f}`, 'latin1').split('\n').filter((l) => {
    const c = l.trim().split(/\s+/);
    return (c[1]?.endsWith(`:${hex}`) || c[2]?.endsWith(`:${hex}`)) && c[3] !== '06';
  }).length, 0);
}

/** Waits until no full socket on `port` is left; returns how many there were. */
async function settled(port: number, timeoutMs = 20_000): Promise<number> {
  const count = () => socketsOn(port);
  const first = count();
  for (const end = Date.now() + timeoutMs; count() > 0; ) {
    if (Date.now() > end) throw new Error(`sockets on port ${port} still open after ${timeoutMs} ms`);
    await sleep(100);
  }
  return first;
}

function ebtop(args: string[]): EbtopRun {
  const e = new EbtopRun(args);
  cleanup.push(() => e.stop());
  return e;
}

interface Iperf {
  client: { pid: number; report: any };
  server: { pid: number; report: any };
  port: number;
}

/** One iperf3 test: the server (-s -1) and the client, each with its JSON report. */
async function iperf(clientArgs: string[]): Promise<Iperf> {
  const port = freePort();
  const server = start('iperf3', ['-s', '-1', '-p', String(port), '-J']);
  await listening(port);
  const client = await run('iperf3', ['-p', String(port), '-J', ...clientArgs]);
  const srv = await server.done;
  expect(client.code, client.stderr + client.stdout.slice(0, 500)).toBe(0);
  expect(srv.code, srv.stderr).toBe(0);
  return { client: { pid: client.pid, report: JSON.parse(client.stdout) }, server: { pid: server.child.pid!, report: JSON.parse(srv.stdout) }, port };
}

async function tcpOver(host: string, family: 'ipv4' | 'ipv6'): Promise<void> {
  const e = ebtop(['-d', '0.5', '--connections']);
  await e.waitSamples(1);
  const { client, server, port } = await iperf(['-c', host, '-t', '3']);
  await e.sampleAfter(Date.now() + 100);
  const sent = client.report.end.sum_sent.bytes as number;
  const received = server.report.end.sum_received.bytes as number;
  const dataPort = client.report.start.connected[0].local_port as number;
  const tx = sum(e.samples, client.pid, 'tcp_tx_bytes');
  const rx = sum(e.samples, server.pid, 'tcp_rx_bytes');
  // the data connection, as each side lists it (one row per interval, closed once)
  const mine = conns(e.samples, client.pid).filter((c) => c.lport === dataPort && c.rport === port);
  const theirs = conns(e.samples, server.pid).filter((c) => c.lport === port && c.rport === dataPort);
  const connTx = mine.reduce((n, c) => n + c.tx_bytes, 0);
  const connRx = theirs.reduce((n, c) => n + c.rx_bytes, 0);
  console.log(
    `iperf3 over ${host}: sent ${sent}, received ${received}; ebtop client tcp_tx ${tx} (${(relErr(tx, sent) * 100).toFixed(4)}%), server tcp_rx ${rx} (${(relErr(rx, received) * 100).toFixed(4)}%); ` +
      `data connection ${dataPort}->${port}: tx ${connTx} (${(relErr(connTx, sent) * 100).toFixed(4)}%), rx ${connRx} (${(relErr(connRx, received) * 100).toFixed(4)}%)`,
  );
  expect(relErr(tx, sent)).toBeLessThan(0.001);
  expect(relErr(rx, received)).toBeLessThan(0.001);
  expect(relErr(connTx, sent)).toBeLessThan(0.001);
  expect(relErr(connRx, received)).toBeLessThan(0.001);
  expect(mine.filter((c) => c.closed)).toHaveLength(1);
  expect(theirs.filter((c) => c.closed)).toHaveLength(1);
  expect(mine[0]).toMatchObject({ proto: 'tcp', family, raddr: host === '::1' ? '::1' : '127.0.0.1' });
  // iperf3 opens exactly two connections: control and one data stream
  for (const pid of [client.pid, server.pid]) {
    expect(sum(e.samples, pid, 'tcp_new'), `tcp_new of ${pid}`).toBe(2);
    expect(sum(e.samples, pid, 'tcp_closed'), `tcp_closed of ${pid}`).toBe(2);
  }
  expect(sum(e.samples, client.pid, 'udp_tx_bytes')).toBe(0);
}

describe.skipIf(skip)('network accounting (kernel)', () => {
  it('iperf3 TCP over 127.0.0.1: client tx, server rx and the data connection within 0.1% of its report', () => tcpOver('127.0.0.1', 'ipv4'));

  it('iperf3 TCP over ::1: the same over IPv6', () => tcpOver('::1', 'ipv6'));

  it('iperf3 UDP at 100 Mbit/s: udp_tx_bytes and udp_rx_bytes within 0.1% of its report', async () => {
    const e = ebtop(['-d', '0.5']);
    await e.waitSamples(1);
    const { client, server } = await iperf(['-c', '127.0.0.1', '-u', '-b', '100M', '-t', '2']);
    await e.sampleAfter(Date.now() + 100);
    const sent = client.report.end.sum_sent.bytes as number;
    const received = server.report.end.sum_received.bytes as number;
    const tx = sum(e.samples, client.pid, 'udp_tx_bytes');
    const rx = sum(e.samples, server.pid, 'udp_rx_bytes');
    console.log(`iperf3 UDP: sent ${sent}, received ${received}; ebtop udp_tx ${tx} (${(relErr(tx, sent) * 100).toFixed(4)}%), udp_rx ${rx} (${(relErr(rx, received) * 100).toFixed(4)}%)`);
    expect(sent).toBeGreaterThan(20e6);
    expect(relErr(tx, sent)).toBeLessThan(0.001);
    expect(relErr(rx, received)).toBeLessThan(0.001);
    // net_* is every IP socket: UDP data plus the TCP control connection
    expect(sum(e.samples, client.pid, 'net_tx_bytes')).toBe(tx + sum(e.samples, client.pid, 'tcp_tx_bytes'));
  });

  it('unix socketpairs: unix bytes exact on both sides, MSG_PEEK not counted, net_* untouched', async () => {
    const e = ebtop(['-d', '0.3']);
    await e.waitSamples(1);
    const r = await run(WORKLOAD('sockpair'), []);
    expect(r.code, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout) as { parent: number; child: number; parent_tx: number; parent_rx: number; child_rx: number; child_tx: number; status: number };
    await e.sampleAfter(Date.now() + 100);
    expect(rep.status).toBe(0);
    const of = (pid: number) => Object.fromEntries(['unix_tx_bytes', 'unix_rx_bytes', 'net_tx_bytes', 'net_rx_bytes', 'tcp_tx_bytes', 'udp_rx_bytes'].map((k) => [k, sum(e.samples, pid, k)]));
    console.log(`socketpair: workload ${JSON.stringify(rep)}; ebtop parent ${JSON.stringify(of(rep.parent))}, child ${JSON.stringify(of(rep.child))}`);
    // the parent's stdout is a unix socket too (node's spawn): its report counts
    expect(of(rep.parent)).toEqual({ unix_tx_bytes: rep.parent_tx + Buffer.byteLength(r.stdout), unix_rx_bytes: rep.parent_rx, net_tx_bytes: 0, net_rx_bytes: 0, tcp_tx_bytes: 0, udp_rx_bytes: 0 });
    expect(of(rep.child)).toEqual({ unix_tx_bytes: rep.child_tx, unix_rx_bytes: rep.child_rx, net_tx_bytes: 0, net_rx_bytes: 0, tcp_tx_bytes: 0, udp_rx_bytes: 0 });
  });

  it('retransmits under 3% loss in a private network namespace: the client\'s count within 2% of iperf3\'s, nothing unattributed', async () => {
    const tag = `ebt${process.pid % 10000}${Math.floor(Math.random() * 1000)}`;
    const [nsA, nsB] = [`${tag}a`, `${tag}b`];
    const ip = async (...args: string[]) => {
      const r = await run('ip', args);
      if (r.code !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
    };
    cleanup.push(async () => {
      await run('ip', ['netns', 'del', nsA]);
      await run('ip', ['netns', 'del', nsB]);
    });
    await ip('netns', 'add', nsA);
    await ip('netns', 'add', nsB);
    await ip('link', 'add', `${tag}x`, 'netns', nsA, 'type', 'veth', 'peer', 'name', `${tag}y`, 'netns', nsB);
    await ip('-n', nsA, 'addr', 'add', '10.203.0.1/24', 'dev', `${tag}x`);
    await ip('-n', nsB, 'addr', 'add', '10.203.0.2/24', 'dev', `${tag}y`);
    for (const [ns, dev] of [[nsA, `${tag}x`], [nsB, `${tag}y`]]) {
      await ip('-n', ns, 'link', 'set', dev, 'up');
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    const port = freePort();
    // drop ~3% of the data segments arriving at the server (control messages are small)
    const rules = `table inet ebtop {\n chain in {\n  type filter hook input priority 0;\n  tcp dport ${port} meta length > 1000 numgen random mod 100 < 3 drop\n }\n}\n`;
    fs.writeFileSync(`/tmp/${tag}.nft`, rules);
    cleanup.push(() => fs.rmSync(`/tmp/${tag}.nft`, { force: true }));
    const nft = await run('ip', ['netns', 'exec', nsB, 'nft', '-f', `/tmp/${tag}.nft`]);
    expect(nft.code, nft.stderr).toBe(0);
    const netns = new Set([nsA, nsB].map((n) => fs.statSync(`/run/netns/${n}`).ino));

    const e = ebtop(['-d', '0.5', '--connections']);
    await e.waitSamples(1);
    const srvPort = port;
    const server = start('ip', ['netns', 'exec', nsB, 'iperf3', '-s', '-1', '-p', String(srvPort), '-J']);
    await listening(srvPort, server.child.pid);
    const c = await run('ip', ['netns', 'exec', nsA, 'iperf3', '-c', '10.203.0.2', '-p', String(srvPort), '-t', '3', '-J']);
    const s = await server.done;
    expect(c.code, c.stderr).toBe(0);
    expect(s.code).toBe(0);
    await e.sampleAfter(Date.now() + 100);
    const report = JSON.parse(c.stdout);
    const truth = report.end.sum_sent.retransmits as number;
    const clientPid = c.pid;
    const mine = sum(e.samples, clientPid, 'tcp_retransmits');
    const unattributed = e.samples.reduce((n, x) => n + (x.system as unknown as { net: { unattributed_retransmits: number } }).net.unattributed_retransmits, 0);
    // every retransmit on a connection in our two namespaces, and whose row it is on
    const inNs = new Map<number, number>();
    for (const x of e.samples) for (const p of x.processes as NetProc[]) for (const k of p.connections ?? []) if (netns.has(k.netns) && k.retransmits) inNs.set(p.pid, (inNs.get(p.pid) ?? 0) + k.retransmits);
    const dataPort = report.start.connected[0].local_port as number;
    const onData = conns(e.samples, clientPid).filter((k) => k.lport === dataPort).reduce((n, k) => n + k.retransmits, 0);
    console.log(`3% loss: iperf3 retransmits ${truth}, ebtop client ${mine} (data connection ${onData}) (${(relErr(mine, truth) * 100).toFixed(2)}%), server ${sum(e.samples, server.child.pid!, 'tcp_retransmits')}, unattributed ${unattributed}; by owner on the namespaces' connections ${JSON.stringify([...inNs])}`);
    expect(truth).toBeGreaterThan(20);
    expect(relErr(mine, truth)).toBeLessThan(0.02);
    expect(unattributed).toBe(0);
    expect(sum(e.samples, server.child.pid!, 'tcp_retransmits')).toBe(0);
    expect([...inNs.keys()]).toEqual([clientPid]);
    expect(inNs.get(clientPid)).toBe(mine);
  });

  it('a pre-fork server: the child that serves the connection owns it and its bytes, not the parent that accepted it', async () => {
    const e = ebtop(['-d', '0.3', '--connections']);
    await e.waitSamples(1);
    const r = await run(WORKLOAD('prefork'), []);
    const rep = JSON.parse(r.stdout) as { parent: number; server: number; client: number; n: number; m: number; port: number; status: number };
    await e.sampleAfter(Date.now() + 100);
    expect(rep.status).toBe(0);
    const of = (pid: number) => Object.fromEntries(['tcp_rx_bytes', 'tcp_tx_bytes', 'tcp_new', 'tcp_closed'].map((k) => [k, sum(e.samples, pid, k)]));
    console.log(`prefork: ${JSON.stringify(rep)}; parent ${JSON.stringify(of(rep.parent))}, child ${JSON.stringify(of(rep.server))}, client ${JSON.stringify(of(rep.client))}`);
    expect(of(rep.server)).toEqual({ tcp_rx_bytes: rep.n, tcp_tx_bytes: rep.m, tcp_new: 1, tcp_closed: 1 });
    expect(of(rep.parent)).toEqual({ tcp_rx_bytes: 0, tcp_tx_bytes: 0, tcp_new: 0, tcp_closed: 0 });
    expect(of(rep.client)).toEqual({ tcp_rx_bytes: rep.m, tcp_tx_bytes: rep.n, tcp_new: 1, tcp_closed: 1 });
    expect(conns(e.samples, rep.parent)).toEqual([]);
    const served = conns(e.samples, rep.server).filter((c) => c.lport === rep.port);
    expect(served.reduce((n, c) => n + c.rx_bytes, 0)).toBe(rep.n);
    expect(served.reduce((n, c) => n + c.tx_bytes, 0)).toBe(rep.m);
  });

  it('--no-net: its hooks stay off (--caps) and its fields are null', async () => {
    const caps = await run(EBTOP, ['--caps', '--no-net']);
    const states = caps.stdout.trim().split('\n').map((l) => l.split(/\s{2,}/)).filter((r) => r[0].startsWith('net.'));
    expect(states.map((r) => r[1])).toEqual(Array(10).fill('off'));
    const e = ebtop(['-d', '0.3', '-n', '1', '--no-net', '--connections']);
    expect(await e.exited).toBe(0);
    const p = e.samples[0].processes[0] as NetProc;
    expect([p.net_tx_bytes, p.tcp_rx_bytes, p.tcp_active, p.tcp_retrans_pct, p.connections]).toEqual([null, null, null, null, null]);
    expect((e.samples[0].system as unknown as { net: Record<string, unknown> }).net).toEqual({ tx_bytes: null, rx_bytes: null, unattributed_retransmits: null, tcp_active: null, conns_tracked: null, conns_overflow: null });
  });

  it('10,000 connections open at once: every one tracked and counted on both sides, nothing lost or refused', async () => {
    const N = 10_000;
    const e = ebtop(['-d', '0.5']);
    await e.waitSamples(1);
    const w = spawn(WORKLOAD('manyconn'), [String(N)], { stdio: ['pipe', 'pipe', 'inherit'] });
    cleanup.push(() => {
      if (w.exitCode === null) w.kill('SIGKILL');
    });
    const lines = readline.createInterface({ input: w.stdout! })[Symbol.asyncIterator]();
    const up = JSON.parse((await lines.next()).value as string) as { client: number; server: number; n: number };
    // taken after every connection was up (one received after it could have been taken before)
    const open = await e.sampleTakenAfter(Date.now());
    const active = (pid: number) => (open.processes.find((p) => p.pid === pid) as NetProc).tcp_active;
    w.stdin!.end('close\n');
    expect(JSON.parse((await lines.next()).value as string)).toEqual({ closed: N, status: 0 });
    // a socket ends when its FIN exchange does, after both processes closed it (a burst
    // of 10,000 FINs can overflow loopback's backlog: some wait for a retransmit)
    const left = await settled(up.port);
    await e.sampleAfter(Date.now() + 100);
    const lost = e.samples.reduce((n, x) => n + x.system.bpf.lost, 0);
    const overflow = e.samples.reduce((n, x) => n + (x.system as unknown as { net: { conns_overflow: number } }).net.conns_overflow, 0);
    const tracked = Math.max(...e.samples.map((x) => (x.system as unknown as { net: { conns_tracked: number } }).net.conns_tracked));
    console.log(
      `${N} connections (${left} still ending after the processes exited): open client ${active(up.client)}, server ${active(up.server)}; tcp_new ${sum(e.samples, up.client, 'tcp_new')}/${sum(e.samples, up.server, 'tcp_new')}, ` +
        `tcp_closed ${sum(e.samples, up.client, 'tcp_closed')}/${sum(e.samples, up.server, 'tcp_closed')}; table peak ${tracked}, overflow ${overflow}, bpf lost ${lost}`,
    );
    expect(active(up.client)).toBe(N);
    expect(active(up.server)).toBe(N);
    for (const pid of [up.client, up.server]) {
      expect(sum(e.samples, pid, 'tcp_new')).toBe(N);
      expect(sum(e.samples, pid, 'tcp_errors')).toBe(0);
      // Never more than N. Fewer happens: in some bursts of 20,000 ends the kernel does
      // not run BPF programs for a share of tcp_destroy_sock events that ftrace records
      // (a one-instruction program alone lost 0-9%, recursion_misses 0; README).
      expect(sum(e.samples, pid, 'tcp_closed')).toBeLessThanOrEqual(N);
      expect(sum(e.samples, pid, 'tcp_closed')).toBeGreaterThanOrEqual(0.9 * N);
    }
    expect(overflow).toBe(0);
    expect(lost).toBe(0);
  });
});

/** A collector and model in this process: for what the JSON output does not show (the kernel map itself, forced fallbacks). */
class InProcess {
  readonly collector: Collector;
  readonly model: Model;
  readonly intervals: Interval[] = [];
  /** each interval as JSON, made when it came (the model reuses row objects) */
  readonly samples: Sample[] = [];
  last?: RawSample;
  private timer?: NodeJS.Timeout;

  /** cumulative: closed connections carry their totals; false: each row is its interval's, as ebtop's JSON by default */
  constructor(features?: Partial<Features>, cumulative = true) {
    this.collector = Collector.open({ log: pino({ level: 'silent' }), features });
    this.model = new Model({ ncpu: 2, cumulative, avail: this.collector.avail });
    cleanup.push(() => this.close());
    this.tick();
  }

  tick(): void {
    this.last = this.collector.sample();
    const iv = this.model.update(this.last);
    if (!iv) return;
    this.intervals.push(iv);
    const flags = new Set(['connections']);
    this.samples.push(JSON.parse(intervalJson(iv, iv.processes, { threads: false, flags })) as Sample);
  }

  every(ms: number): void {
    this.stop();
    this.timer = setInterval(() => this.tick(), ms);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The live connection table as collect() dumped it last. */
  table(): Conn[] {
    return (this.last!.ext.net?.collected as NetCollected).conns;
  }

  close(): void {
    this.stop();
    this.collector.close();
  }
}

interface Cycles {
  client: number;
  server: number;
  port: number;
  closed_port: number;
  status: number;
  refused: number;
  cycles: [number, number, number][];
}

/** tcpcycle under an in-process collector (cumulative: closed connections carry their totals). */
async function cycles(p: InProcess, n: number, refused: number): Promise<{ rep: Cycles; last: (pid: number) => NetProc; closed: (pid: number) => ConnRow[] }> {
  p.every(200);
  const r = await run(WORKLOAD('tcpcycle'), [String(n), String(refused)]);
  await sleep(250);
  p.stop();
  p.tick();
  const rep = JSON.parse(r.stdout) as Cycles;
  expect(rep.status).toBe(0);
  const samples = p.samples;
  return {
    rep,
    // --cumulative: a process's last row carries its totals
    last: (pid) => rows(samples, pid).at(-1)!,
    closed: (pid) => conns(samples, pid).filter((c) => c.closed && (c.lport === rep.port || c.rport === rep.port)),
  };
}

/** Each cycle's connection, by the client's port, on both sides: exactly its own bytes. */
function checkCycles(rep: Cycles, closed: (pid: number) => ConnRow[]): void {
  const client = new Map(closed(rep.client).map((c) => [c.lport, c]));
  const server = new Map(closed(rep.server).map((c) => [c.rport, c]));
  expect(client.size).toBe(rep.cycles.length);
  expect(server.size).toBe(rep.cycles.length);
  const wrong = rep.cycles.filter(([port, sent, got]) => {
    const c = client.get(port);
    const s = server.get(port);
    return !c || !s || c.tx_bytes !== sent || c.rx_bytes !== got || s.rx_bytes !== sent || s.tx_bytes !== got;
  });
  expect(wrong).toEqual([]);
}

describe.skipIf(skip)('connection table (kernel, in-process)', () => {
  it('300 connect/send/recv/close cycles: 300 new and closed on each side, each record exactly its own bytes, no entry left; 100 refused connects are 100 errors', async () => {
    const p = new InProcess();
    const { rep, last, closed } = await cycles(p, 300, 100);
    const counts = (pid: number) => ({ new: last(pid).tcp_new, closed: last(pid).tcp_closed, errors: last(pid).tcp_errors, active: last(pid).tcp_active });
    console.log(`300 cycles: client ${JSON.stringify(counts(rep.client))}, server ${JSON.stringify(counts(rep.server))}, refused ${rep.refused}; table ${p.table().length} entries after`);
    expect(rep.refused).toBe(100);
    expect(counts(rep.client)).toEqual({ new: 300, closed: 300, errors: 100, active: 0 });
    expect(counts(rep.server)).toEqual({ new: 300, closed: 300, errors: 0, active: 0 });
    checkCycles(rep, closed);
    const ours = new Set([rep.port, rep.closed_port]);
    const left = p.table().filter((c) => c.pid === rep.client || c.pid === rep.server || ours.has(c.lport) || ours.has(c.rport));
    expect(left).toEqual([]);
  });

  it('a full connection table: what it refused is counted (conns_overflow, bpf lost), tracked entries stay within the bound', async () => {
    const was = NET_LIMITS.connections;
    NET_LIMITS.connections = 256;
    let p!: InProcess;
    try {
      p = new InProcess();
    } finally {
      NET_LIMITS.connections = was;
    }
    const w = spawn(WORKLOAD('manyconn'), ['300'], { stdio: ['pipe', 'pipe', 'inherit'] });
    cleanup.push(() => {
      if (w.exitCode === null) w.kill('SIGKILL');
    });
    const lines = readline.createInterface({ input: w.stdout! })[Symbol.asyncIterator]();
    const up = JSON.parse((await lines.next()).value as string) as { client: number; server: number };
    p.tick();
    w.stdin!.end('close\n');
    await lines.next();
    p.tick();
    const net = (x: Sample) => (x.system as unknown as { net: { conns_tracked: number; conns_overflow: number } }).net;
    const overflow = net(p.samples.at(-1)!).conns_overflow; // --cumulative: since the baseline
    const lost = p.samples.reduce((n, x) => n + x.system.bpf.lost, 0);
    const open = p.samples[0].processes.filter((r) => r.pid === up.client || r.pid === up.server).map((r) => (r as NetProc).tcp_active);
    const tracked = Math.max(...p.samples.map((x) => net(x).conns_tracked));
    console.log(`table of 256, 600 sockets: open counted ${JSON.stringify(open)}, table peak ${tracked}, overflow ${overflow}, bpf lost ${lost}`);
    expect(overflow).toBeGreaterThan(0);
    // each refused connection once, not at each of its packets and state changes (600 sockets less
    // those tracked; a few of the machine's other connections may be refused meanwhile)
    expect(overflow).toBeLessThanOrEqual(600 - open.reduce((a, b) => a + b, 0) + 10);
    expect(lost).toBeGreaterThanOrEqual(overflow);
    expect(tracked).toBeLessThanOrEqual(256);
    expect(open.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(256);
  });

  it('a connection destroyed between the ring drain and the table dump: the data connection\'s rows sum to iperf3\'s report, each process\'s rows to its bytes', async () => {
    // The collector drains the ring, then dumps the table: a connection destroyed
    // in between is in neither, and its record comes a refresh later (under
    // emulation, a stalled vCPU: 232 MB of rows for iperf3's 130 MB, the record
    // counted from zero). Here one dump waits until iperf3 has ended and its
    // sockets are gone, so both sides' data connections end in that window.
    const native = loadNative();
    const dump = native.mapDump;
    const stall = new Int32Array(new SharedArrayBuffer(4));
    const ended = (pid: number) => {
      try {
        return fs.readFileSync(`/proc/${pid}/stat`, 'latin1').replace(/^.*\) /s, '')[0] === 'Z';
      } catch {
        return true;
      }
    };
    let hold: { pids: number[]; port: number } | undefined;
    let held = -1;
    const p = new InProcess(undefined, false);
    native.mapDump = (obj, map) => {
      if (map === 'net_conns' && hold) {
        // the event loop is blocked: the exited processes stay zombies until it runs
        for (const end = Date.now() + 30_000; !(hold.pids.every(ended) && socketsOn(hold.port) === 0) && Date.now() < end; ) Atomics.wait(stall, 0, 0, 10);
        hold = undefined;
        held = p.samples.length; // the interval this dump ends
      }
      return dump.call(native, obj, map);
    };
    cleanup.push(() => {
      native.mapDump = dump;
    });
    p.every(100);
    const port = freePort();
    const server = start('iperf3', ['-s', '-1', '-p', String(port), '-J']);
    await listening(port);
    const client = start('iperf3', ['-c', '127.0.0.1', '-p', String(port), '-t', '2', '-J']);
    // once a dump has listed the data connection (the control one carries a few hundred bytes)
    for (const end = Date.now() + 30_000; !conns(p.samples, server.child.pid!).some((k) => k.lport === port && k.rx_bytes > 1e6); await sleep(20)) {
      if (Date.now() > end) throw new Error('no dump listed iperf3\'s data connection');
    }
    hold = { pids: [client.child.pid!, server.child.pid!], port };
    const [c, s] = await Promise.all([client.done, server.done]);
    expect(c.code, c.stderr).toBe(0);
    expect(s.code, s.stderr).toBe(0);
    await sleep(300);
    p.stop();
    p.tick();
    const cr = JSON.parse(c.stdout);
    const sent = cr.end.sum_sent.bytes as number;
    const received = JSON.parse(s.stdout).end.sum_received.bytes as number;
    const dataPort = cr.start.connected[0].local_port as number;
    const [cpid, spid] = [client.child.pid!, server.child.pid!];
    const data = (x: Sample[]) => conns(x, spid).filter((k) => k.lport === port && k.rport === dataPort);
    const connTx = conns(p.samples, cpid).filter((k) => k.lport === dataPort && k.rport === port).reduce((n, k) => n + k.tx_bytes, 0);
    const connRx = data(p.samples).reduce((n, k) => n + k.rx_bytes, 0);
    // every connection of each process (control and data) against its bytes: the same calls count both
    const all = (pid: number, k: 'tx_bytes' | 'rx_bytes') => conns(p.samples, pid).reduce((n, x) => n + x[k], 0);
    const procs = [cpid, spid].map((pid) => ({ tx: sum(p.samples, pid, 'tcp_tx_bytes'), rx: sum(p.samples, pid, 'tcp_rx_bytes'), connTx: all(pid, 'tx_bytes'), connRx: all(pid, 'rx_bytes') }));
    console.log(
      `destroyed between drain and dump (interval ${held} of ${p.samples.length}): iperf3 sent ${sent}, received ${received}; data connection tx ${connTx} (${(relErr(connTx, sent) * 100).toFixed(4)}%), rx ${connRx} (${(relErr(connRx, received) * 100).toFixed(4)}%); ` +
        `client ${JSON.stringify(procs[0])}, server ${JSON.stringify(procs[1])}`,
    );
    // the race happened: listed live before the held dump, in neither it nor its interval's records, closed after
    expect(held).toBeGreaterThan(0);
    expect(data(p.samples.slice(0, held)).filter((k) => !k.closed).length).toBeGreaterThan(0);
    expect(data(p.samples.slice(held, held + 1))).toEqual([]);
    expect(data(p.samples.slice(held + 1)).filter((k) => k.closed)).toHaveLength(1);
    expect(relErr(connTx, sent)).toBeLessThan(0.001);
    expect(relErr(connRx, received)).toBeLessThan(0.001);
    for (const x of procs) expect([x.connTx, x.connRx]).toEqual([x.tx, x.rx]);
  });

  for (const [name, features, hooks] of [
    ['sys_exit (before 6.3)', { hasType: (n: string) => n !== 'btf_trace_sock_send_length' && n !== 'btf_trace_sock_recv_length' }, ['tp_btf/sys_exit', 'tp_btf/sys_exit']],
    ['raw_tp (no BTF tracepoints)', { hasType: (n: string) => !n.startsWith('btf_trace_') }, ['raw_tp/sys_exit', 'raw_tp/sys_exit', ...['inet_sock_set_state', 'tcp_destroy_sock', 'tcp_retransmit_skb', 'tcp_receive_reset'].flatMap((t) => [`raw_tp/${t}`, `raw_tp/${t}`])]],
  ] as const) {
    it(`fallback ${name}: unix and TCP bytes exact, per process and per connection`, async () => {
      const p = new InProcess(features as Partial<Features>);
      expect(p.collector.sources.filter((s) => s.source.startsWith('net.') && s.state === 'fallback').map((s) => s.hook)).toEqual(hooks);
      p.every(200);
      const sp = await run(WORKLOAD('sockpair'), []);
      expect(sp.code, sp.stderr).toBe(0);
      const out = sp.stdout;
      const pair = JSON.parse(out) as { parent: number; child: number; parent_tx: number; parent_rx: number; child_rx: number; child_tx: number };
      const { rep, last, closed } = await cycles(p, 20, 5);
      const unix = (pid: number) => [last(pid).unix_tx_bytes, last(pid).unix_rx_bytes];
      expect(unix(pair.parent)).toEqual([pair.parent_tx + Buffer.byteLength(out), pair.parent_rx]);
      expect(unix(pair.child)).toEqual([pair.child_tx, pair.child_rx]);
      const sent = rep.cycles.reduce((n, c) => n + c[1], 0);
      const got = rep.cycles.reduce((n, c) => n + c[2], 0);
      expect([last(rep.client).tcp_tx_bytes, last(rep.client).tcp_rx_bytes, last(rep.server).tcp_rx_bytes, last(rep.server).tcp_tx_bytes]).toEqual([sent, got, sent, got]);
      expect([last(rep.client).tcp_new, last(rep.server).tcp_new, last(rep.client).tcp_errors]).toEqual([20, 20, 5]);
      checkCycles(rep, closed);
    });
  }
});
