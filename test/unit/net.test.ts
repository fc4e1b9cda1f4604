// The net subsystem without a kernel: the connection record's layout against
// the object's BTF, its decoder, the folder's per-connection math (a fake
// clock), program selection on older kernels, and its JSON fields and columns.
import { describe, expect, it, vi } from 'vitest';
import { cell, column } from '../../src/columns';
import { Model, type RawSample } from '../../src/model';
import { BPF_OBJECT_PATH, loadNative } from '../../src/native';
import { planPrograms, type Features } from '../../src/probe';
import { SCHEMA } from '../../src/subsystems';
import { CPU } from '../../src/subsystems/cpu';
import {
  CONN_ESTABLISHED, CONN_FOUND, CONN_LAYOUT, ConnDumpDecoder, decodeConn, formatAddr, net, NET, NET_TCP, NetFolder, REC_CONN, retxHighlight,
  type Conn, type NetProc, type NetSystem,
} from '../../src/subsystems/net';
import type { FoldInput, Values } from '../../src/subsystems/types';
import { intervalJson } from '../../src/views/json';
import type { TaskRecord } from '../../src/abi';
import { decodeRing } from '../../src/abi';
import { objectMissing } from '../helpers/kernel';

const S = 1e9;
const F = CONN_LAYOUT.fields;

/** A struct ebtop_conn laid out by hand from the layout table. */
function connBytes(c: Partial<Conn> & { id: bigint; addr4?: [number, number, number, number]; addr6?: number[] }): Buffer {
  const b = Buffer.alloc(CONN_LAYOUT.size);
  b.writeUInt32LE(REC_CONN, F.type[0]);
  b.writeUInt32LE(c.pid ?? 0, F.pid[0]);
  b.writeBigUInt64LE(BigInt(c.pstartNs ?? 0), F.pstart_ns[0]);
  b.writeBigUInt64LE(c.id, F.id[0]);
  b.writeBigUInt64LE(BigInt(c.startNs ?? 0), F.start_ns[0]);
  b.writeBigUInt64LE(BigInt(c.endNs ?? 0), F.end_ns[0]);
  b.writeBigUInt64LE(BigInt(c.txBytes ?? 0), F.tx_bytes[0]);
  b.writeBigUInt64LE(BigInt(c.rxBytes ?? 0), F.rx_bytes[0]);
  b.writeBigUInt64LE(BigInt(c.retransmits ?? 0), F.retransmits[0]);
  b.writeBigUInt64LE(BigInt(c.segsOut ?? 0), F.segs_out[0]);
  b.writeUInt32LE(c.netns ?? 4026531840, F.netns[0]);
  b.writeUInt16LE(c.family ?? 2, F.family[0]);
  b[F.state[0]] = c.state ?? 1;
  b[F.flags[0]] = c.flags ?? CONN_ESTABLISHED;
  b.writeUInt16LE(c.lport ?? 0, F.lport[0]);
  b.writeUInt16LE(c.rport ?? 0, F.rport[0]);
  if (c.addr4) Buffer.from(c.addr4).copy(b, F.raddr[0]);
  if (c.addr6) Buffer.from(c.addr6).copy(b, F.laddr[0]);
  return b;
}

/** A decoded connection with defaults: established, owned by pid 100 (start 5). */
function conn(over: Partial<Conn> & { id: number }): Conn {
  return {
    pid: 100, pstartNs: 5, startNs: 1 * S, endNs: 0, txBytes: 0, rxBytes: 0, retransmits: 0, segsOut: 0, netns: 1, family: 2,
    state: 1, flags: CONN_ESTABLISHED, lport: 40000, rport: 80, laddr: '127.0.0.1', raddr: '127.0.0.1', ...over,
  };
}

const input = (over: Partial<FoldInput>): FoldInput => ({ collected: undefined, records: [], fromNs: 0, toNs: 0, baseline: false, cumulative: false, avail: new Set(), ...over });
const table = (conns: Conn[], connFull = 0) => ({ conns, connFull });

const built = !objectMissing(BPF_OBJECT_PATH);

