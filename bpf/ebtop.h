/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one ABI header: every struct that crosses the kernel/userspace boundary.
 * Fixed-width types and explicit padding only. TypeScript does not copy these
 * layouts by hand: src/abi.ts lays records out from the subsystems' declared
 * counter groups, and test/unit/layout.test.ts holds that layout equal to the
 * compiled object's own BTF.
 *
 * A subsystem adds its per-thread counter group (a struct of __u64 slots) to
 * struct ebtop_task after the groups already there, in the order
 * src/subsystems/index.ts lists the subsystems.
 */
#ifndef EBTOP_H
#define EBTOP_H

#define EBTOP_COMM_LEN 16
#define EBTOP_ARGS_LEN 256
#define EBTOP_MAX_CPUS 1024

/* Record types; every record starts with `__u32 type`. */
#define EBTOP_REC_TASK 1 /* bpf_iter/task snapshot of one live thread */
#define EBTOP_REC_EXIT 2 /* final counters of a thread, at its last switch-out */
#define EBTOP_REC_EXEC 3 /* a process called execve */
#define EBTOP_REC_FORK 4 /* a thread or process was created */
#define EBTOP_REC_OFFCPU 6 /* `ebtop offcpu`: one blocked interval with its stacks */
#define EBTOP_REC_CONN 5 /* a TCP connection's final values, at tcp_destroy_sock */

/* ebtop_task.flags */
#define EBTOP_F_KTHREAD 0x1    /* PF_KTHREAD */
#define EBTOP_F_ZOMBIE 0x2     /* exit_state set: exited, not yet reaped */
#define EBTOP_F_RUNNING 0x4    /* on a CPU when snapshotted */
#define EBTOP_F_CORRECTED 0x8  /* oncpu_ns corrected from the switch-in time */
#define EBTOP_F_GROUP_DEAD 0x10 /* exit record: last thread of its process to exit */

/* CPU group: counters the kernel keeps per thread (task_struct). */
struct ebtop_cpu_counters {
	__u64 oncpu_ns;   /* se.sum_exec_runtime */
	__u64 runq_ns;    /* sched_info.run_delay */
	__u64 slices;     /* sched_info.pcount */
	__u64 nvcsw;      /* voluntary context switches */
	__u64 nivcsw;     /* involuntary context switches */
	__u64 migrations; /* se.nr_migrations */
};

/* Disk group: block-layer bios submitted by the thread (block_bio_queue, in
 * the submitter's context; reads and writes only), page-cache reads and
 * folios it dirtied. */
struct ebtop_disk_counters {
	__u64 read_bytes;
	__u64 write_bytes;
	__u64 reads;    /* bios */
	__u64 writes;   /* bios */
	__u64 seq_bios; /* bios that start where the process's previous bio on that device ended */
	__u64 fs_read_bytes;
	__u64 fs_write_bytes;
	__u64 dirtied_bytes; /* page-cache folios it dirtied (writeback_dirty_folio) */
};

/* Wait group: why the thread was off CPU. Every blocked interval (switch-out
 * with !preempt && prev_state != 0) is classified at switch-out and closed at
 * its wakeup into one of the EBTOP_WAIT_CATS reason slots (EBTOP_WAIT_*, the
 * first members; the rules: bpf/wait.bpf.h, README "Why it waits"). The seven
 * first reasons are the original ones; reasons added later come after other,
 * so the JSON keys and slots of the first seven never move. open_since_ns
 * and open_cat describe the interval still open (0: none); they are not
 * counters: userspace folds the open part into its category at the snapshot
 * time (src/subsystems/wait.ts settle), so a sleeping thread's record stays
 * byte-identical between two dumps. steal_ns: host steal while it ran, which
 * sum_exec_runtime leaves out (PARAVIRT_TIME_ACCOUNTING). */
