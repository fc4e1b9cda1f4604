// SPDX-License-Identifier: GPL-2.0
/*
 * Disk subsystem. Per thread (task-local storage, in its own context):
 * block-layer bytes and bios at block_bio_queue, how many of them continued
 * where the process's previous bio on that device ended, page-cache reads
 * and writes (fs level), and the page-cache folios it dirtied. Charged to an
 * owner process outside its context: writeback of pages it dirtied (written
 * later by a flusher, or by sync in another process, found through the
 * page's inode), and the latency of its requests (completed in softirq on
 * whatever task was running, found through the request's in-flight record,
 * bpf/inflight.bpf.h). Per device: the same bios and latencies, for system.disk.
 */
#include "common.bpf.h"
#include "syscalls.bpf.h"
#include "latency.bpf.h"
#include "inflight.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define REQ_OP_MASK 0xff
#define REQ_OP_READ 0
#define REQ_OP_WRITE 1
#define PAGE_SHIFT 12
#define S_IFMT 00170000
#define S_IFBLK 0060000

/* Set before load (src/subsystems/disk.ts) from the BTF argument count: before
 * 5.11 block_rq_insert and block_rq_issue passed the queue first. */
const volatile __u32 rq_has_queue_arg = 0;
/* The same for block_bio_queue (5.11 dropped its queue argument too): on
 * 5.10 the bio is the second argument, and the first read as a bio gave 0 bytes. */
const volatile __u32 bio_has_queue_arg = 0;

/*
 * A tracepoint's first argument after the request queue, where the kernel
 * passes one (has_queue). Two loads at fixed offsets: written as ctx[i],
 * clang indexes the context pointer (ctx + 8 * i, then a load), which the
 * 5.10 verifier refuses ("dereference of modified ctx ptr"). The load this
 * kernel does not need is dead code the verifier never walks: has_queue is a
 * constant set before load.
 */
static __always_inline __u64 arg_after_queue(__u64 *ctx, __u32 has_queue)
{
	__u64 v;
	if (has_queue)
		asm volatile("%0 = *(u64 *)(%1 + 8)" : "=r"(v) : "r"(ctx));
	else
		asm volatile("%0 = *(u64 *)(%1 + 0)" : "=r"(v) : "r"(ctx));
	return v;
}

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

/* Owner-keyed charges, drained by userspace every refresh; pid 0: no owner.
 * Not preallocated: preallocating 16,384 per-CPU entries cost 12 ms of
 * start-up each, for owners that are few in any one refresh. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 4096);
	__type(key, struct ebtop_owner);
	__type(value, struct ebtop_disk_writeback);
} disk_writeback SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1024);
	__type(key, struct ebtop_owner);
	__type(value, struct ebtop_disk_latency);
} disk_latency SEC(".maps");

/* Per-device totals, cumulative; userspace takes deltas. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 256);
	__type(key, struct ebtop_disk_dev);
	__type(value, struct ebtop_disk_device);
} disk_devices SEC(".maps");

/* Where each process's previous bio on each device ended (sector). */
struct seq_key {
	__u32 pid;
	__u32 major;
	__u32 minor;
	__u32 pad;
	__u64 start_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct seq_key);
	__type(value, __u64);
} disk_seq SEC(".maps");

/* Per-CPU counters of the disk subsystem. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ebtop_disk_stats);
} disk_stats SEC(".maps");

/* The object's BTF records only the types of globals, maps and function
 * signatures: this makes the in-flight entry checkable from userspace. */
const volatile struct ebtop_disk_req btf_disk_req_layout __attribute__((used));

/* Zeroed values to insert from: too big for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ebtop_disk_device);
} disk_zero SEC(".maps");

/* ---------- helpers ---------- */

/* The entry of `key` in a hash map, created from `zero` when missing; NULL
 * when full (counted once per key: `tag`, `id`, `salt`). */
