// SPDX-License-Identifier: GPL-2.0-only
/*
 * seccomp-cost.c - what one vmon seccomp filter adds to the system call a
 * vCPU thread makes on every exit: ioctl(KVM_RUN). Reads a filter file
 * (`vmon seccomp-print --export FILE`, format in docs/seccomp.md), times
 * ROUNDS batches of ioctl(fd, KVM_RUN, 0) on /dev/null (the kernel runs the
 * filter at system call entry, whatever the file; /dev/null answers ENOTTY
 * at once) without a filter, then installs KIND's program in this thread
 * and times the same batches again. KIND may be a comma-separated list,
 * installed in that order: "api,vcpu" is a vCPU thread of API mode, which
 * keeps the API thread's filter under its own (docs/seccomp.md). Prints,
 * in TSC cycles per call, the fewest of the batches (the least disturbed)
 * and the median:
 *
 *   SECCOMP none min M median D
 *   SECCOMP KIND min M median D
 *   SECCOMP insns N          (instructions of the programs together)
 *
 * Run it several times: bench/all's seccomp benchmark does, alternating
 * with the exit round trips. Built by bench/all with the host's cc; needs
 * no /dev/kvm.
 * Usage: seccomp-cost FILE KIND [ROUNDS [CALLS]]
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <x86intrin.h>

#define MAX_ROUNDS 1000

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Cycles per call of @rounds batches of @calls; min and median. */
static void time_calls(int fd, int rounds, int calls, uint64_t *min,
		       uint64_t *median)
{
	static uint64_t per[MAX_ROUNDS];

	for (int r = 0; r < rounds; r++) {
		uint64_t t0 = __rdtsc();

		for (int i = 0; i < calls; i++)
			if (ioctl(fd, KVM_RUN, 0) == 0 || errno != ENOTTY) {
				perror("seccomp-cost: ioctl(/dev/null, KVM_RUN)");
				exit(1);
			}
		per[r] = (__rdtsc() - t0) / (uint64_t)calls;
	}
	qsort(per, (size_t)rounds, sizeof(per[0]), cmp_u64);
	*min = per[0];
	*median = per[rounds / 2];
}

/* KIND's program from the filter file @path into @prog (malloc'd). */
static int load_prog(const char *path, const char *kind,
		     struct sock_fprog *prog)
{
	FILE *f = fopen(path, "rb");
	unsigned char head[16];
	uint16_t count;

	if (!f) {
		fprintf(stderr, "seccomp-cost: %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	if (fread(head, 1, sizeof(head), f) != sizeof(head) ||
	    memcmp(head, "VMONSCMP", 8) != 0)
		goto bad;
	memcpy(&count, head + 10, sizeof(count));
	for (unsigned int e = 0; e < count; e++) {
		char name[17] = { 0 };
		uint32_t len, reserved;

		if (fread(name, 1, 16, f) != 16 || fread(&len, 4, 1, f) != 1 ||
		    fread(&reserved, 4, 1, f) != 1 || len == 0 || len > 4096)
			goto bad;
		if (strcmp(name, kind) != 0) {
			if (fseek(f, (long)len * 8, SEEK_CUR) != 0)
				goto bad;
			continue;
		}
		prog->len = (unsigned short)len;
		prog->filter = calloc(len, sizeof(struct sock_filter));
		if (!prog->filter ||
		    fread(prog->filter, sizeof(struct sock_filter), len, f) !=
			    len)
			goto bad;
		fclose(f);
		return 0;
	}
	fprintf(stderr, "seccomp-cost: %s: no program for %s\n", path, kind);
	fclose(f);
	return -1;
bad:
	fprintf(stderr, "seccomp-cost: %s: not a vmon filter file\n", path);
	fclose(f);
	return -1;
}

/* Installs each program of the comma-separated @kinds; their length. */
static int install(const char *path, const char *kinds, unsigned int *insns)
{
	char *list = strdup(kinds), *save = NULL;

	*insns = 0;
	if (!list || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		perror("seccomp-cost: no_new_privs");
		return -1;
	}
	for (char *k = strtok_r(list, ",", &save); k;
	     k = strtok_r(NULL, ",", &save)) {
		struct sock_fprog prog;

		if (load_prog(path, k, &prog) != 0)
			goto fail;
		if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog)) {
			fprintf(stderr, "seccomp-cost: seccomp(%s): %s\n", k,
				strerror(errno));
			free(prog.filter);
			goto fail;
		}
		*insns += prog.len;
		free(prog.filter);
	}
	free(list);
	return 0;
fail:
	free(list);
	return -1;
}

int main(int argc, char **argv)
{
	int rounds = 41, calls = 2000, fd;
	unsigned int insns;
	uint64_t min, median;

	if (argc < 3 || argc > 5) {
		fprintf(stderr,
			"usage: seccomp-cost FILE KIND [ROUNDS [CALLS]]\n");
		return 2;
	}
	if (argc > 3)
		rounds = atoi(argv[3]);
	if (argc > 4)
		calls = atoi(argv[4]);
	if (rounds < 1 || rounds > MAX_ROUNDS || calls < 1) {
		fprintf(stderr, "seccomp-cost: ROUNDS 1..%d, CALLS >= 1\n",
			MAX_ROUNDS);
		return 2;
	}
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror("seccomp-cost: /dev/null");
		return 1;
	}
	time_calls(fd, 3, calls, &min, &median); /* warm up */
	time_calls(fd, rounds, calls, &min, &median);
	printf("SECCOMP none min %llu median %llu\n", (unsigned long long)min,
	       (unsigned long long)median);
	if (install(argv[1], argv[2], &insns) != 0)
		return 1;
	time_calls(fd, 3, calls, &min, &median);
	time_calls(fd, rounds, calls, &min, &median);
	printf("SECCOMP %s min %llu median %llu\n", argv[2],
	       (unsigned long long)min, (unsigned long long)median);
	printf("SECCOMP insns %u\n", insns);
	close(fd);
	return 0;
}
