/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * default_guest.h - `vmon run` without --kernel: the default guest that
 * scripts/build-guest caches (docs/guest.md).
 */
#ifndef VMON_APP_DEFAULT_GUEST_H
#define VMON_APP_DEFAULT_GUEST_H

#include "cli.h"

/*
 * Fills @o->cfg with the default guest: its kernel, and either its
 * read-only root disk (rootfs.ext4, the first disk, /dev/vda; the root=
 * words added to the command line after @o->append) or, when @o->cfg.initrd
 * was given or the cache has no root disk, an initramfs (the given one or
 * the cache's initramfs.cpio). 0, or -1 with the error printed.
 */
int default_guest_setup(struct run_opts *o);

#endif