#define EBTOP_WAIT_DISK 0   /* block I/O: iowait, fsync family, file and block-device reads/writes, libaio */
#define EBTOP_WAIT_NET 1    /* an IP socket (recv, send, connect) */
#define EBTOP_WAIT_LOCK 2   /* contention: a contended mutex, file locks, a kernel mutex (D) */
#define EBTOP_WAIT_SLEEP 3  /* nanosleep, timerfd */
#define EBTOP_WAIT_PIPE 4   /* a pipe, FIFO or unix socket */
#define EBTOP_WAIT_POLL 5   /* poll, select, epoll, io_uring: waiting for any of several events */
#define EBTOP_WAIT_OTHER 6  /* no rule matched */
#define EBTOP_WAIT_COND 7   /* another thread's signal: condition variables, semaphores, join, eventfd */
#define EBTOP_WAIT_CHILD 8  /* a child process: wait4, waitid, vfork */
#define EBTOP_WAIT_SIGNAL 9 /* a signal: pause, sigsuspend, sigtimedwait, signalfd; stopped (T, t) */
#define EBTOP_WAIT_IPC 10   /* System V and POSIX message queues and semaphores */
#define EBTOP_WAIT_IDLE 11  /* waiting for work: idle kernel threads, accept, a halted KVM guest */
#define EBTOP_WAIT_CATS 12

struct ebtop_wait_counters {
	__u64 disk_ns;
	__u64 net_ns;
	__u64 lock_ns;
	__u64 sleep_ns;
	__u64 pipe_ns;
	__u64 poll_ns;
	__u64 other_ns;
	__u64 cond_ns;
	__u64 child_ns;
	__u64 signal_ns;
	__u64 ipc_ns;
	__u64 idle_ns;
	__u64 steal_ns;
	__u64 open_since_ns;
	__u64 open_cat;
};

/* Wait: private per-thread state. The file behind the fd of the thread's
 * last blocking read/write-family call and its category: threads block on
 * the same fd over and over, so its type is resolved once (fop, ino: the
 * file's operations and inode number, which tell a reused file and fd apart,
 * bpf/wait.bpf.h fd_category). since_clk: the
 * open interval's start on the run queue's clock (rq->clock, the clock of
 * sched_info's run-queue wait and of the on-CPU time's end), 0 if unknown;
 * since_rd: the thread's sched_info.run_delay then, so that run-queue wait
 * the kernel counts before the switch-in that closes the interval (a woken
 * thread migrated between run queues) is not counted as blocked too. */
struct ebtop_wait_state {
	__u64 file;
	__s32 fd;
	__u32 cat;
	__u64 since_clk;
	__u64 since_rd;
	__u64 fop;
	__u64 ino;
};

/* Net group: bytes the thread's socket calls moved (sock_send_length /
 * sock_recv_length, in its own context: what send/recv/read/write returned).
 * net_* counts IP sockets (AF_INET and AF_INET6) of every protocol. */
struct ebtop_net_counters {
	__u64 net_tx_bytes;
	__u64 net_rx_bytes;
	__u64 tcp_tx_bytes;
	__u64 tcp_rx_bytes;
	__u64 udp_tx_bytes;  /* UDP and UDP-Lite */
	__u64 udp_rx_bytes;
	__u64 unix_tx_bytes; /* AF_UNIX: stream, datagram and seqpacket */
	__u64 unix_rx_bytes;
};

/* The groups counted in the thread's own context, kept in task-local storage
 * (struct ebtop_thread) and copied whole into every task record. A subsystem
 * counting per thread appends its group here. */
struct ebtop_thread_counters {
	struct ebtop_disk_counters disk;
	struct ebtop_net_counters net;
	struct ebtop_wait_counters wait;
};

/* Disk's private per-thread state (not exported): the last page-cache read
 * it counted, so the several batches of one read() are counted once. */
struct ebtop_disk_thread {
	__u64 fs_mapping;
	__u64 fs_index; /* first page of that read */
	__u64 fs_last;  /* its last page */
};

