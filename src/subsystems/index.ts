// The subsystems ebtop has, in struct ebtop_task order, and the one schema
// that places their counter groups. Adding a subsystem: its module here, its
// task group appended to struct ebtop_task (bpf/ebtop.h), its bpf/<name>.bpf.c.
import { cpu } from './cpu';
import { disk } from './disk';
import { mem } from './mem';
import { net } from './net';
import { wait } from './wait';
import { buildSchema } from './schema';
import type { Subsystem } from './types';

export const SUBSYSTEMS: Subsystem[] = [cpu, mem, disk, net, wait];

export const SCHEMA = buildSchema(SUBSYSTEMS);

export function subsystem(name: string): Subsystem | undefined {
  return SUBSYSTEMS.find((s) => s.name === name);
}
