// A zoo of the common ways a process blocks, each with the wait reason ebtop
// must give it (test/kernel/zoo.test.ts, make bench's off-CPU table): every
// checked thread loops on one blocking call for SECONDS and times each call
// itself, so the test compares ebtop with the truth of the same window.
//
//   zoo MODE SECONDS [DIR]
//
// Prints {"pid":P,"tids":[...]} once the checked threads exist, then at the
// end {"blocked_ns":{"TID":NS,...}}: per checked thread, the time its calls
// took less their on-CPU and run-queue time (the kernel's schedstat for the
// thread), i.e. the time it was blocked in them. Helpers (feeders, lock
// holders) are other processes or unchecked threads; they sleep.
//
// Modes, by the reason expected (docs/design.md "Wait reasons"):
//   lock:   mutex (4 threads fight a mutex held ~1 ms), pimutex (the same,
//           PTHREAD_PRIO_INHERIT: FUTEX_LOCK_PI), flock, fcntl (F_SETLKW),
//           ofd (F_OFD_SETLKW): a lock another process holds 20 of every 21 ms
//   cond:   cond (8 threads idle in pthread_cond_wait, broadcast every 20 ms),
//           sem (sem_wait, posted every 10 ms), join (pthread_join of a
//           thread that sleeps 20 ms), eventfd (read, written every 10 ms)
//   child:  waitpid, waitid (a child that sleeps 20 ms), vfork (the child
//           sleeps 20 ms before _exit)
//   signal: pause, sigsuspend (SIGALRM every 10 ms), sigtimedwait (10 ms
//           timeout), signalfd (SIGALRM every 10 ms)
//   ipc:    msgrcv (System V queue fed every 5 ms), semop (System V
//           semaphore raised every 5 ms), mqueue (mq_timedreceive, fed every 5 ms)
//   disk:   aio (io_getevents of 4 KiB O_DIRECT reads in DIR)
//   poll:   poll (an idle pipe, 10 ms timeout), uring (io_uring_enter for a
//           pipe read fed every 5 ms)
//   sleep:  timerfd (read, 10 ms period), clock (clock_nanosleep 2 ms),
//           restart (clock_nanosleep 100 ms, the process stopped and continued
//           every 10 ms: the rest of each sleep is restart_syscall's)
//   idle:   accept (a TCP connection every 10 ms), kvm (KVM_RUN of a guest
//           CPU halted with interrupts off, kicked by SIGALRM every 10 ms;
//           without /dev/kvm it reports nothing and exits 3)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <linux/io_uring.h>
#include <linux/kvm.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CHECKED 8

static double seconds;
static long long deadline;
static const char *dir = "/var/tmp";

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int running(void)
{
	return now_ns() < deadline;
}

static void sleep_ms(double ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)((ms - (time_t)(ms / 1000) * 1000) * 1e6) };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void spin_ms(double ms)
{
	long long until = now_ns() + ms * 1e6;
	while (now_ns() < until)
		;
}

/* A checked thread: its tid, its schedstat file and the blocked time it measured. */
struct checked {
	int tid;
	int ss;
	long long blocked;
};
static struct checked checked[MAX_CHECKED];
static int nchecked;
static pthread_mutex_t reg = PTHREAD_MUTEX_INITIALIZER;

static struct checked *check_me(void)
{
	pthread_mutex_lock(&reg);
	struct checked *c = &checked[nchecked++];
	pthread_mutex_unlock(&reg);
	c->tid = (int)syscall(SYS_gettid);
	c->ss = open("/proc/thread-self/schedstat", O_RDONLY);
	return c;
}

/* This thread's on-CPU and run-queue ns so far. */
static void schedstat(int fd, long long *oncpu, long long *runq)
{
	char buf[128];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = 0;
	*oncpu = *runq = 0;
	sscanf(buf, "%lld %lld", oncpu, runq);
}

