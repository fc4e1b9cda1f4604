// The disk subsystem, declared as data: block-layer bytes and bios per thread
// (submitter's context), writeback charged to the process that dirtied the
// pages, request latency per process; columns and JSON fields.
import { fmtBytes } from '../format';
import { group } from './schema';
import type { Column, JsonField, Subsystem, Values } from './types';
import { RAW } from './cpu';

/** struct ebtop_disk_counters: per thread, in task-local storage. */
export const DISK = group({
  name: 'disk',
  kind: 'task',
  struct: 'ebtop_disk_counters',
  member: 'thr.disk',
  slots: ['read_bytes', 'write_bytes', 'reads', 'writes', 'seq_bios', 'fs_read_bytes', 'fs_write_bytes', 'dirtied_bytes'],
  source: 'disk.bio',
});

/** struct ebtop_disk_writeback: per owner, drained each refresh. */
export const WRITEBACK = group({
  name: 'disk_writeback',
  kind: 'charge',
  struct: 'ebtop_disk_writeback',
  map: 'disk_writeback',
  slots: ['writeback_bytes', 'writeback_ios'],
  source: 'disk.bio',
});

const rate = (bytes: number, r: Values) => (r.spanNs > 0 ? (bytes * 1e9) / r.spanNs : 0);
const at = (i: () => number) => (r: Values) => r.v[i()];
const readBytes = at(() => DISK.at.read_bytes);
const writeBytes = at(() => DISK.at.write_bytes);
const writeback = at(() => WRITEBACK.at.writeback_bytes);
/** What the device wrote for the process: its own bios plus writeback of pages it dirtied. */
const allWrites = (r: Values) => writeBytes(r) + (r.avail.has(WRITEBACK.name) ? writeback(r) : 0);

const col = (c: Omit<Column, 'align' | 'descending'> & Partial<Column>): Column => ({ align: 'right', descending: true, ...c });
const columns: Column[] = [
  col({ id: 'disk_r', title: 'DISK-R', width: 8, needs: 'disk', help: 'block-layer bytes read per second (bios it submitted)', text: (r) => `${fmtBytes(rate(readBytes(r), r))}`, value: readBytes }),
  col({ id: 'disk_w', title: 'DISK-W', width: 8, needs: 'disk', help: 'block-layer bytes written per second: its own bios + writeback of pages it dirtied', text: (r) => `${fmtBytes(rate(allWrites(r), r))}`, value: allWrites }),
];

const field = (key: string, needs: string, get: (r: Values) => number | null, thread = true): JsonField => ({ key, needs, thread, get });
const json: JsonField[] = [
  field('disk_read_bytes', 'disk', readBytes),
  field('disk_write_bytes', 'disk', writeBytes),
  field('writeback_bytes', WRITEBACK.name, writeback, false),
  field('dirtied_bytes', 'disk.dirty', at(() => DISK.at.dirtied_bytes)),
  field('disk_reads', 'disk', at(() => DISK.at.reads)),
  field('disk_writes', 'disk', at(() => DISK.at.writes)),
];

export const disk: Subsystem = {
  name: 'disk',
  what: 'block I/O bytes, IOPS, latency, writeback charged to the dirtier',
  optional: true,
  hooks: [
    {
      source: 'disk.bio',
      what: 'bytes and bios per thread, in the submitter\'s context; writeback charged through the page\'s inode',
      variants: [
        { program: 'bio_queue_btf', hook: 'tp_btf/block_bio_queue', needsType: 'btf_trace_block_bio_queue' },
        { program: 'bio_queue_raw', hook: 'raw_tp/block_bio_queue', needsRawTp: true, consts: RAW },
      ],
    },
    {
      source: 'disk.dirty',
      what: 'page-cache folios dirtied per thread, and each inode\'s last dirtier',
      variants: [
        { program: 'dirty_folio_btf', hook: 'tp_btf/writeback_dirty_folio', needsType: 'btf_trace_writeback_dirty_folio' },
        { program: 'dirty_folio_raw', hook: 'raw_tp/writeback_dirty_folio', needsRawTp: true, consts: RAW },
      ],
    },
  ],
  maps: [
    { name: 'disk_writeback', entries: (m) => Math.min(m.pidMax, 16384) },
    { name: 'disk_dirtier', entries: () => 65536 },
  ],
  groups: [DISK, WRITEBACK],
  columns,
  json,
  system: (iv) => ({ unattributed_write_bytes: iv.avail.has(WRITEBACK.name) ? iv.system.unattributed[WRITEBACK.at.writeback_bytes] : null }),
};
