// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_seccomp_builtin.c - the filters built into vmon (seccomp_builtin.h,
 * written by seccomp-gen at build time) are exactly what libseccomp makes
 * of the lists now, for every thread kind at both levels, and end in the
 * action of their level; the system call names the SIGSYS report uses
 * are libseccomp's. The programs run on a small classic-BPF interpreter
 * here: they allow and refuse what the lists say, and a thread's hot
 * calls (ioctl(KVM_RUN) on every exit) take few instructions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>

#include "util/seccomp_builtin.h"
#include "util/seccomp_compile.h"

/* Whether program @b returns @action for some call (its default). */
static bool returns(const struct seccomp_builtin *b, uint32_t action)
{
	for (unsigned int i = 0; i < b->len; i++)
		if (b->filter[i].code == (BPF_RET | BPF_K) &&
		    b->filter[i].k == action)
			return true;
	return false;
}

static void test_programs_match_the_lists(void **state)
{
	(void)state;
	for (int level = 0; level < 2; level++) {
		for (int k = 0; k < THREAD_KINDS; k++) {
			const struct seccomp_builtin *b =
				&seccomp_builtin_progs[level][k];
			struct sock_fprog p;

			assert_int_equal(seccomp_compile(k, level == 1, &p), 0);
			assert_int_equal(p.len, b->len);
			assert_memory_equal(p.filter, b->filter,
					    p.len * sizeof(*p.filter));
			free(p.filter);
			assert_true(returns(b, SECCOMP_RET_ALLOW));
			assert_true(returns(b, level ? SECCOMP_RET_LOG :
						       SECCOMP_RET_TRAP));
			assert_false(returns(b, level ? SECCOMP_RET_TRAP :
							SECCOMP_RET_LOG));
		}
	}
}

/*
 * Runs program @b on the call @data as the kernel would (the
 * opcodes libseccomp emits); its action, and the instructions run in
 * *@steps. Fails the test on anything else.
 */
static uint32_t run_prog(const struct seccomp_builtin *b,
			 const struct seccomp_data *data, unsigned int *steps)
{
	const struct seccomp_data d = *data;
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = { 0 };
	unsigned int pc = 0;

	for (*steps = 1; pc < b->len; (*steps)++) {
		const struct sock_filter *f = &b->filter[pc++];
		bool cond = false;

		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			assert_true(f->k % 4 == 0 && f->k < sizeof(d));
			memcpy(&a, (const char *)&d + f->k, sizeof(a));
			continue;
		case BPF_LD | BPF_IMM:
			a = f->k;
			continue;
		case BPF_LD | BPF_MEM:
			assert_true(f->k < BPF_MEMWORDS);
			a = mem[f->k];
			continue;
		case BPF_LDX | BPF_MEM:
			assert_true(f->k < BPF_MEMWORDS);
			x = mem[f->k];
			continue;
		case BPF_ST:
			assert_true(f->k < BPF_MEMWORDS);
			mem[f->k] = a;
			continue;
		case BPF_STX:
			assert_true(f->k < BPF_MEMWORDS);
			mem[f->k] = x;
			continue;
		case BPF_ALU | BPF_AND | BPF_K:
			a &= f->k;
			continue;
		case BPF_MISC | BPF_TAX:
			x = a;
			continue;
		case BPF_MISC | BPF_TXA:
			a = x;
			continue;
		case BPF_JMP | BPF_JA:
			pc += f->k;
			continue;
		case BPF_JMP | BPF_JEQ | BPF_K:
			cond = a == f->k;
			break;
		case BPF_JMP | BPF_JGT | BPF_K:
			cond = a > f->k;
			break;
		case BPF_JMP | BPF_JGE | BPF_K:
			cond = a >= f->k;
			break;
		case BPF_JMP | BPF_JSET | BPF_K:
			cond = (a & f->k) != 0;
			break;
		case BPF_RET | BPF_K:
			return f->k;
		default:
			fail_msg("opcode 0x%x at %u", f->code, pc - 1);
		}
		pc += cond ? f->jt : f->jf;
	}
	fail_msg("the program runs off its end");
	return 0;
}

