// The addon's own contract against the running kernel: the compiled object's
// BTF, feature probes, map dumps and drains (batched, and key by key where a
// map has no batch ops), and the shape of its errors. Needs root and the built
// object, as the kernel tests do; the maps come from test/native/maps.bpf.c,
// compiled here.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BPF_OBJECT_PATH, loadNative, ROOT, type BpfObject, type BtfStruct, type MapDump, type NativeError } from '../../src/native';
import { kernelSkipReason } from '../helpers/kernel';

const skip = kernelSkipReason();

function thrown(f: () => unknown): NativeError {
  try {
    f();
  } catch (e) {
    return e as NativeError;
  }
  throw new Error('expected a throw');
}

function u32s(values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeUInt32LE(v, i * 4));
  return b;
}

/** key -> the u64 slots of its value (one per CPU for per-CPU maps) */
function entries(d: MapDump): Map<number, bigint[]> {
  const out = new Map<number, bigint[]>();
  for (let i = 0; i < d.count; i++) {
    const slots: bigint[] = [];
    for (let o = 0; o < d.valueSize; o += 8) slots.push(d.values.readBigUInt64LE(i * d.valueSize + o));
    out.set(d.keys.readUInt32LE(i * d.keySize), slots);
  }
  return out;
}

/** Member names of every `struct ebtop_* { ... };` in the ABI header. */
function headerStructs(): Map<string, string[]> {
  const src = fs.readFileSync(path.join(ROOT, 'bpf', 'ebtop.h'), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  const out = new Map<string, string[]>();
  for (const [, name, body] of src.matchAll(/struct\s+(ebtop_\w+)\s*\{([^}]*)\}\s*;/g)) {
    out.set(name, body.split(';').flatMap((decl) => /(\w+)\s*(\[[^\]]*\])?\s*$/.exec(decl.trim())?.[1] ?? []));
  }
  return out;
}

/**
 * u32 keys sharing one bucket of a 4096-bucket hash map with seed 0 (the
 * kernel's htab_map_hash: jhash2 of the key words). If the kernel hashes
 * otherwise they merely spread out, and the ENOSPC path goes untested.
 */
function crowdedKeys(count: number): number[] {
  const rol = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;
  const jhash1 = (k: number) => {
    let a = (0xdeadbeef + 4) >>> 0;
    let b = a;
    let c = a;
    a = (a + k) >>> 0;
    c = ((c ^ b) - rol(b, 14)) >>> 0;
    a = ((a ^ c) - rol(c, 11)) >>> 0;
    b = ((b ^ a) - rol(a, 25)) >>> 0;
    c = ((c ^ b) - rol(b, 16)) >>> 0;
    a = ((a ^ c) - rol(c, 4)) >>> 0;
    b = ((b ^ a) - rol(a, 14)) >>> 0;
    c = ((c ^ b) - rol(b, 24)) >>> 0;
    return c;
  };
  const keys: number[] = [];
  for (let k = 0; keys.length < count; k++) if ((jhash1(k) & 4095) === 7) keys.push(k);
  return keys;
}

