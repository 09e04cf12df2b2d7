// SPDX-License-Identifier: GPL-2.0-only
/*
 * img.c - `vmon img create|info|check|commit|resize` (docs/qcow2.md): qcow2
 * images as qemu-img makes and reads them, through the qcow2 engine of
 * src/block.
 */
#include "img.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../block/qcow2.h"
#include "../util/parse.h"

#define CREATE_CLUSTER_BITS 16

static int usage(void)
{
	fprintf(stderr,
		"usage: vmon img create [-f qcow2] [-b BACKING [-F raw|qcow2]] PATH [SIZE]\n"
		"       vmon img info [--output=human|json] [--backing-chain] PATH\n"
		"       vmon img check [-r leaks|all] PATH\n"
		"       vmon img commit [-d] PATH\n"
		"       vmon img resize [-f raw|qcow2] PATH [+]SIZE\n");
	return 2;
}

/* "raw" or "qcow2" from the first bytes of @path, or NULL. */
static const char *probe(const char *path, uint64_t *size)
{
	uint8_t m[4] = { 0 };
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "vmon img: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	*size = (uint64_t)st.st_size;
	if (pread(fd, m, 4, 0) != 4)
		m[0] = 0;
	close(fd);
	return qcow2_probe(m, 4) ? "qcow2" : "raw";
}

/* Why qcow2_grow() said -EFBIG (docs/qcow2.md). */
static const char grow_limit[] =
	"too large for its cluster size here (the larger L1 table it needs does not fit where vmon places it; qemu-img can grow it)";

static struct qcow2 *open_img(const char *path, bool readonly)
{
	char err[1024];
	struct qcow2 *q = qcow2_open(path, -1, readonly, err, sizeof(err));

	if (!q)
		fprintf(stderr, "vmon img: %s\n", err);
	return q;
}

/* Backing file @name of @path: relative to its directory unless absolute. */
static void resolve(const char *path, const char *name, char *full, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (name[0] == '/' || !slash)
		snprintf(full, len, "%s", name);
	else
		snprintf(full, len, "%.*s/%s", (int)(slash - path), path, name);
}

/* The virtual size of backing file @name of @path, of format @fmt. */
static int backing_size(const char *path, const char *name, const char *fmt,
			uint64_t *size)
{
	char full[4096];
	const char *found;
	struct qcow2 *q;

	resolve(path, name, full, sizeof(full));
	found = probe(full, size);
	if (!found)
		return -1;
	if (!strcmp(fmt, "raw"))
		return 0;
	if (strcmp(found, "qcow2") != 0) {
		fprintf(stderr, "vmon img: %s: not a qcow2 image\n", full);
		return -1;
	}
	q = open_img(full, true);
	if (!q)
		return -1;
	*size = qcow2_size(q);
	qcow2_close(q);
	return 0;
}

/* Header, refcount table, one refcount block, the L1 table; refcounts 1. */
static int write_new(int fd, struct qcow2_header *h)
{
	uint64_t cs = 1ULL << h->cluster_bits;
	uint64_t l1_clusters = (h->l1_size * 8ULL + cs - 1) / cs;
	uint64_t n = 3 + (l1_clusters ? l1_clusters : 1);
	uint8_t *b = calloc(n, cs);
	int ret = -1;

	h->reft_offset = cs;
	h->reft_clusters = 1;
	h->l1_offset = 3 * cs;
	if (b && qcow2_format_header(h, b, cs) > 0 &&
	    n <= cs / 2) { /* one refcount block covers the metadata */
		qcow2_put64(b + cs, 2 * cs);
		for (uint64_t i = 0; i < n; i++)
			b[2 * cs + 2 * i + 1] = 1;
		ret = pwrite(fd, b, n * cs, 0) == (ssize_t)(n * cs) &&
				      !fsync(fd) ?
			      0 :
			      -1;
	}
	free(b);
	return ret;
}

