/* SPDX-License-Identifier: GPL-2.0 */
/* Maps and helpers shared by every ebtop BPF program. */
#ifndef EBTOP_COMMON_BPF_H
#define EBTOP_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "ebtop.h"

#define PF_KTHREAD 0x00200000
#define TASK_DEAD_STATE 0x80
#define E2BIG 7

/*
 * A field, through a chain of pointers or not: KREAD(btf, t, real_parent,
 * tgid) is t->real_parent->tgid. Through a BTF pointer (the task iterator's
 * task, tp_btf arguments, bpf_get_current_task_btf()) it is a plain load,
 * which the JIT turns into a fault-safe load of about a nanosecond; through
 * an untyped pointer (raw_tp arguments) it must be bpf_probe_read_kernel,
 * 15-80 ns per pointer hop. The iterator reads some 30 fields per thread and
 * sched_switch a few per switch. `btf` is a constant wherever the inline
 * helpers are used: each program keeps one form, and the verifier never sees
 * the other. A pointer loaded through a BTF pointer has a price at load
 * instead: the verifier checks it against the kernel's trusted-field lists
 * by a linear search of the kernel's BTF (~0.8 ms per load site here), so
 * hops are plain loads only where they run often.
 */
#define KREAD(btf, src, ...) ((btf) ? ___arrow((src), ##__VA_ARGS__) : BPF_CORE_READ((src), ##__VA_ARGS__))

/* Shared maps are __weak: every subsystem object includes this header, and
 * the static linker (bpftool gen object) merges the identical definitions. */

/* One ring buffer for every record that cannot wait for the next snapshot
 * (exits, execs, forks). Size set from userspace before load. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} events SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ebtop_stats);
} stats SEC(".maps") __weak;

/* Per-thread state (struct ebtop_thread): task-local storage, freed with the
 * task, so a reused tid never inherits it. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ebtop_thread);
} thread_store SEC(".maps") __weak;

/* Fallback without task-local storage (before 5.11): a per-tid hash sized
 * before load; the core deletes a thread's entry at its exit record, and
 * userspace the entries of threads that vanished unseen. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ebtop_thread_slot);
} thread_hash SEC(".maps") __weak;

/* A zeroed slot to insert from: too big for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ebtop_thread_slot);
} thread_zero SEC(".maps") __weak;

/* The charge generation programs write (struct ebtop_owner.gen). Userspace
 * flips it at the start of each refresh and drains the entries of the other
 * generation at the end: by then no program can still hold a pointer to one
 * (programs run for microseconds with preemption off), so no charge is
 * written into an entry that was already read and deleted. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} charge_gen SEC(".maps") __weak;

/* Set before load (src/subsystems/cpu.ts): 1 where task-local storage is missing. */
extern const volatile __u32 use_thread_hash;

/*
 * Tests only (EBTOP_TEST_REJECT, src/loader.ts): a program whose bit is set
 * does something the verifier refuses, so a test can see one refusal stop
 * that program's source alone. 0 in every real run: the branch is pruned.
 */
extern const volatile __u32 test_reject;
#define TEST_REJECT_DISK 0x1
#define TEST_REJECT_WAIT 0x2
#define TEST_REJECT_CORE 0x4
#define TEST_REJECT(bit)                                                                 \
	do {                                                                             \
		if (test_reject & (bit))                                                 \
			asm volatile("r0 = *(u64 *)(r10 + 8)" ::: "r0"); /* above the frame */ \
	} while (0)

/*
 * The current task. bpf_get_current_task_btf() (5.11) gives a BTF pointer;
 * before it only bpf_get_current_task() exists, an untyped one. Which one
 * the kernel has is a CO-RE relocation resolved at load: the verifier sees
 * one branch. Every caller reads the task through BPF_CORE_READ, which
 * works on both, and on those kernels thread_get() uses the tid hash (task
 * storage, which needs the BTF pointer, came in the same release).
 */
