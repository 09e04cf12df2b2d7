// SPDX-License-Identifier: GPL-2.0-only
/*
 * avx_state.c - a static Linux program the Linux boot test hands the guest:
 * does this guest kernel keep each process's AVX state, and does glibc use
 * AVX? A guest kernel that switches its tasks' vector state with FXSAVE
 * only (no XSAVE: noxsave, as on a PVM host, whose emulator cannot run
 * xsave/xrstor) loses the upper halves of the YMM registers between
 * processes; where user mode still sees AVX (a PVM host runs CPUID and
 * XGETBV natively), glibc must then not use it. Prints:
 *   "cpu avx: yes|no"            (CPUID.1 OSXSAVE+AVX and XCR0 YMM|SSE)
 *   "ymm kept: yes|no N/M"       (the upper half of ymm0 across sched_yield
 *                                 while a child fills its own ymm0 with ones;
 *                                 only with cpu avx)
 *   "glibc avx: yes|no"          (glibc's AVX2 or AVX-optimized copies are
 *                                 active: CPU_FEATURE_ACTIVE)
 * and exits 0; 2 when it could not test.
 */
#include <cpuid.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/platform/x86.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROUNDS 200

static int cpu_avx(void)
{
	unsigned int a, b, c, d;
	uint32_t lo, hi;

	if (!__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	if (!(c & bit_OSXSAVE) || !(c & bit_AVX))
		return 0;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (lo & 6) == 6;
}

/* A child that keeps all ones in ymm0 and yields, until killed. */
static pid_t start_filler(void)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	for (;;)
		__asm__ volatile("vpcmpeqb %%ymm0, %%ymm0, %%ymm0\n\t"
				 "mov %0, %%eax\n\t"
				 "syscall" ::"i"(SYS_sched_yield)
				 : "rax", "rcx", "r11", "xmm0", "memory");
}

/* Rounds of 32 bytes in ymm0 across a yield; how many came back intact. */
static int ymm_rounds(void)
{
	uint8_t in[32], out[32];
	int kept = 0;

	for (int i = 0; i < 32; i++)
		in[i] = (uint8_t)(0x41 + i);
	for (int k = 0; k < ROUNDS; k++) {
		__asm__ volatile("vmovdqu (%1), %%ymm0\n\t"
				 "mov %2, %%eax\n\t"
				 "syscall\n\t"
				 "vmovdqu %%ymm0, (%0)" ::"r"(out),
				 "r"(in), "i"(SYS_sched_yield)
				 : "rax", "rcx", "r11", "xmm0", "memory");
		kept += !memcmp(in, out, sizeof(in));
	}
	return kept;
}

int main(void)
{
	int avx = cpu_avx();

	printf("cpu avx: %s\n", avx ? "yes" : "no");
	if (avx) {
		pid_t child = start_filler();
		int kept;

		if (child < 0) {
			perror("fork");
			return 2;
		}
		kept = ymm_rounds();
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		printf("ymm kept: %s %d/%d\n", kept == ROUNDS ? "yes" : "no",
		       kept, ROUNDS);
	}
	printf("glibc avx: %s\n",
	       CPU_FEATURE_ACTIVE(AVX2) || CPU_FEATURE_ACTIVE(AVX) ? "yes" :
								     "no");
	return 0;
}
