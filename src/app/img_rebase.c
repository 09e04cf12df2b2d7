// SPDX-License-Identifier: GPL-2.0-only
/*
 * img_rebase.c - `vmon img rebase` (docs/qcow2.md): a qcow2 image gets
 * another backing file, as `qemu-img rebase` does. Safe mode first copies
 * into the image every cluster it does not hold whose content differs
 * between the old chain and the new backing file (so what the guest sees
 * is unchanged), flushes, then rewrites the header; -u only rewrites the
 * header (the user says the new backing file has the same content).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../block/qcow2.h"
#include "img_int.h"

/* The new backing file @name of @path (none: ""), opened into @nb, its
 * format @fmt or probed into it. 0, or 1 with the reason printed. */
static int open_new(struct img_file *nb, char *full, size_t len,
		    const char *path, const char *name, const char **fmt)
{
	if (!*name)
		return 0; /* reads as zeros: nb->size 0 */
	img_resolve(path, name, full, len);
	nb->path = full;
	return img_file_open(nb, fmt);
}

/*
 * The clusters @q does not hold whose content differs between its chain
 * and @nb: copied into @q. 0 or -errno.
 */
static int copy_differing(struct qcow2 *q, struct img_file *nb, bool show)
{
	uint64_t cs = 1ULL << qcow2_hdr(q)->cluster_bits, size = qcow2_size(q);
	uint8_t *old = malloc(cs), *new = malloc(cs);
	int r = old && new ? 0 : -ENOMEM, last = -1;

	for (uint64_t off = 0; !r && off < size; off += cs) {
		size_t n = size - off < cs ? (size_t)(size - off) : cs;

		if (qcow2_is_allocated(q, off)) /* its own data, or zeros */
			continue;
		r = qcow2_read(q, off, old, n);
		if (!r)
			r = img_file_read(nb, new, off, n);
		if (!r && memcmp(old, new, n) != 0)
			r = qcow2_write(q, off, old, n);
		if (show)
			img_progress(off + n, size, &last);
	}
	if (show) {
		img_progress(size, size, &last);
		printf("\n");
	}
	free(old);
	free(new);
	return r ? r : qcow2_flush(q);
}

/* The header of @path names @name of format @fmt; synced. 0 or -errno. */
static int set_backing(const char *path, const char *name, const char *fmt)
{
	int fd = open(path, O_RDWR | O_CLOEXEC), r = 0;
	struct qcow2_header h;
	uint8_t *b = NULL;
	struct stat st = { 0 };
	char why[256];
	size_t len = 0;

	if (fd < 0 || fstat(fd, &st))
		r = errno ? -errno : -EIO;
	if (!r) {
		len = st.st_size < (1 << QCOW2_MAX_CLUSTER_BITS) ?
			      (size_t)st.st_size :
			      (size_t)1 << QCOW2_MAX_CLUSTER_BITS;
		b = malloc(len ? len : 1);
		r = !b					 ? -ENOMEM :
		    pread(fd, b, len, 0) != (ssize_t)len ? -EIO :
							   0;
	}
	if (!r && qcow2_parse_header(b, len, (uint64_t)st.st_size, &h, why,
				     sizeof(why)))
		r = -EINVAL;
	if (!r && (size_t)1 << h.cluster_bits < len)
		len = (size_t)1 << h.cluster_bits;
	if (!r && qcow2_header_set_backing(b, len, &h, name, fmt))
		r = -ENAMETOOLONG;
	if (!r && (pwrite(fd, b, len, 0) != (ssize_t)len || fdatasync(fd)))
		r = errno ? -errno : -EIO;
	free(b);
	if (fd >= 0)
		close(fd);
	return r;
}

int img_cmd_rebase(int argc, char **argv)
{
	const char *name = NULL, *fmt = "", *path;
	bool unsafe = false, show = false;
	struct img_file nb = { .fd = -1 };
	char full[4096];
	struct qcow2 *q = NULL;
	int i = 1, r = 0;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-u") || !strcmp(argv[i], "-p") ||
		    !strcmp(argv[i], "-q")) {
			unsafe |= argv[i][1] == 'u';
			show = argv[i][1] == 'p' || (show && argv[i][1] != 'q');
			continue;
		}
		if (i + 1 >= argc)
			return img_usage();
		if (!strcmp(argv[i], "-b"))
			name = argv[++i];
		else if (!strcmp(argv[i], "-F"))
			fmt = argv[++i];
		else if (strcmp(argv[i], "-f") != 0 ||
			 strcmp(argv[++i], "qcow2") != 0)
			return img_usage();
	}
	if (!name || argc - i != 1)
		return img_usage();
	path = argv[i];
	if (*fmt && strcmp(fmt, "raw") != 0 && strcmp(fmt, "qcow2") != 0) {
		fprintf(stderr, "vmon img: backing format %s: raw or qcow2\n",
			fmt);
		return 2;
	}
	if (strlen(name) > QCOW2_MAX_BACKING_NAME) {
		fprintf(stderr, "vmon img: backing file name too long\n");
		return 2;
	}
	if (open_new(&nb, full, sizeof(full), path, name, &fmt)) {
		img_file_close(&nb);
		return 1;
	}
	if (!unsafe) {
		q = img_open(path, false);
		r = q ? copy_differing(q, &nb, show) : 1;
		if (r < 0)
			fprintf(stderr, "vmon img: rebase %s: %s\n", path,
				strerror(-r));
		qcow2_close(q);
	}
	img_file_close(&nb);
	if (r)
		return 1;
	r = set_backing(path, name, *name ? fmt : "");
	if (r)
		fprintf(stderr,
			"vmon img: %s: the backing file could not be set: %s\n",
			path,
			r == -ENAMETOOLONG ?
				"the header with its name does not fit in the first cluster" :
			r == -EINVAL ? "not a qcow2 image" :
				       strerror(-r));
	return r ? 1 : 0;
}