static __always_inline void *lookup_or_init(void *map, void *key, void *zero, __u32 tag, __u64 id, __u64 salt)
{
	void *v = bpf_map_lookup_elem(map, key);
	if (v)
		return v;
	if (!zero)
		return NULL;
	if (bpf_map_update_elem(map, key, zero, BPF_NOEXIST) == -E2BIG)
		count_map_full(tag, id, salt);
	return bpf_map_lookup_elem(map, key);
}

static __always_inline void *zero_value(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&disk_zero, &zero);
}

/* The charge entry of an owner on this CPU, created zeroed; NULL when full (counted). */
static __always_inline struct ebtop_disk_writeback *writeback_of(struct ebtop_owner *o)
{
	charge_key(o);
	struct ebtop_disk_writeback z = {};
	/* the process once, in any charge generation */
	return lookup_or_init(&disk_writeback, o, &z, LOST_DISK_WRITEBACK, o->pid, o->start_ns);
}

static __always_inline struct ebtop_disk_device *device_of(struct ebtop_disk_dev *d)
{
	return lookup_or_init(&disk_devices, d, zero_value(), LOST_DISK_DEVICE, d->major, d->minor);
}

/* bio->bi_disk before 5.12 */
struct bio___pre512 {
	struct gendisk *bi_disk;
} __attribute__((preserve_access_index));

