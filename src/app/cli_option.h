/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cli_option.h - a device's `vmon run` option, described in the device's
 * own file (src/app/options/NAME.c) and registered with CLI_OPTION():
 * cli.c puts every registered option in its getopt table and its usage
 * in --help, and hands the option's value to its parser. Also the helpers
 * the parsers share (the validators' errors in the command line's words).
 */
#ifndef VMON_APP_CLI_OPTION_H
#define VMON_APP_CLI_OPTION_H

#include <stdbool.h>
#include <stddef.h>

#include "../config/config.h"
#include "../util/registry.h"

struct cli_option {
	const char *name; /* "disk": --disk */
	int has_arg; /* getopt's required_argument or optional_argument */
	unsigned int order; /* its place in --help, ascending */
	const char *usage; /* its lines of --help, each ending in \n */
	/* The value (NULL: none) into @cfg; 0, or -1 (logged: --NAME ...). */
	int (*parse)(const char *arg, struct vm_config *cfg);
	/*
	 * Optional: an optional value may also come as the next word, when
	 * this says @word is one (--rng bytes=...).
	 */
	bool (*next_word)(const char *word);
	/* Optional: checks once the whole command line is known. 0 or -1. */
	int (*check)(const struct vm_config *cfg);
};

REGISTRY_DECLARE(const struct cli_option, vmon_cli_options);
#define CLI_OPTION(opt) REGISTER(vmon_cli_options, opt)

/*
 * A validator's error in the command line's words: the option @flag and
 * its value @arg (NULL: none), the sub-option @key that holds the field
 * (NULL: none), and the cause. Returns -1.
 */
int cli_config_error(const char *flag, const char *arg,
		     const struct config_err *e, const char *key);
/* The value of item @p (@len bytes) if it is "@key=VALUE" and fits @size. */
bool cli_item_value(const char *p, size_t len, const char *key, char *buf,
		    size_t size);

#endif