describe('net: connection records', () => {
  it.skipIf(!built)('struct ebtop_conn and ebtop_net_stats: the layout table against the object\'s BTF', () => {
    const btf = loadNative().btfStructs(BPF_OBJECT_PATH);
    const members = (name: string) => Object.fromEntries(btf[name].members.map((m) => [m.name, [m.offset, m.size]]));
    expect({ size: CONN_LAYOUT.size, members: CONN_LAYOUT.fields }).toEqual({ size: btf.ebtop_conn.size, members: members('ebtop_conn') });
    expect(members('ebtop_net_stats')).toEqual({ conn_full: [0, 8] });
  });

  it('decodes a record: u64 counters exactly, ports, addresses, and a framed ring record by its type', () => {
    const b = connBytes({ id: 0xffff888012345678n, pid: 4242, pstartNs: 7, startNs: 3 * S, endNs: 5 * S, txBytes: 2 ** 40 + 3, rxBytes: 17, retransmits: 9, segsOut: 1000, lport: 51234, rport: 443, state: 7, addr4: [10, 1, 2, 3] });
    expect(decodeConn(b, 0)).toEqual({
      // the id: the low 53 bits of a kernel address
      id: 0x1f888012345678, pid: 4242, pstartNs: 7, startNs: 3 * S, endNs: 5 * S, txBytes: 2 ** 40 + 3, rxBytes: 17, retransmits: 9, segsOut: 1000,
      netns: 4026531840, family: 2, state: 7, flags: CONN_ESTABLISHED, lport: 51234, rport: 443, laddr: '0.0.0.0', raddr: '10.1.2.3',
    });
    const frame = Buffer.alloc((4 + b.length + 7) & ~7);
    frame.writeUInt32LE(b.length, 0);
    b.copy(frame, 4);
    const ring = decodeRing(Buffer.concat([frame, frame.subarray(0, 4 + 60)]).subarray(0, frame.length + 4 + 60));
    expect(ring.ext.net).toHaveLength(1);
    expect((ring.ext.net[0] as Conn).raddr).toBe('10.1.2.3');
  });

  it('formats IPv4, IPv6 (RFC 5952 zero runs) and v4-mapped addresses', () => {
    const v6 = (...words: number[]) => {
      const b = Buffer.alloc(16);
      words.forEach((w, i) => b.writeUInt16BE(w, i * 2));
      return b;
    };
    expect(formatAddr(2, Buffer.from([127, 0, 0, 1]), 0)).toBe('127.0.0.1');
    expect(formatAddr(10, v6(0, 0, 0, 0, 0, 0, 0, 1), 0)).toBe('::1');
    expect(formatAddr(10, v6(0, 0, 0, 0, 0, 0, 0, 0), 0)).toBe('::');
    expect(formatAddr(10, v6(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1), 0)).toBe('2001:db8::1:0:0:1');
    expect(formatAddr(10, v6(0x2001, 0xdb8, 0, 1, 1, 1, 1, 1), 0)).toBe('2001:db8:0:1:1:1:1:1');
    expect(formatAddr(10, v6(0xfe80, 0, 0, 0, 0x1234, 0, 0, 0), 0)).toBe('fe80::1234:0:0:0');
    expect(formatAddr(10, v6(0, 0, 0, 0, 0, 0xffff, 0x7f00, 1), 0)).toBe('::ffff:127.0.0.1');
  });

  it('a dump decoder hands back the same object for an unchanged entry', () => {
    const keys = Buffer.alloc(16);
    keys.writeBigUInt64LE(1n, 0);
    keys.writeBigUInt64LE(2n, 8);
    const d = new ConnDumpDecoder();
    const first = d.decode(keys, Buffer.concat([connBytes({ id: 1n, txBytes: 5 }), connBytes({ id: 2n })]), 2, CONN_LAYOUT.size);
    const second = d.decode(keys, Buffer.concat([connBytes({ id: 1n, txBytes: 6 }), connBytes({ id: 2n })]), 2, CONN_LAYOUT.size);
    expect(second[0]).not.toBe(first[0]);
    expect(second[0].txBytes).toBe(6);
    expect(second[1]).toBe(first[1]);
    // another order (entries added or removed in between): found by id
    const swapped = Buffer.concat([keys.subarray(8), keys.subarray(0, 8)]);
    const third = d.decode(swapped, Buffer.concat([connBytes({ id: 2n }), connBytes({ id: 1n, txBytes: 6 })]), 2, CONN_LAYOUT.size);
    expect(third).toEqual([second[1], second[0]]);
    expect(third[0]).toBe(second[1]);
    expect(third[1]).toBe(second[0]);
  });
});

