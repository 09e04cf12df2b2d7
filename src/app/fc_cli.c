// SPDX-License-Identifier: GPL-2.0-only
/*
 * fc_cli.c - Firecracker's flags on `vmon run` (fc_cli.h): each with
 * Firecracker's meaning where vmon has the feature, and said plainly
 * where it has not (docs/vmon.1, docs/api.md). The program-wide ones
 * (--version, --snapshot-version, --describe-snapshot) print and exit.
 */
#include "fc_cli.h"
#include "fc_metrics.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../snapshot/snapshot.h"
#include "../util/log.h"
#include "../util/parse.h"

#ifndef VMON_VERSION
#define VMON_VERSION "unknown"
#endif

enum {
	FC_NO_API = FC_OPT_BASE,
	FC_LEVEL,
	FC_LOG_PATH,
	FC_SHOW_LEVEL,
	FC_SHOW_LOG_ORIGIN,
	FC_MODULE,
	FC_METRICS_PATH,
	FC_BOOT_TIMER,
	FC_MAX_PAYLOAD,
	FC_MMDS_SIZE_LIMIT,
	FC_METADATA,
	FC_ENABLE_PCI,
	FC_START_TIME_US,
	FC_START_TIME_CPU_US,
	FC_PARENT_CPU_TIME_US,
	FC_VERSION_OPT,
	FC_SNAPSHOT_VERSION,
	FC_DESCRIBE_SNAPSHOT,
};

const struct option fc_options[] = {
	{ "no-api", no_argument, NULL, FC_NO_API },
	{ "level", required_argument, NULL, FC_LEVEL },
	{ "log-path", required_argument, NULL, FC_LOG_PATH },
	{ "show-level", no_argument, NULL, FC_SHOW_LEVEL },
	{ "show-log-origin", no_argument, NULL, FC_SHOW_LOG_ORIGIN },
	{ "module", required_argument, NULL, FC_MODULE },
	{ "metrics-path", required_argument, NULL, FC_METRICS_PATH },
	{ "boot-timer", no_argument, NULL, FC_BOOT_TIMER },
	{ "http-api-max-payload-size", required_argument, NULL,
	  FC_MAX_PAYLOAD },
	{ "mmds-size-limit", required_argument, NULL, FC_MMDS_SIZE_LIMIT },
	{ "metadata", required_argument, NULL, FC_METADATA },
	{ "enable-pci", no_argument, NULL, FC_ENABLE_PCI },
	{ "start-time-us", required_argument, NULL, FC_START_TIME_US },
	{ "start-time-cpu-us", required_argument, NULL, FC_START_TIME_CPU_US },
	{ "parent-cpu-time-us", required_argument, NULL,
	  FC_PARENT_CPU_TIME_US },
	{ "version", no_argument, NULL, FC_VERSION_OPT },
	{ "snapshot-version", no_argument, NULL, FC_SNAPSHOT_VERSION },
	{ "describe-snapshot", required_argument, NULL, FC_DESCRIBE_SNAPSHOT },
	{ NULL, 0, NULL, 0 },
};

static uint64_t clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* @now - @start, or 0 for a start in the future. */
static uint64_t since(uint64_t now, uint64_t start)
{
	return now > start ? now - start : 0;
}

void fc_report_start_time(const struct fc_opts *o)
{
	uint64_t now = clock_us(CLOCK_MONOTONIC);
	uint64_t cpu = clock_us(CLOCK_PROCESS_CPUTIME_ID);

	if (o->has_start_time_us)
		fc_metrics_startup(false, since(now, o->start_time_us));
	if (o->has_start_time_cpu_us)
		fc_metrics_startup(true, since(cpu, o->start_time_cpu_us) +
						 o->parent_cpu_time_us);
}

void fc_print_version(void)
{
	printf("vmon v%s (the Firecracker API version it implements)\nvmon %s\n",
	       FC_VERSION, VMON_VERSION);
}