/* Per-thread state of the subsystems: the exported counters first. */
struct ebtop_thread {
	struct ebtop_thread_counters c;
	struct ebtop_wait_state wait;
	struct ebtop_disk_thread disk;
};

/* The same, in the per-tid hash used where task-local storage is missing
 * (before 5.11): start_ns tells a reused tid from the thread that had it. */
struct ebtop_thread_slot {
	__u64 start_ns;
	struct ebtop_thread th;
};

/* EBTOP_REC_TASK (iterator) and EBTOP_REC_EXIT (ring buffer): one thread's
 * identity, then its counter groups, every slot a monotonic __u64. */
struct ebtop_task {
	__u32 type;
	__u32 tid;
	__u32 pid;  /* tgid */
	__u32 ppid; /* real_parent's tgid */
	__u32 uid;  /* effective uid */
	__u32 flags;
	__u32 state;     /* task __state */
	__s32 exit_code; /* task->exit_code (wait status encoding) */
	__u64 start_ns;  /* task->start_time, CLOCK_MONOTONIC: identity with tid */
	__u64 pstart_ns; /* group leader's start_time: the process's identity with pid */
	__u64 time_ns;   /* exit records: when it exited, CLOCK_MONOTONIC; snapshots: 0 */
	__u64 rss_pages; /* resident pages of its mm (file + anon + shmem), as /proc/<pid>/statm reads them; 0 without mm */
	__u64 cgroup_id; /* its cgroup v2 (kernfs node id = the cgroup directory's inode number) */
	char comm[EBTOP_COMM_LEN];
	struct ebtop_cpu_counters cpu;
	struct ebtop_thread_counters thr;
};

/* EBTOP_REC_EXEC (ring buffer). args: NUL-separated argv, truncated. */
struct ebtop_exec {
	__u32 type;
	__u32 tid;
	__u32 pid;
	__u32 old_tid; /* a non-leader thread that execs takes over the leader's tid */
	__u32 args_len;
	__u32 pad;
	__u64 start_ns;
	__u64 time_ns;
	char comm[EBTOP_COMM_LEN];
	char args[EBTOP_ARGS_LEN];
};

/* EBTOP_REC_FORK (ring buffer). */
struct ebtop_fork {
	__u32 type;
	__u32 tid;
	__u32 pid;
	__u32 ppid; /* the forking process's tgid */
	__u64 start_ns;
	__u64 time_ns;
	char comm[EBTOP_COMM_LEN];
};

/* Key of owner-keyed charge maps: a process (tgid + its leader's start time,
 * so a reused pid is another owner). Charges made outside the owner's
 * context (softirq, flusher threads) go to the owner, alive or exited.
 * gen: the charge generation (0/1) the entry was written in; userspace
 * flips it every refresh and drains the other one (common.bpf.h). */
struct ebtop_owner {
	__u32 pid;
	__u32 gen;
	__u64 start_ns;
};

/* Log-linear latency histogram: 4 buckets per power of two (each at most 25%
 * wider than its lower bound, 20% of its upper), from 1024 ns up; bucket 0
 * holds everything below 1024 ns, the last everything from 1.5 * 2^41 ns
 * (~55 min) on. Bucket of n >= 1024 with p = floor(log2 n):
 * 1 + 4 * (p - 10) + the two bits below the top one. */
#define EBTOP_LAT_SUB 4
#define EBTOP_LAT_MIN_SHIFT 10
#define EBTOP_LAT_BUCKETS 128

/* Disk charges, per owner process (charge map values): what the kernel did
 * for it outside its context. */
struct ebtop_disk_writeback {
	__u64 writeback_bytes; /* pages it dirtied, written by someone else (flusher, sync) */
	__u64 writeback_ios;   /* bios */
};

