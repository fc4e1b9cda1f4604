/* reap CMD [ARG...]: run CMD as a child, reap it with wait4(), print one JSON
 * line: its pid, wait status and the kernel's own CPU figure for it (rusage
 * user + system, us resolution: each of the two is truncated to the us). */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: reap CMD [ARG...]\n");
		return 2;
	}
	pid_t pid = fork();
	if (pid == 0) {
		execv(argv[1], argv + 1);
		_exit(127);
	}
	int status;
	struct rusage ru;
	if (pid < 0 || wait4(pid, &status, 0, &ru) != pid) {
		perror("reap");
		return 1;
	}
	long long us = ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec;
	printf("{\"pid\":%d,\"status\":%d,\"rusage_ns\":%lld}\n", pid, status, us * 1000);
	return 0;
}