/* Run `call` and add the time it was blocked (took - on-CPU - run queue) to c. */
#define TIMED(c, ...)                                                                   \
	do {                                                                            \
		long long on0_, rq0_, on1_, rq1_;                                       \
		schedstat((c)->ss, &on0_, &rq0_);                                       \
		long long t0_ = now_ns();                                               \
		__VA_ARGS__;                                                            \
		long long took_ = now_ns() - t0_;                                       \
		schedstat((c)->ss, &on1_, &rq1_);                                       \
		(c)->blocked += took_ - (on1_ - on0_) - (rq1_ - rq0_);                  \
	} while (0)

static void announce(void)
{
	printf("{\"pid\":%d,\"tids\":[", getpid());
	for (int i = 0; i < nchecked; i++)
		printf("%s%d", i ? "," : "", checked[i].tid);
	printf("]}\n");
	fflush(stdout);
}

static void report(void)
{
	printf("{\"blocked_ns\":{");
	for (int i = 0; i < nchecked; i++)
		printf("%s\"%d\":%lld", i ? "," : "", checked[i].tid, checked[i].blocked);
	printf("}}\n");
	fflush(stdout);
}

/* A helper process: runs fn until the deadline, dies with its parent. */
static pid_t helper(void (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fn(arg);
		_exit(0);
	}
	return pid;
}

/* Threads started by a mode: the checked ones announce themselves first. */
static pthread_t threads[MAX_CHECKED + 1];
static int nthreads;
static void start_threads(int n, void *(*fn)(void *))
{
	for (int i = 0; i < n; i++)
		pthread_create(&threads[nthreads++], NULL, fn, NULL);
	for (;;) {
		pthread_mutex_lock(&reg);
		int done = nchecked >= n;
		pthread_mutex_unlock(&reg);
		if (done)
			break;
		sleep_ms(1);
	}
}