describe.skipIf(skip)('native addon (kernel)', () => {
  const native = skip ? (undefined as never) : loadNative();

  describe('btfStructs', () => {
    const btf = skip ? {} : native.btfStructs(BPF_OBJECT_PATH);
    const of = (name: string): BtfStruct => {
      const s = btf[name];
      if (!s) throw new Error(`struct ${name} not in the object's BTF`);
      return s;
    };

    it('gives ebtop_task with its identity members and the CPU group as a struct member', () => {
      const task = of('ebtop_task');
      const names = task.members.map((m) => m.name);
      expect(names.slice(0, 3)).toEqual(['type', 'tid', 'pid']);
      const tid = task.members.find((m) => m.name === 'tid')!;
      expect(tid).toEqual({ name: 'tid', offset: 4, size: 4, type: 'unsigned int' }); // __u32, typedef resolved
      const comm = task.members.find((m) => m.name === 'comm')!;
      expect(comm.type).toBe('char[16]');
      expect(comm.size).toBe(16);
      const cpu = task.members.find((m) => m.name === 'cpu')!;
      expect(cpu.type).toBe('ebtop_cpu_counters');
      expect(cpu.size).toBe(of('ebtop_cpu_counters').size);
      expect(cpu.offset % 8).toBe(0);
    });

    it('lays every struct out consistently: members in order, inside the struct', () => {
      expect(Object.keys(btf).length).toBeGreaterThan(0);
      for (const [name, s] of Object.entries(btf)) {
        expect(name.startsWith('ebtop_')).toBe(true);
        let end = 0;
        for (const m of s.members) {
          expect(m.offset, `${name}.${m.name}`).toBeGreaterThanOrEqual(end);
          expect(m.size).toBeGreaterThan(0);
          end = m.offset + m.size;
        }
        expect(end, name).toBeLessThanOrEqual(s.size);
        // a member of struct type names a struct we also give, of the member's size
        for (const m of s.members) if (btf[m.type]) expect(btf[m.type].size).toBe(m.size);
      }
    });

    it('has the members bpf/ebtop.h declares, in its order', () => {
      const header = headerStructs();
      expect(header.get('ebtop_cpu_counters')).toEqual(of('ebtop_cpu_counters').members.map((m) => m.name));
      for (const [name, s] of Object.entries(btf)) {
        if (header.has(name)) expect(s.members.map((m) => m.name), name).toEqual(header.get(name));
      }
    });

    it('fails with errno and the call for a file that is not there', () => {
      const e = thrown(() => native.btfStructs('/nonexistent/ebtop.bpf.o'));
      expect(e).toMatchObject({ code: 'ENOENT', call: 'btf__parse' });
      expect(e.errno).toBe(2);
    });
  });

  describe('feature probes', () => {
    it('knows the map and program types of this kernel', () => {
      expect(native.probeMapType('hash')).toBe(true);
      expect(native.probeMapType('percpu_hash')).toBe(true);
      expect(native.probeMapType('ringbuf')).toBe(true);
      expect(native.probeMapType('task_storage')).toBe(true);
      expect(native.probeProgType('raw_tracepoint')).toBe(true);
    });

    it('knows whether the verifier takes BPF compare-and-exchange: from 5.12 on', () => {
      const [major, minor] = os.release().split('.').map(Number);
      expect(native.probeCmpxchg()).toBe(major > 5 || (major === 5 && minor >= 12));
    });

    it('refuses a name libbpf does not know', () => {
      expect(thrown(() => native.probeMapType('no_such_map_type'))).toMatchObject({ code: 'EINVAL', errno: 22 });
      expect(thrown(() => native.probeProgType('no_such_prog_type'))).toMatchObject({ code: 'EINVAL', errno: 22 });
    });

    it('counts a tracepoint\'s arguments from the kernel BTF, -1 for none', () => {
      expect(native.btfTracepointArgs('sched_process_fork')).toBe(2); // parent, child
      expect(native.btfTracepointArgs('no_such_tracepoint')).toBe(-1);
    });
  });

  describe('the ebtop object', () => {
    let obj: BpfObject;
    beforeAll(() => {
      obj = native.open(BPF_OBJECT_PATH);
      for (const p of native.programs(obj)) native.setAutoload(obj, p.name, false); // maps only
      native.load(obj);
    });
    afterAll(() => native.close(obj));

    it('dumps the per-CPU stats array: one element, one 8-aligned slot per possible CPU', () => {
      const d = native.mapDump(obj, 'stats');
      const size = native.btfStructs(BPF_OBJECT_PATH).ebtop_stats.size;
      expect(d.count).toBe(1);
      expect(d.keySize).toBe(4);
      expect(d.valueSize).toBe(Math.ceil(size / 8) * 8 * native.numPossibleCpus());
      expect(d.keys).toEqual(u32s([0]));
      expect(d.values.length).toBe(d.valueSize);
      expect(d.values.every((b) => b === 0)).toBe(true); // no program ran
    });

    it('throws errors with errno, code and the failing call', () => {
      const e = thrown(() => native.mapDump(obj, 'nope'));
      expect(e).toBeInstanceOf(Error);
      expect(e).toMatchObject({ code: 'ENOENT', errno: 2, call: 'bpf_object__find_map_by_name' });
      expect(thrown(() => native.mapDrain(obj, 'nope')).call).toBe('bpf_object__find_map_by_name');
    });

    it('refuses an argument of the wrong type, naming the N-API call, before using it', () => {
      const unloaded = native.open(BPF_OBJECT_PATH);
      const prog = native.programs(unloaded)[0].name;
      const bad = 'x' as never;
      try {
        // each would succeed with whatever the unread value happened to be
        expect(thrown(() => native.setMaxEntries(unloaded, 'stats', bad))).toMatchObject({ code: 'EINVAL', call: 'napi_get_value_uint32' });
        expect(thrown(() => native.setMapFlags(unloaded, 'stats', bad))).toMatchObject({ code: 'EINVAL', call: 'napi_get_value_uint32' });
        expect(thrown(() => native.setAutoload(unloaded, prog, bad))).toMatchObject({ code: 'EINVAL', call: 'napi_get_value_bool' });
        expect(thrown(() => native.setConst(unloaded, 'test_reject', bad))).toMatchObject({ code: 'EINVAL', call: 'napi_get_buffer_info' });
        expect(thrown(() => native.readIter(obj, bad))).toMatchObject({ code: 'EINVAL', call: 'napi_get_value_int32' });
        expect(thrown(() => native.mapUpdate(obj, 'stats', bad, Buffer.alloc(0)))).toMatchObject({ code: 'EINVAL', call: 'napi_get_buffer_info' });
        expect(thrown(() => native.mapDump(bad, 'stats'))).toMatchObject({ code: 'EINVAL', call: 'napi_get_value_external' });
        expect(thrown(() => native.mapDump(obj, 7 as never))).toMatchObject({ code: 'EINVAL', call: 'napi_get_value_string_utf8' });
      } finally {
        native.close(unloaded);
      }
    });

    it('drains an open ring with nothing in it', () => {
      native.ringOpen(obj, 'events');
      expect(native.ringDrain(obj)).toEqual({ data: Buffer.alloc(0), dropped: 0 });
      expect(thrown(() => native.ringOpen(obj, 'events')).code).toBe('EBUSY');
    });

    it('refuses a map of an object that is not loaded', () => {
      const unloaded = native.open(BPF_OBJECT_PATH);
      try {
        expect(thrown(() => native.mapDump(unloaded, 'stats'))).toMatchObject({ code: 'EBADF', call: 'bpf_map__fd' });
      } finally {
        native.close(unloaded);
      }
    });
  });

  describe('maps (test/native/maps.bpf.c)', () => {
    let dir: string;
    let obj: BpfObject;
    const ncpu = skip ? 0 : native.numPossibleCpus();

    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ebtop-native-'));
      const out = path.join(dir, 'maps.bpf.o');
      execFileSync('clang', ['-g', '-O2', '-target', 'bpf', '-I', path.join(ROOT, 'bpf'), '-c', path.join(ROOT, 'test', 'native', 'maps.bpf.c'), '-o', out]);
      obj = native.open(out);
      native.load(obj);
    });
    afterAll(() => {
      if (obj) native.close(obj);
      fs.rmSync(dir, { recursive: true, force: true });
    });

    const N = 3000; // more than one batch chunk (256)
    const keys = Array.from({ length: N }, (_, i) => i * 7 + 1);

    it('gives count 0 for an empty map', () => {
      for (const m of ['hash', 'percpu_hash']) {
        const d = native.mapDump(obj, m);
        expect(d).toMatchObject({ count: 0, keySize: 4 });
        expect(d.keys.length).toBe(0);
        expect(d.values.length).toBe(0);
      }
      expect(native.mapDrain(obj, 'hash').count).toBe(0);
    });

    it('dumps every entry of a hash map, then drains them all', () => {
      const values = Buffer.alloc(N * 8);
      keys.forEach((k, i) => values.writeBigUInt64LE(BigInt(k) * 1000n + 3n, i * 8));
      native.mapUpdate(obj, 'hash', u32s(keys), values);

      const d = native.mapDump(obj, 'hash');
      expect(d).toMatchObject({ count: N, keySize: 4, valueSize: 8 });
      const got = entries(d);
      expect(got.size).toBe(N);
      for (const k of keys) expect(got.get(k)).toEqual([BigInt(k) * 1000n + 3n]);

      const drained = native.mapDrain(obj, 'hash');
      expect(drained.count).toBe(N);
      expect(entries(drained)).toEqual(got);
      expect(native.mapDrain(obj, 'hash').count).toBe(0);
      expect(native.mapDump(obj, 'hash').count).toBe(0);
    });

    it('dumps and drains a per-CPU hash map, one slot per possible CPU', () => {
      const values = Buffer.alloc(N * 8 * ncpu);
      keys.forEach((k, i) => {
        for (let c = 0; c < ncpu; c++) values.writeBigUInt64LE(BigInt(k * 100 + c), (i * ncpu + c) * 8);
      });
      native.mapUpdate(obj, 'percpu_hash', u32s(keys), values);
      const want = new Map(keys.map((k) => [k, Array.from({ length: ncpu }, (_, c) => BigInt(k * 100 + c))]));

      const d = native.mapDump(obj, 'percpu_hash');
      expect(d).toMatchObject({ count: N, valueSize: 8 * ncpu });
      expect(entries(d)).toEqual(want);
      const drained = native.mapDrain(obj, 'percpu_hash');
      expect(drained.count).toBe(N);
      expect(entries(drained)).toEqual(want);
      expect(native.mapDrain(obj, 'percpu_hash').count).toBe(0);
    });

    it('reads a bucket holding more entries than a batch chunk (ENOSPC, retried bigger)', () => {
      const crowded = crowdedKeys(600);
      const values = Buffer.alloc(crowded.length * 8);
      crowded.forEach((k, i) => values.writeBigUInt64LE(BigInt(k), i * 8));
      native.mapUpdate(obj, 'crowded', u32s(crowded), values);
      const want = new Map(crowded.map((k) => [k, [BigInt(k)]]));
      expect(entries(native.mapDump(obj, 'crowded'))).toEqual(want);
      expect(entries(native.mapDrain(obj, 'crowded'))).toEqual(want);
      expect(native.mapDump(obj, 'crowded').count).toBe(0);
    });

    it('dumps an array map across several batches', () => {
      const idx = Array.from({ length: 1000 }, (_, i) => i);
      const values = Buffer.alloc(1000 * 8);
      idx.forEach((i) => values.writeBigUInt64LE(BigInt(i * i), i * 8));
      native.mapUpdate(obj, 'array', u32s(idx), values);
      const d = native.mapDump(obj, 'array');
      expect(d.count).toBe(1000);
      expect(entries(d)).toEqual(new Map(idx.map((i) => [i, [BigInt(i * i)]])));
    });

    it('walks key by key a map without batch ops, skipping keys that hold nothing', () => {
      native.mapUpdate(obj, 'devmap', u32s([3, 9]), u32s([1, 1])); // lo; update falls back per element too
      const d = native.mapDump(obj, 'devmap');
      expect(d).toMatchObject({ count: 2, keySize: 4, valueSize: 4 });
      expect(d.keys).toEqual(u32s([3, 9]));
      expect(d.values).toEqual(u32s([1, 1]));
      // no lookup-and-delete for this map type: the kernel's refusal, as is
      expect(thrown(() => native.mapDrain(obj, 'devmap'))).toMatchObject({ code: 'ENOTSUPP', call: 'bpf_map_lookup_and_delete_elem' });
      native.mapDelete(obj, 'devmap', u32s([3, 9]));
      expect(native.mapDump(obj, 'devmap').count).toBe(0);
    });

    it('deletes keys, passing over keys already gone, and reports real errors', () => {
      native.mapUpdate(obj, 'hash', u32s([1, 2, 3, 4]), Buffer.alloc(4 * 8));
      native.mapDelete(obj, 'hash', u32s([1, 2, 999, 3])); // the batch stops at 999
      expect(native.mapDump(obj, 'hash').keys).toEqual(u32s([4]));
      native.mapDelete(obj, 'hash', u32s([4]));
      expect(thrown(() => native.mapDelete(obj, 'array', u32s([0])))).toMatchObject({ code: 'EINVAL', call: 'bpf_map_delete_elem' });
      expect(thrown(() => native.mapDelete(obj, 'hash', Buffer.alloc(3))).code).toBe('EINVAL');
      expect(thrown(() => native.mapUpdate(obj, 'hash', u32s([1]), Buffer.alloc(4))).code).toBe('EINVAL');
    });
  });
});
