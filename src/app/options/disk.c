// SPDX-License-Identifier: GPL-2.0-only
/*
 * disk.c - the `vmon run` option --disk: one virtio-blk disk into a
 * disk_config.
 */
#include <getopt.h>
#include <string.h>

#include "../../util/log.h"
#include "../cli_option.h"

/* --disk PATH[,ro][,serial=ID][,direct][,format=raw|qcow2] */
static int parse_disk(const char *arg, struct vm_config *cfg)
{
	struct disk_config *d;
	struct config_err e;
	const char *comma = strchr(arg, ',');
	size_t plen = comma ? (size_t)(comma - arg) : strlen(arg);

	if (cfg->nr_disks == VMON_MAX_DISKS) {
		pr_err("--disk %s: at most %u disks", arg, VMON_MAX_DISKS);
		return -1;
	}
	if (plen == 0 || plen >= VMON_DISK_PATH_MAX) {
		pr_err("--disk %s: expected PATH[,ro][,serial=ID][,direct][,format=F]",
		       arg);
		return -1;
	}
	d = &cfg->disks[cfg->nr_disks];
	memset(d, 0, sizeof(*d));
	memcpy(d->path, arg, plen);
	while (comma) {
		const char *opt = comma + 1;
		size_t olen;

		comma = strchr(opt, ',');
		olen = comma ? (size_t)(comma - opt) : strlen(opt);
		if (olen == 2 && !strncmp(opt, "ro", 2)) {
			d->readonly = true;
		} else if (olen == 6 && !strncmp(opt, "direct", 6)) {
			d->direct = true;
		} else if (olen > 7 && !strncmp(opt, "format=", 7) &&
			   config_parse_disk_format(opt + 7, olen - 7) >= 0) {
			d->format = (uint8_t)config_parse_disk_format(opt + 7,
								      olen - 7);
		} else if (olen > 7 && !strncmp(opt, "serial=", 7) &&
			   olen - 7 <= VMON_DISK_SERIAL_MAX) {
			memcpy(d->serial, opt + 7, olen - 7);
		} else {
			pr_err("--disk %s: bad option '%.*s' (ro, direct, format=auto|raw|qcow2, serial=ID of at most %u characters)",
			       arg, (int)olen, opt, VMON_DISK_SERIAL_MAX);
			return -1;
		}
	}
	if (config_check_disk(d, &e))
		return cli_config_error("--disk", arg, &e, e.field);
	cfg->nr_disks++;
	return 0;
}

static const struct cli_option disk_option = {
	.name = "disk",
	.has_arg = required_argument,
	.order = 20,
	.usage =
		"      --disk PATH[,ro][,serial=ID][,direct][,format=F]\n"
		"                           virtio-blk disk on image PATH (up to 8):\n"
		"                           ro read-only, serial=ID its serial (20 chars\n"
		"                           at most), direct opens it O_DIRECT, format\n"
		"                           raw or qcow2 (default: from its header)\n",
	.parse = parse_disk,
};
CLI_OPTION(disk_option);
