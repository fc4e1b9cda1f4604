/* fdreuse SECONDS: one thread blocked in read() in turn on a pipe, a TCP
 * socket and a unix socket, ~10 ms each, where each takes the fd the one
 * before just had and, freed just before on the same CPU, most likely its
 * struct file too: a wait-category cache keyed by (file, fd) alone would
 * keep calling the socket a pipe, one keyed by the file's operations too
 * would call the unix socket (a socket like the TCP one: the same
 * operations) net. A helper thread feeds each after the delay.
 * Prints {"pid","tids":[reader]} first, then {"pipe_ns","tcp_ns","unix_ns","rounds"}:
 * the reader's own time inside each kind of read(). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The helper's job: after DELAY, write a byte to `fd` (>= 0), or accept on the listener and write to that. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int job_fd = -2; /* -2: none, -1: accept */
static int listener;
static const struct timespec DELAY = { 0, 10 * 1000 * 1000 };

static void *helper(void *arg)
{
	for (;;) {
		pthread_mutex_lock(&mu);
		while (job_fd == -2)
			pthread_cond_wait(&cv, &mu);
		int fd = job_fd;
		job_fd = -2;
		pthread_mutex_unlock(&mu);
		int c = fd == -1 ? accept(listener, NULL, NULL) : fd;
		nanosleep(&DELAY, NULL);
		if (c < 0 || write(c, "x", 1) != 1)
			exit(1);
		if (fd == -1)
			close(c);
	}
	return arg;
}

static void give(int fd)
{
	pthread_mutex_lock(&mu);
	job_fd = fd;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
}

/* read() one byte from fd; returns the ns it took. */
static long long timed_read(int fd)
{
	char b;
	long long t = now_ns();
	if (read(fd, &b, 1) != 1)
		exit(1);
	return now_ns() - t;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: fdreuse SECONDS\n");
		return 2;
	}
	/* one CPU: the struct file freed by close() is the next one allocated there */
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	sched_setaffinity(0, sizeof(one), &one);
	listener = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	if (bind(listener, (struct sockaddr *)&a, sizeof(a)) || listen(listener, 4) || getsockname(listener, (struct sockaddr *)&a, &len))
		return perror("listen"), 1;
	pthread_t h;
	pthread_create(&h, NULL, helper, NULL);
	printf("{\"pid\":%d,\"tids\":[%ld]}\n", getpid(), syscall(SYS_gettid));
	fflush(stdout);
	long long until = now_ns() + atof(argv[1]) * 1e9, pipe_ns = 0, tcp_ns = 0, unix_ns = 0;
	int rounds = 0;
	while (now_ns() < until) {
		int p[2];
		if (pipe(p))
			return perror("pipe"), 1;
		give(p[1]);
		pipe_ns += timed_read(p[0]);
		close(p[1]);
		close(p[0]); /* last: its struct file is the first the socket below gets */
		int s = socket(AF_INET, SOCK_STREAM, 0);
		if (s != p[0])
			return fprintf(stderr, "socket got fd %d, not %d\n", s, p[0]), 1;
		if (connect(s, (struct sockaddr *)&a, sizeof(a)))
			return perror("connect"), 1;
		give(-1);
		tcp_ns += timed_read(s);
		close(s);
		int u[2];
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, u))
			return perror("socketpair"), 1;
		if (u[0] != s)
			return fprintf(stderr, "socketpair got fd %d, not %d\n", u[0], s), 1;
		give(u[1]);
		unix_ns += timed_read(u[0]);
		close(u[1]);
		close(u[0]); /* last: its struct file is the first the next pipe gets */
		rounds++;
	}
	printf("{\"pipe_ns\":%lld,\"tcp_ns\":%lld,\"unix_ns\":%lld,\"rounds\":%d}\n", pipe_ns, tcp_ns, unix_ns, rounds);
	return 0;
}
