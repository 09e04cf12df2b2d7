// SPDX-License-Identifier: GPL-2.0-only
/*
 * seccomp_print.c - `vmon seccomp-print`: each thread kind's system call
 * list with the reasons, or with --export FILE the compiled filters as a
 * filter file for `vmon run --seccomp-filter FILE` (docs/seccomp.md).
 */
#include "seccomp_print.h"

#include <getopt.h>
#include <stdio.h>

#include "../util/log.h"
#include "../util/seccomp.h"
#include "../vmm/exitcode.h"

static const struct option print_options[] = {
	{ "export", required_argument, NULL, 'e' },
	{ "seccomp-level", required_argument, NULL, 'l' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vmon seccomp-print [--export FILE [--seccomp-level LEVEL]]\n"
		"Prints each vmon thread kind's allowed system calls with the reason\n"
		"for each; --export writes the compiled filters (LEVEL trap, the\n"
		"default, or log) to FILE for vmon run --seccomp-filter FILE.\n");
}

int cmd_seccomp_print(int argc, char **argv)
{
	enum seccomp_level level = SECCOMP_LEVEL_TRAP;
	const char *export = NULL;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", print_options, NULL)) != -1) {
		switch (c) {
		case 'e':
			export = optarg;
			break;
		case 'l':
			if (seccomp_level_parse(optarg, &level)) {
				pr_err("--seccomp-level %s: expected trap or log",
				       optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			pr_err("%s: unknown option or missing value (see vmon seccomp-print --help)",
			       argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		pr_err("%s: unexpected argument", argv[optind]);
		return EXIT_USAGE;
	}
	if (!export) {
		seccomp_lists_print(stdout);
		return EXIT_OK;
	}
	return seccomp_filters_export(level, export) ? EXIT_USAGE : EXIT_OK;
}