static __always_inline struct task_struct *current_task(void)
{
	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_current_task_btf))
		return bpf_get_current_task_btf();
	return (struct task_struct *)bpf_get_current_task();
}

static __always_inline struct ebtop_stats *own_stats(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&stats, &zero);
}

/*
 * Keys a full map refused, so that each is counted once: a full connection
 * table refuses a connection at every packet, a full charge map an owner at
 * every bio, and counting refusals counted packets and bios, not what was
 * lost. LRU: a key refused long ago may be counted again. Looked at only
 * when a map is full: costs nothing otherwise.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u8);
} lost_keys SEC(".maps") __weak;

/* Which map refused a key (lost_keys tells the maps' keys apart by it). */
#define LOST_THREAD 1
#define LOST_DISK_DEVICE 2
#define LOST_DISK_WRITEBACK 3
#define LOST_DISK_LATENCY 4
#define LOST_DISK_REQ 5
#define LOST_NET_CONN 6
#define LOST_NET_CHARGE 7

/* The lost_keys key of `key` (with `salt`) of map `tag`. `key` may hold a
 * pointer (a struct request, a socket): read back as a number, since the
 * verifier refuses arithmetic on a pointer. Only on the refused path. */
static __always_inline __u64 lost_key(__u32 tag, __u64 key, __u64 salt)
{
	__u64 k = 0;
	bpf_probe_read_kernel(&k, sizeof(k), &key);
	return (k ^ salt) * 0x9E3779B97F4A7C15ULL + tag;
}

/* A full map refused `key` (`salt`: what else tells it apart) of map `tag`:
 * counted in map_full (shown as lost) the first time only; true then. */
static __always_inline bool count_map_full(__u32 tag, __u64 key, __u64 salt)
{
	__u64 k = lost_key(tag, key, salt);
	if (bpf_map_lookup_elem(&lost_keys, &k))
		return false;
	__u8 one = 1;
	bpf_map_update_elem(&lost_keys, &k, &one, BPF_ANY);
	struct ebtop_stats *s = own_stats();
	if (s)
		s->map_full++;
	return true;
}

/* A refused key that will be reused for something else (a socket's address). */
static __always_inline void forget_map_full(__u32 tag, __u64 key)
{
	__u64 k = lost_key(tag, key, 0);
	bpf_map_delete_elem(&lost_keys, &k);
}

/* Wake the reader only when the ring is half full: userspace drains it once
 * per refresh anyway, so a wakeup per record would only cost CPU. */
static __always_inline void submit(void *rec)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 size = bpf_ringbuf_query(&events, BPF_RB_RING_SIZE);
	bpf_ringbuf_submit(rec, avail > size / 2 ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
	struct ebtop_stats *s = own_stats();
	if (s)
		s->records++;
}

static __always_inline void *reserve(__u64 size)
{
	void *rec = bpf_ringbuf_reserve(&events, size, 0);
	if (!rec) {
		struct ebtop_stats *s = own_stats();
		if (s)
			s->lost++;
	}
	return rec;
}

/* The process a task belongs to (gen 0: as owner maps store it). */
static __always_inline void owner_of(struct task_struct *t, struct ebtop_owner *o)
{
	o->pid = BPF_CORE_READ(t, tgid);
	o->gen = 0;
	o->start_ns = BPF_CORE_READ(t, group_leader, start_time);
}

/* An owner as a charge map key: in the generation being written now. */
static __always_inline void charge_key(struct ebtop_owner *o)
{
	__u32 zero = 0;
	__u32 *gen = bpf_map_lookup_elem(&charge_gen, &zero);
	o->gen = gen ? *gen : 0;
}

/*
 * The thread's state, created on first use when `create`. NULL when it has
 * none (and !create), or when the fallback hash is full (counted).
 */