/* Firecracker's level names, any case; the normalised name or NULL. */
static const char *parse_level(const char *arg)
{
	static const char *const names[] = { "Off",  "Error", "Warning",
					     "Info", "Debug", "Trace" };
	static const enum log_level levels[] = {
		LOG_ERROR, LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_DEBUG
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (!strcasecmp(arg, names[i]) ||
		    (i == 2 && !strcasecmp(arg, "warn"))) {
			log_level = levels[i];
			return names[i];
		}
	return NULL;
}

static enum fc_result number(const char *flag, const char *arg, uint64_t min,
			     uint64_t *out)
{
	if (parse_uint(arg, min, UINT64_MAX, out)) {
		pr_err("--%s %s: expected a number of at least %llu", flag, arg,
		       (unsigned long long)min);
		return FC_ERROR;
	}
	return FC_OK;
}

/* --describe-snapshot FILE: the format version of a state file. */
static enum fc_result describe_snapshot(const char *path)
{
	char err[SNAPSHOT_ERR_MAX];
	struct snapshot s;

	if (snapshot_open(&s, path, NULL, NULL, err, sizeof(err))) {
		pr_err("snapshot %s: %s", path, err);
		return FC_ERROR;
	}
	printf("v%d.0.0\n", SNAPSHOT_FORMAT_VERSION);
	snapshot_close(&s);
	return FC_EXIT_OK;
}

/* The flags that print something and end the program. */
static enum fc_result print_option(int c, const char *arg)
{
	switch (c) {
	case FC_VERSION_OPT:
		fc_print_version();
		return FC_EXIT_OK;
	case FC_SNAPSHOT_VERSION:
		printf("v%d.0.0\n", SNAPSHOT_FORMAT_VERSION);
		return FC_EXIT_OK;
	default:
		return describe_snapshot(arg);
	}
}

enum fc_result fc_option(int c, const char *arg, struct fc_opts *o)
{
	uint64_t v;

	switch (c) {
	case FC_NO_API:
		o->no_api = true;
		return FC_OK;
	case FC_LEVEL:
		o->level = parse_level(arg);
		if (o->level)
			return FC_OK;
		pr_err("--level %s: expected Off, Error, Warning, Info, Debug or Trace",
		       arg);
		return FC_ERROR;
	case FC_LOG_PATH:
		o->log_path = arg;
		return FC_OK;
	case FC_SHOW_LEVEL:
		o->show_level = true;
		return FC_OK;
	case FC_SHOW_LOG_ORIGIN:
		o->show_log_origin = true;
		return FC_OK;
	case FC_MODULE:
		o->module = arg;
		return FC_OK;
	case FC_METRICS_PATH:
		o->metrics_path = arg;
		return FC_OK;
	case FC_BOOT_TIMER:
		o->boot_timer = true; /* devices/boot_timer.c */
		return FC_OK;
	case FC_MAX_PAYLOAD:
		if (number("http-api-max-payload-size", arg, 1, &v))
			return FC_ERROR;
		o->max_payload = v > (16 << 20) ? (16 << 20) : (size_t)v;
		return FC_OK;
	case FC_MMDS_SIZE_LIMIT:
		if (number("mmds-size-limit", arg, 1, &v))
			return FC_ERROR;
		o->mmds_size_limit = v > (16 << 20) ? (16 << 20) : (size_t)v;
		return FC_OK;
	case FC_START_TIME_US:
		o->has_start_time_us = true;
		return number("start-time-us", arg, 0, &o->start_time_us);
	case FC_START_TIME_CPU_US:
		o->has_start_time_cpu_us = true;
		return number("start-time-cpu-us", arg, 0,
			      &o->start_time_cpu_us);
	case FC_PARENT_CPU_TIME_US:
		return number("parent-cpu-time-us", arg, 0,
			      &o->parent_cpu_time_us);
	case FC_METADATA:
		o->metadata = arg;
		return FC_OK;
	case FC_ENABLE_PCI:
		o->enable_pci = true; /* virtio devices on PCI (docs/pci.md) */
		return FC_OK;
	default:
		return print_option(c, arg);
	}
}
