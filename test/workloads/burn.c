/* burn MS: spin until this process has used MS ms of CPU, print the CPU time
 * it measured itself (CLOCK_PROCESS_CPUTIME_ID) just before exiting. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long long cputime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long long want = (argc > 1 ? atoll(argv[1]) : 100) * 1000000LL;
	volatile unsigned long x = 0;
	while (cputime_ns() < want)
		for (int i = 0; i < 10000; i++)
			x += i;
	printf("cputime_ns=%lld\n", cputime_ns());
	fflush(stdout);
	return 0;
}
