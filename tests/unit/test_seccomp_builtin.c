// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_seccomp_builtin.c - the filters built into vmon (seccomp_builtin.h,
 * written by seccomp-gen at build time) are exactly what libseccomp makes
 * of the lists now, for every thread kind at both levels, and end in the
 * action of their level; the system call names the SIGSYS report uses
 * are libseccomp's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <linux/seccomp.h>
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
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
