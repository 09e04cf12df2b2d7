/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * density.h - `vmon list --mem` and `vmon balance` (docs/density.md).
 */
#ifndef VMON_APP_DENSITY_H
#define VMON_APP_DENSITY_H

/* Each instance's memory (vmon stat's "memory") and the total. */
int cmd_list_mem(void);
/* argv[0] is "balance". */
int cmd_balance(int argc, char **argv);

#endif
