// SPDX-License-Identifier: GPL-2.0-only
/*
 * speed_host.c - the host half of the user-mode speed test: runs the loop
 * of speed_loop.h on the host and prints "cycles=N sum=S", as the guest
 * program user_speed does from guest ring 3.
 */
#include <inttypes.h>
#include <stdio.h>

#include "speed_loop.h"

int main(void)
{
	uint64_t sum = 0;
	uint64_t cycles = speed_measure(&sum);

	printf("cycles=%" PRIu64 " sum=%" PRIu64 "\n", cycles, sum);
	return 0;
}