static void join_threads(void)
{
	for (int i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
}

/* ---------------------------------------------------------------- lock */

static pthread_mutex_t mu;

static void *mutex_fighter(void *arg)
{
	(void)arg;
	struct checked *c = check_me();
	while (running()) {
		TIMED(c, pthread_mutex_lock(&mu));
		spin_ms(1);
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

static int do_mutex(int pi)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	if (pi)
		pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
	pthread_mutex_init(&mu, &a);
	start_threads(4, mutex_fighter);
	announce();
	/* not one join for the whole run: `ebtop offcpu` sees only waits that end in its window */
	while (running())
		sleep_ms(20);
	join_threads();
	return 0;
}

enum { FLOCK, FCNTL, OFD };
static int lock_kind;
static char lock_path[4096];

static void file_lock(int fd, int lock)
{
	if (lock_kind == FLOCK) {
		flock(fd, lock ? LOCK_EX : LOCK_UN);
		return;
	}
	struct flock fl = { .l_type = lock ? F_WRLCK : F_UNLCK, .l_whence = SEEK_SET };
	fcntl(fd, lock_kind == OFD ? F_OFD_SETLKW : F_SETLKW, &fl);
}

/* Holds the lock 20 ms, lets go for an instant. */
static void lock_holder(void *arg)
{
	(void)arg;
	int fd = open(lock_path, O_RDWR);
	while (running()) {
		file_lock(fd, 1);
		sleep_ms(20);
		file_lock(fd, 0);
		sleep_ms(1);
	}
}

static int do_file_lock(int kind)
{
	lock_kind = kind;
	snprintf(lock_path, sizeof(lock_path), "%s/ebtop-zoo-lock-%d", dir, getpid());
	int fd = open(lock_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return perror("open"), 1;
	pid_t h = helper(lock_holder, NULL);
	struct checked *c = check_me();
	announce();
	sleep_ms(5); /* the holder has it first */
	while (running()) {
		TIMED(c, file_lock(fd, 1));
		file_lock(fd, 0);
		sleep_ms(0.5); /* the holder's turn */
	}
	waitpid(h, NULL, 0);
	unlink(lock_path);
	return 0;
}

/* ---------------------------------------------------------------- cond */

static pthread_mutex_t cmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static volatile int cond_stop;

static void *cond_idler(void *arg)
{
	(void)arg;
	struct checked *c = check_me();
	pthread_mutex_lock(&cmu);
	while (!cond_stop)
		TIMED(c, pthread_cond_wait(&cv, &cmu));
	pthread_mutex_unlock(&cmu);
	return NULL;
}

static int do_cond(void)
{
	start_threads(8, cond_idler);
	announce();
	while (running()) {
		sleep_ms(20);
		pthread_mutex_lock(&cmu);
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&cmu);
	}
	pthread_mutex_lock(&cmu);
	cond_stop = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&cmu);
	join_threads();
	return 0;
}

static sem_t sem;

static void *sem_waiter(void *arg)
{
	(void)arg;
	struct checked *c = check_me();
	while (running())
		TIMED(c, sem_wait(&sem));
	return NULL;
}

static int do_sem(void)
{
	sem_init(&sem, 0, 0);
	start_threads(1, sem_waiter);
	announce();
	while (running()) {
		sleep_ms(10);
		sem_post(&sem);
	}
	sem_post(&sem);
	join_threads();
	return 0;
}

static void *sleeper20(void *arg)
{
	(void)arg;
	sleep_ms(20);
	return NULL;
}

static int do_join(void)
{
	struct checked *c = check_me();
	announce();
	while (running()) {
		pthread_t t;
		pthread_create(&t, NULL, sleeper20, NULL);
		TIMED(c, pthread_join(t, NULL));
	}
	return 0;
}

static int efd;

static void *eventfd_writer(void *arg)
{
	(void)arg;
	while (running()) {
		sleep_ms(10);
		eventfd_write(efd, 1);
	}
	eventfd_write(efd, 1);
	return NULL;
}

static int do_eventfd(void)
{
	efd = eventfd(0, 0);
	struct checked *c = check_me();
	pthread_t w;
	pthread_create(&w, NULL, eventfd_writer, NULL);
	announce();
	eventfd_t v;
	while (running())
		TIMED(c, eventfd_read(efd, &v));
	pthread_join(w, NULL);
	return 0;
}

/* ---------------------------------------------------------------- child */

static int do_wait_child(int use_waitid)
{
	struct checked *c = check_me();
	announce();
	while (running()) {
		pid_t pid = fork();
		if (pid == 0) {
			sleep_ms(20);
			_exit(0);
		}
		if (use_waitid) {
			siginfo_t si;
			TIMED(c, waitid(P_PID, pid, &si, WEXITED));
		} else
			TIMED(c, waitpid(pid, NULL, 0));
	}
	return 0;
}

static int do_vfork(void)
{
	struct checked *c = check_me();
	announce();
	while (running()) {
		/* the parent sleeps in vfork() until the child exits */
		TIMED(c, {
			if (vfork() == 0) {
				struct timespec ts = { 0, 20000000 };
				syscall(SYS_nanosleep, &ts, NULL);
				_exit(0);
			}
		});
		wait(NULL);
	}
	return 0;
}

/* ---------------------------------------------------------------- signal */

static void on_alarm(int sig)
{
	(void)sig;
}

/* SIGALRM every 10 ms, process-directed */
static void alarm_every_10ms(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 10000 }, { 0, 10000 } };
	setitimer(ITIMER_REAL, &it, NULL);
}

static int do_signal(const char *how)
{
	struct checked *c = check_me();
	sigset_t alrm, none;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	sigemptyset(&none);
	if (strcmp(how, "pause"))
		sigprocmask(SIG_BLOCK, &alrm, NULL); /* delivered only inside the wait */
	if (!strcmp(how, "signalfd")) {
		int sfd = signalfd(-1, &alrm, 0);
		alarm_every_10ms();
		announce();
		struct signalfd_siginfo si;
		while (running())
			TIMED(c, (void)!read(sfd, &si, sizeof(si)));
		return 0;
	}
	if (!strcmp(how, "sigtimedwait")) {
		announce();
		struct timespec ts = { 0, 10000000 };
		while (running())
			TIMED(c, sigtimedwait(&alrm, NULL, &ts));
		return 0;
	}
	alarm_every_10ms();
	announce();
	while (running()) {
		if (!strcmp(how, "pause"))
			TIMED(c, pause());
		else
			TIMED(c, sigsuspend(&none));
	}
	return 0;
}

/* ---------------------------------------------------------------- ipc */

struct zmsg {
	long type;
	char b;
};

static int msqid, semid;
static mqd_t mq;

