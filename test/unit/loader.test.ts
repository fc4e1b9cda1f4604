// The loader's pure parts: which program a failed load's libbpf log names and
// why, and what is dropped before the next attempt (src/loader.ts).
import { describe, expect, it } from 'vitest';
import { loadFailure, mapSetting, refusal, testRejectBits } from '../../src/loader';
import { planPrograms, type Features } from '../../src/probe';
import { SUBSYSTEMS } from '../../src/subsystems';

const HOOKS = SUBSYSTEMS.flatMap((s) => s.hooks);
const features = (refused: Map<string, string> = new Map()): Features => ({ hasType: () => true, rawTracepoints: true, tracepointArgs: () => 4, hasMapType: () => true, cmpxchg: true, refused });
const MACHINE = { ncpuPossible: 2, pidMax: 32768, threadsMax: 32768 };

// As libbpf 1.1 logged a refusal here (EBTOP_TEST_REJECT=disk, shortened).
const VERIFIER_LOG = [
  "W libbpf: prog 'bio_queue_btf': BPF program load failed: Permission denied",
  "W libbpf: prog 'bio_queue_btf': -- BEGIN PROG LOAD LOG --",
  '0: R1=ctx() R10=fp0',
  '; TEST_REJECT(TEST_REJECT_DISK); @ disk.bpf.c:260',
  '24: (15) if r1 == 0x0 goto pc+1       ; R1=1',
  '25: (79) r0 = *(u64 *)(r10 +8)',
  'invalid read from stack R10 off=8 size=8',
  'processed 25 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 mark_read 0',
  '-- END PROG LOAD LOG --',
  "W libbpf: prog 'bio_queue_btf': failed to load: -13",
  "W libbpf: failed to load object '/work/main/bpf/.output/ebtop.bpf.o'",
  '',
].join('\n');

