/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Wait subsystem, the parts the core's programs call inline: classify a
 * blocked switch-out and open its interval, and close the switched-in
 * thread's interval (both in the one sched_switch program); open intervals
 * for threads that were already blocked when ebtop attached, and report a
 * woken thread's still-open interval without its run-queue tail (the task
 * iterator); host steal per thread. Everything is behind `wait_enabled`, a
 * const set before load: with --no-wait the verifier prunes it and the
 * switch costs nothing more.
 *
 * Rule table (README "Why it waits", docs/design.md "Wait reasons"), in
 * order: kernel thread (or io_uring/vhost/KVM worker) -> disk if in_iowait,
 * lock in D (not TASK_IDLE), else idle; D + iowait -> disk; stopped or traced -> signal; then the system call:
 * futex by operation (a contended mutex -> lock, condition variables,
 * semaphores, join -> cond), flock and fcntl locks -> lock, sleeps, the poll
 * family and io_uring, wait4/waitid/vfork -> child, signal waits, System V
 * and POSIX IPC, accept -> idle, libaio and the fsync family -> disk, the
 * read/write family by the fd's type, restart_syscall by the call it resumes;
 * a D state that no disk or child rule claims -> lock; anything else -> other.
 */
#ifndef EBTOP_WAIT_BPF_H
#define EBTOP_WAIT_BPF_H

#include "common.bpf.h"

/* Set before load (src/subsystems/wait.ts): the wait hooks are attached. */
extern const volatile __u32 wait_enabled;
/* `ebtop offcpu` only: user stacks of the asked processes at switch-out. */
extern const volatile __u32 offcpu_stacks;

#define TASK_UNINTERRUPTIBLE_BIT 0x2
#define TASK_STOPPED_BITS 0xc /* __TASK_STOPPED, __TASK_TRACED */
#define TASK_NOLOAD_BIT 0x400 /* with D: TASK_IDLE, a kernel thread waiting for work */
#define PF_IO_WORKER 0x10      /* an io_uring worker (iou-wrk-*) */
#define PF_USER_WORKER 0x4000  /* a vhost or KVM worker (6.4+, with struct vhost_task; before, 0x4000 meant something else) */
#define ANON_INODE_FS_MAGIC 0x09041934
#define FUTEX_CMD_MASK ~(128 | 256) /* ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME) */
#define FUTEX_WAIT 0
#define FUTEX_LOCK_PI 6
#define FUTEX_LOCK_PI2 13
#define FUTEX_WAITERS 0x80000000
#define S_IFMT 0170000
#define S_IFSOCK 0140000
#define S_IFREG 0100000
#define S_IFBLK 0060000
#define S_IFIFO 0010000
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10

/* Per CPU: the host's steal clock of this CPU's run queue at the last switch. */
struct wait_cpu {
	__u64 steal_in;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wait_cpu);
} wait_cpu SEC(".maps") __weak;

/* `ebtop offcpu`: the processes (tgids) whose stacks are taken; nobody else's are. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u8);
} offcpu_pids SEC(".maps") __weak;

/* `ebtop offcpu`: a thread's user stack at its last blocked switch-out. */
struct offcpu_ustack {
	__u32 frames;
	__u32 pad;
	__u64 ips[EBTOP_STACK_DEPTH];
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct offcpu_ustack);
} offcpu_ustack SEC(".maps") __weak;

/* The slot of a category: the first EBTOP_WAIT_CATS members are the categories. */
static __always_inline __u64 *wait_slot(struct ebtop_wait_counters *w, __u32 cat)
{
	if (cat >= EBTOP_WAIT_CATS)
		cat = EBTOP_WAIT_OTHER;
	return &w->disk_ns + cat;
}