describe('net: the folder', () => {
  it('takes per-connection deltas between dumps, sums them per owner, counts open ones as a gauge', () => {
    const f = new NetFolder();
    expect(f.fold(input({ collected: table([conn({ id: 1, txBytes: 1000, segsOut: 10 })]), baseline: true, toNs: 1 * S })).perProcess).toBeUndefined();
    const out = f.fold(input({
      collected: table([
        conn({ id: 1, txBytes: 1500, rxBytes: 40, segsOut: 14 }),
        conn({ id: 2, startNs: 1.5 * S, txBytes: 9000, segsOut: 7, lport: 40001 }), // new since the last dump: all of it
        conn({ id: 3, state: 10 }), // a listener is not open
        conn({ id: 4, pid: 0, pstartNs: 0 }), // accepted, nobody used it yet
      ]),
      fromNs: 1 * S,
      toNs: 2 * S,
    }));
    const p = out.perProcess!.get('100:5') as NetProc;
    expect(p.active).toBe(2);
    expect(p.segsOut).toBe(4 + 7);
    expect(p.conns.map((c) => [c.lport, c.tx_bytes, c.rx_bytes, c.age_ns, c.closed])).toEqual([
      [40001, 9000, 0, 0.5 * S, false],
      [40000, 500, 40, 1 * S, false],
      [40000, 0, 0, 1 * S, false],
    ]);
    expect(out.perProcess!.has('0:0')).toBe(false);
    expect(out.system).toEqual({ active: 3, tracked: 4, overflow: 0 } satisfies NetSystem); // d is open, whoever owns it
  });

  it('lists a closed connection once, with what it did since the last dump; its entry seen in the same dump is not counted twice', () => {
    const f = new NetFolder();
    f.fold(input({ collected: table([conn({ id: 1, txBytes: 100 })]), baseline: true }));
    f.fold(input({ collected: table([conn({ id: 1, txBytes: 300, segsOut: 3 })]), toNs: 2 * S }));
    // destroyed: its record arrived, and the dump raced with the delete
    const closed = conn({ id: 1, txBytes: 350, segsOut: 5, state: 7, endNs: 2.5 * S });
    const out = f.fold(input({ collected: table([conn({ id: 1, txBytes: 350, segsOut: 5 })]), records: [closed], toNs: 3 * S }));
    const p = out.perProcess!.get('100:5') as NetProc;
    expect(p.conns).toEqual([expect.objectContaining({ tx_bytes: 50, closed: true, state: 'CLOSE', age_ns: 1.5 * S })]);
    expect(p.active).toBe(0);
    expect(p.segsOut).toBe(2);
    expect(f.fold(input({ collected: table([]), toNs: 4 * S })).perProcess!.size).toBe(0);
  });

  it('does not let a reused socket address inherit the connection that had it (id + start time)', () => {
    const f = new NetFolder();
    f.fold(input({ collected: table([conn({ id: 0x1f888012345678, txBytes: 5000 })]), baseline: true }));
    const out = f.fold(input({
      collected: table([conn({ id: 0x1f888012345678, startNs: 1.7 * S, txBytes: 10, pid: 200 })]),
      records: [conn({ id: 0x1f888012345678, txBytes: 5100, state: 7, endNs: 1.6 * S })],
      toNs: 2 * S,
    }));
    expect((out.perProcess!.get('100:5') as NetProc).conns.map((c) => c.tx_bytes)).toEqual([100]);
    expect((out.perProcess!.get('200:5') as NetProc).conns.map((c) => c.tx_bytes)).toEqual([10]);
  });

  /** A fold's connection rows, made at once (as the JSON view does: the next fold changes what they refer to). */
  const rowsOf = (out: ReturnType<NetFolder['fold']>) => [...((out.perProcess ?? new Map()) as Map<string, NetProc>).values()].flatMap((p) => p.conns);
  /** The bytes a connection shows over a run of folds: the sum of its rows, as a reader of --json sums them. */
  const shown = (rows: ReturnType<typeof rowsOf>[], lport: number) => rows.flat().filter((c) => c.lport === lport).reduce((n, c) => n + c.rx_bytes, 0);

  it('a connection destroyed between the ring drain and the dump (absent from one dump, its record in the next fold) is not counted again from zero', () => {
    // The collector drains the ring, then dumps the table: a close in between
    // leaves the entry out of the dump and its record for the next refresh
    // (seen under emulation: the iperf3 server's rows summed to 232 MB for 130).
    const f = new NetFolder();
    f.fold(input({ collected: table([conn({ id: 1, rxBytes: 1000 })]), baseline: true }));
    const outs = [
      rowsOf(f.fold(input({ collected: table([conn({ id: 1, rxBytes: 102_000 })]), toNs: 2 * S }))),
      rowsOf(f.fold(input({ collected: table([]), toNs: 3 * S }))),
      rowsOf(f.fold(input({ collected: table([]), records: [conn({ id: 1, rxBytes: 130_000, state: 7, endNs: 2.9 * S })], toNs: 4 * S }))),
    ];
    expect(shown(outs, 40000)).toBe(130_000 - 1000);
    expect(outs[2]).toEqual([expect.objectContaining({ rx_bytes: 28_000, closed: true })]);
  });

  it('an entry one dump missed and the next has again goes on from its last totals', () => {
    const f = new NetFolder();
    f.fold(input({ collected: table([conn({ id: 1, rxBytes: 1000 })]), baseline: true }));
    const outs = [
      rowsOf(f.fold(input({ collected: table([conn({ id: 1, rxBytes: 5000 })]), toNs: 2 * S }))),
      rowsOf(f.fold(input({ collected: table([]), toNs: 3 * S }))),
      rowsOf(f.fold(input({ collected: table([conn({ id: 1, rxBytes: 9000 })]), toNs: 4 * S }))),
    ];
    expect(shown(outs, 40000)).toBe(8000);
    // gone for good (no record, not listed again): forgotten, and an entry with its id later is new
    for (let i = 0; i < 4; i++) f.fold(input({ collected: table([]), toNs: (5 + i) * S }));
    const later = rowsOf(f.fold(input({ collected: table([conn({ id: 1, startNs: 8.5 * S, rxBytes: 300 })]), toNs: 9 * S })));
    expect(shown([later], 40000)).toBe(300);
  });

  it('a connection whose socket address a new one took before its record came: the record counts from its own totals', () => {
    const f = new NetFolder();
    const id = 0x1f888012345678;
    f.fold(input({ collected: table([conn({ id, rxBytes: 1000 })]), baseline: true }));
    const outs = [
      rowsOf(f.fold(input({ collected: table([conn({ id, rxBytes: 4000 })]), toNs: 2 * S }))),
      // destroyed after the drain; the address keys a new socket by the dump
      rowsOf(f.fold(input({ collected: table([conn({ id, startNs: 2.8 * S, rxBytes: 50, lport: 40001 })]), toNs: 3 * S }))),
      rowsOf(f.fold(input({ collected: table([conn({ id, startNs: 2.8 * S, rxBytes: 70, lport: 40001 })]), records: [conn({ id, rxBytes: 4500, state: 7, endNs: 2.7 * S })], toNs: 4 * S }))),
    ];
    expect(shown(outs, 40000)).toBe(3500);
    expect(shown(outs, 40001)).toBe(70);
  });

  it('an entry twice in one dump (a key-by-key walk restarted by a delete): one row, its interval counted once', () => {
    const f = new NetFolder();
    f.fold(input({ collected: table([conn({ id: 1, rxBytes: 1000, segsOut: 10 }), conn({ id: 2, lport: 40001 })]), baseline: true }));
    const out = f.fold(input({ collected: table([conn({ id: 1, rxBytes: 3000, segsOut: 30 }), conn({ id: 2, lport: 40001 }), conn({ id: 1, rxBytes: 3500, segsOut: 35 })]), toNs: 2 * S }));
    const p = out.perProcess!.get('100:5') as NetProc;
    expect(p.conns.filter((c) => c.lport === 40000)).toEqual([expect.objectContaining({ rx_bytes: 2500 })]);
    expect(p.segsOut).toBe(25);
    expect(p.active).toBe(2);
    expect((out.system as NetSystem).active).toBe(2);
    const next = f.fold(input({ collected: table([conn({ id: 1, rxBytes: 4000, segsOut: 40 }), conn({ id: 2, lport: 40001 })]), toNs: 3 * S }));
    expect(shown([rowsOf(out), rowsOf(next)], 40000)).toBe(3000);
  });

  it('with --cumulative: connection totals, the owner\'s segments since the baseline, overflow since the baseline', () => {
    const f = new NetFolder();
    f.fold(input({ collected: table([conn({ id: 1, txBytes: 100, segsOut: 1 })], 3), baseline: true, cumulative: true }));
    f.fold(input({ collected: table([conn({ id: 1, txBytes: 200, segsOut: 4 })], 5), cumulative: true, toNs: 2 * S }));
    const out = f.fold(input({ collected: table([conn({ id: 1, txBytes: 260, segsOut: 6, flags: CONN_FOUND | CONN_ESTABLISHED })], 6), cumulative: true, toNs: 3 * S }));
    const p = out.perProcess!.get('100:5') as NetProc;
    expect(p.conns[0]).toMatchObject({ tx_bytes: 260, age_ns: 0 }); // found open: its age is unknown
    expect(p.segsOut).toBe(5);
    expect((out.system as NetSystem).overflow).toBe(3);
  });

  it('returns nothing without a table (net.tcp not attached)', () => {
    expect(new NetFolder().fold(input({}))).toEqual({});
  });
});