describe('a failed load, from libbpf\'s log', () => {
  it('names the refused program and the verifier\'s last words, not its statistics', () => {
    const f = loadFailure(VERIFIER_LOG);
    expect(f.program).toBe('bio_queue_btf');
    expect(f.map).toBeNull();
    expect(f.reason).toBe('25: (79) r0 = *(u64 *)(r10 +8) / invalid read from stack R10 off=8 size=8');
  });

  it('takes the last program named: libbpf stops at the first failure', () => {
    const log = "I libbpf: prog 'dump_task': loaded\n" + VERIFIER_LOG.replaceAll('bio_queue_btf', 'dirty_folio_btf');
    expect(loadFailure(log).program).toBe('dirty_folio_btf');
  });

  it('gives libbpf\'s own message where there is no verifier log (a CO-RE relocation)', () => {
    const log = [
      "W libbpf: prog 'dirty_folio_btf': relo #4: kind <byte_off> (0), spec is [27] STRUCT folio.flags (0:0 @ offset 0)",
      "W libbpf: prog 'dirty_folio_btf': relo #4: failed to relocate: -22",
      'W libbpf: failed to perform CO-RE relocations: -22',
      "W libbpf: failed to load object 'ebtop.bpf.o'",
    ].join('\n');
    const f = loadFailure(log);
    expect(f.program).toBe('dirty_folio_btf');
    expect(f.reason).toMatch(/relo #4: failed to relocate: -22$/);
  });

  it('names a map libbpf could not create', () => {
    const f = loadFailure("W libbpf: map 'thread_store': failed to create: Invalid argument(-22)\nW libbpf: failed to load object 'x'\n");
    expect(f).toEqual({ program: null, map: 'thread_store', reason: 'failed to create: Invalid argument(-22)' });
  });

  it('keeps the end of a verifier log cut in the middle by the native layer', () => {
    const log = VERIFIER_LOG.replace('0: R1=ctx() R10=fp0', '0: R1=ctx() R10=fp0\n[... 123456 bytes ...]');
    expect(loadFailure(log).reason).toMatch(/invalid read from stack/);
  });
});

describe('what is dropped after a refusal', () => {
  const plan = planPrograms(features(), HOOKS);
  const fail = (program: string | null) => ({ program, map: null, reason: 'R' });

  it('an optional program: that program alone (its fallback is planned next)', () => {
    const drop = refusal(HOOKS, plan, fail('bio_queue_btf'), new Map())!;
    expect([...drop]).toEqual([['bio_queue_btf', 'R']]);
    const next = planPrograms(features(drop), HOOKS);
    expect(next.load.map((l) => l.program)).toContain('bio_queue_raw');
    expect(next.sources.find((s) => s.hook === 'raw_tp/block_bio_queue')).toMatchObject({ state: 'fallback', why: expect.stringMatching(/refused bio_queue_btf: R/) });
  });

  it('a whole source goes missing when one of its hooks has no variant left; the others stay', () => {
    const dirty = HOOKS.find((h) => h.variants[0].program === 'dirty_folio_btf')!.variants.map((v) => [v.program, 'R'] as [string, string]);
    expect(dirty).toHaveLength(4); // folio and page, tp_btf and raw_tp
    const next = planPrograms(features(new Map(dirty)), HOOKS);
    const bio = next.sources.filter((s) => s.source === 'disk.bio');
    expect(bio.map((s) => s.state)).toEqual(['missing', 'missing']);
    expect(next.load.map((l) => l.program)).not.toContain('bio_queue_btf');
    expect(next.load.map((l) => l.program)).toContain('io_start_btf');
    expect(next.sources.filter((s) => s.source !== 'disk.bio' && s.state === 'missing')).toEqual([]);
  });

  it('a core program carrying the wait classifier: wait is switched off first', () => {
    const drop = refusal(HOOKS, plan, fail('switch_btf'), new Map())!;
    expect([...drop.keys()].sort()).toEqual(['wakeup_new_btf', 'wakeup_new_raw']);
    const next = planPrograms(features(drop), HOOKS);
    expect(next.consts.wait_enabled).toBeUndefined();
    expect(next.load.map((l) => l.program)).toContain('switch_btf');
  });

  it('a required program refused again without riders: its fallback; with none left, ebtop cannot start', () => {
    const noWait = planPrograms(features(new Map([['wakeup_new_btf', 'x'], ['wakeup_new_raw', 'x']])), HOOKS);
    expect([...refusal(HOOKS, noWait, fail('switch_btf'), new Map())!.keys()]).toEqual(['switch_btf']);
    expect(refusal(HOOKS, noWait, fail('switch_raw'), new Map([['switch_btf', 'R']]))).toBeNull();
    expect(refusal(HOOKS, noWait, fail('dump_task'), new Map())).toBeNull();
  });

  it('a failure that names no program, or one refused already, stops the loop', () => {
    expect(refusal(HOOKS, plan, fail(null), new Map())).toBeNull();
    expect(refusal(HOOKS, plan, fail('bio_queue_btf'), new Map([['bio_queue_btf', 'R']]))).toBeNull();
  });
});

describe('map settings', () => {
  const maps = SUBSYSTEMS.flatMap((s) => s.maps ?? []);
  const map = (name: string) => maps.find((m) => m.name === name)!;
  it('task storage is not created where the tid hash holds per-thread state (before 5.11)', () => {
    expect(mapSetting(map('thread_store'), MACHINE, { use_thread_hash: 1 })).toEqual({ type: 'hash', entries: 1, flags: 0 });
    expect(mapSetting(map('thread_store'), MACHINE, { use_thread_hash: 0 })).toEqual({});
    expect(mapSetting(map('offcpu_ustack'), MACHINE, { offcpu_stacks: 0 })).toEqual({ type: 'hash', entries: 1, flags: 0 });
  });
  it('run-time allocated hashes are preallocated before the BPF memory allocator (6.1): 5.10 warns and taints otherwise', () => {
    expect(mapSetting(map('net_conns'), MACHINE, {}, false).flags).toBe(0);
    expect(mapSetting(map('net_conns'), MACHINE, {}, true).flags).toBeUndefined();
    const runtime = maps.filter((m) => m.runtimeAlloc).map((m) => m.name).sort();
    expect(runtime).toEqual(['disk_latency', 'disk_writeback', 'net_conns', 'net_tcp']);
    expect(mapSetting(map('thread_hash'), MACHINE, { use_thread_hash: 1 })).toEqual({ entries: 32768 });
  });
});

describe('EBTOP_TEST_REJECT', () => {
  it('maps names to the bits bpf/common.bpf.h tests', () => {
    expect(testRejectBits(undefined)).toBe(0);
    expect(testRejectBits('disk,wait')).toBe(3);
    expect(() => testRejectBits('nope')).toThrow(/unknown part 'nope'/);
  });
});
