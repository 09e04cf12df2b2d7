/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * api_main.h - vmon driven by Firecracker's API (--api-sock) and/or a
 * Firecracker configuration file (--config-file).
 */
#ifndef VMON_APP_API_MAIN_H
#define VMON_APP_API_MAIN_H

struct run_opts;

/* Runs the instance until its VM stops or a signal; returns the exit code. */
int api_main(const struct run_opts *o);

#endif