#if defined(__TARGET_ARCH_x86)
/* x86_64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl). */
enum {
	NR_read = 0, NR_write = 1, NR_poll = 7, NR_ioctl = 16, NR_pread64 = 17, NR_pwrite64 = 18,
	NR_readv = 19, NR_writev = 20, NR_select = 23, NR_msync = 26, NR_pause = 34, NR_nanosleep = 35,
	NR_sendfile = 40, NR_connect = 42, NR_accept = 43, NR_sendto = 44, NR_recvfrom = 45,
	NR_sendmsg = 46, NR_recvmsg = 47, NR_clone = 56, NR_vfork = 58, NR_wait4 = 61, NR_semop = 65,
	NR_msgsnd = 69, NR_msgrcv = 70, NR_fcntl = 72, NR_flock = 73, NR_fsync = 74, NR_fdatasync = 75,
	NR_rt_sigtimedwait = 128, NR_rt_sigsuspend = 130, NR_sync = 162,
	NR_futex = 202, NR_restart_syscall = 219, NR_io_getevents = 208, NR_io_submit = 209, NR_semtimedop = 220, NR_clock_nanosleep = 230,
	NR_epoll_wait = 232, NR_mq_timedsend = 242, NR_mq_timedreceive = 243, NR_waitid = 247,
	NR_pselect6 = 270, NR_ppoll = 271, NR_splice = 275, NR_tee = 276, NR_sync_file_range = 277,
	NR_vmsplice = 278, NR_epoll_pwait = 281, NR_accept4 = 288,
	NR_preadv = 295, NR_pwritev = 296, NR_recvmmsg = 299, NR_syncfs = 306, NR_sendmmsg = 307,
	NR_copy_file_range = 326, NR_preadv2 = 327, NR_pwritev2 = 328, NR_io_pgetevents = 333,
	NR_io_uring_enter = 426, NR_clone3 = 435, NR_epoll_pwait2 = 441, NR_futex_waitv = 449,
};
#define WAIT_SYSCALL_RULES 1
#define X86_64_THREAD_SIZE (16 << 10)
#else
#define WAIT_SYSCALL_RULES 0 /* other architectures: the state rules only (D, iowait) */
#endif

/* The first 8 bytes of a name as a little-endian u64 (the BPF target's order). */
#define NAME8(a, b, c, d, e, f, g, h)                                                                         \
	((__u64)(a) | (__u64)(b) << 8 | (__u64)(c) << 16 | (__u64)(d) << 24 | (__u64)(e) << 32 | (__u64)(f) << 40 | \
	 (__u64)(g) << 48 | (__u64)(h) << 56)

/*
 * The category of waiting on an anonymous-inode file (eventfd, timerfd,
 * signalfd, inotify, a KVM vCPU), from its name ("anon_inode:[eventfd]" in /proc/PID/fd):
 * they share one inode, whose mode is 0 before 6.15 and S_IFREG after.
 */
static __always_inline __u32 anon_category(struct file *f)
{
	__u64 name = 0;
	bpf_probe_read_kernel(&name, sizeof(name), BPF_CORE_READ(f, f_path.dentry, d_name.name));
	if (name == NAME8('[', 'e', 'v', 'e', 'n', 't', 'f', 'd'))
		return EBTOP_WAIT_COND; /* another thread writes it: a wakeup */
	if (name == NAME8('[', 't', 'i', 'm', 'e', 'r', 'f', 'd'))
		return EBTOP_WAIT_SLEEP;
	if (name == NAME8('[', 's', 'i', 'g', 'n', 'a', 'l', 'f'))
		return EBTOP_WAIT_SIGNAL;
	if (name == NAME8('i', 'n', 'o', 't', 'i', 'f', 'y', 0) || name == NAME8('[', 'f', 'a', 'n', 'o', 't', 'i', 'f'))
		return EBTOP_WAIT_POLL; /* events on any of the watched files */
	if (name == NAME8('k', 'v', 'm', '-', 'v', 'c', 'p', 'u'))
		return EBTOP_WAIT_IDLE; /* KVM_RUN blocks while the guest's CPU halts: an idle guest */
	return EBTOP_WAIT_OTHER;
}