const features = (over: Partial<Features> = {}): Features => ({ hasType: () => true, rawTracepoints: true, tracepointArgs: () => 3, hasMapType: () => true, cmpxchg: true, ...over });

describe('net: program selection', () => {
  const chosen = (f: Features) => planPrograms(f, net.hooks).load.map((l) => l.program);

  it('6.3+: sock_send_length / sock_recv_length and the tp_btf TCP hooks, connections by cookie', () => {
    const plan = planPrograms(features(), net.hooks);
    expect(plan.load.map((l) => l.program)).toEqual(['send_btf', 'recv_btf', 'state_btf', 'state_nested_btf', 'destroy_btf', 'destroy_nested_btf', 'retrans_btf', 'retrans_nested_btf', 'reset_btf', 'reset_nested_btf']);
    expect(plan.consts).toEqual({ net_retrans_has_err: 1, net_id_by_ptr: 0 });
  });

  it('5.10-5.11: tp_btf TCP hooks know sockets by pointer (tracing programs may not ask for the cookie before 5.12)', () => {
    const plan = planPrograms(features({ hasType: (n) => n !== 'bpf_get_socket_ptr_cookie' }), net.hooks);
    expect(plan.load.map((l) => l.program)).toContain('state_btf');
    expect(plan.consts.net_id_by_ptr).toBe(1);
  });

  it('before 6.3: the socket syscalls\' return values at sys_exit, one program per direction', () => {
    const plan = planPrograms(features({ hasType: (n) => !n.startsWith('btf_trace_sock_') }), net.hooks);
    expect(plan.load.slice(0, 2)).toEqual([{ program: 'send_sys_btf', source: 'net.send' }, { program: 'recv_sys_btf', source: 'net.recv' }]);
    expect(plan.sources.slice(0, 2).map((s) => [s.state, s.hook])).toEqual([['fallback', 'tp_btf/sys_exit'], ['fallback', 'tp_btf/sys_exit']]);
    expect(plan.sources[0].why).toMatch(/btf_trace_sock_send_length/);
  });

  it('without BTF tracepoints: raw_tp everywhere, per-thread state in the tid hash, connections keyed by address', () => {
    const plan = planPrograms(features({ hasType: () => false }), net.hooks);
    expect(plan.load.map((l) => l.program)).toEqual(['send_sys_raw', 'recv_sys_raw', ...['state', 'destroy', 'retrans', 'reset'].flatMap((h) => [`${h}_raw`, `${h}_nested_raw`])]);
    expect(plan.consts).toMatchObject({ use_thread_hash: 1, net_id_by_ptr: 1 });
    expect(chosen(features({ hasType: () => false, rawTracepoints: false }))).toEqual([]);
  });

  it('reads tcp_retransmit_skb\'s err only where it has one (6.17+); before, it fired for successes only', () => {
    expect(planPrograms(features({ tracepointArgs: (n) => (n === 'tcp_retransmit_skb' ? 3 : -1) }), net.hooks).consts.net_retrans_has_err).toBe(1);
    expect(planPrograms(features({ tracepointArgs: (n) => (n === 'tcp_retransmit_skb' ? 2 : -1) }), net.hooks).consts.net_retrans_has_err).toBe(0);
  });
});

