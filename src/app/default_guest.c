// SPDX-License-Identifier: GPL-2.0-only
/*
 * default_guest.c - `vmon run` without --kernel boots the default guest
 * from vmon's cache ($VMON_CACHE, else $XDG_CACHE_HOME/vmon, else
 * ~/.cache/vmon; guest/default, built by scripts/build-guest): vmlinux
 * with its read-only root disk rootfs.ext4 as the first virtio-blk disk
 * (the guest kernel reads only the blocks it needs, instead of copying a
 * whole initramfs in emulated code on a PVM host), or with an initramfs:
 * the one --initrd names, or initramfs.cpio when the cache has no disk.
 */
#include "default_guest.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/log.h"

/* What the guest kernel needs to boot from the root disk (/dev/vda). */
#define ROOT_WORDS "root=/dev/vda ro rootfstype=ext4 init=/init"

static void cache_dir(char *dir, size_t len)
{
	const char *cache = getenv("VMON_CACHE");
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");

	if (cache && *cache)
		snprintf(dir, len, "%s/guest/default", cache);
	else if (xdg && *xdg)
		snprintf(dir, len, "%s/vmon/guest/default", xdg);
	else
		snprintf(dir, len, "%s/.cache/vmon/guest/default",
			 home ? home : "");
}

/* @dir/@name into @path: 0 if it is readable. */
static int guest_file(char *path, const char *dir, const char *name)
{
	if (snprintf(path, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
		return -1;
	return access(path, R_OK);
}

/* The root disk first (vda): the user's disks move up one. */
static int add_root_disk(struct run_opts *o, const char *path)
{
	struct vm_config *cfg = &o->cfg;
	struct disk_config *d = &cfg->disks[0];
	static char append[4096];

	if (cfg->nr_disks >= VMON_MAX_DISKS) {
		pr_err("default guest: no room for its root disk after %u disks",
		       cfg->nr_disks);
		return -1;
	}
	memmove(&cfg->disks[1], &cfg->disks[0],
		cfg->nr_disks * sizeof(cfg->disks[0]));
	cfg->nr_disks++;
	memset(d, 0, sizeof(*d));
	snprintf(d->path, sizeof(d->path), "%s", path);
	snprintf(d->serial, sizeof(d->serial), "vmon-root");
	d->readonly = true;
	if (snprintf(append, sizeof(append), "%s%s%s", ROOT_WORDS,
		     o->append ? " " : "",
		     o->append ? o->append : "") >= (int)sizeof(append)) {
		pr_err("default guest: kernel command line too long");
		return -1;
	}
	o->append = append;
	return 0;
}

int default_guest_setup(struct run_opts *o)
{
	static char kernel[PATH_MAX], initrd[PATH_MAX], root[PATH_MAX];
	char dir[PATH_MAX];

	cache_dir(dir, sizeof(dir));
	if (guest_file(kernel, dir, "vmlinux")) {
		pr_err("default guest %s: not built yet: run scripts/build-guest, or give --kernel",
		       dir);
		return -1;
	}
	o->cfg.kernel = kernel;
	if (o->cfg.initrd)
		return 0;
	if (!guest_file(root, dir, "rootfs.ext4"))
		return add_root_disk(o, root);
	if (guest_file(initrd, dir, "initramfs.cpio")) {
		pr_err("default guest %s: no rootfs.ext4 or initramfs.cpio: run scripts/build-guest",
		       dir);
		return -1;
	}
	o->cfg.initrd = initrd;
	return 0;
}