/* The category of waiting on a file, from its inode type (and a socket's family). */
static __always_inline __u32 file_category(__u64 file)
{
	struct inode *inode = BPF_CORE_READ((struct file *)file, f_inode);
	__u16 mode = BPF_CORE_READ(inode, i_mode) & S_IFMT;
	if (mode == S_IFIFO)
		return EBTOP_WAIT_PIPE;
	if ((mode == S_IFREG || !mode) && BPF_CORE_READ(inode, i_sb, s_magic) == ANON_INODE_FS_MAGIC)
		return anon_category((struct file *)file);
	if (mode == S_IFREG || mode == S_IFBLK)
		return EBTOP_WAIT_DISK;
	if (mode != S_IFSOCK)
		return EBTOP_WAIT_OTHER; /* tty, other character devices */
	struct socket *sock = BPF_CORE_READ((struct file *)file, private_data);
	__u16 family = BPF_CORE_READ(sock, sk, __sk_common.skc_family);
	if (family == AF_UNIX)
		return EBTOP_WAIT_PIPE;
	if (family == AF_INET || family == AF_INET6)
		return EBTOP_WAIT_NET;
	return EBTOP_WAIT_OTHER;
}

/*
 * A struct file's f_op and f_inode. Where they lie within 64 bytes of each
 * other (every kernel ebtop loads on: next to each other in 6.x, 8 bytes
 * apart in 5.10) one helper read takes both; the offsets are CO-RE
 * relocated constants, so the window and the two slots are fixed at load.
 */
static __always_inline void file_op_inode(__u64 file, __u64 *fop, __u64 *inode)
{
	__u32 op = bpf_core_field_offset(struct file, f_op), in = bpf_core_field_offset(struct file, f_inode);
	__u32 lo = op < in ? op : in, hi = op < in ? in : op;
	if (hi - lo <= 56 && !(op & 7) && !(in & 7)) {
		__u64 w[8] = {};
		bpf_probe_read_kernel(w, (hi - lo) + 8, (void *)(file + lo));
		*fop = w[((op - lo) / 8) & 7];
		*inode = w[((in - lo) / 8) & 7];
		return;
	}
	*fop = (__u64)BPF_CORE_READ((struct file *)file, f_op);
	*inode = (__u64)BPF_CORE_READ((struct file *)file, f_inode);
}

/*
 * The category of a blocking call on fd, cached per thread. (file, fd) alone
 * comes back after close() and open(): the struct file close() freed is the
 * next one allocated on that CPU, the fd the lowest free, so a socket could
 * inherit a pipe's category. The file's operations tell its kind (a pipe, a
 * socket, eventfd, timerfd, a file system's files: the same operations, the
 * same category), except a socket's family (every socket has the same
 * operations): a socket's inode number tells one socket from the next (each
 * new one gets its own, get_next_ino), so the cached category is used only
 * for the same open file. Two helper reads a hit (the fd's slot; f_op with
 * f_inode), three for a socket (its inode number), where one read per field
 * took four.
 */
static __always_inline __u32 fd_category(struct task_struct *t, long fd, struct ebtop_wait_state *ws)
{
	struct fdtable *fdt = t->files->fdt;
	if (!fdt || fd < 0 || fd >= fdt->max_fds)
		return EBTOP_WAIT_OTHER;
	__u64 file = 0;
	/* fdt->fd is an array of pointers: a scalar to the verifier, read by helper */
	bpf_probe_read_kernel(&file, sizeof(file), (void *)((unsigned long)fdt->fd + fd * sizeof(void *)));
	if (!file)
		return EBTOP_WAIT_OTHER;
	__u64 fop = 0, inode = 0;
	file_op_inode(file, &fop, &inode);
	/* ws->ino: the cached file's inode number if it is a socket, else 0 (get_next_ino never gives 0) */
	if (ws->file == file && ws->fd == fd && ws->fop == fop &&
	    (!ws->ino || ws->ino == BPF_CORE_READ((struct inode *)inode, i_ino)))
		return ws->cat;
	__u32 cat = file_category(file);
	__u64 ino = 0;
	if ((BPF_CORE_READ((struct inode *)inode, i_mode) & S_IFMT) == S_IFSOCK)
		ino = BPF_CORE_READ((struct inode *)inode, i_ino);
	ws->file = file;
	ws->fd = fd;
	ws->fop = fop;
	ws->ino = ino;
	ws->cat = cat;
	return cat;
}