/* request->rq_disk before 5.16 */
struct request___pre516 {
	struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

static __always_inline void disk_dev(struct gendisk *disk, struct ebtop_disk_dev *d)
{
	d->major = BPF_CORE_READ(disk, major);
	d->minor = BPF_CORE_READ(disk, first_minor);
}

static __always_inline struct gendisk *bio_disk(struct bio *bio)
{
	if (bpf_core_field_exists(bio->bi_bdev))
		return BPF_CORE_READ(bio, bi_bdev, bd_disk);
	return BPF_CORE_READ((struct bio___pre512 *)bio, bi_disk);
}

static __always_inline struct gendisk *rq_disk(struct request *rq)
{
	struct request___pre516 *old = (void *)rq;
	if (bpf_core_field_exists(old->rq_disk))
		return BPF_CORE_READ(old, rq_disk);
	return BPF_CORE_READ(rq, q, disk);
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

static __always_inline bool same_owner(struct ebtop_owner *a, struct ebtop_owner *b)
{
	return a->pid == b->pid && a->start_ns == b->start_ns;
}

/* ---------- bios: bytes, IOPS, sequential ratio, writeback ---------- */

/* Writes of pages someone else dirtied are theirs (writeback); a kernel
 * thread's writes of pages nobody we know dirtied are nobody's. Returns true
 * when the bio was charged here, not to the submitting thread. */
static __always_inline bool charge_write(struct bio *bio, struct task_struct *t, __u64 bytes)
{
	struct inode_key k;
	struct bio_vec *bv = BPF_CORE_READ(bio, bi_io_vec);
	struct page *page = bv ? BPF_CORE_READ(bv, bv_page) : NULL;
	if (!page || !page_inode(page, &k))
		return false;
	struct ebtop_owner *dirtier = bpf_map_lookup_elem(&disk_dirtier, &k);
	struct ebtop_owner o;
	if (dirtier) {
		owner_of(t, &o);
		if (same_owner(dirtier, &o))
			return false;
		o = *dirtier;
	} else if (BPF_CORE_READ(t, flags) & PF_KTHREAD) {
		__builtin_memset(&o, 0, sizeof(o));
	} else {
		return false;
	}
	struct ebtop_disk_writeback *c = writeback_of(&o);
	if (c) {
		c->writeback_bytes += bytes;
		c->writeback_ios++;
	}
	return true;
}

/* Whether the bio starts where this process's previous bio on this device ended. */
static __always_inline bool sequential(struct task_struct *t, struct ebtop_disk_dev *d, struct bio *bio, __u64 bytes)
{
	struct seq_key k = { .pid = BPF_CORE_READ(t, tgid), .major = d->major, .minor = d->minor,
			     .start_ns = BPF_CORE_READ(t, group_leader, start_time) };
	__u64 start = BPF_CORE_READ(bio, bi_iter.bi_sector);
	__u64 end = start + (bytes >> 9);
	__u64 *last = bpf_map_lookup_elem(&disk_seq, &k);
	if (last) {
		bool seq = *last == start;
		*last = end;
		return seq;
	}
	bpf_map_update_elem(&disk_seq, &k, &end, BPF_ANY);
	return false;
}

static __always_inline int on_bio_queue(struct bio *bio)
{
	__u32 op = BPF_CORE_READ(bio, bi_opf) & REQ_OP_MASK;
	if (op != REQ_OP_READ && op != REQ_OP_WRITE)
		return 0; /* discards, flushes, zone ops: not data the process moved */
	__u64 bytes = BPF_CORE_READ(bio, bi_iter.bi_size);
	if (!bytes)
		return 0;
	TEST_REJECT(TEST_REJECT_DISK);
	struct task_struct *t = current_task();
	struct ebtop_disk_dev d;
	disk_dev(bio_disk(bio), &d);
	struct ebtop_disk_device *dev = device_of(&d);
	if (dev) {
		if (op == REQ_OP_WRITE) {
			dev->write_bytes += bytes;
			dev->writes++;
		} else {
			dev->read_bytes += bytes;
			dev->reads++;
		}
	}
	/* Submitted while a bio-based driver (dm, md) handles another bio: its
	 * clone or remap onto the device below. The process was counted for the
	 * bio it submitted, on the device it submitted it to. */
	if (BPF_CORE_READ(t, bio_list)) {
		if (dev)
			dev->remapped_bytes += bytes;
		return 0;
	}
	if (op == REQ_OP_WRITE && charge_write(bio, t, bytes))
		return 0;
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
	if (sequential(t, &d, bio, bytes))
		th->c.disk.seq_bios++;
	return 0;
}

SEC("tp_btf/block_bio_queue")
int bio_queue_btf(__u64 *ctx)
{
	return on_bio_queue((struct bio *)arg_after_queue(ctx, bio_has_queue_arg));
}

SEC("raw_tp/block_bio_queue")
int bio_queue_raw(__u64 *ctx)
{
	return on_bio_queue((struct bio *)arg_after_queue(ctx, bio_has_queue_arg));
}

/* ---------- requests: latency ---------- */

static __always_inline bool data_request(struct request *rq)
{
	__u32 op = BPF_CORE_READ(rq, cmd_flags) & REQ_OP_MASK;
	return op == REQ_OP_READ || op == REQ_OP_WRITE;
}

/* A request starts: remember who asked for it. That is the context this runs
 * in for ~99% of requests; the others start where a kernel worker dispatches
 * them, and are charged to that worker. `only_new`: keep an owner already
 * recorded for this life of the request (a requeued request is inserted
 * again, by a kernel worker). `last`: the request's last chance to start
 * (block_io_start, block_rq_issue), where a full hash loses its latency; one
 * refused at insert may still find room at issue, or be merged away.
 * `slots`: the in-flight slots (5.12+), else the hash alone. */
static __always_inline int on_req_start(struct request *rq, bool only_new, bool last, bool slots)
{
	if (!data_request(rq))
		return 0;
	__u64 key = (__u64)rq;
	__u64 born = BPF_CORE_READ(rq, start_time_ns);
	if (only_new && inflight_started(key, born, slots))
		return 0;
	struct ebtop_disk_req v = { .born = born, .start_ns = bpf_ktime_get_ns() };
	owner_of(current_task(), &v.owner);
	/* once per life of the request (a requeued one is issued again) */
	if (inflight_put(key, &v, slots) == -E2BIG && last && count_map_full(LOST_DISK_REQ, key, born)) {
		__u32 zero = 0;
		struct ebtop_disk_stats *st = bpf_map_lookup_elem(&disk_stats, &zero);
		if (st)
			st->req_full++;
	}
	return 0;
}

/* A request is done (softirq, on any task): its latency goes to its owner
 * and its device. The start is the block layer's own (what /sys/block/<dev>/
 * stat accounts) where it keeps one, else ours. */
static __always_inline int on_req_done(struct request *rq, bool slots)
{
	if (!data_request(rq))
		return 0;
	struct ebtop_disk_req s;
	if (!inflight_take((__u64)rq, &s, slots))
		return 0;
	__u64 now = bpf_ktime_get_ns();
	__u64 start = BPF_CORE_READ(rq, start_time_ns);
	if (!start || start > now)
		start = s.start_ns;
	__u64 ns = now - start;
	struct ebtop_owner o = s.owner;

	struct ebtop_disk_dev d;
	disk_dev(rq_disk(rq), &d);
	struct ebtop_disk_device *dev = device_of(&d);
	if (dev)
		lat_add(&dev->lat, ns);
	charge_key(&o);
	struct ebtop_disk_latency *l = lookup_or_init(&disk_latency, &o, zero_value(), LOST_DISK_LATENCY, o.pid, o.start_ns);
	if (l)
		lat_add(l, ns);
	return 0;
}

/* 6.5+: kernels with BPF compare-and-exchange, so slots always. */
SEC("tp_btf/block_io_start")
int BPF_PROG(io_start_btf, struct request *rq)
{
	return on_req_start(rq, false, true, true);
}

SEC("raw_tp/block_io_start")
int BPF_PROG(io_start_raw, struct request *rq)
{
	return on_req_start(rq, false, true, true);
}

SEC("tp_btf/block_io_done")
int BPF_PROG(io_done_btf, struct request *rq)
{
	return on_req_done(rq, true);
}

SEC("raw_tp/block_io_done")
int BPF_PROG(io_done_raw, struct request *rq)
{
	return on_req_done(rq, true);
}

/* Before 6.5 (no block_io_start/done): a request starts when it is first
 * inserted into the scheduler, or when it is issued to the driver without
 * having been inserted (direct issue); it is done at block_rq_complete. Before 5.11
 * insert and issue passed the queue first (rq_has_queue_arg). Each program in
 * two builds: with slots (5.12+), and *_hash with the hash alone (5.10, 5.11). */
#define RQ_START(name, sec, only_new, last)                                                               \
	SEC(sec) int name(__u64 *ctx)                                                                      \
	{                                                                                                   \
		return on_req_start((struct request *)arg_after_queue(ctx, rq_has_queue_arg), only_new, last, true); \
	}                                                                                                   \
	SEC(sec) int name##_hash(__u64 *ctx)                                                               \
	{                                                                                                   \
		return on_req_start((struct request *)arg_after_queue(ctx, rq_has_queue_arg), only_new, last, false); \
	}

RQ_START(rq_insert_btf, "tp_btf/block_rq_insert", true, false)
RQ_START(rq_insert_raw, "raw_tp/block_rq_insert", true, false)
RQ_START(rq_issue_btf, "tp_btf/block_rq_issue", true, true)
RQ_START(rq_issue_raw, "raw_tp/block_rq_issue", true, true)

SEC("tp_btf/block_rq_complete")
int BPF_PROG(rq_complete_btf, struct request *rq)
{
	return on_req_done(rq, true);
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(rq_complete_btf_hash, struct request *rq)
{
	return on_req_done(rq, false);
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(rq_complete_raw, struct request *rq)
{
	return on_req_done(rq, true);
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(rq_complete_raw_hash, struct request *rq)
{
	return on_req_done(rq, false);
}

/* ---------- page cache: dirtied folios, fs reads and writes ---------- */

/* folio->flags: a memdesc_flags_t (a struct around the word) from 6.18, the
 * plain word before. The vmlinux.h ebtop is built against may have either:
 * both shapes are declared as CO-RE flavours and the kernel's BTF picks one. */
struct folio___memdesc {
	struct {
		unsigned long f;
	} flags;
} __attribute__((preserve_access_index));

struct folio___word {
	unsigned long flags;
} __attribute__((preserve_access_index));

/* A large folio's order: _flags_1's low byte from 6.6, _folio_order in
 * 5.18-6.5, the second page's compound_order before. */
struct folio___order {
	unsigned char _folio_order;
} __attribute__((preserve_access_index));

struct folio___flags1 {
	unsigned long _flags_1;
} __attribute__((preserve_access_index));

struct page___order {
	unsigned char compound_order;
} __attribute__((preserve_access_index));

/* PG_head: a large folio, whose order is read as above. */
static __always_inline __u64 folio_bytes(struct folio *folio)
{
	unsigned long flags = 0;
	if (bpf_core_type_exists(memdesc_flags_t) && bpf_core_field_exists(((struct folio___memdesc *)folio)->flags.f))
		flags = BPF_CORE_READ((struct folio___memdesc *)folio, flags.f);
	else
		flags = BPF_CORE_READ((struct folio___word *)folio, flags);
	if (!(flags & (1UL << bpf_core_enum_value(enum pageflags, PG_head))))
		return 4096;
	__u32 order;
	if (bpf_core_field_exists(((struct folio___flags1 *)folio)->_flags_1))
		order = BPF_CORE_READ((struct folio___flags1 *)folio, _flags_1) & 0xff;
	else if (bpf_core_field_exists(((struct folio___order *)folio)->_folio_order))
		order = BPF_CORE_READ((struct folio___order *)folio, _folio_order);
	else
		order = BPF_CORE_READ((struct page___order *)((struct page *)folio + 1), compound_order);
	return 4096ULL << (order & 0x3f);
}

/* `bytes` of the page cache of `mapping` were dirtied by the current task. */
static __always_inline int on_dirtied(__u64 bytes, struct address_space *mapping)
{
	if (!mapping)
		return 0;
	struct task_struct *t = current_task();
	struct ebtop_thread *th = thread_get(t, true);
	if (th)
		th->c.disk.dirtied_bytes += bytes;
	struct inode *host = BPF_CORE_READ(mapping, host);
	if (!host)
		return 0;
	/* A block device's own page cache holds file systems' metadata: whoever
	 * happens to dirty a buffer there does not own the journal's writes. */
	if ((BPF_CORE_READ(host, i_mode) & S_IFMT) == S_IFBLK)
		return 0;
	struct inode_key k = { .dev = BPF_CORE_READ(host, i_sb, s_dev), .ino = BPF_CORE_READ(host, i_ino) };
	struct ebtop_owner o;
	owner_of(t, &o);
	struct ebtop_owner *cur = bpf_map_lookup_elem(&disk_dirtier, &k);
	if (!cur || !same_owner(cur, &o))
		bpf_map_update_elem(&disk_dirtier, &k, &o, BPF_ANY);
	return 0;
}

SEC("tp_btf/writeback_dirty_folio")
int BPF_PROG(dirty_folio_btf, struct folio *folio, struct address_space *mapping)
{
	return on_dirtied(mapping ? folio_bytes(folio) : 0, mapping);
}

SEC("raw_tp/writeback_dirty_folio")
int BPF_PROG(dirty_folio_raw, struct folio *folio, struct address_space *mapping)
{
	return on_dirtied(mapping ? folio_bytes(folio) : 0, mapping);
}

/* Before folios (writeback_dirty_folio came in 5.17): one event per 4 KiB page. */
SEC("tp_btf/writeback_dirty_page")
int BPF_PROG(dirty_page_btf, struct page *page, struct address_space *mapping)
{
	return on_dirtied(4096, mapping);
}

SEC("raw_tp/writeback_dirty_page")
int BPF_PROG(dirty_page_raw, struct page *page, struct address_space *mapping)
{
	return on_dirtied(4096, mapping);
}

/*
 * A buffered read got its pages [index, last] from the page cache (after
 * reading them in on a miss). One read() fetches its pages in batches and
 * reports the whole remaining range each time: a batch that continues the
 * thread's previous range of the same file is already counted. Pages past
 * the end of the file are not read.
 */
static __always_inline int on_get_pages(struct address_space *mapping, __u64 index, __u64 last)
{
	if (!mapping)
		return 0;
	struct ebtop_thread *th = thread_get(current_task(), true);
	if (!th)
		return 0;
	struct ebtop_disk_thread *p = &th->disk;
	bool counted = p->fs_mapping == (__u64)mapping && p->fs_last == last && index > p->fs_index && index <= last;
	p->fs_mapping = (__u64)mapping;
	p->fs_index = index;
	p->fs_last = last;
	if (counted)
		return 0;
	__s64 size = BPF_CORE_READ(mapping, host, i_size);
	if (size <= 0)
		return 0;
	__u64 eof = ((__u64)size - 1) >> PAGE_SHIFT;
	if (last > eof)
		last = eof;
	if (index > last)
		return 0;
	th->c.disk.fs_read_bytes += (last - index + 1) << PAGE_SHIFT;
	return 0;
}

SEC("tp_btf/mm_filemap_get_pages")
int BPF_PROG(get_pages_btf, struct address_space *mapping, unsigned long index, unsigned long last)
{
	return on_get_pages(mapping, index, last);
}

SEC("raw_tp/mm_filemap_get_pages")
int BPF_PROG(get_pages_raw, struct address_space *mapping, unsigned long index, unsigned long last)
{
	return on_get_pages(mapping, index, last);
}

#define S_IFREG 0100000
#define O_DIRECT_FLAG 040000 /* x86, arm64 differs (0200000): then direct reads count too */

/*
 * Before mm_filemap_get_pages (6.6): what read(), pread64() and the readv
 * family returned from a regular file not opened O_DIRECT, at sys_exit.
 * Byte exact where the primary is page granular; mmap faults are seen by
 * neither. Costs every system call of the machine one program run.
 */
static __always_inline int on_read_exit(struct pt_regs *regs, long ret)
{
	if (ret <= 0)
		return 0;
	long nr = syscall_nr(regs);
	if (nr != NR_READ && nr != NR_PREAD64 && nr != NR_READV && nr != NR_PREADV && nr != NR_PREADV2)
		return 0;
	struct file *f = file_of_fd(PT_REGS_PARM1_CORE_SYSCALL(regs));
	if (!f || (BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT) != S_IFREG || (BPF_CORE_READ(f, f_flags) & O_DIRECT_FLAG))
		return 0;
	struct ebtop_thread *th = thread_get(current_task(), true);
	if (th)
		th->c.disk.fs_read_bytes += ret;
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(read_sys_btf, struct pt_regs *regs, long ret)
{
	return on_read_exit(regs, ret);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(read_sys_raw, struct pt_regs *regs, long ret)
{
	return on_read_exit(regs, ret);
}

/* A buffered write copied `copied` bytes into the page cache (ext4: its
 * write_end for delayed allocation, ordered/writeback and journalled data). */
static __always_inline int on_write_end(__u32 copied)
{
	struct ebtop_thread *th = thread_get(current_task(), true);
	if (th)
		th->c.disk.fs_write_bytes += copied;
	return 0;
}

SEC("tp_btf/ext4_da_write_end")
int BPF_PROG(da_write_end_btf, struct inode *inode, loff_t pos, unsigned int len, unsigned int copied)
{
	return on_write_end(copied);
}

SEC("raw_tp/ext4_da_write_end")
int BPF_PROG(da_write_end_raw, struct inode *inode, loff_t pos, unsigned int len, unsigned int copied)
{
	return on_write_end(copied);
}

SEC("tp_btf/ext4_write_end")
int BPF_PROG(write_end_btf, struct inode *inode, loff_t pos, unsigned int len, unsigned int copied)
{
	return on_write_end(copied);
}

SEC("raw_tp/ext4_write_end")
int BPF_PROG(write_end_raw, struct inode *inode, loff_t pos, unsigned int len, unsigned int copied)
{
	return on_write_end(copied);
}

SEC("tp_btf/ext4_journalled_write_end")
int BPF_PROG(journalled_write_end_btf, struct inode *inode, loff_t pos, unsigned int len, unsigned int copied)
{
	return on_write_end(copied);
}

SEC("raw_tp/ext4_journalled_write_end")
int BPF_PROG(journalled_write_end_raw, struct inode *inode, loff_t pos, unsigned int len, unsigned int copied)
{
	return on_write_end(copied);
}
