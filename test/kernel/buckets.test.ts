// The C latency-bucket function itself (bpf/latency.bpf.h lat_bucket, the
// code disk.bpf.c runs), run by BPF_PROG_TEST_RUN through bpf/selftest.bpf.c
// over edge values: each value must land in the bucket whose bounds the
// decoder (src/subsystems/disk.ts bucketBounds) gives it, and a few are
// spelled out. The TypeScript twin latBucket() is checked against the same.
import { describe, expect, it } from 'vitest';
import { bucketBounds, LAT_BUCKETS, latBucket } from '../../src/subsystems/disk';
import { selftestSkipReason, useSelftest } from '../helpers/kernel';

const skip = selftestSkipReason();

const MAX = 2n ** 64n - 1n;

/** 0, 1, 1023, 1024, every power of two and its neighbours, the sub-bucket edges of a few, max. */
function edgeValues(): bigint[] {
  const v = new Set<bigint>([0n, 1n, 2n, 3n, 1000n, 1023n, 1024n, 1025n, MAX - 1n, MAX]);
  for (let p = 1n; p < 64n; p++) for (const d of [-1n, 0n, 1n]) v.add(2n ** p + d);
  for (let p = 10n; p < 64n; p += 7n) for (let s = 1n; s < 4n; s++) for (const d of [-1n, 0n]) v.add(2n ** p + s * 2n ** (p - 2n) + d);
  return [...v].sort((a, b) => (a < b ? -1 : 1));
}

describe.skipIf(skip)('latency buckets: the C function (BPF_PROG_TEST_RUN)', () => {
  const { native, obj } = useSelftest(skip);

  const cBucket = (ns: bigint): number => {
    const ctx = Buffer.alloc(8);
    ctx.writeBigUInt64LE(ns);
    return native.testRun(obj(), 'lat_bucket_of', ctx);
  };

  it('puts every edge value in the bucket whose bounds hold it', () => {
    const wrong: string[] = [];
    for (const ns of edgeValues()) {
      const i = cBucket(ns);
      const [low, high] = bucketBounds(i);
      // bounds are exact in doubles: powers of two and sums of two of them
      const inside = i >= 0 && i < LAT_BUCKETS && BigInt(low) <= ns && (high === Infinity || ns < BigInt(high));
      if (!inside) wrong.push(`${ns} -> ${i} [${low}, ${high})`);
    }
    expect(wrong).toEqual([]);
  });

  it('gives the documented buckets at the edges', () => {
    const cases: [bigint, number][] = [
      [0n, 0], [1n, 0], [1023n, 0], // below 1024 ns: bucket 0
      [1024n, 1], [1279n, 1], [1280n, 2], [1535n, 2], [1536n, 3], [1792n, 4], [2047n, 4], // 2^10: 1..4
      [2048n, 5], [4095n, 8], [4096n, 9], // 1 + 4 * (p - 10) + the two bits below the top one
      [3n * 2n ** 40n - 1n, 126], [3n * 2n ** 40n, 127], // 1.5 * 2^41 ns: the last bucket starts
      [2n ** 63n, 127], [MAX, 127], // clamped
    ];
    expect(cases.map(([ns]) => cBucket(ns))).toEqual(cases.map(([, i]) => i));
  });

  it('agrees with the TypeScript twin wherever a double holds the value', () => {
    const exact = edgeValues().filter((ns) => ns <= 2n ** 53n);
    expect(exact.map((ns) => latBucket(Number(ns)))).toEqual(exact.map(cBucket));
  });
});
