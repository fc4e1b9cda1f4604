/* hog MIB: allocate and touch MIB MiB of anonymous memory, print "ready",
 * then wait for stdin to close (its resident size stays put meanwhile). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 200;
	char *p = malloc(mib << 20);
	if (!p)
		return 1;
	memset(p, 0x5a, mib << 20);
	printf("ready\n");
	fflush(stdout);
	char buf[64];
	while (read(0, buf, sizeof(buf)) > 0)
		;
	return p[mib] == 1;
}
