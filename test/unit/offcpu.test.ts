// `ebtop offcpu` without a kernel: the ring record's layout against the
// object's BTF, decoding, the stack rules that refine the cheap reason,
// aggregation into folded stacks, kallsyms lookup and the SVG flame graph.
import sax from 'sax';
import { describe, expect, it } from 'vitest';
import { BPF_OBJECT_PATH, loadNative } from '../../src/native';
import { aggregate, decodeOffcpu, folded, OFFCPU_LAYOUT, refineReason, REC_OFFCPU, topReport, type OffcpuRecord } from '../../src/offcpu';
import { KernelSymbols } from '../../src/symbols';
import { REASONS } from '../../src/subsystems/wait';
import { flameSvg } from '../../src/views/flame';
import { objectMissing } from '../helpers/kernel';

/** One framed ring record ([u32 len][record][pad to 8]) as the addon hands it over. */
function frame(rec: Buffer): Buffer {
  const out = Buffer.alloc((4 + rec.length + 7) & ~7);
  out.writeUInt32LE(rec.length, 0);
  rec.copy(out, 4);
  return out;
}

function offcpuRecord(r: { tid: number; pid: number; cat: number; ns: number; comm: string; k: bigint[]; u: bigint[] }): Buffer {
  const F = OFFCPU_LAYOUT.fields;
  const b = Buffer.alloc(OFFCPU_LAYOUT.size);
  b.writeUInt32LE(REC_OFFCPU, F.type[0]);
  b.writeUInt32LE(r.tid, F.tid[0]);
  b.writeUInt32LE(r.pid, F.pid[0]);
  b.writeUInt32LE(r.cat, F.cat[0]);
  b.writeBigUInt64LE(BigInt(r.ns), F.block_ns[0]);
  b.writeUInt32LE(r.k.length, F.kframes[0]);
  b.writeUInt32LE(r.u.length, F.uframes[0]);
  b.write(r.comm, F.comm[0], 'latin1');
  r.k.forEach((ip, i) => b.writeBigUInt64LE(ip, F.kstack[0] + i * 8));
  r.u.forEach((ip, i) => b.writeBigUInt64LE(ip, F.ustack[0] + i * 8));
  return b;
}

const built = !objectMissing(BPF_OBJECT_PATH);