/*
 * A futex wait by its operation: glibc's contended mutex waits with
 * FUTEX_WAIT and value 2 (robust mutexes: the owner's tid | FUTEX_WAITERS),
 * PI mutexes with FUTEX_LOCK_PI(2): contention. Condition variables,
 * semaphores and pthread_join wait with FUTEX_WAIT_BITSET or other values:
 * a thread waiting for another's signal, often an idle pool (README "Known
 * misreads": Java parks, PostgreSQL LWLocks, Rust mutexes).
 */
static __always_inline __u32 futex_category(long op, __u32 val)
{
	long cmd = op & FUTEX_CMD_MASK;
	if (cmd == FUTEX_LOCK_PI || cmd == FUTEX_LOCK_PI2)
		return EBTOP_WAIT_LOCK;
	if (cmd == FUTEX_WAIT && (val == 2 || (val & FUTEX_WAITERS)))
		return EBTOP_WAIT_LOCK;
	return EBTOP_WAIT_COND;
}

/*
 * The restart functions of the timed waits restart_syscall resumes, from
 * kallsyms (weak: 0 where a kernel lacks one, whose restarts then read other).
 */
extern const void hrtimer_nanosleep_restart __ksym __weak;
extern const void posix_cpu_nsleep_restart __ksym __weak;
extern const void alarm_timer_nsleep_restart __ksym __weak;
extern const void do_restart_poll __ksym __weak;
extern const void futex_wait_restart __ksym __weak;

/*
 * A timed nanosleep, poll or futex wait interrupted by a stop (SIGSTOP,
 * Ctrl-Z, the cgroup freezer) or a tracer's attach is resumed by
 * restart_syscall, which the thread then sits in until the original
 * timeout: the call it resumes is told by restart_block.fn (the futex wait's
 * value is kept there; its operation is not, so it is judged as FUTEX_WAIT's).
 */
static __always_inline __u32 restart_category(struct task_struct *t)
{
	__u64 fn = (__u64)BPF_CORE_READ(t, restart_block.fn);
	if (!fn)
		return EBTOP_WAIT_OTHER;
	if (fn == (__u64)&hrtimer_nanosleep_restart || fn == (__u64)&posix_cpu_nsleep_restart ||
	    fn == (__u64)&alarm_timer_nsleep_restart)
		return EBTOP_WAIT_SLEEP;
	if (fn == (__u64)&do_restart_poll)
		return EBTOP_WAIT_POLL;
	if (fn == (__u64)&futex_wait_restart)
		return futex_category(FUTEX_WAIT, BPF_CORE_READ(t, restart_block.futex.val));
	return EBTOP_WAIT_OTHER;
}

/*
 * Why t (blocked, in `state`) waits. t is a BTF pointer (the current task at
 * switch-out, the iterated task in the iterator): its fields are read with
 * plain loads, the syscall and its arguments from its saved user regs.
 */
