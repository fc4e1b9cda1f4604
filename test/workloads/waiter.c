// Workloads of known waiting behaviour for the wait subsystem's kernel tests:
// each blocks, nearly all the time, for one reason. Prints one JSON line as
// soon as the waiting threads exist: {"pid":P,"tids":[...]} (the threads whose
// reason the test checks), then runs for SECONDS.
//
//   waiter sleep SECONDS            nanosleep loop                      -> sleep
//   waiter pipe SECONDS             read on a pipe fed by a child       -> pipe
//   waiter unix SECONDS             read on a unix stream socket        -> pipe
//   waiter lock SECONDS             two waiters on a mutex held by a sleeper -> lock
//   waiter disk SECONDS DIR         O_DIRECT|O_SYNC writes + fsync      -> disk
//   waiter tcp SECONDS              recv on a TCP socket fed slowly     -> net
//   waiter epoll SECONDS            epoll_wait(10 ms) on an idle pipe   -> poll
//   waiter exit MS                  a thread blocked on a pipe read when the process exits after MS
//   waiter blocked SECONDS          after a byte on stdin, reads a pipe fed every 10 ms (for `ebtop offcpu`),
//                                   then prints {"blocked_ns":...}: its reads that took >= 1 ms, as it timed them,
//                                   less their on-CPU and run-queue time (schedstat)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double seconds;

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_ms(double ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)((ms - (time_t)(ms / 1000) * 1000) * 1e6) };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int gettid_(void)
{
	return (int)syscall(SYS_gettid);
}

static void announce(int n, const int *tids)
{
	printf("{\"pid\":%d,\"tids\":[", getpid());
	for (int i = 0; i < n; i++)
		printf("%s%d", i ? "," : "", tids[i]);
	printf("]}\n");
	fflush(stdout);
}

static void announce_self(void)
{
	int tid = gettid_();
	announce(1, &tid);
}

/* A child that writes one byte to fd every `ms` until the deadline, then exits. */
static pid_t feeder(int fd, double ms, long long until)
{
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		while (now_ns() < until) {
			sleep_ms(ms);
			if (write(fd, "x", 1) != 1)
				break;
		}
		_exit(0);
	}
	return pid;
}

/* Read single bytes until EOF. */
static void drain(int fd)
{
	char c;
	while (read(fd, &c, 1) == 1)
		;
}

static int do_sleep(void)
{
	announce_self();
	long long until = now_ns() + seconds * 1e9;
	while (now_ns() < until)
		sleep_ms(2);
	return 0;
}

static int do_pipe(void)
{
	int p[2];
	if (pipe(p))
		return 1;
	pid_t child = feeder(p[1], 5, now_ns() + seconds * 1e9);
	close(p[1]);
	announce_self();
	drain(p[0]);
	waitpid(child, NULL, 0);
	return 0;
}

static int do_unix(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return 1;
	pid_t child = feeder(sv[1], 5, now_ns() + seconds * 1e9);
	close(sv[1]);
	announce_self();
	drain(sv[0]);
	waitpid(child, NULL, 0);
	return 0;
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static volatile int stop;
static int waiter_tids[2];

static void *waiter(void *arg)
{
	waiter_tids[(long)arg] = gettid_();
	while (!stop) {
		pthread_mutex_lock(&mu);
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

static int do_lock(void)
{
	pthread_t t[2];
	pthread_mutex_lock(&mu);
	for (long i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, waiter, (void *)i);
	while (!waiter_tids[0] || !waiter_tids[1])
		sleep_ms(1);
	announce(2, waiter_tids);
	/* The holder sleeps with the lock held; released for an instant every 50 ms. */
	long long until = now_ns() + seconds * 1e9;
	while (now_ns() < until) {
		sleep_ms(50);
		pthread_mutex_unlock(&mu);
		pthread_mutex_lock(&mu);
	}
	stop = 1;
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	return 0;
}

static int do_disk(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/ebtop-waiter-%d", dir, getpid());
	/* Laid out and on disk first, so the timed writes overwrite allocated blocks. */
	enum { BLK = 4096, BLOCKS = 1024 };
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return perror("open"), 1;
	void *buf;
	if (posix_memalign(&buf, BLK, BLK))
		return 1;
	memset(buf, 'e', BLK);
	for (int i = 0; i < BLOCKS; i++)
		if (write(fd, buf, BLK) != BLK)
			return perror("write"), 1;
	fsync(fd);
	close(fd);
	fd = open(path, O_RDWR | O_DIRECT | O_SYNC);
	unlink(path);
	if (fd < 0)
		return perror("open O_DIRECT"), 1;
	announce_self();
	long long until = now_ns() + seconds * 1e9;
	unsigned seed = getpid();
	while (now_ns() < until) {
		off_t off = (off_t)(rand_r(&seed) % BLOCKS) * BLK;
		if (pwrite(fd, buf, BLK, off) != BLK)
			return perror("pwrite"), 1;
		fsync(fd);
	}
	return 0;
}

static int do_tcp(void)
{
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 1) || getsockname(ls, (struct sockaddr *)&a, &len))
		return perror("listen"), 1;
	long long until = now_ns() + seconds * 1e9;
	pid_t child = fork();
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int c = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(c, (struct sockaddr *)&a, sizeof(a)))
			_exit(1);
		while (now_ns() < until) {
			sleep_ms(5);
			if (send(c, "x", 1, 0) != 1)
				break;
		}
		_exit(0);
	}
	int s = accept(ls, NULL, NULL);
	if (s < 0)
		return perror("accept"), 1;
	announce_self();
	char c;
	while (recv(s, &c, 1, 0) == 1)
		;
	waitpid(child, NULL, 0);
	return 0;
}