static int create(const char *path, const char *backing, const char *bfmt,
		  const char *size_s)
{
	struct qcow2_header h = { .cluster_bits = CREATE_CLUSTER_BITS };
	uint64_t bsize, cover = 1ULL << (2 * CREATE_CLUSTER_BITS - 3);
	char full[4096];
	int fd;

	if (backing) {
		resolve(path, backing, full, sizeof(full));
		if (!bfmt && !(bfmt = probe(full, &bsize)))
			return 1;
		if (strlen(backing) > QCOW2_MAX_BACKING_NAME ||
		    backing_size(path, backing, bfmt, &bsize))
			return 1;
		snprintf(h.backing, sizeof(h.backing), "%s", backing);
		snprintf(h.backing_fmt, sizeof(h.backing_fmt), "%s", bfmt);
		h.size = bsize;
	}
	if (size_s && parse_size(size_s, 1, &h.size)) {
		fprintf(stderr, "vmon img: bad size '%s'\n", size_s);
		return 2;
	}
	if (!size_s && !backing)
		return usage();
	h.size = (h.size + 511) & ~511ULL;
	h.l1_size = (uint32_t)((h.size + cover - 1) / cover);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write_new(fd, &h)) {
		fprintf(stderr, "vmon img: %s: cannot create: %s\n", path,
			fd < 0 ? strerror(errno) : "write failed or too large");
		if (fd >= 0)
			close(fd);
		return 1;
	}
	close(fd);
	printf("Formatting '%s', fmt=qcow2 size=%llu\n", path,
	       (unsigned long long)h.size);
	return 0;
}

static int cmd_create(int argc, char **argv)
{
	const char *backing = NULL, *bfmt = NULL;
	int i = 1;

	for (; i < argc && argv[i][0] == '-' && i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "-b"))
			backing = argv[i + 1];
		else if (!strcmp(argv[i], "-F"))
			bfmt = argv[i + 1];
		else if (strcmp(argv[i], "-f") != 0 ||
			 strcmp(argv[i + 1], "qcow2") != 0)
			return usage();
	}
	if (bfmt && strcmp(bfmt, "raw") != 0 && strcmp(bfmt, "qcow2") != 0) {
		fprintf(stderr, "vmon img: backing format %s: raw or qcow2\n",
			bfmt);
		return 2;
	}
	if (i >= argc || argc - i > 2)
		return usage();
	return create(argv[i], backing, bfmt,
		      i + 1 < argc ? argv[i + 1] : NULL);
}

/*
 * qemu-img info --output=json's object for @path: the same keys, values
 * and (where it has them) backing file names. NULL if it cannot be read.
 * *@next gets the full name of its backing file ("" if none).
 */
static json_t *info_json(const char *path, char *next, size_t len)
{
	uint64_t size;
	const char *fmt = probe(path, &size);
	const struct qcow2_header *h;
	json_t *o, *data;
	struct stat st;
	struct qcow2 *q;

	*next = 0;
	if (!fmt || stat(path, &st))
		return NULL;
	q = strcmp(fmt, "qcow2") ? NULL : open_img(path, true);
	if (!strcmp(fmt, "qcow2") && !q)
		return NULL;
	o = json_object();
	json_object_set_new(o, "virtual-size",
			    json_integer(q ? (json_int_t)qcow2_size(q) :
					     (json_int_t)size));
	json_object_set_new(o, "filename", json_string(path));
	if (q)
		json_object_set_new(
			o, "cluster-size",
			json_integer(1LL << qcow2_hdr(q)->cluster_bits));
	json_object_set_new(o, "format", json_string(fmt));
	json_object_set_new(o, "actual-size",
			    json_integer((json_int_t)st.st_blocks * 512));
	if (!q) {
		json_object_set_new(o, "dirty-flag", json_false());
		return o;
	}
	h = qcow2_hdr(q);
	data = json_object();
	json_object_set_new(data, "compat",
			    json_string(h->version == 2 ? "0.10" : "1.1"));
	json_object_set_new(data, "compression-type",
			    json_string(h->compression == QCOW2_COMP_ZSTD ?
						"zstd" :
						"zlib"));
	if (h->version >= 3)
		json_object_set_new(data, "lazy-refcounts",
				    json_boolean(h->compat &
						 QCOW2_COMPAT_LAZY_REFCOUNTS));
	json_object_set_new(data, "refcount-bits",
			    json_integer(1LL << h->refcount_order));
	if (h->version >= 3) {
		json_object_set_new(data, "corrupt",
				    json_boolean(h->incompat &
						 QCOW2_INCOMPAT_CORRUPT));
		json_object_set_new(data, "extended-l2",
				    json_boolean(h->incompat &
						 QCOW2_INCOMPAT_EXTL2));
	}
	json_object_set_new(o, "format-specific",
			    json_pack("{s:s, s:o}", "type", "qcow2", "data",
				      data));
	if (h->backing[0]) {
		resolve(path, h->backing, next, len);
		json_object_set_new(o, "full-backing-filename",
				    json_string(next));
		json_object_set_new(o, "backing-filename",
				    json_string(h->backing));
		if (h->backing_fmt[0])
			json_object_set_new(o, "backing-filename-format",
					    json_string(h->backing_fmt));
	}
	json_object_set_new(o, "dirty-flag",
			    json_boolean(h->incompat & QCOW2_INCOMPAT_DIRTY));
	qcow2_close(q);
	return o;
}

