// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_log.c - the once-per-key table of guest-triggered messages
 * (src/util/log.c, issue 13 item 10): a key is logged once; a class that
 * used its budget (guest-chosen addresses) does not silence another class.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

/* Runs log_once(@cls, @key) with stderr in a file; true if it printed. */
static bool logged(unsigned int cls, uint64_t key)
{
	char path[] = "/tmp/vmon-log-test-XXXXXX", buf[256] = { 0 };
	int fd = mkstemp(path), saved = dup(2);
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	log_once(cls, key, "event %u/%llu", cls, (unsigned long long)key);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	unlink(path);
	return n > 0 && strstr(buf, "event ");
}

static void test_once_per_key(void **state)
{
	(void)state;
	log_once_reset();
	assert_true(logged(1, 0x1000));
	assert_false(logged(1, 0x1000));
	assert_true(logged(1, 0x2000));
}

static void test_budget_per_class(void **state)
{
	unsigned int printed = 0;

	(void)state;
	log_once_reset();
	/* A guest fills its class with 1000 addresses of its choosing. */
	for (uint64_t k = 0; k < 1000; k++)
		printed += logged(0x7650, k * 4096);
	assert_int_equal(printed, LOG_ONCE_PER_CLASS);
	/* Another device going bad is still logged. */
	assert_true(logged(0x4863, 0));
	assert_true(logged(0x5151, 7));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_once_per_key),
		cmocka_unit_test(test_budget_per_class),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
