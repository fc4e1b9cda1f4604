/* manyconn N: N TCP connections over 127.0.0.1 held open at once. A server
 * child accepts them and reads the one byte each carries; the parent connects
 * and sends it. Prints {"client","server","n","port"} once all N are
 * established on both sides, holds them until a line (or EOF) on stdin, then
 * closes them all, 100 at a time (a burst of 20,000 FINs overflows loopback's
 * backlog), and prints {"closed":N}. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void close_all(int *fds, int n)
{
	struct timespec pause = { 0, 2 * 1000 * 1000 };
	for (int i = 0; i < n; i++) {
		close(fds[i]);
		if (i % 100 == 99)
			nanosleep(&pause, NULL);
	}
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: manyconn N\n");
		return 2;
	}
	int n = atoi(argv[1]);
	struct rlimit rl = { n + 64, n + 64 };
	if (setrlimit(RLIMIT_NOFILE, &rl)) {
		perror("setrlimit");
		return 1;
	}
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(a);
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 4096) || getsockname(ls, (struct sockaddr *)&a, &len)) {
		perror("listen");
		return 1;
	}
	int up[2], down[2];
	if (pipe(up) || pipe(down))
		return 1;
	pid_t server = fork();
	if (server == 0) {
		close(up[0]);
		close(down[1]);
		int *fds = calloc(n, sizeof(int));
		char b;
		for (int i = 0; i < n; i++) {
			fds[i] = accept(ls, NULL, NULL);
			if (fds[i] < 0 || read(fds[i], &b, 1) != 1)
				_exit(1);
		}
		if (write(up[1], "k", 1) != 1 || read(down[0], &b, 1) < 0)
			_exit(1);
		close_all(fds, n);
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	close(ls);
	int *fds = calloc(n, sizeof(int));
	for (int i = 0; i < n; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&a, sizeof(a)) || write(fds[i], "x", 1) != 1) {
			perror("connect");
			return 1;
		}
	}
	char b;
	if (read(up[0], &b, 1) != 1)
		return 1;
	printf("{\"client\":%d,\"server\":%d,\"n\":%d,\"port\":%d}\n", getpid(), server, n, ntohs(a.sin_port));
	fflush(stdout);
	char line[16];
	if (!fgets(line, sizeof(line), stdin))
		line[0] = 0;
	close_all(fds, n);
	close(down[1]);
	int status;
	waitpid(server, &status, 0);
	printf("{\"closed\":%d,\"status\":%d}\n", n, status);
	return 0;
}
