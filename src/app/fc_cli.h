/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fc_cli.h - Firecracker's command line on `vmon run` (docs/vmon.1,
 * "Firecracker compatibility"): the flags Firecracker takes, with its
 * meaning, so the tools that start Firecracker start vmon unchanged.
 * Parsed into struct fc_opts; applied by api_main.c.
 */
#ifndef VMON_APP_FC_CLI_H
#define VMON_APP_FC_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../api/router.h"

/* The Firecracker API (and --version) vmon implements. */
#define FC_VERSION API_FC_VERSION
/* Firecracker's default --api-sock and --http-api-max-payload-size. */
#define FC_DEFAULT_API_SOCK "/run/firecracker.socket"
#define FC_DEFAULT_MAX_PAYLOAD 51200

struct fc_opts {
	bool firecracker; /* started as `firecracker` (argv[0]) */
	bool no_api; /* --no-api: needs --config-file */
	const char *log_path; /* --log-path */
	const char *metrics_path; /* --metrics-path */
	const char *level; /* --level, normalised ("Warning"...) */
	bool show_level, show_log_origin; /* --show-level, --show-log-origin */
	const char *module; /* --module */
	size_t max_payload; /* --http-api-max-payload-size; 0: default */
	bool enable_pci; /* --enable-pci: virtio devices on PCI */
	bool boot_timer; /* --boot-timer: Firecracker's boot timer device */
	size_t mmds_size_limit; /* --mmds-size-limit; 0: max_payload's */
	const char *metadata; /* --metadata: the MMDS store's first contents */
	/* --start-time-us, --start-time-cpu-us, --parent-cpu-time-us (the
	 * has_ flags say which were given): where the start-up times of the
	 * metrics (api_server.process_startup_time_*) count from. */
	bool has_start_time_us, has_start_time_cpu_us;
	uint64_t start_time_us, start_time_cpu_us, parent_cpu_time_us;
};

/* First getopt value of the Firecracker flags (above cli.c's own). */
#define FC_OPT_BASE 512

/* The flags, for getopt_long(); ends with a zeroed entry. */
extern const struct option fc_options[];

enum fc_result { FC_OK, FC_EXIT_OK, FC_ERROR };

/* One Firecracker flag (@c from fc_options[]) with its value @arg. */
enum fc_result fc_option(int c, const char *arg, struct fc_opts *o);

/*
 * Records the start-up times of the metrics as Firecracker does once its
 * API socket is bound: CLOCK_MONOTONIC now minus --start-time-us, and
 * this process's CPU time minus --start-time-cpu-us plus
 * --parent-cpu-time-us; each only if its start was given.
 */
void fc_report_start_time(const struct fc_opts *o);

/* `--version`: "vmon vFC_VERSION (...)" (the second field, for Kata),
 * then "vmon VMON_VERSION". */
void fc_print_version(void);

#endif