/** A task record carrying net counters. */
function task(tid: number, startNs: number, over: Partial<Record<(typeof NET.slots)[number], number>> = {}): TaskRecord {
  const c = new Float64Array(SCHEMA.taskSlots);
  c[CPU.at.oncpu_ns] = 1;
  for (const [k, v] of Object.entries(over)) c[NET.at[k as (typeof NET.slots)[number]]] = v!;
  return { kind: 'task', tid, pid: tid, ppid: 1, uid: 0, flags: 0, state: 1, exitCode: 0, startNs, pstartNs: startNs, timeNs: 0, comm: 'x', c };
}

function sample(timeNs: number, tasks: TaskRecord[], ext: RawSample['ext'] = {}, charges: RawSample['charges'] = []): RawSample {
  return { timeNs, wallMs: timeNs / 1e6, tasks, procTasks: [], events: [], charges, ext, idleNs: null, bpf: { runNs: 0, runCount: 0, records: 0, lost: 0 }, loadavg: null };
}

function tcpCharge(pid: number, startNs: number, slots: Partial<Record<(typeof NET_TCP.slots)[number], number>>) {
  const v = new Float64Array(SCHEMA.slots);
  for (const [k, n] of Object.entries(slots)) v[NET_TCP.at[k as (typeof NET_TCP.slots)[number]]] = n!;
  return { pid, startNs, v };
}

