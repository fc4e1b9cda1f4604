/* dioread FILE BYTES MS: read BYTES from the start of FILE with O_DIRECT in
 * 1 MiB reads, then stay alive until MS milliseconds after start and exit:
 * a short-lived process whose block reads ebtop must not lose. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: dioread FILE BYTES MS\n");
		return 2;
	}
	double t0 = now_ms();
	long long want = atoll(argv[2]);
	int fd = open(argv[1], O_RDONLY | O_DIRECT);
	void *buf;
	if (fd < 0 || posix_memalign(&buf, 4096, 1 << 20)) {
		perror("dioread");
		return 1;
	}
	long long got = 0;
	while (got < want) {
		ssize_t n = pread(fd, buf, 1 << 20, got);
		if (n <= 0) {
			perror("pread");
			return 1;
		}
		got += n;
	}
	double left = atof(argv[3]) - (now_ms() - t0);
	if (left > 0)
		usleep((useconds_t)(left * 1000));
	printf("{\"read_bytes\":%lld,\"ms\":%.1f}\n", got, now_ms() - t0);
	return 0;
}
