// The table of block requests in flight (bpf/inflight.bpf.h, the code
// disk.bpf.c runs), run by BPF_PROG_TEST_RUN through bpf/selftest.bpf.c on
// chosen addresses and times: a request in its slot, one whose slot another
// holds in the hash, a struct's next life taking back what its last left, a
// slot older than any request lives taken over, and nothing found twice. The
// real requests' side (fio against /sys/block stat) is test/kernel/disk.test.ts.
import { describe, expect, it } from 'vitest';
import { loadNative } from '../../src/native';
import { selftestSkipReason, useSelftest } from '../helpers/kernel';

const base = selftestSkipReason();
const skip = base ?? (loadNative().probeCmpxchg() ? null : 'the kernel has no BPF cmpxchg (before 5.12): the programs use the hash alone');

/** bpf/inflight.bpf.h: the slot count the selftest object keeps (req_slot_mask + 1) and its stale age. */
const SLOTS = 16384n;
const STALE_NS = 600n * 1_000_000_000n;
const NONE = 0xffff;
const M64 = (1n << 64n) - 1n;

/** inflight_slot(): Fibonacci hashing of the address's low 32 bits. */
const slotOf = (key: bigint) => (((key & 0xffffffffn) * 0x9e3779b97f4a7c15n) & M64) >> 40n & (SLOTS - 1n);

/** An address past `after` (a struct request's stride) whose slot is `key`'s. */
function collidingWith(key: bigint, after = key): bigint {
  for (let k = after + 64n; ; k += 64n) if (k !== key && slotOf(k) === slotOf(key)) return k;
}

/** Addresses like the kernel's, a different slot for each test. */
let next = 0xffff888012340000n;
const fresh = () => {
  next += 0x10000n + 64n;
  return next;
};

describe.skipIf(skip)('requests in flight: slots, then the hash (BPF_PROG_TEST_RUN)', () => {
  const { native, obj } = useSelftest(skip);
  const run = (prog: string, ...args: bigint[]) => {
    const ctx = Buffer.alloc(8 * 4);
    args.forEach((a, i) => ctx.writeBigUInt64LE(a, 8 * i));
    return native.testRun(obj(), prog, ctx);
  };
  const put = (key: bigint, pid: number, startNs = 1_000_000_000n, born = startNs) => run('inflight_put_of', key, born, startNs, BigInt(pid));
  const take = (key: bigint) => run('inflight_take_of', key);
  const started = (key: bigint, born: bigint) => run('inflight_started_of', key, born);

  it('a request takes its slot and gives it back at completion, found once', () => {
    const a = fresh();
    expect(put(a, 101)).toBe(0);
    expect(take(a)).toBe(101);
    expect(take(a)).toBe(NONE);
    // the slot is free again
    expect(put(a, 102)).toBe(0);
    expect(take(a)).toBe(102);
  });

  it('a request whose slot another holds goes to the hash; each completion finds its own owner', () => {
    const a = fresh();
    const b = collidingWith(a);
    const c = collidingWith(a, b);
    expect([put(a, 201), put(b, 202), put(c, 203)]).toEqual([0, 1, 1]);
    expect([take(b), take(a), take(c)]).toEqual([202, 201, 203]);
    expect([take(a), take(b), take(c)]).toEqual([NONE, NONE, NONE]);
  });

  it('the next life of a struct replaces what its last left (a completion never seen), in its slot or in the hash', () => {
    const a = fresh();
    const b = collidingWith(a);
    expect([put(a, 301), put(a, 302)]).toEqual([0, 0]);
    expect([put(b, 303), put(b, 304)]).toEqual([1, 1]);
    expect([take(a), take(b)]).toEqual([302, 304]);
    expect([take(a), take(b)]).toEqual([NONE, NONE]);
  });

  it('tells this life of a request from an earlier one by its born time, in its slot and in the hash', () => {
    const a = fresh();
    const b = collidingWith(a);
    put(a, 401, 5_000n, 5_000n);
    put(b, 402, 6_000n, 6_000n);
    expect([started(a, 5_000n), started(a, 5_001n), started(a, 0n)]).toEqual([1, 0, 0]);
    expect([started(b, 6_000n), started(b, 6_001n)]).toEqual([1, 0]);
    // a's slot freed: b, still in the hash, is still found there
    expect(take(a)).toBe(401);
    expect(started(b, 6_000n)).toBe(1);
    expect(take(b)).toBe(402);
    expect(started(b, 6_000n)).toBe(0);
  });

  it('takes over a slot held longer than any request lives, not one a moment younger (nor one from a clock behind)', () => {
    const a = fresh();
    const b = collidingWith(a);
    const c = collidingWith(a, b);
    const t0 = 1_000_000_000_000n;
    expect(put(a, 501, t0)).toBe(0);
    expect(put(b, 502, t0 + STALE_NS)).toBe(1); // exactly the limit: not older
    expect(put(c, 503, t0 - 1_000n)).toBe(1); // another CPU's clock a little behind
    expect(take(b)).toBe(502);
    expect(take(c)).toBe(503);
    expect(put(b, 504, t0 + STALE_NS + 1n)).toBe(0);
    expect(take(b)).toBe(504);
    // the stale record is gone: its completion, were it ever to come, finds nothing
    expect(take(a)).toBe(NONE);
  });
});