describe('net: fields and columns through the model', () => {
  it('bytes per class, charges, the gauge, retrans % (null without segments sent) and --connections in JSON', () => {
    const m = new Model({ ncpu: 2 });
    const tbl = (conns: Conn[]) => ({ net: { collected: table(conns), records: [] } });
    m.update(sample(0, [task(100, 5), task(200, 6)], tbl([conn({ id: 1, segsOut: 100 })])));
    const iv = m.update(sample(S, [task(100, 5, { net_tx_bytes: 3000, tcp_tx_bytes: 2000, udp_tx_bytes: 1000, unix_rx_bytes: 7 }), task(200, 6, { tcp_rx_bytes: 5 })],
      tbl([conn({ id: 1, segsOut: 300, txBytes: 2000 })]),
      [tcpCharge(100, 5, { tcp_new: 1, tcp_retransmits: 3 }), tcpCharge(0, 0, { tcp_retransmits: 4 })]))!;
    const out = JSON.parse(intervalJson(iv, iv.processes, { threads: false, flags: new Set(['connections']) }));
    const p = out.processes.find((x: { pid: number }) => x.pid === 100);
    expect(p).toMatchObject({ net_tx_bytes: 3000, tcp_tx_bytes: 2000, udp_tx_bytes: 1000, unix_rx_bytes: 7, tcp_active: 1, tcp_new: 1, tcp_retransmits: 3, tcp_retrans_pct: 1.5, tcp_errors: 0 });
    expect(p.connections).toEqual([{ proto: 'tcp', family: 'ipv4', laddr: '127.0.0.1', lport: 40000, raddr: '127.0.0.1', rport: 80, state: 'ESTABLISHED', tx_bytes: 2000, rx_bytes: 0, retransmits: 0, age_ns: 0, netns: 1, closed: false }]);
    const q = out.processes.find((x: { pid: number }) => x.pid === 200);
    expect([q.tcp_rx_bytes, q.tcp_active, q.tcp_retrans_pct, q.connections]).toEqual([5, 0, null, []]);
    expect(out.system.net).toEqual({ tx_bytes: 3000, rx_bytes: 0, unattributed_retransmits: 4, tcp_active: 1, conns_tracked: 1, conns_overflow: 0 });
    // without --connections the list is not there
    expect(JSON.parse(intervalJson(iv, iv.processes, { threads: false })).processes[0].connections).toBeUndefined();
  });

  it('a charge to an owner that exited (a retransmit on its orphaned socket) brings its row back, late', () => {
    const m = new Model({ ncpu: 1 });
    m.update(sample(0, [task(100, 5), task(300, 9)]));
    m.update(sample(S, [task(100, 5)], {}, []));
    const iv = m.update(sample(2 * S, [task(100, 5)], {}, [tcpCharge(300, 9, { tcp_retransmits: 2, tcp_closed: 1 })]))!;
    const r = iv.processes.find((x) => x.pid === 300)!;
    expect([r.late, r.v[NET_TCP.at.tcp_retransmits], r.v[NET_TCP.at.tcp_closed]]).toEqual([true, 2, 1]);
  });

  it('n/a and null where a source is not attached: received bytes need net.recv, connection counts net.tcp', () => {
    const m = new Model({ ncpu: 1, avail: new Set(['cpu', 'cpu.counters', 'net', 'net.send']) });
    m.update(sample(0, [task(100, 5)]));
    const iv = m.update(sample(S, [task(100, 5, { net_tx_bytes: 2048, net_rx_bytes: 9 })]))!;
    const r = iv.processes[0];
    expect(['net_tx', 'net_rx', 'conn', 'tcp_new', 'retx'].map((id) => cell(column(id), r))).toEqual(['2.00K', 'n/a', 'n/a', 'n/a', 'n/a']);
    const j = JSON.parse(intervalJson(iv, iv.processes, { threads: false, flags: new Set(['connections']) }));
    expect([j.processes[0].net_tx_bytes, j.processes[0].net_rx_bytes, j.processes[0].tcp_active, j.processes[0].connections]).toEqual([2048, null, null, null]);
    expect(j.system.net).toEqual({ tx_bytes: 2048, rx_bytes: null, unattributed_retransmits: null, tcp_active: null, conns_tracked: null, conns_overflow: null });
  });

  it('RETX% shows the ratio, - when nothing was sent, and is highlighted when anything was retransmitted', () => {
    const avail = new Set(SCHEMA.groups.map((g) => g.name));
    const row = (retrans: number, segs: number): Values & { pid: number } => {
      const v = new Float64Array(SCHEMA.slots);
      v[NET_TCP.at.tcp_retransmits] = retrans;
      return { pid: 1, v, spanNs: S, avail, ext: { net: { active: 1, segsOut: segs, conns: [] } } };
    };
    const retx = column('retx');
    expect([retx.text(row(3, 200) as never), retx.text(row(0, 0) as never), retx.text(row(0, 50) as never)]).toEqual(['1.5', '-', '0.0']);
    expect([retxHighlight(row(3, 200) as never), retxHighlight(row(0, 50) as never)]).toEqual([true, false]);
    expect(column('conn').text(row(0, 0) as never)).toBe('1');
  });
});

