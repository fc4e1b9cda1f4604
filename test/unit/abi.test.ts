import { describe, expect, it } from 'vitest';
import { decodeCharges, decodeExec, decodeRing, LAYOUT, REC_EXEC, REC_EXIT, REC_FORK, REC_TASK, sumStats, TaskDumpDecoder } from '../../src/abi';
import { SCHEMA } from '../../src/subsystems';
import { CPU } from '../../src/subsystems/cpu';

const T = LAYOUT.ebtop_task.fields;
const CPU_AT = T[CPU.member!][0];

/** A task record laid out by hand from the layout table. */
function taskBytes(type: number, tid: number, oncpu: bigint, comm: string): Buffer {
  const b = Buffer.alloc(LAYOUT.ebtop_task.size);
  b.writeUInt32LE(type, T.type[0]);
  b.writeUInt32LE(tid, T.tid[0]);
  b.writeUInt32LE(tid, T.pid[0]);
  b.writeUInt32LE(1, T.ppid[0]);
  b.writeInt32LE(256, T.exit_code[0]);
  b.writeBigUInt64LE(123456789012345n, T.start_ns[0]);
  b.writeBigUInt64LE(123456789000000n, T.pstart_ns[0]);
  b.writeBigUInt64LE(oncpu, CPU_AT + (CPU.at.oncpu_ns - CPU.base) * 8);
  b.writeBigUInt64LE(7n, CPU_AT + (CPU.at.migrations - CPU.base) * 8);
  b.write(comm, T.comm[0], 'latin1');
  return b;
}

function frame(rec: Buffer): Buffer {
  const len = (4 + rec.length + 7) & ~7;
  const out = Buffer.alloc(len);
  out.writeUInt32LE(rec.length, 0);
  rec.copy(out, 4);
  return out;
}

describe('ABI decoders', () => {
  it('decodes an iterator dump of task records, u64 above 2^32 exactly', () => {
    const dump = Buffer.concat([taskBytes(REC_TASK, 10, 5_000_000_000n, 'bash'), taskBytes(REC_TASK, 11, 1n, 'fifteen-chars-x')]);
    const [a, b] = new TaskDumpDecoder().decode(dump);
    expect(a).toMatchObject({ kind: 'task', tid: 10, pid: 10, ppid: 1, comm: 'bash', startNs: 123456789012345, pstartNs: 123456789000000 });
    expect(a.c[CPU.at.oncpu_ns]).toBe(5_000_000_000);
    expect(a.c[CPU.at.migrations]).toBe(7);
    expect(a.c).toHaveLength(SCHEMA.taskSlots);
    expect(b.comm).toBe('fifteen-chars-x');
    expect(() => new TaskDumpDecoder().decode(Buffer.alloc(LAYOUT.ebtop_task.size + 1))).toThrow(/multiple/);
  });

  it('decodes framed ring records of every type and counts unknown ones', () => {
    const exec = Buffer.alloc(LAYOUT.ebtop_exec.size);
    const E = LAYOUT.ebtop_exec.fields;
    exec.writeUInt32LE(REC_EXEC, E.type[0]);
    exec.writeUInt32LE(42, E.pid[0]);
    exec.writeUInt32LE(44, E.old_tid[0]);
    const args = Buffer.from('sleep\u00001\u0000');
    args.copy(exec, E.args[0]);
    exec.writeUInt32LE(args.length, E.args_len[0]);
    exec.write('sleep', E.comm[0]);
    const fork = Buffer.alloc(LAYOUT.ebtop_fork.size);
    fork.writeUInt32LE(REC_FORK, 0);
    fork.writeUInt32LE(43, LAYOUT.ebtop_fork.fields.tid[0]);
    fork.writeUInt32LE(42, LAYOUT.ebtop_fork.fields.ppid[0]);
    const unknown = Buffer.alloc(12);
    unknown.writeUInt32LE(99, 0);
    const ring = Buffer.concat([frame(taskBytes(REC_EXIT, 42, 3n, 'sleep')), frame(unknown), frame(exec), frame(fork)]);
    const { records: recs, unknown: skipped } = decodeRing(ring);
    expect(recs.map((r) => r.kind)).toEqual(['exit', 'exec', 'fork']);
    expect(skipped).toBe(1);
    expect(recs[0]).toMatchObject({ tid: 42, exitCode: 256 });
    expect((recs[0] as { c: Float64Array }).c[CPU.at.oncpu_ns]).toBe(3);
    expect(recs[1]).toMatchObject({ pid: 42, oldTid: 44, comm: 'sleep', args: ['sleep', '1'] });
    expect(recs[2]).toMatchObject({ tid: 43, ppid: 42 });
  });

  it('bounds exec args by the record even if args_len is corrupt', () => {
    const exec = Buffer.alloc(LAYOUT.ebtop_exec.size);
    exec.writeUInt32LE(REC_EXEC, 0);
    exec.writeUInt32LE(100000, LAYOUT.ebtop_exec.fields.args_len[0]);
    exec.fill(0x61, LAYOUT.ebtop_exec.fields.args[0]);
    expect(decodeExec(exec, 0).args[0]).toHaveLength(LAYOUT.ebtop_exec.fields.args[1]);
  });

  it('sums per-CPU stats slots', () => {
    const v = Buffer.alloc(LAYOUT.ebtop_stats.size * 2);
    v.writeBigUInt64LE(5n, 0);
    v.writeBigUInt64LE(1n, 8);
    v.writeBigUInt64LE(4n, 16);
    v.writeBigUInt64LE(7n, 24);
    v.writeBigUInt64LE(2n, 32);
    expect(sumStats(v)).toEqual({ records: 12, lost: 3, mapFull: 4 });
  });
});

describe('TaskDumpDecoder', () => {
  it('returns the same object for a byte-identical record and decodes changed ones', () => {
    const d = new TaskDumpDecoder();
    const a = d.decode(Buffer.concat([taskBytes(REC_TASK, 1, 10n, 'a'), taskBytes(REC_TASK, 2, 20n, 'b')]));
    // order changed, one thread gone, one ran, one new
    const b = d.decode(Buffer.concat([taskBytes(REC_TASK, 3, 5n, 'c'), taskBytes(REC_TASK, 2, 20n, 'b'), taskBytes(REC_TASK, 1, 11n, 'a')]));
    expect(b[1]).toBe(a[1]);
    expect(b[2]).not.toBe(a[0]);
    expect(b[2].c[CPU.at.oncpu_ns]).toBe(11);
    expect(b[0].tid).toBe(3);
  });
});