static __always_inline __u32 wait_classify(struct task_struct *t, __u32 state, struct ebtop_wait_state *ws)
{
	bool iowait = BPF_CORE_READ_BITFIELD(t, in_iowait);
	bool d = state & TASK_UNINTERRUPTIBLE_BIT;
	__u32 workers = PF_KTHREAD | PF_IO_WORKER | (bpf_core_type_exists(struct vhost_task) ? PF_USER_WORKER : 0);
	if (t->flags & workers) {
		/* kernel threads, and the threads of a user process that only run
		 * kernel code (io_uring, vhost, KVM workers): their saved registers
		 * are zero or the call that made them; S or TASK_IDLE: waiting for work */
		if (iowait)
			return EBTOP_WAIT_DISK;
		return d && !(state & TASK_NOLOAD_BIT) ? EBTOP_WAIT_LOCK : EBTOP_WAIT_IDLE;
	}
	if (d && iowait)
		return EBTOP_WAIT_DISK;
	if (state & TASK_STOPPED_BITS)
		return EBTOP_WAIT_SIGNAL; /* stopped by a signal or a tracer: until SIGCONT or the tracer */
	__u32 cat = EBTOP_WAIT_OTHER;
#if WAIT_SYSCALL_RULES
	/* bpf_task_pt_regs() (5.15) gives the saved user registers as a BTF
	 * pointer; before it they are found where task_pt_regs() finds them on
	 * x86_64: at the top of the task's kernel stack (THREAD_SIZE 16 KiB
	 * without KASAN, no padding), read by helper. */
	bool btf_regs = bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_task_pt_regs);
	struct pt_regs *regs;
	if (btf_regs)
		regs = (struct pt_regs *)bpf_task_pt_regs(t);
	else
		regs = (struct pt_regs *)(BPF_CORE_READ(t, stack) + X86_64_THREAD_SIZE) - 1;
	if (!regs)
		return d ? EBTOP_WAIT_LOCK : EBTOP_WAIT_OTHER;
	long nr = KREAD(btf_regs, regs, orig_ax);
	switch (nr) {
	case NR_futex:
		cat = futex_category(KREAD(btf_regs, regs, si), KREAD(btf_regs, regs, dx));
		break;
	case NR_futex_waitv:
		cat = EBTOP_WAIT_COND; /* several futexes at once: events (Wine, Proton) */
		break;
	case NR_flock:
	case NR_fcntl: /* of fcntl, only F_SETLKW and F_OFD_SETLKW sleep */
		cat = EBTOP_WAIT_LOCK;
		break;
	case NR_nanosleep:
	case NR_clock_nanosleep:
		cat = EBTOP_WAIT_SLEEP;
		break;
	case NR_poll:
	case NR_select:
	case NR_pselect6:
	case NR_ppoll:
	case NR_epoll_wait:
	case NR_epoll_pwait:
	case NR_epoll_pwait2:
	case NR_io_uring_enter: /* completions of any kind of request */
		cat = EBTOP_WAIT_POLL;
		break;
	case NR_wait4:
	case NR_waitid:
	case NR_vfork: /* the parent sleeps (D) until the child execs or exits */
	case NR_clone:
	case NR_clone3:
		cat = EBTOP_WAIT_CHILD;
		break;
	case NR_pause:
	case NR_rt_sigsuspend:
	case NR_rt_sigtimedwait:
		cat = EBTOP_WAIT_SIGNAL;
		break;
	case NR_msgsnd:
	case NR_msgrcv:
	case NR_semop:
	case NR_semtimedop:
	case NR_mq_timedsend:
	case NR_mq_timedreceive:
		cat = EBTOP_WAIT_IPC;
		break;
	case NR_accept:
	case NR_accept4:
		cat = EBTOP_WAIT_IDLE; /* a server waiting for its next client */
		break;
	case NR_read: case NR_write: case NR_pread64: case NR_pwrite64: case NR_readv: case NR_writev:
	case NR_preadv: case NR_pwritev: case NR_preadv2: case NR_pwritev2: case NR_sendfile:
	case NR_connect: case NR_sendto: case NR_recvfrom: case NR_sendmsg: case NR_recvmsg:
	case NR_recvmmsg: case NR_sendmmsg: case NR_splice: case NR_tee: case NR_vmsplice: case NR_ioctl:
		cat = fd_category(t, (long)KREAD(btf_regs, regs, di), ws);
		break;
	case NR_restart_syscall: /* a timed wait resumed after a stop or a tracer's attach */
		cat = restart_category(t);
		break;
	case NR_fsync:
	case NR_fdatasync:
	case NR_sync:
	case NR_syncfs:
	case NR_sync_file_range:
	case NR_msync:
	case NR_copy_file_range:
	case NR_io_submit: /* libaio: a full request queue */
	case NR_io_getevents: /* libaio: direct I/O completions */
	case NR_io_pgetevents:
		cat = EBTOP_WAIT_DISK;
		break;
	}
