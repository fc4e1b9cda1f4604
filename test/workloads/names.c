/* names N MS PREFIX: N children one after another, each named PREFIX<i>
 * (PR_SET_NAME: N distinct command names, no exec) and spinning MS ms of
 * CPU, each reaped with wait4(). We are PREFIX "p" ourselves. Prints one
 * JSON line: our pid, the children's summed rusage and our own (ns, at us
 * resolution), for `ebtop serve`'s cardinality test. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long cputime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long ru_ns(const struct rusage *ru)
{
	return (ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1000000000LL + (ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) * 1000LL;
}

int main(int argc, char **argv)
{
	if (argc < 4 || strlen(argv[3]) > 8) {
		fprintf(stderr, "usage: names N MS PREFIX (PREFIX at most 8 characters)\n");
		return 2;
	}
	int n = atoi(argv[1]);
	long long want = atoll(argv[2]) * 1000000LL;
	char name[16];
	snprintf(name, sizeof(name), "%sp", argv[3]);
	prctl(PR_SET_NAME, name);
	long long children = 0;
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			snprintf(name, sizeof(name), "%s%d", argv[3], i);
			prctl(PR_SET_NAME, name);
			volatile unsigned long x = 0;
			while (cputime_ns() < want)
				for (int k = 0; k < 1000; k++)
					x += k;
			_exit(0);
		}
		int status;
		struct rusage ru;
		if (pid < 0 || wait4(pid, &status, 0, &ru) != pid) {
			perror("names");
			return 1;
		}
		children += ru_ns(&ru);
	}
	struct rusage self;
	getrusage(RUSAGE_SELF, &self);
	printf("{\"pid\":%d,\"children\":%d,\"child_rusage_ns\":%lld,\"self_rusage_ns\":%lld}\n", getpid(), n, children, ru_ns(&self));
	return 0;
}
