/* tcpcycle CYCLES REFUSED: a server child on 127.0.0.1 (an ephemeral port)
 * and CYCLES client connections from the parent, one after the other: the
 * client sends 1000 + 37*i bytes and shuts down its side, the server reads
 * to EOF and answers n/2 + 3 bytes, both close. Then REFUSED connects to a
 * port nobody listens on. Prints one JSON line: both pids, each cycle's
 * [client port, bytes sent, bytes received] and the refused count. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static char buf[1 << 16];

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static int port_of(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &len);
	return ntohs(a.sin_port);
}

static long drain(int fd)
{
	long got = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -1 : got;
		got += n;
	}
}

static int send_all(int fd, long n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n < (long)sizeof(buf) ? n : (long)sizeof(buf));
		if (w <= 0)
			return -1;
		n -= w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: tcpcycle CYCLES REFUSED\n");
		return 2;
	}
	int cycles = atoi(argv[1]), refused = atoi(argv[2]);
	memset(buf, 'y', sizeof(buf));
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = loopback(0);
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 64)) {
		perror("listen");
		return 1;
	}
	int port = port_of(ls);
	/* a port nobody listens on: bound (so nobody else takes it) but not listening */
	int closed = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(closed, (struct sockaddr *)&a, sizeof(a))) {
		perror("bind");
		return 1;
	}
	int closed_port = port_of(closed);

	pid_t server = fork();
	if (server == 0) {
		for (int i = 0; i < cycles; i++) {
			int c = accept(ls, NULL, NULL);
			long n = c < 0 ? -1 : drain(c);
			if (n < 0 || send_all(c, n / 2 + 3))
				_exit(1);
			close(c);
		}
		_exit(0);
	}
	close(ls);
	int (*rec)[3] = calloc(cycles, sizeof(*rec));
	for (int i = 0; i < cycles; i++) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in to = loopback(port);
		if (connect(c, (struct sockaddr *)&to, sizeof(to))) {
			perror("connect");
			return 1;
		}
		long n = 1000 + 37L * i;
		if (send_all(c, n) || shutdown(c, SHUT_WR))
			return 1;
		rec[i][0] = port_of(c);
		rec[i][1] = n;
		rec[i][2] = drain(c);
		close(c);
	}
	int failed = 0;
	for (int i = 0; i < refused; i++) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in to = loopback(closed_port);
		if (connect(c, (struct sockaddr *)&to, sizeof(to)) && errno == ECONNREFUSED)
			failed++;
		close(c);
	}
	int status;
	waitpid(server, &status, 0);
	printf("{\"client\":%d,\"server\":%d,\"port\":%d,\"closed_port\":%d,\"status\":%d,\"refused\":%d,\"cycles\":[", getpid(), server, port, closed_port, status, failed);
	for (int i = 0; i < cycles; i++)
		printf("%s[%d,%d,%d]", i ? "," : "", rec[i][0], rec[i][1], rec[i][2]);
	printf("]}\n");
	return 0;
}