/* --output=json [--backing-chain]: as qemu-img prints it. */
static int info_json_print(const char *path, bool chain)
{
	char cur[4096], next[4096];
	json_t *all = chain ? json_array() : NULL, *o = NULL;
	unsigned int depth = 0;

	snprintf(cur, sizeof(cur), "%s", path);
	do {
		o = info_json(cur, next, sizeof(next));
		if (!o || depth++ > QCOW2_MAX_CHAIN) {
			json_decref(o);
			json_decref(all);
			return 1;
		}
		if (!chain)
			break;
		json_array_append_new(all, o);
		snprintf(cur, sizeof(cur), "%s", next);
	} while (*cur);
	if (chain)
		o = all;
	json_dumpf(o, stdout, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
	printf("\n");
	json_decref(o);
	return 0;
}

/* `info [--output=human|json] [--backing-chain] PATH` */
static int cmd_info(int argc, char **argv)
{
	const char *path = argv[argc - 1];
	bool json = false, chain = false;
	uint64_t size;
	const char *fmt;
	struct stat st;
	struct qcow2 *q;

	for (int i = 1; i < argc - 1; i++) {
		if (!strcmp(argv[i], "--output=json"))
			json = true;
		else if (!strcmp(argv[i], "--output=human"))
			json = false;
		else if (!strcmp(argv[i], "--backing-chain"))
			chain = true;
		else
			return usage();
	}
	if (json)
		return info_json_print(path, chain);
	fmt = probe(path, &size);
	if (!fmt || stat(path, &st))
		return 1;
	printf("image: %s\nfile format: %s\n", path, fmt);
	if (!strcmp(fmt, "raw")) {
		printf("virtual size: %llu\ndisk size: %llu\n",
		       (unsigned long long)size,
		       (unsigned long long)st.st_blocks * 512);
		return 0;
	}
	q = open_img(path, true);
	if (!q)
		return 1;
	printf("virtual size: %llu\ndisk size: %llu\ncluster_size: %llu\n"
	       "compat: %s\n",
	       (unsigned long long)qcow2_size(q),
	       (unsigned long long)st.st_blocks * 512,
	       1ULL << qcow2_hdr(q)->cluster_bits,
	       qcow2_hdr(q)->version == 2 ? "0.10" : "1.1");
	for (unsigned int d = 0; *qcow2_backing_path(q, d); d++)
		printf("backing file: %s (format %s)\n",
		       qcow2_backing_path(q, d), qcow2_backing_format(q, d));
	qcow2_close(q);
	return 0;
}

/* Repairs @q (-r leaks|all), printing what was fixed as qemu-img does. */
static int repair(struct qcow2 *q, const char *path, bool all)
{
	struct qcow2_check fixed;
	int ret = qcow2_check_repair(q, all, &fixed, true);

	if (ret) {
		fprintf(stderr, "vmon img: %s: repair failed: %s\n", path,
			strerror(-ret));
		return ret;
	}
	if (!fixed.leaks && !fixed.corruptions)
		return 0;
	printf("The following inconsistencies were found and repaired:\n\n"
	       "    %llu leaked clusters\n    %llu corruptions\n\n"
	       "Double checking the fixed image now...\n",
	       (unsigned long long)fixed.leaks,
	       (unsigned long long)fixed.corruptions);
	return 0;
}

static void report(const struct qcow2_check *r)
{
	if (!r->corruptions && !r->leaks)
		printf("No errors were found on the image.\n");
	if (r->corruptions)
		printf("\n%llu errors were found on the image.\n",
		       (unsigned long long)r->corruptions);
	if (r->leaks)
		printf("\n%llu leaked clusters were found on the image.\n",
		       (unsigned long long)r->leaks);
	printf("%llu/%llu = %.2f%% allocated\nImage end offset: %llu\n",
	       (unsigned long long)r->allocated, (unsigned long long)r->total,
	       r->total ? 100.0 * (double)r->allocated / (double)r->total : 0.0,
	       (unsigned long long)r->image_end);
}

/* check [-r leaks|all] PATH */
static int cmd_check(int argc, char **argv)
{
	const char *path = argv[argc - 1], *mode = NULL, *fmt;
	uint64_t size;
	struct qcow2_check r;
	struct qcow2 *q;
	int ret;

	if (argc == 4 && !strcmp(argv[1], "-r"))
		mode = argv[2];
	if ((argc != 2 && !mode) ||
	    (mode && strcmp(mode, "leaks") != 0 && strcmp(mode, "all") != 0))
		return usage();
	fmt = probe(path, &size);
	if (!fmt)
		return 1;
	if (strcmp(fmt, "qcow2") != 0) {
		fprintf(stderr,
			"vmon img: %s: raw images have nothing to check\n",
			path);
		return 63;
	}
	q = open_img(path, !mode);
	if (!q)
		return 1;
	ret = mode ? repair(q, path, !strcmp(mode, "all")) : 0;
	if (!ret)
		ret = qcow2_check(q, &r, true);
	qcow2_close(q);
	if (ret) {
		fprintf(stderr, "vmon img: %s: check failed: %s\n", path,
			strerror(-ret));
		return 1;
	}
	report(&r);
	return r.corruptions ? 2 : r.leaks ? 3 : 0;
}

/* The cluster at @off of @top into @b (qcow2) or @bfd (raw). */
static int commit_one(struct qcow2 *top, struct qcow2 *b, int bfd, uint64_t off,
		      uint8_t *buf, uint64_t len)
{
	int r = qcow2_read(top, off, buf, len);

	if (r)
		return r;
	if (b)
		return qcow2_write(b, off, buf, len);
	return pwrite(bfd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -EIO;
}

/*
 * Copies what @top allocates into its backing image @b (qcow2) or @bfd
 * (raw), makes that reach the disk, then empties @top unless @keep.
 */
static int commit_clusters(struct qcow2 *top, struct qcow2 *b, int bfd,
			   uint64_t bsize, bool keep)
{
	uint64_t cs = 1ULL << qcow2_hdr(top)->cluster_bits, n = 0;
	uint64_t end = qcow2_size(top) < bsize ? qcow2_size(top) : bsize;
	uint8_t *buf = malloc(cs);
	int r = buf ? 0 : -ENOMEM;

	for (uint64_t off = 0; !r && off < end; off += cs) {
		if (!qcow2_is_allocated(top, off))
			continue;
		r = commit_one(top, b, bfd, off, buf,
			       end - off < cs ? end - off : cs);
		n++;
	}
	if (!r)
		r = b ? qcow2_flush(b) : fdatasync(bfd) ? -errno : 0;
	for (uint64_t off = 0; !r && !keep && off < end; off += cs)
		r = qcow2_unallocate(top, off);
	if (!r && !keep)
		r = qcow2_flush(top);
	free(buf);
	if (!r)
		printf("Image committed (%llu clusters).\n",
		       (unsigned long long)n);
	return r;
}

/* `commit [-d] PATH`: -d keeps the overlay's clusters (qemu-img's -d). */
static int cmd_commit(int argc, char **argv)
{
	bool keep = argc == 3 && !strcmp(argv[1], "-d");
	const char *path = argv[argc - 1], *bpath;
	struct qcow2 *top, *b = NULL;
	int bfd = -1, r;
	uint64_t bsize, size;

	if (argc != 2 && !keep)
		return usage();
	top = open_img(path, keep);
	if (!top)
		return 1;
	bpath = qcow2_backing_path(top, 0);
	size = qcow2_size(top);
	if (!*bpath) {
		fprintf(stderr, "vmon img: %s: no backing file\n", path);
		qcow2_close(top);
		return 1;
	}
	/* A smaller backing file grows to the overlay's size, as qemu-img's. */
	if (!strcmp(qcow2_backing_format(top, 0), "qcow2")) {
		b = open_img(bpath, false);
		if (!b) { /* open_img() said why */
			qcow2_close(top);
			return 1;
		}
		r = qcow2_size(b) < size ? qcow2_grow(b, size) : 0;
		bsize = qcow2_size(b);
		if (!r)
			r = commit_clusters(top, b, -1, bsize, keep);
	} else {
		bfd = open(bpath, O_RDWR | O_CLOEXEC);
		r = bfd < 0 ? -errno : 0;
		bsize = bfd >= 0 ? (uint64_t)lseek(bfd, 0, SEEK_END) : 0;
		if (!r && bsize < size) {
			r = ftruncate(bfd, (off_t)size) ? -errno : 0;
			bsize = size;
		}
		if (!r)
			r = commit_clusters(top, NULL, bfd, bsize, keep);
	}
	if (r)
		fprintf(stderr, "vmon img: commit %s into %s: %s\n", path,
			bpath, r == -EFBIG ? grow_limit : strerror(-r));
	qcow2_close(b);
	if (bfd >= 0)
		close(bfd);
	qcow2_close(top);
	return r ? 1 : 0;
}

/*
 * `resize [-f raw|qcow2] PATH [+]SIZE`: grows the image to SIZE (or by
 * it), as qemu-img resize does; shrinking is refused (qemu-img resize
 * --shrink can, where the data allows).
 */
static int cmd_resize(int argc, char **argv)
{
	const char *fmt = NULL, *path, *arg;
	uint64_t cur, size;
	struct qcow2 *q;
	int r;

	if (argc == 5 && !strcmp(argv[1], "-f"))
		fmt = argv[2];
	if ((argc != 3 && !fmt) ||
	    (fmt && strcmp(fmt, "raw") != 0 && strcmp(fmt, "qcow2") != 0))
		return usage();
	path = argv[argc - 2];
	arg = argv[argc - 1];
	if (parse_size(arg + (*arg == '+'), 1, &size)) {
		fprintf(stderr, "vmon img: resize %s: %s: not a size\n", path,
			arg);
		return 2;
	}
	if (!fmt)
		fmt = probe(path, &cur);
	if (!fmt)
		return 1;
	q = strcmp(fmt, "qcow2") ? NULL : open_img(path, false);
	if (!strcmp(fmt, "qcow2") && !q)
		return 1;
	if (q) {
		cur = qcow2_size(q);
	} else {
		struct stat st;

		if (stat(path, &st)) {
			fprintf(stderr, "vmon img: %s: %s\n", path,
				strerror(errno));
			return 1;
		}
		cur = (uint64_t)st.st_size;
	}
	if (*arg == '+')
		size = cur + size < cur ? UINT64_MAX : cur + size;
	if (size < cur) {
		fprintf(stderr,
			"vmon img: resize %s: %llu bytes is smaller than the image (%llu): shrinking is not supported (qemu-img resize --shrink)\n",
			path, (unsigned long long)size,
			(unsigned long long)cur);
		qcow2_close(q);
		return 1;
	}
	if (!q) {
		if (size > INT64_MAX || truncate(path, (off_t)size)) {
			fprintf(stderr,
				"vmon img: resize %s to %llu bytes: %s\n", path,
				(unsigned long long)size,
				strerror(size > INT64_MAX ? EFBIG : errno));
			return 1;
		}
		printf("Image resized.\n");
		return 0;
	}
	r = qcow2_grow(q, size);
	qcow2_close(q);
	if (r) {
		/* qcow2_grow()'s own refusals named; the rest as errno says. */
		fprintf(stderr, "vmon img: resize %s to %llu bytes: %s\n", path,
			(unsigned long long)size,
			r == -EINVAL ? "not a multiple of 512 bytes" :
			r == -EFBIG  ? grow_limit :
				       strerror(-r));
		return 1;
	}
	printf("Image resized.\n");
	return 0;
}

int cmd_img(int argc, char **argv)
{
	if (argc < 3)
		return usage();
	if (!strcmp(argv[1], "create"))
		return cmd_create(argc - 1, argv + 1);
	if (!strcmp(argv[1], "commit"))
		return cmd_commit(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check"))
		return cmd_check(argc - 1, argv + 1);
	if (!strcmp(argv[1], "resize"))
		return cmd_resize(argc - 1, argv + 1);
	if (!strcmp(argv[1], "info"))
		return cmd_info(argc - 1, argv + 1);
	return usage();
}