static void msg_feeder(void *arg)
{
	(void)arg;
	struct zmsg m = { 1, 'x' };
	while (running()) {
		sleep_ms(5);
		msgsnd(msqid, &m, 1, 0);
	}
	msgsnd(msqid, &m, 1, 0);
}

static void sem_feeder(void *arg)
{
	(void)arg;
	struct sembuf up = { 0, 1, 0 };
	while (running()) {
		sleep_ms(5);
		semop(semid, &up, 1);
	}
	semop(semid, &up, 1);
}

static void mq_feeder(void *arg)
{
	(void)arg;
	while (running()) {
		sleep_ms(5);
		mq_send(mq, "x", 1, 0);
	}
}

static int do_ipc(const char *how)
{
	struct checked *c = check_me();
	pid_t h;
	char mqname[64];
	if (!strcmp(how, "msgrcv")) {
		msqid = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
		h = helper(msg_feeder, NULL);
		announce();
		struct zmsg m;
		while (running())
			TIMED(c, msgrcv(msqid, &m, 1, 0, 0));
		msgctl(msqid, IPC_RMID, NULL);
	} else if (!strcmp(how, "semop")) {
		semid = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
		h = helper(sem_feeder, NULL);
		announce();
		struct sembuf down = { 0, -1, 0 };
		while (running())
			TIMED(c, semop(semid, &down, 1));
		semctl(semid, 0, IPC_RMID);
	} else {
		snprintf(mqname, sizeof(mqname), "/ebtop-zoo-%d", getpid());
		struct mq_attr at = { .mq_maxmsg = 8, .mq_msgsize = 8 };
		mq = mq_open(mqname, O_RDWR | O_CREAT, 0600, &at);
		if (mq == (mqd_t)-1)
			return perror("mq_open"), 1;
		h = helper(mq_feeder, NULL);
		announce();
		char b[8];
		while (running()) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 50000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			TIMED(c, mq_timedreceive(mq, b, sizeof(b), NULL, &ts));
		}
		mq_unlink(mqname);
	}
	waitpid(h, NULL, 0);
	return 0;
}

/* ---------------------------------------------------------------- disk, poll, sleep, idle */

static int do_aio(void)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/ebtop-zoo-aio-%d", dir, getpid());
	enum { BLK = 4096, BLOCKS = 256 }; /* 1 MiB: its truncate at exit (D, lock) stays small */
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	void *buf;
	if (fd < 0 || posix_memalign(&buf, BLK, BLK))
		return perror("open"), 1;
	memset(buf, 'z', BLK);
	/* the file laid out on disk first: disk waits too, timed with the rest */
	struct checked *c = check_me();
	TIMED(c, {
		for (int i = 0; i < BLOCKS; i++)
			if (write(fd, buf, BLK) != BLK)
				return perror("write"), 1;
		fsync(fd);
	});
	close(fd);
	fd = open(path, O_RDONLY | O_DIRECT);
	unlink(path);
	aio_context_t ctx = 0;
	if (fd < 0 || syscall(SYS_io_setup, 8, &ctx))
		return perror("aio"), 1;
	announce();
	unsigned seed = getpid();
	/* 8 reads at a time, waited for together: long waits, few loop turns
	 * (the timing's own on-CPU cost stays small against them) */
	enum { N = 8 };
	struct iocb cb[N];
	struct iocb *cbs[N];
	struct io_event ev[N];
	while (running()) {
		for (int i = 0; i < N; i++) {
			cb[i] = (struct iocb){ .aio_fildes = fd, .aio_lio_opcode = IOCB_CMD_PREAD, .aio_buf = (unsigned long)buf, .aio_nbytes = BLK,
					       .aio_offset = (long long)(rand_r(&seed) % BLOCKS) * BLK };
			cbs[i] = &cb[i];
		}
		TIMED(c, {
			if (syscall(SYS_io_submit, ctx, N, cbs) != N)
				return perror("io_submit"), 1;
			for (int got = 0; got < N;)
				got += syscall(SYS_io_getevents, ctx, 1, N - got, ev, NULL);
		});
	}
	return 0;
}

static int pipe_fd[2];

