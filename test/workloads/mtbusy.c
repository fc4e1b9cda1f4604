/* mtbusy THREADS MS: THREADS threads alternate ~3 ms of spinning with ~1 ms
 * sleeps for MS ms (more runnable threads than CPUs: run-queue waits,
 * involuntary switches, migrations), then all park. Prints "parked" once no
 * thread will run again, then waits for stdin to close. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long long duration_ns;
static pthread_barrier_t done;
static pthread_mutex_t park_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t park_cond = PTHREAD_COND_INITIALIZER;

static long long now_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *worker(void *arg)
{
	long long end = now_ns(CLOCK_MONOTONIC) + duration_ns;
	volatile unsigned long x = 0;
	struct timespec nap = {0, 1000000};
	while (now_ns(CLOCK_MONOTONIC) < end) {
		long long spin_end = now_ns(CLOCK_THREAD_CPUTIME_ID) + 3000000;
		while (now_ns(CLOCK_THREAD_CPUTIME_ID) < spin_end)
			for (int i = 0; i < 1000; i++)
				x += i;
		nanosleep(&nap, NULL);
	}
	pthread_barrier_wait(&done);
	pthread_mutex_lock(&park_lock);
	for (;;)
		pthread_cond_wait(&park_cond, &park_lock); /* never signalled */
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 4;
	duration_ns = (argc > 2 ? atoll(argv[2]) : 3000) * 1000000LL;
	pthread_barrier_init(&done, NULL, n + 1);
	for (int i = 0; i < n; i++) {
		pthread_t t;
		pthread_create(&t, NULL, worker, NULL);
	}
	pthread_barrier_wait(&done);
	usleep(200000); /* every worker has blocked in pthread_cond_wait by now */
	printf("parked\n");
	fflush(stdout);
	char buf[64];
	while (read(0, buf, sizeof(buf)) > 0)
		;
	return 0;
}
