/* evilname SECONDS PAD: a process whose names are terminal attacks, for
 * test/kernel/escapes.test.ts. Its comm (PR_SET_NAME, main thread and a
 * second thread) and its command line (argv rewritten in place, as
 * setproctitle does: PAD, a long argument, is overwritten) hold escape
 * sequences, BEL, raw C1 bytes and a blessed tag. Both threads then sleep
 * 20 ms at a time (blocked intervals for `ebtop offcpu`). Prints one JSON
 * line once named: {"pid":P,"tid":T} (T: the second thread), then runs for
 * SECONDS or until stdin closes. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* 15 bytes (TASK_COMM_LEN - 1): OSC 0 (window title) ended by BEL, SGR 8
 * (conceal: blessed passes SGR in its content through), a raw C1 CSI byte
 * (0x9b) and a UTF-8 C1 OSC (c2 9d). */
static const char COMM[] = "\x1b]0;PWN\x07\x1b[8m\x9b\xc2\x9d";
/* The command line: OSC 52 (write the clipboard), raw C1 DCS and CSI
 * bytes, UTF-8 C1 CSI, a newline, DEL, and a blessed tag. */
static const char ARGV[] = "evil\x1b]52;c;UFdO\x07\x90q\x9c\x9b" "6n\xc2\x9b" "0m\n\x7f{red-fg}tag{/red-fg}\x1b[2J";

static volatile int tid2;

static void nap(void)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	nanosleep(&ts, NULL);
}

static void *second(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, COMM);
	tid2 = (int)syscall(SYS_gettid);
	for (;;)
		nap();
	return NULL;
}

static void *stdin_watch(void *arg)
{
	char buf[64];
	(void)arg;
	while (read(0, buf, sizeof(buf)) > 0)
		;
	exit(0);
}

int main(int argc, char **argv)
{
	if (argc < 3 || strlen(argv[2]) < sizeof(ARGV)) {
		fprintf(stderr, "usage: evilname SECONDS PAD (PAD at least %zu characters)\n", sizeof(ARGV));
		return 2;
	}
	double seconds = atof(argv[1]);
	/* argv[2] rewritten in place: /proc/PID/cmdline shows the new bytes */
	size_t padLen = strlen(argv[2]);
	memset(argv[2], 0, padLen);
	memcpy(argv[2], ARGV, sizeof(ARGV) - 1);
	prctl(PR_SET_NAME, COMM);
	pthread_t t;
	if (pthread_create(&t, NULL, second, NULL) || pthread_create(&t, NULL, stdin_watch, NULL))
		return 1;
	while (!tid2)
		nap();
	printf("{\"pid\":%d,\"tid\":%d}\n", getpid(), tid2);
	fflush(stdout);
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		nap();
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - start.tv_sec + (now.tv_nsec - start.tv_nsec) / 1e9 < seconds);
	return 0;
}