static void pipe_feeder(void *arg)
{
	double ms = *(double *)arg;
	while (running()) {
		sleep_ms(ms);
		if (write(pipe_fd[1], "x", 1) != 1)
			break;
	}
}

static int do_poll(void)
{
	if (pipe(pipe_fd))
		return 1;
	struct checked *c = check_me();
	announce();
	struct pollfd p = { .fd = pipe_fd[0], .events = POLLIN };
	while (running())
		TIMED(c, poll(&p, 1, 10));
	return 0;
}

/* One read of the pipe through io_uring at a time, waited for in io_uring_enter. */
static int do_uring(void)
{
	if (pipe(pipe_fd))
		return 1;
	struct io_uring_params p = { 0 };
	int ring = syscall(SYS_io_uring_setup, 4, &p);
	if (ring < 0)
		return perror("io_uring_setup"), 1;
	char *sq = mmap(NULL, p.sq_off.array + p.sq_entries * sizeof(__u32), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQ_RING);
	char *cq = mmap(NULL, p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_CQ_RING);
	struct io_uring_sqe *sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED)
		return perror("mmap"), 1;
	unsigned *sq_tail = (unsigned *)(sq + p.sq_off.tail), *sq_mask = (unsigned *)(sq + p.sq_off.ring_mask), *sq_array = (unsigned *)(sq + p.sq_off.array);
	unsigned *cq_head = (unsigned *)(cq + p.cq_off.head), *cq_tail = (unsigned *)(cq + p.cq_off.tail);
	double ms = 5;
	pid_t h = helper(pipe_feeder, &ms);
	struct checked *c = check_me();
	announce();
	char b;
	while (running()) {
		unsigned tail = *sq_tail, i = tail & *sq_mask;
		memset(&sqes[i], 0, sizeof(sqes[i]));
		sqes[i].opcode = IORING_OP_READ;
		sqes[i].fd = pipe_fd[0];
		sqes[i].addr = (unsigned long)&b;
		sqes[i].len = 1;
		sq_array[i] = i;
		__atomic_store_n(sq_tail, tail + 1, __ATOMIC_RELEASE);
		TIMED(c, syscall(SYS_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0));
		while (__atomic_load_n(cq_head, __ATOMIC_ACQUIRE) != __atomic_load_n(cq_tail, __ATOMIC_ACQUIRE))
			__atomic_store_n(cq_head, *cq_head + 1, __ATOMIC_RELEASE);
	}
	kill(h, SIGKILL);
	waitpid(h, NULL, 0);
	return 0;
}

static int do_timerfd(void)
{
	int t = timerfd_create(CLOCK_MONOTONIC, 0);
	struct itimerspec its = { { 0, 10000000 }, { 0, 10000000 } };
	timerfd_settime(t, 0, &its, NULL);
	struct checked *c = check_me();
	announce();
	unsigned long long n;
	while (running())
		TIMED(c, (void)!read(t, &n, sizeof(n)));
	return 0;
}

static int do_clock(void)
{
	struct checked *c = check_me();
	announce();
	struct timespec ts = { 0, 2000000 };
	while (running())
		TIMED(c, clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL));
	return 0;
}

/* SIGSTOP and SIGCONT to the parent every 10 ms, as job control or a tracer's attach would. */
static void stopper(void *arg)
{
	(void)arg;
	pid_t parent = getppid();
	while (running()) {
		sleep_ms(10);
		kill(parent, SIGSTOP);
		sleep_ms(0.2);
		kill(parent, SIGCONT);
	}
}

static int do_restart(void)
{
	struct checked *c = check_me();
	pid_t h = helper(stopper, NULL);
	announce();
	struct timespec ts = { 0, 100000000 };
	while (running())
		TIMED(c, clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL));
	kill(h, SIGKILL);
	waitpid(h, NULL, 0);
	return 0;
}

static struct sockaddr_in listen_addr;

static void connector(void *arg)
{
	(void)arg;
	while (running()) {
		sleep_ms(10);
		int s = socket(AF_INET, SOCK_STREAM, 0);
		connect(s, (struct sockaddr *)&listen_addr, sizeof(listen_addr));
		close(s);
	}
}

