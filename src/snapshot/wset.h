/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * wset.h - a VM's recorded working set for the Uffd handler's
 * record-and-prefetch (docs/snapshot.md, after the REAP paper, ASPLOS'21):
 * the memory file offsets of the pages a restored guest touched, in the
 * order it first touched them. On disk: "VMONWSET", a u64 count, the
 * count's u64 offsets (little-endian), written crash-safe.
 */
#ifndef VMON_SNAPSHOT_WSET_H
#define VMON_SNAPSHOT_WSET_H

#include <stddef.h>
#include <stdint.h>

struct wset {
	uint64_t *pages; /* memory file offsets, page-aligned */
	size_t nr, cap;
};

/*
 * Reads @path: 0, 1 if there is no such file (nothing recorded yet), or
 * -1 with @err (not a working set, an offset outside @file_size).
 */
int wset_load(struct wset *w, const char *path, uint64_t file_size, char *err,
	      size_t errlen);
/* Appends a page; 0 or -1 (no memory). */
int wset_add(struct wset *w, uint64_t offset);
/* Writes @w to @path crash-safe; 0 or -1 with @err. */
int wset_save(const struct wset *w, const char *path, char *err, size_t errlen);
void wset_free(struct wset *w);

#endif