static int do_epoll(void)
{
	int p[2];
	if (pipe(p))
		return 1;
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = p[0] };
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
	announce_self();
	long long until = now_ns() + seconds * 1e9;
	while (now_ns() < until)
		epoll_wait(ep, &ev, 1, 10);
	return 0;
}

static int exit_pipe[2];
static int exit_tid;

static void *blocked_reader(void *arg)
{
	(void)arg;
	exit_tid = gettid_();
	drain(exit_pipe[0]);
	return NULL;
}

static int do_exit(double ms)
{
	pthread_t t;
	if (pipe(exit_pipe))
		return 1;
	pthread_create(&t, NULL, blocked_reader, NULL);
	while (!exit_tid)
		sleep_ms(1);
	announce(1, &exit_tid);
	sleep_ms(ms);
	exit(0); /* exit_group: the reader is still blocked in read() */
}

/* This thread's on-CPU and run-queue ns so far, from an open /proc/thread-self/schedstat. */
static void schedstat(int fd, long long *oncpu, long long *runq)
{
	char buf[128];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = 0;
	*oncpu = *runq = 0;
	sscanf(buf, "%lld %lld", oncpu, runq);
}

static int do_blocked(void)
{
	int p[2];
	char go;
	announce_self();
	/* Until the tracer is attached: a wait of its own that it cannot see begin, not timed. */
	if (read(0, &go, 1) != 1)
		return 1;
	if (pipe(p))
		return 1;
	pid_t child = feeder(p[1], 10, now_ns() + seconds * 1e9);
	close(p[1]);
	/* Blocked time of a read = its duration - its on-CPU time - its run-queue
	 * wait after the wakeup (the kernel's schedstat for this thread). */
	int ss = open("/proc/thread-self/schedstat", O_RDONLY);
	long long blocked = 0;
	char c;
	for (;;) {
		long long on0, rq0, on1, rq1;
		schedstat(ss, &on0, &rq0);
		long long t0 = now_ns();
		ssize_t n = read(p[0], &c, 1);
		long long took = now_ns() - t0;
		schedstat(ss, &on1, &rq1);
		if (n != 1)
			break;
		if (took >= 1000000)
			blocked += took - (on1 - on0) - (rq1 - rq0);
	}
	waitpid(child, NULL, 0);
	printf("{\"blocked_ns\":%lld}\n", blocked);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: waiter sleep|pipe|unix|lock|disk|tcp|epoll|blocked SECONDS [DIR] | waiter exit MS\n");
		return 2;
	}
	const char *mode = argv[1];
	seconds = atof(argv[2]);
	if (!strcmp(mode, "sleep"))
		return do_sleep();
	if (!strcmp(mode, "pipe"))
		return do_pipe();
	if (!strcmp(mode, "unix"))
		return do_unix();
	if (!strcmp(mode, "lock"))
		return do_lock();
	if (!strcmp(mode, "disk"))
		return do_disk(argc > 3 ? argv[3] : "/var/tmp");
	if (!strcmp(mode, "tcp"))
		return do_tcp();
	if (!strcmp(mode, "epoll"))
		return do_epoll();
	if (!strcmp(mode, "exit"))
		return do_exit(seconds);
	if (!strcmp(mode, "blocked"))
		return do_blocked();
	fprintf(stderr, "waiter: unknown mode %s\n", mode);
	return 2;
}