static int do_accept(void)
{
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	listen_addr = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(listen_addr);
	if (bind(ls, (struct sockaddr *)&listen_addr, sizeof(listen_addr)) || listen(ls, 16) ||
	    getsockname(ls, (struct sockaddr *)&listen_addr, &len))
		return perror("listen"), 1;
	pid_t h = helper(connector, NULL);
	struct checked *c = check_me();
	announce();
	while (running()) {
		int s;
		TIMED(c, s = accept(ls, NULL, NULL));
		if (s >= 0)
			close(s);
	}
	kill(h, SIGKILL);
	waitpid(h, NULL, 0);
	return 0;
}

/* A one-page guest that halts with interrupts off: KVM_RUN sleeps in the
 * kernel (the in-kernel LAPIC handles HLT) until a signal kicks it out. */
static int do_kvm(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return 3;
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	unsigned char *mem = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (vm < 0 || mem == MAP_FAILED)
		return 3;
	const unsigned char code[] = { 0xfa, 0xf4, 0xeb, 0xfd }; /* cli; hlt; jmp hlt */
	memcpy(mem, code, sizeof(code));
	struct kvm_userspace_memory_region region = { .slot = 0, .guest_phys_addr = 0x1000, .memory_size = 0x1000, .userspace_addr = (unsigned long)mem };
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) || ioctl(vm, KVM_CREATE_IRQCHIP, 0))
		return 3;
	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vcpu < 0 || run_size <= 0 || mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0) == MAP_FAILED)
		return 3;
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = 0x1000, .rflags = 2 };
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs))
		return 3;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) || ioctl(vcpu, KVM_SET_REGS, &regs))
		return 3;
	struct checked *c = check_me();
	alarm_every_10ms();
	announce();
	while (running())
		TIMED(c, ioctl(vcpu, KVM_RUN, 0));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: zoo MODE SECONDS [DIR]\n");
		return 2;
	}
	const char *m = argv[1];
	seconds = atof(argv[2]);
	deadline = now_ns() + seconds * 1e9;
	if (argc > 3)
		dir = argv[3];
	int rc = 2;
	if (!strcmp(m, "mutex") || !strcmp(m, "pimutex"))
		rc = do_mutex(!strcmp(m, "pimutex"));
	else if (!strcmp(m, "flock"))
		rc = do_file_lock(FLOCK);
	else if (!strcmp(m, "fcntl"))
		rc = do_file_lock(FCNTL);
	else if (!strcmp(m, "ofd"))
		rc = do_file_lock(OFD);
	else if (!strcmp(m, "cond"))
		rc = do_cond();
	else if (!strcmp(m, "sem"))
		rc = do_sem();
	else if (!strcmp(m, "join"))
		rc = do_join();
	else if (!strcmp(m, "eventfd"))
		rc = do_eventfd();
	else if (!strcmp(m, "waitpid") || !strcmp(m, "waitid"))
		rc = do_wait_child(!strcmp(m, "waitid"));
	else if (!strcmp(m, "vfork"))
		rc = do_vfork();
	else if (!strcmp(m, "pause") || !strcmp(m, "sigsuspend") || !strcmp(m, "sigtimedwait") || !strcmp(m, "signalfd"))
		rc = do_signal(m);
	else if (!strcmp(m, "msgrcv") || !strcmp(m, "semop") || !strcmp(m, "mqueue"))
		rc = do_ipc(m);
	else if (!strcmp(m, "aio"))
		rc = do_aio();
	else if (!strcmp(m, "poll"))
		rc = do_poll();
	else if (!strcmp(m, "uring"))
		rc = do_uring();
	else if (!strcmp(m, "timerfd"))
		rc = do_timerfd();
	else if (!strcmp(m, "clock"))
		rc = do_clock();
	else if (!strcmp(m, "restart"))
		rc = do_restart();
	else if (!strcmp(m, "accept"))
		rc = do_accept();
	else if (!strcmp(m, "kvm"))
		rc = do_kvm();
	else {
		fprintf(stderr, "zoo: unknown mode %s\n", m);
		return 2;
	}
	if (rc == 0)
		report();
	return rc;
}
