/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * seccomp_print.h - the `vmon seccomp-print` command.
 */
#ifndef VMON_APP_SECCOMP_PRINT_H
#define VMON_APP_SECCOMP_PRINT_H

int cmd_seccomp_print(int argc, char **argv);

#endif
