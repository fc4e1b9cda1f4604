/* idle PROCS THREADS: fill the machine for `make bench`: PROCS processes
 * (this one and PROCS-1 children), each with THREADS threads (its main
 * thread included), all blocked forever. Prints one JSON line once every
 * one of them exists: {"pid":P,"procs":N,"threads":M} (M: all threads of
 * all of them). Everything goes away when stdin closes or on SIGTERM: the
 * children die with us (PR_SET_PDEATHSIG), so even a SIGKILL of this
 * process leaves nothing behind. Threads get small stacks (64 KiB): 10,000
 * of them must not cost gigabytes. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void *park(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

/* THREADS-1 more threads in this process; 0 or -1 (failed). */
static int spawn_threads(int threads)
{
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 * 1024);
	for (int i = 1; i < threads; i++) {
		pthread_t t;
		if (pthread_create(&t, &a, park, NULL))
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: idle PROCS THREADS\n");
		return 2;
	}
	int procs = atoi(argv[1]), threads = atoi(argv[2]);
	if (procs < 1 || threads < 1) {
		fprintf(stderr, "idle: PROCS and THREADS must be >= 1\n");
		return 2;
	}
	pid_t self = getpid();
	/* each child reports readiness by one byte on this pipe */
	int ready[2];
	if (pipe(ready))
		return 1;
	for (int i = 1; i < procs; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("idle: fork");
			kill(0, SIGTERM);
			return 1;
		}
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != self)
				_exit(0);
			close(ready[0]);
			char ok = spawn_threads(threads) ? 'x' : '.';
			if (write(ready[1], &ok, 1) != 1)
				_exit(1);
			close(ready[1]);
			park(NULL);
		}
	}
	close(ready[1]);
	if (spawn_threads(threads)) {
		perror("idle: pthread_create");
		return 1;
	}
	for (int got = 1; got < procs;) {
		char buf[256];
		ssize_t n = read(ready[0], buf, sizeof(buf));
		if (n <= 0)
			return 1;
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != '.') {
				fprintf(stderr, "idle: a child could not start its threads\n");
				return 1;
			}
		got += n;
	}
	printf("{\"pid\":%d,\"procs\":%d,\"threads\":%d}\n", self, procs, procs * threads);
	fflush(stdout);
	char buf[64];
	while (read(0, buf, sizeof(buf)) > 0)
		;
	return 0;
}
