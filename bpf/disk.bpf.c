// SPDX-License-Identifier: GPL-2.0
/*
 * Disk subsystem. Per thread (task-local storage, in the submitter's own
 * context): block-layer bytes and bios at block_bio_queue, and the page-cache
 * folios it dirtied. Charged to an owner process outside its context:
 * writeback of pages it dirtied, written later by a flusher (or by sync in
 * another process), found through the inode the page belongs to.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define REQ_OP_MASK 0xff
#define REQ_OP_READ 0
#define REQ_OP_WRITE 1

/* Who last dirtied pages of an inode: the writeback of that inode's pages is
 * theirs. LRU: an inode nobody dirtied for long makes room; its later
 * writeback is then unattributed, never misattributed. */
struct inode_key {
	__u32 dev;
	__u32 pad;
	__u64 ino;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct inode_key);
	__type(value, struct ebtop_owner);
} disk_dirtier SEC(".maps");

/* Owner-keyed charges, drained by userspace every refresh; pid 0: no owner. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct ebtop_owner);
	__type(value, struct ebtop_disk_writeback);
} disk_writeback SEC(".maps");

/* The charge entry of an owner on this CPU, created zeroed; NULL when full (counted). */
static __always_inline struct ebtop_disk_writeback *writeback_of(struct ebtop_owner *o)
{
	charge_key(o);
	struct ebtop_disk_writeback *c = bpf_map_lookup_elem(&disk_writeback, o);
	if (c)
		return c;
	struct ebtop_disk_writeback z = {};
	if (bpf_map_update_elem(&disk_writeback, o, &z, BPF_NOEXIST) == -E2BIG)
		count_map_full();
	return bpf_map_lookup_elem(&disk_writeback, o);
}

/* The inode a page-cache page belongs to; false for anonymous or unmapped pages. */
static __always_inline bool page_inode(struct page *page, struct inode_key *k)
{
	unsigned long head = BPF_CORE_READ(page, compound_head);
	if (head & 1)
		page = (struct page *)(head - 1);
	unsigned long mapping = (unsigned long)BPF_CORE_READ(page, mapping);
	if (!mapping || (mapping & 1)) /* PAGE_MAPPING_ANON and friends */
		return false;
	struct inode *host = BPF_CORE_READ((struct address_space *)mapping, host);
	if (!host)
		return false;
	k->dev = BPF_CORE_READ(host, i_sb, s_dev);
	k->pad = 0;
	k->ino = BPF_CORE_READ(host, i_ino);
	return true;
}

static __always_inline int on_bio_queue(struct bio *bio)
{
	__u32 op = BPF_CORE_READ(bio, bi_opf) & REQ_OP_MASK;
	if (op != REQ_OP_READ && op != REQ_OP_WRITE)
		return 0; /* discards, flushes, zone ops: not data the process moved */
	__u64 bytes = BPF_CORE_READ(bio, bi_iter.bi_size);
	if (!bytes)
		return 0;
	struct task_struct *t = bpf_get_current_task_btf();

	if (op == REQ_OP_WRITE) {
		/* Written for whoever dirtied the page, if that is another process. */
		struct inode_key k;
		struct bio_vec *bv = BPF_CORE_READ(bio, bi_io_vec);
		struct page *page = bv ? BPF_CORE_READ(bv, bv_page) : NULL;
		if (page && page_inode(page, &k)) {
			struct ebtop_owner *dirtier = bpf_map_lookup_elem(&disk_dirtier, &k);
			struct ebtop_owner self;
			owner_of(t, &self);
			if (dirtier && (dirtier->pid != self.pid || dirtier->start_ns != self.start_ns)) {
				struct ebtop_owner o = *dirtier;
				struct ebtop_disk_writeback *c = writeback_of(&o);
				if (c) {
					c->writeback_bytes += bytes;
					c->writeback_ios++;
				}
				return 0;
			}
			if (!dirtier && (BPF_CORE_READ(t, flags) & PF_KTHREAD)) {
				/* a flusher writing pages nobody we know dirtied */
				struct ebtop_owner none = {};
				struct ebtop_disk_writeback *c = writeback_of(&none);
				if (c) {
					c->writeback_bytes += bytes;
					c->writeback_ios++;
				}
				return 0;
			}
		}
	}
	struct ebtop_thread *th = thread_get(t, true);
	if (!th)
		return 0;
	if (op == REQ_OP_WRITE) {
		th->c.disk.write_bytes += bytes;
		th->c.disk.writes++;
	} else {
		th->c.disk.read_bytes += bytes;
		th->c.disk.reads++;
	}
	return 0;
}

SEC("tp_btf/block_bio_queue")
int BPF_PROG(bio_queue_btf, struct bio *bio)
{
	return on_bio_queue(bio);
}

SEC("raw_tp/block_bio_queue")
int BPF_PROG(bio_queue_raw, struct bio *bio)
{
	return on_bio_queue(bio);
}

/* PG_head: a large folio, whose order is in _flags_1's low byte. */
static __always_inline __u64 folio_bytes(struct folio *folio)
{
	unsigned long flags = 0;
	bpf_probe_read_kernel(&flags, sizeof(flags), &folio->flags);
	if (!(flags & (1UL << bpf_core_enum_value(enum pageflags, PG_head))))
		return 4096;
	return 4096ULL << (BPF_CORE_READ(folio, _flags_1) & 0xff);
}

static __always_inline int on_dirty_folio(struct folio *folio, struct address_space *mapping)
{
	if (!mapping)
		return 0;
	struct task_struct *t = bpf_get_current_task_btf();
	struct ebtop_thread *th = thread_get(t, true);
	if (th)
		th->c.disk.dirtied_bytes += folio_bytes(folio);
	struct inode *host = BPF_CORE_READ(mapping, host);
	if (!host)
		return 0;
	struct inode_key k = { .dev = BPF_CORE_READ(host, i_sb, s_dev), .ino = BPF_CORE_READ(host, i_ino) };
	struct ebtop_owner o;
	owner_of(t, &o);
	bpf_map_update_elem(&disk_dirtier, &k, &o, BPF_ANY);
	return 0;
}

SEC("tp_btf/writeback_dirty_folio")
int BPF_PROG(dirty_folio_btf, struct folio *folio, struct address_space *mapping)
{
	return on_dirty_folio(folio, mapping);
}

SEC("raw_tp/writeback_dirty_folio")
int BPF_PROG(dirty_folio_raw, struct folio *folio, struct address_space *mapping)
{
	return on_dirty_folio(folio, mapping);
}
