/* ioreap CMD [ARG...]: run CMD (searched in PATH) as a child, reap it with
 * wait4(), print one JSON line: its pid, wait status and the kernel's block
 * I/O figures for it (ru_inblock / ru_oublock: 512-byte units of bytes read
 * from the block layer / page-cache bytes dirtied). */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: ioreap CMD [ARG...]\n");
		return 2;
	}
	pid_t pid = fork();
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	int status;
	struct rusage ru;
	if (pid < 0 || wait4(pid, &status, 0, &ru) != pid) {
		perror("ioreap");
		return 1;
	}
	printf("{\"pid\":%d,\"status\":%d,\"inblock\":%ld,\"oublock\":%ld}\n", pid, status, ru.ru_inblock, ru.ru_oublock);
	return 0;
}