struct ebtop_disk_latency {
	__u64 lat_count; /* requests completed (block_io_start -> block_io_done) */
	__u64 lat_sum_ns;
	__u64 lat_min_ns;
	__u64 lat_max_ns;
	__u64 lat[EBTOP_LAT_BUCKETS];
};

/* EBTOP_REC_OFFCPU (ring buffer, `ebtop offcpu` only): a blocked interval of
 * an asked-for process, at its wakeup. kstack: where it slept (taken at
 * wakeup with bpf_get_task_stack); ustack: the user stack at switch-out,
 * as far as frame pointers go. Frame counts, innermost first. */
#define EBTOP_STACK_DEPTH 32
struct ebtop_offcpu {
	__u32 type;
	__u32 tid;
	__u32 pid;
	__u32 cat;
	__u64 block_ns;
	__u32 kframes;
	__u32 uframes;
	char comm[EBTOP_COMM_LEN];
	__u64 kstack[EBTOP_STACK_DEPTH];
	__u64 ustack[EBTOP_STACK_DEPTH];
};

/* A whole disk (major, first minor), as /sys/dev/block/MAJ:MIN names it. */
struct ebtop_disk_dev {
	__u32 major;
	__u32 minor;
};

/* Per-device totals (per-CPU hash keyed by ebtop_disk_dev, cumulative):
 * bios queued to it in their submitters' context (the same bios the
 * processes' counters hold, plus those remapped into it by a bio-based
 * stacked driver), and its requests' latency. */
struct ebtop_disk_device {
	__u64 read_bytes;
	__u64 write_bytes;
	__u64 reads;
	__u64 writes;
	__u64 remapped_bytes; /* of those: bios remapped into it (dm, md), no process counts them */
	struct ebtop_disk_latency lat;
};

/* Per-CPU: which thread was switched in, when, and its runtime then. */
struct ebtop_cpu_run {
	__u32 tid;
	__u32 pad;
	__u64 in_ns;
	__u64 oncpu_at_in;
};

/* Per-CPU counters of the BPF side itself. */
struct ebtop_stats {
	__u64 records;  /* records submitted to the ring buffer */
	__u64 lost;     /* records dropped: ring buffer full */
	__u64 map_full; /* keys a full bounded map refused, each once (common.bpf.h lost_keys) */
};

/* A block request in flight (value of disk_inflight, keyed by the struct
 * request's address, and of a disk_slots slot): userspace reads start_ns to
 * delete hash entries older than any request lives. */
struct ebtop_disk_req {
	__u64 born;     /* rq->start_time_ns: tells this life of the struct from an earlier one */
	__u64 start_ns; /* when it started, CLOCK_MONOTONIC */
	struct ebtop_owner owner;
};

/* A slot of disk_slots (bpf/inflight.bpf.h): the request that holds it. */
struct ebtop_disk_slot {
	__u64 rq; /* the struct request's address; 0: free; 1: being written */
	struct ebtop_disk_req req;
};

/* Per-CPU counters of the disk subsystem. */
struct ebtop_disk_stats {
	__u64 req_full; /* requests whose latency was lost, each once: their slot was another's and the in-flight hash full at their start */
};

/* Net charges, per owner process of a TCP socket (charge map values): what
 * happened to its connections, wherever it happened (softirq, timers). */
struct ebtop_net_tcp {
	__u64 tcp_new;         /* connections established: at ESTABLISHED when it connected, at first use when accepted */
	__u64 tcp_closed;      /* established connections destroyed */
	__u64 tcp_errors;      /* failed connects (SYN_SENT -> CLOSE) and resets received in other states */
	__u64 tcp_retransmits; /* segments retransmitted (tcp_retransmit_skb, err >= 0: as tcp_info total_retrans) */
};