#endif
	/* D (uninterruptible) without iowait: a kernel mutex, rwsem or completion,
	 * unless the call is disk I/O (a journal commit waited for in fsync or an
	 * O_SYNC write sleeps in D without iowait) or a vfork */
	if (d && cat != EBTOP_WAIT_DISK && cat != EBTOP_WAIT_CHILD)
		return EBTOP_WAIT_LOCK;
	return cat;
}

/* The run queue of the CPU t is on (t: a BTF pointer); NULL without group scheduling. */
static __always_inline struct rq *task_rq_btf(struct task_struct *t)
{
	if (!bpf_core_field_exists(struct cfs_rq, rq))
		return NULL;
	struct cfs_rq *cfs = t->se.cfs_rq;
	return cfs ? cfs->rq : NULL;
}

/* Host steal so far on a run queue (0 without PARAVIRT_TIME_ACCOUNTING). */
static __always_inline __u64 rq_steal(struct rq *rq)
{
	if (!rq || !bpf_core_field_exists(struct rq, prev_steal_time_rq))
		return 0;
	return rq->prev_steal_time_rq;
}

/* A run queue's clock as of its last update (rq->clock, sched_clock based). */
static __always_inline __u64 rq_clock_btf(struct rq *rq)
{
	return rq ? rq->clock : 0;
}

/*
 * The blocked part of t's open interval (since: its start on ktime,
 * since_clk on the run-queue clock, since_rd: t's run_delay then). It ends when the
 * wakeup queued t (sched_info.last_queued, on the run-queue clock); from
 * there to its switch-in is run-queue wait, which the kernel adds to
 * sched_info.run_delay at that switch-in (sched_info_switch, after the
 * sched_switch tracepoint: at the tracepoint, and while t waits on a run
 * queue, last_queued still holds the enqueue time). Run-queue wait the
 * kernel already added since the switch-out (a woken thread moved to another
 * run queue is dequeued, its wait so far added, and queued again) is
 * subtracted too. So blocked = last_queued - start - run_delay growth, and
 * on-CPU + run-queue + blocked tile the thread's wall time.
 *
 * Both ends on the run queue's clock: the start is the clock at which the
 * scheduler ended the thread's on-CPU time (ktime at the tracepoint is ~1 us
 * later, after the pick of the next task; a disk writer blocking 22,000
 * times a second lost 2.6% of its wall time that way). Fallbacks: an
 * interval opened by the iterator has no start clock (0): ktime `now` minus
 * since, less the run-queue wait up to `clk` (the run queue's clock now);
 * not queued (last_queued 0: sched_info_on() false on 5.10 without
 * SCHEDSTATS and with delay accounting off, where run_delay stays 0 too):
 * all of it up to now is blocked. Without sched_info's fields (no
 * CONFIG_SCHED_INFO; the core's run_delay read needs them too) the same.
 * Without a run-queue clock (no group scheduling: struct cfs_rq has no rq)
 * the queue wait since last_queued cannot be told and counts as blocked.
 */
