// SPDX-License-Identifier: GPL-2.0-only
/*
 * disk.c - the disk object (virtio-blk): its image must open as asked
 * (read-only, or read-write), its serial fits the 20 bytes of GET_ID;
 * its format (auto, raw, qcow2: enum block_format) by name.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

static const char *const disk_formats[] = { "auto", "raw", "qcow2" };

int config_parse_disk_format(const char *s, size_t len)
{
	for (unsigned int i = 0; i < 3; i++)
		if (strlen(disk_formats[i]) == len &&
		    !strncmp(s, disk_formats[i], len))
			return (int)i;
	return -1;
}

const char *config_disk_format_name(unsigned int f)
{
	return f < 3 ? disk_formats[f] : "?";
}

int config_check_disk(const struct disk_config *d, struct config_err *e)
{
	char object[80];

	snprintf(object, sizeof(object), "disk %.60s", d->path);
	if (!memchr(d->path, 0, sizeof(d->path)) || !d->path[0])
		return config_fail(e, "disk", "path", "1 to %d bytes expected",
				   VMON_DISK_PATH_MAX - 1);
	if (!memchr(d->serial, 0, sizeof(d->serial)))
		return config_fail(e, object, "serial", "at most %d characters",
				   VMON_DISK_SERIAL_MAX);
	if (access(d->path, d->readonly ? R_OK : R_OK | W_OK))
		return config_fail(e, object, "path", "%s", strerror(errno));
	return 0;
}
