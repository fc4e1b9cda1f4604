import { describe, expect, it } from 'vitest';
import { LAYOUT } from '../../src/abi';
import { loadNative } from '../../src/native';

// The addon's sizeof/offsetof table (compiled from bpf/ebtop.h) must equal the
// table the TypeScript decoders read with.
describe('ABI layout', () => {
  it('matches the addon compiled from bpf/ebtop.h', () => {
    const native = loadNative().layout();
    const ours: Record<string, { size: number; fields: Record<string, { offset: number; size: number }> }> = {};
    for (const [name, t] of Object.entries(LAYOUT)) {
      ours[name] = { size: t.size, fields: {} };
      for (const [f, [offset, size]] of Object.entries(t.fields as Record<string, readonly [number, number]>)) ours[name].fields[f] = { offset, size };
    }
    expect(ours).toEqual(native);
  });
});