static __always_inline __u64 wait_blocked(__u64 since, __u64 since_clk, __u64 since_rd, struct task_struct *t, bool btf, __u64 clk,
					  __u64 now)
{
	__u64 queued = 0, lq = 0, end, start;
	if (bpf_core_field_exists(t->sched_info.last_queued)) {
		__u64 rd = KREAD(btf, t, sched_info.run_delay);
		lq = KREAD(btf, t, sched_info.last_queued);
		queued = rd > since_rd ? rd - since_rd : 0;
	}
	if (since_clk && lq) {
		end = lq;
		start = since_clk;
	} else {
		if (lq && clk > lq)
			queued += clk - lq;
		end = since_clk && clk ? clk : now;
		start = since_clk && clk ? since_clk : since;
	}
	end = end > start ? end - start : 0;
	return end > queued ? end - queued : 0;
}

/* Clear th's open interval and add `blocked` to its category. Cleared first:
 * a snapshot read in between misses the interval once (the next one has
 * it) rather than counting it twice. */
static __always_inline void wait_close(struct ebtop_thread *th, __u64 blocked)
{
	__u32 cat = th->c.wait.open_cat;
	th->c.wait.open_since_ns = 0;
	th->c.wait.open_cat = 0;
	th->wait.since_clk = 0;
	*wait_slot(&th->c.wait, cat) += blocked;
}

/* Open a blocked interval for th at `now` (ktime), `clk` (run-queue clock, 0: unknown), `rd` (its run_delay). */
static __always_inline void wait_open(struct ebtop_thread *th, __u32 cat, __u64 now, __u64 clk, __u64 rd)
{
	th->wait.since_clk = clk;
	th->wait.since_rd = rd;
	th->c.wait.open_cat = cat;
	th->c.wait.open_since_ns = now;
}

/* t's sched_info.run_delay (0 without CONFIG_SCHED_INFO). */
static __always_inline __u64 run_delay_of(struct task_struct *t, bool btf)
{
	if (!bpf_core_field_exists(t->sched_info.run_delay))
		return 0;
	return KREAD(btf, t, sched_info.run_delay);
}

/* `ebtop offcpu`: the user stack of an asked process's thread, at its blocked switch-out. */
static __always_inline void offcpu_user_stack(void *ctx, struct task_struct *cur)
{
	__u32 tgid = cur->tgid;
	if (!bpf_map_lookup_elem(&offcpu_pids, &tgid))
		return;
	struct offcpu_ustack *us = bpf_task_storage_get(&offcpu_ustack, cur, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!us)
		return;
	long n = bpf_get_stack(ctx, us->ips, sizeof(us->ips), BPF_F_USER_STACK);
	us->frames = n > 0 ? n / sizeof(__u64) : 0;
}

/*
 * The switch-in part: close next's open interval, if it has one (it blocked
 * and was woken: its blocked part, without the run-queue wait since, which
 * sched_info_switch adds to its run_delay right after the tracepoint).
 * `next` is a BTF pointer when `btf`; `rq`: this CPU's run queue (NULL:
 * unknown), its clock updated by __schedule() before the pick. One
 * task-storage lookup per switch; the wakeup is not hooked at all.
 */
static __always_inline void wait_switch_in(struct task_struct *next, __u32 next_tid, struct rq *rq, bool btf, __u64 now)
{
	if (!next_tid)
		return; /* the idle task */
	struct ebtop_thread *th = thread_get(next, false);
	if (!th || !th->c.wait.open_since_ns)
		return;
	wait_close(th, wait_blocked(th->c.wait.open_since_ns, th->wait.since_clk, th->wait.since_rd, next, btf, rq_clock_btf(rq), now));
}

/*
 * The switch-out part, called by the one sched_switch program before it
 * records the next thread's switch-in. `in_ns`: when prev was switched in
 * (0: unknown); `cur`: prev as a BTF pointer.
 */
