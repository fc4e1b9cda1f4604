/* texec BURN: fork a child whose second thread burns ~200 ms of CPU and then
 * execs `BURN 400` (so the exec'ing thread takes over the leader's tid). The
 * parent reaps it with wait4() and prints the child's pid and the kernel's CPU
 * figure for it as JSON. */
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *burn;

static void *second(void *arg)
{
	struct timespec ts;
	volatile unsigned long x = 0;
	do {
		for (int i = 0; i < 10000; i++)
			x += i;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	} while (ts.tv_sec * 1000000000LL + ts.tv_nsec < 200000000LL);
	execl(burn, "burn", "400", (char *)NULL);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	burn = argv[1];
	pid_t pid = fork();
	if (pid == 0) {
		pthread_t t;
		freopen("/dev/null", "w", stdout);
		pthread_create(&t, NULL, second, NULL);
		pthread_join(t, NULL); /* never returns: the exec replaces us */
		return 1;
	}
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) != pid)
		return 1;
	long long us = ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec;
	printf("{\"pid\":%d,\"status\":%d,\"rusage_ns\":%lld}\n", pid, status, us * 1000);
	return 0;
}