/* ebtop_conn.flags */
#define EBTOP_CONN_ACTIVE 0x1      /* opened by connect() in the owner's context */
#define EBTOP_CONN_PASSIVE 0x2     /* accepted: the owner is whoever first uses it */
#define EBTOP_CONN_ESTABLISHED 0x4 /* reached ESTABLISHED (closing it counts in tcp_closed) */
#define EBTOP_CONN_FAILED 0x8      /* a connect on it failed */
#define EBTOP_CONN_FOUND 0x10      /* already open when first seen (ebtop started later) */
#define EBTOP_CONN_COUNTED 0x20    /* charged to its owner's tcp_new */

/* One TCP connection: the value of the per-socket map (key: socket cookie)
 * and, with type EBTOP_REC_CONN and end_ns set, its final record at
 * tcp_destroy_sock. Counters are totals since it was first seen. */
struct ebtop_conn {
	__u32 type;      /* EBTOP_REC_CONN in records, 0 in the map */
	__u32 pid;       /* owner process; 0 until an accepted socket is first used */
	__u64 pstart_ns; /* the owner's start time */
	__u64 id;        /* socket cookie (the socket's address where tracing programs lack the cookie helper) */
	__u64 start_ns;  /* connect(), ESTABLISHED when accepted, or first seen; CLOCK_MONOTONIC */
	__u64 end_ns;    /* records: when it was destroyed */
	__u64 tx_bytes;
	__u64 rx_bytes;
	__u64 retransmits; /* segments */
	__u64 segs_out;    /* tcp_sock data_segs_out, as last read */
	__u32 netns;       /* network namespace (inode number, as /proc/<pid>/ns/net shows it) */
	__u16 family;      /* AF_INET or AF_INET6 */
	__u8 state;        /* TCP state (include/net/tcp_states.h) */
	__u8 flags;        /* EBTOP_CONN_* */
	__u16 lport;       /* host byte order */
	__u16 rport;
	__u32 pad;
	__u8 laddr[16];    /* network byte order; IPv4 in the first 4 bytes */
	__u8 raddr[16];
};

/* Per-CPU counters of the net subsystem. */
struct ebtop_net_stats {
	__u64 conn_full; /* connections not tracked, each once: the per-socket map was full */
};

#define EBTOP_ASSERT_SIZE(t, n) _Static_assert(sizeof(struct t) == (n), #t " size changed")
EBTOP_ASSERT_SIZE(ebtop_cpu_counters, 48);
EBTOP_ASSERT_SIZE(ebtop_exec, 312);
EBTOP_ASSERT_SIZE(ebtop_fork, 48);
EBTOP_ASSERT_SIZE(ebtop_owner, 16);
EBTOP_ASSERT_SIZE(ebtop_cpu_run, 24);
EBTOP_ASSERT_SIZE(ebtop_stats, 24);
EBTOP_ASSERT_SIZE(ebtop_wait_counters, (EBTOP_WAIT_CATS + 3) * 8);
EBTOP_ASSERT_SIZE(ebtop_offcpu, 48 + 2 * 8 * EBTOP_STACK_DEPTH);
EBTOP_ASSERT_SIZE(ebtop_disk_latency, (4 + EBTOP_LAT_BUCKETS) * 8);
EBTOP_ASSERT_SIZE(ebtop_disk_dev, 8);
EBTOP_ASSERT_SIZE(ebtop_disk_device, (5 + 4 + EBTOP_LAT_BUCKETS) * 8);
EBTOP_ASSERT_SIZE(ebtop_net_counters, 64);
EBTOP_ASSERT_SIZE(ebtop_net_tcp, 32);
EBTOP_ASSERT_SIZE(ebtop_disk_stats, 8);
EBTOP_ASSERT_SIZE(ebtop_disk_req, 32);
EBTOP_ASSERT_SIZE(ebtop_disk_slot, 40);
EBTOP_ASSERT_SIZE(ebtop_conn, 120);
_Static_assert(sizeof(struct ebtop_task) % 8 == 0, "ebtop_task: counter groups must stay 8-aligned");

#endif
