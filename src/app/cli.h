/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cli.h - the `vmon run` command line: options into a vm_config, with
 * every value checked and errors that name the option and the problem.
 */
#ifndef VMON_APP_CLI_H
#define VMON_APP_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "../config/config.h"
#include "../util/seccomp.h"
#include "fc_cli.h"

/* --override: each net and drive once, and the vsock. */
#define CLI_MAX_OVERRIDES (VMON_MAX_NETS + VMON_MAX_DISKS + 1)

struct run_opts {
	struct vm_config cfg;
	const char *append; /* --append: added to the default cmdline */
	const char *api_sock; /* --api-sock: serve Firecracker's API */
	bool api_sock_group; /* --api-sock-group given: */
	gid_t api_sock_gid; /* the socket's group (mode 0660) */
	const char *config_file; /* --config-file: Firecracker's JSON */
	const char *id; /* --id: the instance id (API mode) */
	enum seccomp_level seccomp_level; /* --seccomp-level, --no-seccomp */
	const char *seccomp_filter; /* --seccomp-filter: a filter file */
	const char *restore; /* --restore DIR: DIR/state and DIR/memory */
	bool resume; /* --resume: run the restored VM (else paused) */
	/* --mem-backend uffd:SOCKET: the Uffd back-end's handler (else File) */
	const char *uffd_sock;
	bool clock_realtime; /* --clock-realtime: the guest clock catches up */
	/* --override net:ID=TAP|drive:ID=PATH|vsock=PATH: --restore, --incoming */
	const char *overrides[CLI_MAX_OVERRIDES];
	unsigned int nr_overrides;
	const char *incoming; /* --incoming URL: a live migration arrives */
	/* --migration-token FILE: with --incoming, only a source holding it */
	const char *migration_token;
	bool vm_opts; /* a --kernel/--mem/... option was given */
	struct fc_opts fc; /* Firecracker's flags (fc_cli.h) */
};

enum cli_result { CLI_OK, CLI_EXIT_OK, CLI_ERROR };

/* Parses `run` options (argv[0] is "run"). Prints help / errors itself. */
enum cli_result cli_parse_run(int argc, char **argv, struct run_opts *o);
void cli_run_usage(FILE *f);
/* Started as `firecracker` (a link to vmon): Firecracker's defaults. */
bool cli_is_firecracker(const char *argv0);

#endif
