/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * memfile.h - the file behind file-backed guest RAM (--mem-file,
 * docs/density.md): opened or created at the RAM's size, mapped shared by
 * vm.c, so that the host can write cold guest pages back to it and drop
 * them from memory (as QEMU's memory-backend-file with share=on).
 */
#ifndef VMON_VMM_MEMFILE_H
#define VMON_VMM_MEMFILE_H

#include <stdint.h>

/*
 * Opens @path for guest RAM of @size bytes: a directory gets an unlinked
 * file of its own (O_TMPFILE), a file is created (0600) or opened and grown
 * to @size (never shrunk). Returns the fd, or -1 after an error message
 * naming the file and the cause.
 */
int memfile_open(const char *path, uint64_t size);

#endif
