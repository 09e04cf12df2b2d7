/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * migrate_cmd.h - `vmon migrate ID URL [options]`: live-migrate
 * instance ID to a `vmon run --incoming URL` (docs/migration.md).
 */
#ifndef VMON_APP_MIGRATE_CMD_H
#define VMON_APP_MIGRATE_CMD_H

int cmd_migrate(int argc, char **argv);

#endif
