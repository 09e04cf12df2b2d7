// SPDX-License-Identifier: GPL-2.0-only
/*
 * rng.c - the `vmon run` option --rng: the virtio-rng device and its rate
 * limiter.
 */
#include <getopt.h>
#include <string.h>

#include "../../util/log.h"
#include "../cli_option.h"

/* --rng [bytes=SIZE[/MS]][,ops=N[/MS]] */
static int parse_rng(const char *arg, struct vm_config *cfg)
{
	char err[128];

	if (arg && rl_parse(arg, &cfg->rng_rl, err, sizeof(err))) {
		pr_err("--rng %s: %s", arg, err);
		return -1;
	}
	cfg->rng = true;
	return 0;
}

/* The limits may follow as a separate word. */
static bool rng_next_word(const char *word)
{
	return !strncmp(word, "bytes=", 6) || !strncmp(word, "ops=", 4);
}

static const struct cli_option rng_option = {
	.name = "rng",
	.has_arg = optional_argument,
	.order = 60,
	.usage =
		"      --rng [bytes=SIZE[/MS]][,ops=N[/MS]]\n"
		"                           virtio-rng fed by the host's getrandom(), at\n"
		"                           most SIZE bytes and N reads per MS ms (1000)\n",
	.parse = parse_rng,
	.next_word = rng_next_word,
};
CLI_OPTION(rng_option);