describe('stale connection entries', () => {
  it('deletes an entry left in CLOSE for over a minute (its destroy never came), and only that one', async () => {
    const { sweepStale } = await import('../../src/subsystems/net');
    const deleted: Buffer[] = [];
    const io = { native: { mapDelete: (_o: unknown, _m: string, k: Buffer) => deleted.push(k) }, obj: {}, avail: new Set(['net.tcp']) } as never;
    const keys = Buffer.alloc(16);
    keys.writeBigUInt64LE(11n, 0);
    keys.writeBigUInt64LE(22n, 8);
    const conn = (id: number, state: number) => ({ id, state }) as never;
    sweepStale(io, keys, [conn(11, 7), conn(22, 1)], 0);
    sweepStale(io, keys, [conn(11, 7), conn(22, 1)], 30_000);
    expect(deleted).toHaveLength(0);
    sweepStale(io, keys, [conn(11, 7), conn(22, 1)], 61_000);
    expect(deleted).toHaveLength(1);
    expect(deleted[0].readBigUInt64LE(0)).toBe(11n);
    // one that left CLOSE (a reconnect) starts over
    const k2 = Buffer.alloc(8);
    k2.writeBigUInt64LE(33n, 0);
    sweepStale(io, k2, [conn(33, 7)], 100_000);
    sweepStale(io, k2, [conn(33, 2)], 130_000);
    sweepStale(io, k2, [conn(33, 7)], 150_000);
    sweepStale(io, k2, [conn(33, 7)], 200_000);
    expect(deleted).toHaveLength(1);
  });

  it('times CLOSE on the monotonic clock: the wall clock stepped an hour forward sweeps nothing early', () => {
    const deleted: Buffer[] = [];
    const keys = Buffer.alloc(8);
    keys.writeBigUInt64LE(44n, 0);
    const closed = connBytes({ id: 44n, state: 7 });
    const native = {
      mapDump: (_o: unknown, m: string) =>
        m === 'net_conns' ? { keys, values: closed, count: 1, valueSize: CONN_LAYOUT.size } : { keys: Buffer.alloc(4), values: Buffer.alloc(8), count: 1, valueSize: 8 },
      mapDelete: (_o: unknown, _m: string, k: Buffer) => deleted.push(k),
    };
    const io = { native, obj: {}, avail: new Set(['net.tcp']) } as never;
    vi.useFakeTimers({ toFake: ['Date'] }); // Date only: performance.now() stays real
    try {
      net.collect!(io);
      vi.setSystemTime(Date.now() + 3600_000);
      net.collect!(io);
      expect(deleted).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });
});
