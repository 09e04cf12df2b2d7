/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * file.h - the outside of a snapshot's state file and how snapshot files
 * reach the disk (docs/snapshot.md): a fixed 24-byte head (magic
 * "VMONSNAP", format version, flags, payload length), the payload, and
 * the CRC-64/XZ of everything before it; files written crash-safe
 * (a temporary file in the same folder, fsync, rename, fsync of the
 * folder), so a reader sees the old file or the whole new one.
 */
#ifndef VMON_SNAPSHOT_FILE_H
#define VMON_SNAPSHOT_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "../vmm/state.h"

#define SNAPSHOT_MAGIC "VMONSNAP"
#define SNAPSHOT_FORMAT_VERSION 1
#define SNAPSHOT_HEAD_SIZE 24
#define SNAPSHOT_CRC_SIZE 8
/* A state file is read whole: larger ones are refused. */
#define SNAPSHOT_STATE_MAX (256U << 20)
#define SNAPSHOT_ERR_MAX 512

/* Wraps @payload into a whole state file in @out; 0 or -1 (no memory). */
int snapfile_pack(const struct state_writer *payload, struct state_writer *out);
/*
 * Checks a whole state file: magic, format version, length and checksum.
 * On success *@payload and *@plen point into @data. -1 with @err naming
 * what is wrong (a foreign, truncated, corrupt or newer file).
 */
int snapfile_unpack(const uint8_t *data, size_t len, const uint8_t **payload,
		    size_t *plen, char *err, size_t errlen);
/* The whole file at @path (malloc'ed), at most SNAPSHOT_STATE_MAX bytes. */
uint8_t *snapfile_read(const char *path, size_t *len, char *err, size_t errlen);
/* Writes @len bytes to @path crash-safe; 0 or -1 with @err. */
int snapfile_write(const char *path, const void *data, size_t len, char *err,
		   size_t errlen);
/*
 * Writes guest memory (@size bytes at @mem) to @path crash-safe, as a
 * file of @size bytes: without @pages, whose all-zero pages are holes;
 * with @pages (a bitmap, bit N for page N), with only those pages and
 * holes elsewhere (a Diff).
 */
int snapfile_write_memory(const char *path, const uint8_t *mem, uint64_t size,
			  const uint64_t *pages, char *err, size_t errlen);

#endif