describe('offcpu', () => {
  it.skipIf(!built)('struct ebtop_offcpu: size and every member as the object\'s BTF has them', () => {
    const s = loadNative().btfStructs(BPF_OBJECT_PATH).ebtop_offcpu;
    expect({ size: OFFCPU_LAYOUT.size, members: OFFCPU_LAYOUT.fields }).toEqual({ size: s.size, members: Object.fromEntries(s.members.map((m) => [m.name, [m.offset, m.size]])) });
  });

  it('decodes offcpu records from the ring, skipping other record types', () => {
    const exit = Buffer.alloc(64);
    exit.writeUInt32LE(2, 0);
    const data = Buffer.concat([frame(exit), frame(offcpuRecord({ tid: 11, pid: 10, cat: REASONS.indexOf('pipe'), ns: 5e6, comm: 'reader', k: [0xffff1n, 0xffff2n], u: [0x401000n] }))]);
    const recs = decodeOffcpu(data);
    expect(recs).toEqual([{ tid: 11, pid: 10, reason: 'pipe', blockNs: 5e6, comm: 'reader', kstack: [0xffff1n, 0xffff2n], ustack: [0x401000n] }]);
  });

  it('stack rules: the innermost frame that names a reason wins; none keeps the cheap reason', () => {
    expect(refineReason(['anon_pipe_read', 'vfs_read', 'ksys_read'], 'other')).toBe('pipe');
    // io_uring sets iowait for any request: the cheap signals say disk, the stack says it waits for completions
    expect(refineReason(['io_cqring_wait', '__do_sys_io_uring_enter'], 'disk')).toBe('poll');
    // a page fault inside a pipe write waits for the disk: the innermost frame decides
    expect(refineReason(['folio_wait_bit_common', 'filemap_fault', 'anon_pipe_write'], 'disk')).toBe('disk');
    // a futex stack is the same for a mutex and a condition variable: the operation read at switch-out decides
    expect(refineReason(['futex_do_wait', '__futex_wait'], 'cond')).toBe('cond');
    expect(refineReason(['futex_do_wait', '__futex_wait'], 'lock')).toBe('lock');
    expect(refineReason(['inet_csk_accept', 'inet_accept'], 'idle')).toBe('idle');
    expect(refineReason(['msleep', 'some_driver_work'], 'lock')).toBe('sleep');
    expect(refineReason(['sk_wait_data', 'tcp_recvmsg_locked'], 'pipe')).toBe('net');
    expect(refineReason(['some_driver_wait'], 'lock')).toBe('lock');
  });

  it('aggregates identical stacks, user frames then kernel frames, outermost first, into folded lines', () => {
    const k = new Map([[1n, 'anon_pipe_read'], [2n, 'vfs_read'], [3n, 'entry_SYSCALL_64']]);
    const u = new Map([[10n, 'read'], [11n, 'main']]);
    const rec = (ns: number, cat: number): OffcpuRecord => ({ tid: 5, pid: 5, reason: REASONS[cat], blockNs: ns, comm: 'my prog', kstack: [1n, 2n, 3n], ustack: [10n, 11n] });
    const stacks = aggregate([rec(2e6, 6), rec(3e6, 6), { ...rec(1e6, 3), kstack: [9n] }], (a) => k.get(a) ?? `0x${a.toString(16)}`, (_, a) => u.get(a)!);
    expect(stacks.map((s) => [s.reason, s.ns, s.count])).toEqual([['pipe', 5e6, 2], ['sleep', 1e6, 1]]);
    expect(folded(stacks)).toBe('my_prog;[pipe];main;read;entry_SYSCALL_64;vfs_read;anon_pipe_read 5000000\nmy_prog;[sleep];main;read;0x9 1000000\n');
  });

  it('prints the top stacks per process with time, share, reason and count, kernel frames innermost first', () => {
    const stacks = [
      { pid: 5, comm: 'db', reason: 'disk' as const, frames: ['main', 'fsync', 'do_fsync', 'blkdev_issue_flush'], userFrames: 2, ns: 3e9, count: 300 },
      { pid: 5, comm: 'db', reason: 'lock' as const, frames: ['worker', 'futex_do_wait'], userFrames: 1, ns: 1e9, count: 10 },
    ];
    const text = topReport(stacks, [5, 6], 5, 1, 1);
    expect(text.split('\n')).toEqual([
      'PID 5 (db): blocked 4.000 s of 5 s in 310 intervals ≥ 1 ms: disk 75.0%, lock 25.0%',
      '  #1  3.000 s  75.0%  disk  300×',
      '      blkdev_issue_flush',
      '      do_fsync',
      '      -- user --',
      '      fsync',
      '      main',
      '',
      'PID 6 (?): blocked 0.000 s of 5 s in 0 intervals ≥ 1 ms',
      '',
    ]);
  });

  it('names kernel addresses from kallsyms text symbols', () => {
    const ks = new KernelSymbols('ffffffff81000000 T _stext\nffffffff81000100 t vfs_read\nffffffff81000200 D some_data\nffffffff81000300 T ksys_read\t[mod]\n');
    expect(ks.name(0xffffffff81000150n)).toBe('vfs_read');
    expect(ks.name(0xffffffff81000250n)).toBe('vfs_read'); // data symbols do not end a function
    expect(ks.name(0xffffffff81000300n)).toBe('ksys_read');
    expect(ks.name(0x1000n)).toBe('0x1000');
  });

  it('draws a well-formed SVG flame graph whose rows add up to the total', () => {
    const stacks = [
      { pid: 1, comm: 'a<b', reason: 'pipe' as const, frames: ['main', 'read', 'anon_pipe_read'], userFrames: 2, ns: 7e6, count: 7 },
      { pid: 1, comm: 'a<b', reason: 'sleep' as const, frames: ['main', 'nanosleep'], userFrames: 1, ns: 3e6, count: 3 },
    ];
    const rects: { depth: number; ns: number; width: number }[] = [];
    const p = sax.parser(true);
    p.onerror = (e) => {
      throw e;
    };
    p.onopentag = (t) => {
      if (t.name === 'rect' && t.attributes['data-depth'] !== undefined) rects.push({ depth: Number(t.attributes['data-depth']), ns: Number(t.attributes['data-ns']), width: Number(t.attributes.width) });
    };
    p.write(flameSvg(stacks, 'title & "quotes"')).close();
    const root = rects.find((r) => r.depth === 0)!;
    expect(root.ns).toBe(10e6);
    for (const d of [1, 2, 3]) {
      const row = rects.filter((r) => r.depth === d);
      expect(row.reduce((n, r) => n + r.ns, 0)).toBe(10e6);
      expect(row.reduce((n, r) => n + r.width, 0)).toBeCloseTo(root.width, 1);
    }
    expect(rects.filter((r) => r.depth === 2).map((r) => r.ns)).toEqual([7e6, 3e6]);
  });
});
