/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * run.h - the `vmon run` command: from options to a running VM and back
 * to an exit code.
 */
#ifndef VMON_VMM_RUN_H
#define VMON_VMM_RUN_H

int cmd_run(int argc, char **argv);

#endif
