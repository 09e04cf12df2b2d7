// SPDX-License-Identifier: GPL-2.0-only
/*
 * balloon.c - the balloon object: the one limit of the statistics
 * interval, and a target that the guest's RAM can give.
 */
#include "check.h"

int config_check_stats_interval(uint64_t seconds, struct config_err *e)
{
	if (seconds > VMON_MAX_STATS_INTERVAL)
		return config_fail(e, "balloon", "stats_interval",
				   "%llu seconds: at most %d",
				   (unsigned long long)seconds,
				   VMON_MAX_STATS_INTERVAL);
	return 0;
}

int config_check_balloon(const struct balloon_config *b, uint64_t mem_size,
			 struct config_err *e)
{
	if (config_check_stats_interval(b->stats_interval, e))
		return -1;
	if (b->size > mem_size)
		return config_fail(
			e, "balloon", "size",
			"%lluM is more than the guest's %lluM of RAM",
			(unsigned long long)(b->size >> 20),
			(unsigned long long)(mem_size >> 20));
	return 0;
}
