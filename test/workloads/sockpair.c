/* sockpair: a parent and its child exchange known byte counts over unix
 * sockets: the parent write()s STREAM bytes into a stream socketpair, the
 * child reads them (after a MSG_PEEK that must not count) and sendmsg()s
 * DGRAMS datagrams of distinct sizes back over a datagram socketpair, which
 * the parent recv()s (peeking first too). Prints one JSON line with both pids
 * and the bytes each side's calls returned. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define STREAM 10000003L
#define DGRAMS 100

static char buf[1 << 16];

static void fail(const char *what)
{
	perror(what);
	_exit(1);
}

int main(void)
{
	int s[2], d[2], ready[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) || socketpair(AF_UNIX, SOCK_DGRAM, 0, d) || pipe(ready)) {
		perror("sockpair");
		return 1;
	}
	pid_t child = fork();
	if (child == 0) {
		close(s[0]);
		close(d[0]);
		long got = 0, sent = 0;
		if (recv(s[1], buf, 1, MSG_PEEK) != 1)
			fail("child: peek");
		while (got < STREAM) {
			ssize_t n = read(s[1], buf, sizeof(buf));
			if (n <= 0)
				fail("child: read");
			got += n;
		}
		for (int i = 0; i < DGRAMS; i++) {
			struct iovec iov = { .iov_base = buf, .iov_len = 1000 + 7 * i };
			struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
			ssize_t n = sendmsg(d[1], &msg, 0);
			if (n <= 0)
				fail("child: sendmsg");
			sent += n;
		}
		/* both counts through a pipe: the parent reports them */
		long both[2] = { got, sent };
		if (write(ready[1], both, sizeof(both)) != sizeof(both))
			fail("child: report");
		_exit(0);
	}
	close(s[1]);
	close(d[1]);
	memset(buf, 'x', sizeof(buf));
	long sent = 0, got = 0;
	while (sent < STREAM) {
		long want = STREAM - sent < (long)sizeof(buf) ? STREAM - sent : (long)sizeof(buf);
		ssize_t n = write(s[0], buf, want);
		if (n <= 0)
			fail("parent: write");
		sent += n;
	}
	if (recv(d[0], buf, 16, MSG_PEEK) != 16)
		fail("parent: peek");
	for (int i = 0; i < DGRAMS; i++) {
		ssize_t n = recv(d[0], buf, sizeof(buf), 0);
		if (n <= 0)
			fail("parent: recv");
		got += n;
	}
	long both[2];
	if (read(ready[0], both, sizeof(both)) != sizeof(both))
		fail("parent: the child's report");
	int status;
	waitpid(child, &status, 0);
	printf("{\"parent\":%d,\"child\":%d,\"parent_tx\":%ld,\"parent_rx\":%ld,\"child_rx\":%ld,\"child_tx\":%ld,\"status\":%d}\n",
	       getpid(), child, sent, got, both[0], both[1], status);
	return 0;
}
