/* prefork: a pre-fork server. The parent listens and accepts one connection,
 * forks a child that serves it (reads the request to EOF, answers M bytes)
 * and closes its own copy without ever using it. A client process sends N
 * bytes. Prints one JSON line: the three pids, N, M and the server port. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define N 123457L
#define M 54321L

static char buf[1 << 16];

int main(void)
{
	memset(buf, 'z', sizeof(buf));
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(a);
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 8) || getsockname(ls, (struct sockaddr *)&a, &len)) {
		perror("listen");
		return 1;
	}
	pid_t client = fork();
	if (client == 0) {
		close(ls);
		int c = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(c, (struct sockaddr *)&a, sizeof(a)))
			_exit(1);
		for (long left = N; left > 0;) {
			ssize_t w = write(c, buf, left < (long)sizeof(buf) ? left : (long)sizeof(buf));
			if (w <= 0)
				_exit(1);
			left -= w;
		}
		shutdown(c, SHUT_WR);
		while (read(c, buf, sizeof(buf)) > 0)
			;
		close(c);
		_exit(0);
	}
	int fd = accept(ls, NULL, NULL);
	pid_t server = fork();
	if (server == 0) {
		close(ls);
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		for (long left = M; left > 0;) {
			ssize_t w = write(fd, buf, left < (long)sizeof(buf) ? left : (long)sizeof(buf));
			if (w <= 0)
				_exit(1);
			left -= w;
		}
		close(fd);
		_exit(0);
	}
	close(fd);
	int st1, st2;
	waitpid(server, &st1, 0);
	waitpid(client, &st2, 0);
	printf("{\"parent\":%d,\"server\":%d,\"client\":%d,\"n\":%ld,\"m\":%ld,\"port\":%d,\"status\":%d}\n", getpid(), server, client, N, M, ntohs(a.sin_port), st1 | st2);
	return 0;
}