static __always_inline struct ebtop_thread *thread_get(struct task_struct *t, bool create)
{
	if (!use_thread_hash)
		return bpf_task_storage_get(&thread_store, t, 0, create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);

	__u32 tid = BPF_CORE_READ(t, pid), zero = 0;
	__u64 start = BPF_CORE_READ(t, start_time);
	struct ebtop_thread_slot *slot = bpf_map_lookup_elem(&thread_hash, &tid);
	if (slot && slot->start_ns != start) {
		/* a reused tid whose previous thread's exit was not seen */
		if (!create)
			return NULL;
		__builtin_memset(&slot->th, 0, sizeof(slot->th));
		slot->start_ns = start;
	}
	if (!slot && create) {
		struct ebtop_thread_slot *z = bpf_map_lookup_elem(&thread_zero, &zero);
		if (!z)
			return NULL;
		z->start_ns = start;
		if (bpf_map_update_elem(&thread_hash, &tid, z, BPF_NOEXIST) == -E2BIG)
			count_map_full(LOST_THREAD, tid, start);
		z->start_ns = 0;
		slot = bpf_map_lookup_elem(&thread_hash, &tid);
	}
	return slot ? &slot->th : NULL;
}

/* Forget a thread's state at its exit (task storage goes with the task). */
static __always_inline void thread_forget(struct task_struct *t)
{
	if (use_thread_hash) {
		__u32 tid = BPF_CORE_READ(t, pid);
		bpf_map_delete_elem(&thread_hash, &tid);
	}
}

/* task->__state was task->state before 5.14. */
struct task_struct___pre514 {
	long state;
} __attribute__((preserve_access_index));

static __always_inline __u32 task_state(struct task_struct *t, bool btf)
{
	if (bpf_core_field_exists(t->__state))
		return KREAD(btf, t, __state);
	return KREAD(btf, (struct task_struct___pre514 *)t, state);
}

/* Resident pages of a task's mm, as get_mm_counter() reads them (the
 * percpu counters' shared count, like /proc/<pid>/statm): file + anon +
 * shmem. mm->rss_stat became percpu counters in 6.2. */
struct mm_rss_stat___pre62 {
	atomic_long_t count[4];
} __attribute__((preserve_access_index));

struct mm_struct___pre62 {
	struct mm_rss_stat___pre62 rss_stat;
} __attribute__((preserve_access_index));

static __always_inline __u64 task_rss_pages(struct task_struct *t, bool btf)
{
	struct mm_struct *mm = KREAD(btf, t, mm);
	if (!mm)
		return 0;
	long pages = 0;
	if (bpf_core_type_exists(struct percpu_counter) && bpf_core_field_exists(mm->rss_stat[0].count)) {
		/* MM_FILEPAGES 0, MM_ANONPAGES 1, MM_SWAPENTS 2, MM_SHMEMPAGES 3 */
		pages = KREAD(btf, mm, rss_stat[0].count) + KREAD(btf, mm, rss_stat[1].count) + KREAD(btf, mm, rss_stat[3].count);
	} else {
		/* read by helper: a plain load through atomic_long_t is refused
		 * before 6.2 ("Type 'atomic_long_t' is not a struct") */
		struct mm_struct___pre62 *old = (void *)mm;
		pages = BPF_CORE_READ(old, rss_stat.count[0].counter) + BPF_CORE_READ(old, rss_stat.count[1].counter) +
			BPF_CORE_READ(old, rss_stat.count[3].counter);
	}
	return pages > 0 ? pages : 0;
}

/* The CPU a task is on: thread_info.cpu with THREAD_INFO_IN_TASK (x86 from
 * 5.16), task->cpu before. */
struct task_struct___pre516 {
	unsigned int cpu;
} __attribute__((preserve_access_index));

static __always_inline __u32 task_cpu_of(struct task_struct *t, bool btf)
{
	if (bpf_core_field_exists(t->thread_info.cpu))
		return KREAD(btf, t, thread_info.cpu);
	return KREAD(btf, (struct task_struct___pre516 *)t, cpu);
}

#endif
