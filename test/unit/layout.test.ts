// The TypeScript decoders against the compiled object's own BTF: every
// struct that crosses the boundary, member by member (name, offset, size),
// and every counter group's slots against its C struct. A member added or
// removed on either side fails here.
import { describe, expect, it } from 'vitest';
import { LAYOUT } from '../../src/abi';
import { BPF_OBJECT_PATH, loadNative, type BtfStruct } from '../../src/native';
import { SCHEMA } from '../../src/subsystems';
import { slotNames } from '../../src/subsystems/schema';
import { objectMissing } from '../helpers/kernel';

const built = !objectMissing(BPF_OBJECT_PATH);

describe.skipIf(!built)('ABI layout against the object\'s BTF', () => {
  const btf = built ? loadNative().btfStructs(BPF_OBJECT_PATH) : {};
  const of = (name: string): BtfStruct => {
    const s = btf[name];
    if (!s) throw new Error(`struct ${name} not in the object's BTF`);
    return s;
  };

  for (const [name, layout] of Object.entries(LAYOUT)) {
    it(`struct ${name}: size and every member`, () => {
      const s = of(name);
      const members = Object.fromEntries(s.members.map((m) => [m.name, [m.offset, m.size]]));
      expect({ size: layout.size, members: layout.fields }).toEqual({ size: s.size, members });
    });
  }

  it('every task group is a struct of u64 slots at its place in ebtop_task, in schema order', () => {
    const groups = SCHEMA.groups.filter((g) => g.kind === 'task');
    let expectOffset = LAYOUT.ebtop_task.size - SCHEMA.taskSlots * 8;
    for (const g of groups) {
      // walk the member path ('thr.disk') through the nested structs
      let s = of('ebtop_task');
      let offset = 0;
      let type = '';
      for (const part of g.member!.split('.')) {
        const m = s.members.find((x) => x.name === part);
        expect(m, `${g.member} in ${type || 'ebtop_task'}`).toBeDefined();
        offset += m!.offset;
        type = m!.type;
        if (btf[type]) s = of(type);
      }
      expect(type).toBe(g.struct);
      expect(offset, `${g.name} offset`).toBe(expectOffset);
      const gs = of(g.struct!);
      expect(gs.members.map((m) => m.name)).toEqual(g.slots.map((x) => x.replace(/\[\d+\]$/, '')));
      expect(gs.size).toBe(g.size * 8);
      expectOffset += g.size * 8;
    }
    // and nothing in struct ebtop_thread_counters that no group declares
    const thr = of('ebtop_thread_counters');
    expect(thr.members.map((m) => m.name)).toEqual(groups.filter((g) => g.member!.startsWith('thr.')).map((g) => g.member!.slice(4)));
  });

  it('every charge group is its map value struct, slot by slot', () => {
    for (const g of SCHEMA.groups.filter((x) => x.kind === 'charge')) {
      const s = of(g.struct!);
      expect(s.size, g.struct).toBe(g.size * 8);
      let o = 0;
      for (const m of s.members) {
        expect(m.offset).toBe(o);
        o += m.size;
      }
      const names = s.members.flatMap((m) => {
        const arr = /\[(\d+)\]$/.exec(m.type);
        return arr ? slotNames([`${m.name}[${arr[1]}]`]) : [m.name];
      });
      expect(names).toEqual(slotNames(g.slots));
    }
  });
});
