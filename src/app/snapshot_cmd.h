/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * snapshot_cmd.h - `vmon snapshot ID DIR [--resume]` and
 * `vmon snapshot-info DIR` (docs/snapshot.md).
 */
#ifndef VMON_APP_SNAPSHOT_CMD_H
#define VMON_APP_SNAPSHOT_CMD_H

/* argv[0] is the command; each returns an exit code. */
int cmd_snapshot(int argc, char **argv);
int cmd_snapshot_merge(int argc, char **argv);
int cmd_snapshot_info(int argc, char **argv);

#endif
