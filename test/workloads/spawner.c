/* spawner N MS BURN [hold]: run N children back to back, each `BURN MS` (stdout to
 * /dev/null), reaping each with wait4(). Prints one JSON line: our pid, the
 * children's pids and the kernel's own CPU figure for them (summed rusage,
 * and each child's, in ns at us resolution). With "hold", it then waits for
 * stdin to close (so its family can still be looked at). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: spawner N MS BURN\n");
		return 2;
	}
	int n = atoi(argv[1]);
	pid_t *pids = calloc(n, sizeof(*pids));
	long long *each_us = calloc(n, sizeof(*each_us));
	long long total_us = 0;
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			int devnull = open("/dev/null", O_WRONLY);
			dup2(devnull, 1);
			execl(argv[3], "burn", argv[2], (char *)NULL);
			_exit(127);
		}
		int status;
		struct rusage ru;
		if (pid < 0 || wait4(pid, &status, 0, &ru) != pid) {
			perror("spawner");
			return 1;
		}
		pids[i] = pid;
		each_us[i] = ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec;
		total_us += each_us[i];
	}
	printf("{\"pid\":%d,\"rusage_ns\":%lld,\"children\":[", getpid(), total_us * 1000);
	for (int i = 0; i < n; i++)
		printf("%s%d", i ? "," : "", pids[i]);
	printf("],\"child_rusage_ns\":[");
	for (int i = 0; i < n; i++)
		printf("%s%lld", i ? "," : "", each_us[i] * 1000);
	printf("]}\n");
	fflush(stdout);
	if (argc > 4 && !strcmp(argv[4], "hold")) {
		char buf[64];
		while (read(0, buf, sizeof(buf)) > 0)
			;
	}
	return 0;
}
