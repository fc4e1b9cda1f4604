/* storm RATE SECONDS PROG [ARG...]: a spawn storm for `make bench`: start
 * PROG (posix_spawn: fork + exec) RATE times a second for SECONDS, stdout
 * to /dev/null, reaping as it goes. Prints one JSON line at the end: our pid,
 * how many were spawned and reaped, the wall time it took, and every
 * child's pid (the ground truth ebtop's exit records are checked against). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: storm RATE SECONDS PROG [ARG...]\n");
		return 2;
	}
	double rate = atof(argv[1]), seconds = atof(argv[2]);
	long n = (long)(rate * seconds);
	if (rate <= 0 || n < 1) {
		fprintf(stderr, "storm: RATE and SECONDS must be positive\n");
		return 2;
	}
	pid_t *pids = calloc(n, sizeof(*pids));
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	long spawned = 0, reaped = 0, failed = 0;
	long long step = (long long)(1e9 / rate), t0 = now_ns();
	for (long i = 0; i < n; i++) {
		long long at = t0 + i * step;
		struct timespec ts = { at / 1000000000LL, at % 1000000000LL };
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		pid_t pid;
		if (posix_spawn(&pid, argv[3], &fa, NULL, argv + 3, environ) == 0)
			pids[spawned++] = pid;
		int status;
		while (waitpid(-1, &status, WNOHANG) > 0) {
			reaped++;
			if (!WIFEXITED(status) || WEXITSTATUS(status))
				failed++;
		}
	}
	long long spawn_ns = now_ns() - t0;
	int status;
	while (reaped < spawned && waitpid(-1, &status, 0) > 0) {
		reaped++;
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			failed++;
	}
	printf("{\"pid\":%d,\"spawned\":%ld,\"reaped\":%ld,\"failed\":%ld,\"spawn_ns\":%lld,\"children\":[", getpid(), spawned, reaped, failed,
	       spawn_ns);
	for (long i = 0; i < spawned; i++)
		printf("%s%d", i ? "," : "", pids[i]);
	printf("]}\n");
	return 0;
}
