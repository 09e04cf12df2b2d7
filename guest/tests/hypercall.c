// SPDX-License-Identifier: GPL-2.0-only
/*
 * hypercall.c - guest test 6: vmon's paravirtual calls (docs/hypercalls.md)
 * through the port-I/O doorbell: version and features, the argument
 * registers (ping), the debug print and its error returns, an unknown
 * function, and finally a clean shutdown with status 0 (vmon exits 0).
 */
#include "rt.h"

#include "../../src/devices/hypercall.h"

#define ENOSYS 38
#define EINVAL 22
#define EFAULT 14

static const char msg[] = "hello from the hypercall test";

int main(void)
{
	uint64_t v = hypercall(VMON_HC_VERSION, 0, 0, 0, 0);
	uint64_t a = 0x1111111111111111ULL, b = 0x0123456789abcdefULL;
	uint64_t c = 0xfedcba9876543210ULL, d = 0x8000000000000001ULL;
	char big[VMON_HC_PRINT_MAX + 1];

	printf("vmon version %lu.%lu.%lu\n", v >> 16, (v >> 8) & 0xff,
	       v & 0xff);
	check(v != (uint64_t)-ENOSYS && v >> 24 == 0,
	      "version call returned 0x%lx", v);
	v = hypercall(VMON_HC_FEATURES, 0, 0, 0, 0);
	check(v == VMON_HC_FEATURE_MASK, "features: 0x%lx", v);
	v = hypercall(VMON_HC_PING, 1, 2, 3, 4);
	check(v == 30, "ping(1, 2, 3, 4) = %lu", v);
	v = hypercall(VMON_HC_PING, a, b, c, d);
	check(v == a + 2 * b + 3 * c + 4 * d,
	      "ping with 64-bit arguments = 0x%lx", v);
	v = hypercall(VMON_HC_PRINT, (uint64_t)msg, sizeof(msg) - 1, 0, 0);
	check(v == sizeof(msg) - 1, "print returned %ld", (int64_t)v);
	v = hypercall(VMON_HC_PRINT, 0xdead00000000ULL, 8, 0, 0);
	check(v == (uint64_t)-EFAULT, "print from outside RAM: %ld",
	      (int64_t)v);
	memset(big, 'x', sizeof(big));
	v = hypercall(VMON_HC_PRINT, (uint64_t)big, sizeof(big), 0, 0);
	check(v == (uint64_t)-EINVAL, "print of %u bytes: %ld",
	      (unsigned int)sizeof(big), (int64_t)v);
	v = hypercall(0x1234, 0, 0, 0, 0);
	check(v == (uint64_t)-ENOSYS, "unknown function: %ld", (int64_t)v);
	v = hypercall(VMON_HC_SHUTDOWN, 128, 0, 0, 0);
	check(v == (uint64_t)-EINVAL, "shutdown with status 128: %ld",
	      (int64_t)v);
	if (rt_failures)
		rt_finish();
	printf("RESULT: PASS\n");
	hypercall(VMON_HC_SHUTDOWN, 0, 0, 0, 0);
	check(false, "shutdown returned");
	rt_finish();
}
