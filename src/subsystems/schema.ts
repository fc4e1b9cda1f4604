// Places every subsystem's counter groups in one row vector (a Float64Array
// per thread / process): all 'task' groups first, in struct ebtop_task order,
// then 'thread' groups, then 'charge' groups. One loop per operation works on
// any vector; no code names a counter except the subsystem that declares it.
import type { Combine, Group, GroupSpec, Subsystem } from './types';

/** A group whose slot indices are filled in when the schema places it. */
export function group<const S extends string>(spec: GroupSpec<S>): Group<S> {
  return { ...spec, at: {} as Record<S, number>, base: -1, size: slotNames(spec.slots).length };
}

/** 'lat[3]' -> ['lat[0]', 'lat[1]', 'lat[2]']; plain names stay. */
export function slotNames(slots: readonly string[]): string[] {
  const out: string[] = [];
  for (const s of slots) {
    const m = /^(\w+)\[(\d+)\]$/.exec(s);
    if (!m) out.push(s);
    else for (let i = 0; i < Number(m[2]); i++) out.push(`${m[1]}[${i}]`);
  }
  return out;
}

export const COMBINE_SUM = 0;
export const COMBINE_MIN = 1;
export const COMBINE_MAX = 2;
const COMBINE_CODE: Record<Combine, number> = { sum: COMBINE_SUM, min: COMBINE_MIN, max: COMBINE_MAX };

export interface Schema {
  subsystems: Subsystem[];
  groups: Group[];
  /** slots of all 'task' groups: the counters of one ebtop_task record, in order */
  taskSlots: number;
  /** slots of all groups: the length of every row vector */
  slots: number;
  /** how each slot combines (COMBINE_*) */
  combine: Uint8Array;
  /** 'group.slot' for each slot, for tests and debugging */
  names: string[];
  group(name: string): Group;
}

export function buildSchema(subsystems: Subsystem[]): Schema {
  const groups = subsystems.flatMap((s) => s.groups);
  const ordered = [...groups.filter((g) => g.kind === 'task'), ...groups.filter((g) => g.kind === 'thread'), ...groups.filter((g) => g.kind === 'charge')];
  const names: string[] = [];
  const combine: number[] = [];
  for (const g of ordered) {
    if (g.base >= 0 && g.base !== names.length) throw new Error(`group ${g.name} placed twice at different offsets`);
    g.base = names.length;
    for (const s of g.slots) {
      const m = /^(\w+)\[(\d+)\]$/.exec(s);
      const base = m ? m[1] : s;
      const count = m ? Number(m[2]) : 1;
      (g.at as Record<string, number>)[base] = names.length;
      for (let i = 0; i < count; i++) {
        names.push(`${g.name}.${m ? `${base}[${i}]` : s}`);
        combine.push(COMBINE_CODE[g.combine?.[base] ?? 'sum']);
      }
    }
  }
  const byName = new Map(groups.map((g) => [g.name, g]));
  if (byName.size !== groups.length) throw new Error('two groups share a name');
  return {
    subsystems,
    groups: ordered,
    taskSlots: ordered.filter((g) => g.kind === 'task').reduce((n, g) => n + g.size, 0),
    slots: names.length,
    combine: Uint8Array.from(combine),
    names,
    group(name: string): Group {
      const g = byName.get(name);
      if (!g) throw new Error(`unknown group ${name}`);
      return g;
    },
  };
}

/** into[i] ⊕= v[i] for slots [from, to), each by its combine rule; 0 is "no value" for min. */
export function combineInto(schema: Schema, into: Float64Array, v: Float64Array, from = 0, to = schema.slots): void {
  const c = schema.combine;
  for (let i = from; i < to; i++) {
    const b = v[i];
    if (b === 0) continue;
    const op = c[i];
    if (op === COMBINE_SUM) into[i] += b;
    else if (op === COMBINE_MAX) into[i] = b > into[i] ? b : into[i];
    else into[i] = into[i] === 0 || b < into[i] ? b : into[i];
  }
}
