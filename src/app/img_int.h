/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * img_int.h - what the files of `vmon img` share (img.c, img_create.c,
 * img_convert.c, img_rebase.c). Nothing else includes it.
 */
#ifndef VMON_APP_IMG_INT_H
#define VMON_APP_IMG_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct qcow2;

/* The usage of every subcommand, to @f. */
void img_print_usage(FILE *f);
/* The usage to stderr: 2. */
int img_usage(void);
/* "    (P/100%)\r" as qemu-img -p prints it, when P changed (*@last: the
 * last one printed, -1 at first). */
void img_progress(uint64_t done, uint64_t total, int *last);
/* "raw" or "qcow2" from the first bytes of @path (its file size in
 * @size), or NULL with the reason printed. */
const char *img_probe(const char *path, uint64_t *size);
/* @path opened by the qcow2 engine, or NULL with the reason printed. */
struct qcow2 *img_open(const char *path, bool readonly);
/* Backing file @name of @path: relative to its directory unless absolute. */
void img_resolve(const char *path, const char *name, char *full, size_t len);

/* An image read (or written) as a whole: a qcow2 engine, or a raw file. */
struct img_file {
	const char *path;
	struct qcow2 *q;
	int fd; /* -1 unless raw */
	uint64_t size; /* guest bytes */
};
/*
 * Opens @f->path read-only in format *@fmt ("" or NULL: probed; set to
 * the format used): 0, or 1 with the reason printed. @f->fd must be -1.
 */
int img_file_open(struct img_file *f, const char **fmt);
/* @len guest bytes at @off of @f; zeros past its size. 0 or -errno. */
int img_file_read(struct img_file *f, uint8_t *buf, uint64_t off, size_t len);
void img_file_close(struct img_file *f);

/* What `vmon img create` makes: qemu-img create's -f, -b, -F and -o. */
struct create_opts {
	bool raw, quiet;
	const char *backing, *bfmt, *size;
	unsigned int cluster_bits, version, refcount_order;
	bool lazy, zstd, extl2;
	int prealloc; /* enum qcow2_prealloc; -1: not given (off) */
};
/* The defaults: qcow2 version 3, 64 KiB clusters, 16-bit refcounts. */
#define CREATE_OPTS_DEFAULT                                            \
	{                                                              \
		.cluster_bits = 16, .version = 3, .refcount_order = 4, \
		.prealloc = -1                                         \
	}
/*
 * -o LIST into @o: comma-separated KEY=VALUE (",," a comma in a value);
 * 0, 2 with the reason printed, or -1 for "help" (the list printed).
 */
int img_create_options(struct create_opts *o, char *list);
/* The combinations qemu-img refuses too: 0, or 2 with the reason. */
int img_create_check(const struct create_opts *o);
/* Creates @path as @o says: the exit code (0; 1 failed; 2 bad input). */
int img_create(const char *path, struct create_opts *o);

int img_cmd_create(int argc, char **argv);
int img_cmd_convert(int argc, char **argv);
int img_cmd_rebase(int argc, char **argv);

#endif