static __always_inline void wait_switch(void *ctx, struct task_struct *prev, struct task_struct *cur, bool preempt,
					__u32 prev_state, __u32 prev_tid, bool prev_ran, __u64 in_ns, __u64 now)
{
	TEST_REJECT(TEST_REJECT_WAIT);
	/* Steal: the growth of this CPU's steal clock while prev ran. */
	__u64 stolen = 0;
	__u32 zero = 0;
	struct wait_cpu *wc = bpf_map_lookup_elem(&wait_cpu, &zero);
	struct rq *rq = task_rq_btf(cur);
	if (wc) {
		__u64 steal = rq_steal(rq);
		if (prev_ran && wc->steal_in && steal > wc->steal_in)
			stolen = steal - wc->steal_in;
		wc->steal_in = steal;
	}
	if (!prev_tid)
		return; /* the idle task */

	bool blocked = !preempt && prev_state && !(prev_state & TASK_DEAD_STATE);
	if (!blocked && !stolen && !(prev_state & TASK_DEAD_STATE))
		return; /* a preemption: nothing to record (the common cheap path) */

	struct ebtop_thread *th = thread_get(prev, blocked || stolen);
	if (!th)
		return;
	th->c.wait.steal_ns += stolen;
	/* Still open: its switch-in was not seen (the program skipped, or the
	 * wait gate closed then). Fallback: it ended when this run began. */
	if (th->c.wait.open_since_ns) {
		__u64 end = prev_ran && in_ns ? in_ns : now, since = th->c.wait.open_since_ns;
		wait_close(th, end > since ? end - since : 0);
	}
	if (!blocked)
		return; /* TASK_DEAD: the exit record carries the closed counters */
	wait_open(th, wait_classify(cur, prev_state, &th->wait), now, rq_clock_btf(rq), run_delay_of(cur, true));
	/* task storage (5.11) holds the stack: `ebtop offcpu` has no user stacks before */
	if (offcpu_stacks && bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_task_storage_get))
		offcpu_user_stack(ctx, cur);
}

/*
 * The iterator's part: a thread blocked since before ebtop attached has no
 * open interval; open one now, classified from where it sleeps, so its
 * off-CPU time is counted from here on. Returns the thread's state (created).
 */
static __always_inline struct ebtop_thread *wait_iter(struct task_struct *t, struct ebtop_thread *th, __u32 state, __u64 now)
{
	if (th && th->c.wait.open_since_ns)
		return th;
	if (!state || (state & TASK_DEAD_STATE) || t->exit_state || t->on_cpu)
		return th;
	if (!th)
		th = thread_get(t, true);
	if (th && !th->c.wait.open_since_ns)
		wait_open(th, wait_classify(t, state, &th->wait), now, 0, run_delay_of(t, true));
	return th;
}

/*
 * The iterator's part for the record (the thread's state is left as it is):
 * a thread woken but not yet switched in still has its interval open, and
 * its tail is run-queue wait, not blocked time (the kernel adds it to
 * run_delay at the switch-in). The record carries the interval closed where
 * the wakeup queued it, the blocked part in its category, exactly what the
 * switch-in will add: a snapshot taken in between counts nothing twice.
 */
static __always_inline void wait_iter_record(struct task_struct *t, struct ebtop_thread *th, struct ebtop_wait_counters *w, __u64 now)
{
	if (!th || !w->open_since_ns || !bpf_core_field_exists(t->sched_info.last_queued) || !t->sched_info.last_queued)
		return; /* blocked still: userspace counts it up to the snapshot time */
	/* the state's start clock may be cleared by a switch-in on another
	 * CPU meanwhile: then the ktime fallback, from the record's start */
	__u64 blocked = wait_blocked(w->open_since_ns, th->wait.since_clk, th->wait.since_rd, t, true, rq_clock_btf(task_rq_btf(t)), now);
	__u32 cat = w->open_cat;
	w->open_since_ns = 0;
	w->open_cat = 0;
	*wait_slot(w, cat) += blocked;
}

#endif