/* @nr with @args under the trap-level program of @kind: @want, in at most @max. */
static void expect(enum thread_kind kind, int nr, uint64_t a0, uint64_t a1,
		   uint64_t a2, uint32_t want, unsigned int max)
{
	const struct seccomp_data d = { .nr = nr,
					.arch = AUDIT_ARCH_X86_64,
					.args = { a0, a1, a2 } };
	unsigned int steps;
	uint32_t got = run_prog(&seccomp_builtin_progs[0][kind], &d, &steps);

	if ((got & SECCOMP_RET_ACTION_FULL) != want || steps > max)
		fail_msg(
			"kind %d, call %d (0x%llx, 0x%llx): action 0x%x in %u instructions, expected 0x%x in at most %u",
			kind, nr, (unsigned long long)a0,
			(unsigned long long)a1, got, steps, want, max);
}

static void test_programs_run(void **state)
{
	const uint32_t ok = SECCOMP_RET_ALLOW, trap = SECCOMP_RET_TRAP;
	const unsigned int any = 1000;

	(void)state;
	/*
	 * ioctl is a vCPU thread's hot call: KVM_RUN on every exit. The
	 * bounds leave libseccomp's code generation some room, and are well
	 * below the lengths without the hot calls first (48 instructions
	 * for KVM_RUN in the vCPU program, 143 in the API thread's, 31 for
	 * the I/O thread's epoll_wait).
	 */
	expect(THREAD_VCPU, SYS_ioctl, 5, KVM_RUN, 0, ok, 30);
	expect(THREAD_VCPU, SYS_ioctl, 5, KVM_IRQ_LINE, 0, ok, 30);
	/* The upper half of the request is not looked at, as the kernel's. */
	expect(THREAD_VCPU, SYS_ioctl, 5, (1ULL << 32) | KVM_RUN, 0, ok, 30);
	expect(THREAD_VCPU, SYS_ioctl, 5, KVM_CREATE_VM, 0, trap, any);
	expect(THREAD_VCPU, SYS_personality, 0xffffffff, 0, 0, trap, any);
	expect(THREAD_VCPU, SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, ok, any);
	expect(THREAD_VCPU, SYS_mmap, 0, 4096, PROT_READ | PROT_EXEC, trap,
	       any);
	/* API mode: a vCPU thread runs the API thread's program too. */
	expect(THREAD_API, SYS_ioctl, 5, KVM_RUN, 0, ok, 90);
	expect(THREAD_API, SYS_ioctl, 5, KVM_CREATE_VM, 0, ok, any);
	expect(THREAD_API, SYS_execve, 0, 0, 0, trap, any);
	/* The I/O thread waits on every event; it never runs a vCPU. */
	expect(THREAD_IO, SYS_epoll_wait, 3, 0, 64, ok, 12);
	expect(THREAD_IO, SYS_read, 3, 0, 8, ok, 12);
	expect(THREAD_IO, SYS_ioctl, 5, KVM_RUN, 0, trap, any);
	expect(THREAD_UART, SYS_socket, AF_INET, 0, 0, trap, any);
	expect(THREAD_MAIN, SYS_ptrace, 0, 0, 0, trap, any);
}

static void test_other_arch_refused(void **state)
{
	(void)state;
	for (int level = 0; level < 2; level++) {
		for (int k = 0; k < THREAD_KINDS; k++) {
			const struct seccomp_data d = {
				.nr = 3, /* close on x86_64, exit on i386 */
				.arch = AUDIT_ARCH_I386
			};
			unsigned int steps;
			uint32_t got = run_prog(
				&seccomp_builtin_progs[level][k], &d, &steps);

			/* libseccomp's default for a foreign ABI: kill. */
			assert_int_equal(got & SECCOMP_RET_ACTION_FULL,
					 SECCOMP_RET_KILL_THREAD);
			assert_true(steps <= 3);
		}
	}
}

static void test_names(void **state)
{
	int n = 0;

	(void)state;
	for (int nr = 0; nr < SECCOMP_NAMES_MAX; nr++) {
		char *want =
			seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);

		if (want) {
			assert_non_null(seccomp_builtin_names[nr]);
			assert_string_equal(seccomp_builtin_names[nr], want);
			n++;
		} else {
			assert_null(seccomp_builtin_names[nr]);
		}
		free(want);
	}
	assert_true(n > 300);
	assert_string_equal(seccomp_builtin_names[16], "ioctl");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_programs_match_the_lists),
		cmocka_unit_test(test_programs_run),
		cmocka_unit_test(test_other_arch_refused),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
