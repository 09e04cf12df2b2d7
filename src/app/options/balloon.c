// SPDX-License-Identifier: GPL-2.0-only
/*
 * balloon.c - the `vmon run` option --balloon: the virtio-balloon device
 * into a balloon_config, its size checked against --mem at the end.
 */
#include <getopt.h>
#include <string.h>

#include "../../util/log.h"
#include "../../util/parse.h"
#include "../cli_option.h"

/* One item of --balloon after the size; false: not one. */
static bool balloon_item(const char *val, struct balloon_config *b)
{
	uint64_t v;

	if (!strcmp(val, "deflate-on-oom"))
		b->deflate_on_oom = true;
	else if (!strcmp(val, "reporting"))
		b->reporting = true;
	else if (!strncmp(val, "stats=", 6) &&
		 !parse_uint(val + 6, 0, UINT32_MAX, &v))
		b->stats_interval = (unsigned int)v;
	else
		return false;
	return true;
}

/* --balloon SIZE[,deflate-on-oom][,reporting][,stats=SECONDS] */
static int parse_balloon(const char *arg, struct vm_config *cfg)
{
	struct balloon_config b = { .enabled = true };
	struct config_err e;
	const char *p = arg;
	bool first = true;

	while (*p || first) {
		size_t len = strcspn(p, ",");
		char val[32];
		uint64_t v;

		if (len >= sizeof(val))
			goto bad;
		memcpy(val, p, len);
		val[len] = 0;
		if (first) {
			if (parse_size(val, 1ULL << 20, &v))
				goto bad;
			b.size = v & ~4095ULL;
		} else if (!balloon_item(val, &b)) {
			goto bad;
		}
		first = false;
		p += len + (p[len] ? 1 : 0);
	}
	/* Its size against the RAM: when all options are known. */
	if (config_check_balloon(&b, UINT64_MAX, &e))
		return cli_config_error("--balloon", arg, &e, "stats");
	cfg->balloon = b;
	return 0;
bad:
	pr_err("--balloon %s: expected SIZE[,deflate-on-oom][,reporting][,stats=SECONDS] (SIZE like 64M, SECONDS up to %d)",
	       arg, VMON_MAX_STATS_INTERVAL);
	return -1;
}

/* Its size against the RAM: once --mem is known. */
static int check_balloon(const struct vm_config *cfg)
{
	struct config_err e;

	if (cfg->balloon.enabled &&
	    config_check_balloon(&cfg->balloon, cfg->mem_size, &e))
		return cli_config_error("--balloon", NULL, &e, NULL);
	return 0;
}

static const struct cli_option balloon_option = {
	.name = "balloon",
	.has_arg = required_argument,
	.order = 50,
	.usage =
		"      --balloon SIZE[,deflate-on-oom][,reporting][,stats=SECONDS]\n"
		"                           virtio-balloon asking the guest for SIZE (e.g.\n"
		"                           64M) at start; free page reporting; statistics\n"
		"                           every SECONDS\n",
	.parse = parse_balloon,
	.check = check_balloon,
};
CLI_OPTION(balloon_option);
