// SPDX-License-Identifier: GPL-2.0-only
/*
 * img.c - `vmon img` (docs/qcow2.md): qcow2 images as qemu-img makes and
 * reads them, through the qcow2 engine of src/block. This file has the
 * command's entry, the helpers its subcommands share (img_int.h), and
 * info, check, commit and resize; create is in img_create.c, convert in
 * img_convert.c, rebase in img_rebase.c.
 */
#include "img.h"
#include "img_int.h"

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

void img_print_usage(FILE *f)
{
	fprintf(f,
		"usage: vmon img create [-q] [-f qcow2|raw] [-b BACKING [-F raw|qcow2]] [-o OPTIONS] PATH [SIZE]\n"
		"       vmon img convert [-c] [-n] [-p] [-q] [-f raw|qcow2] [-O raw|qcow2] [-B BACKING [-F raw|qcow2]] [-o OPTIONS] SRC... DST\n"
		"       vmon img info [--output=human|json] [--backing-chain] PATH\n"
		"       vmon img check [-r leaks|all] PATH\n"
		"       vmon img commit [-d] PATH\n"
		"       vmon img resize [-f raw|qcow2] PATH [+]SIZE\n"
		"       vmon img rebase [-u] [-p] [-q] [-f qcow2] -b BACKING [-F raw|qcow2] PATH\n");
}

void img_progress(uint64_t done, uint64_t total, int *last)
{
	int p = total ? (int)(done * 10000 / total) : 10000;

	if (p == *last)
		return;
	*last = p;
	printf("    (%d.%02d/100%%)\r", p / 100, p % 100);
	fflush(stdout);
}

int img_usage(void)
{
	img_print_usage(stderr);
	return 2;
}

const char *img_probe(const char *path, uint64_t *size)
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

int img_file_open(struct img_file *f, const char **fmt)
{
	const char *found = img_probe(f->path, &f->size);

	if (!found)
		return 1;
	if (!*fmt || !**fmt)
		*fmt = found;
	if (!strcmp(*fmt, "qcow2")) {
		if (strcmp(found, "qcow2") != 0) {
			fprintf(stderr, "vmon img: %s: not a qcow2 image\n",
				f->path);
			return 1;
		}
		f->q = img_open(f->path, true);
		if (!f->q)
			return 1;
		f->size = qcow2_size(f->q);
		return 0;
	}
	f->fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0) {
		fprintf(stderr, "vmon img: %s: %s\n", f->path, strerror(errno));
		return 1;
	}
	return 0;
}

int img_file_read(struct img_file *f, uint8_t *buf, uint64_t off, size_t len)
{
	size_t n = off >= f->size      ? 0 :
		   f->size - off < len ? (size_t)(f->size - off) :
					 len;
	ssize_t got;

	memset(buf + n, 0, len - n);
	if (!n)
		return 0;
	if (f->q)
		return qcow2_read(f->q, off, buf, n);
	got = pread(f->fd, buf, n, (off_t)off);
	if (got < 0)
		return -errno;
	memset(buf + got, 0, n - (size_t)got); /* the file got shorter */
	return 0;
}

void img_file_close(struct img_file *f)
{
	qcow2_close(f->q);
	if (f->fd >= 0)
		close(f->fd);
}

/* Why qcow2_grow() said -EFBIG (docs/qcow2.md). */
static const char grow_limit[] =
	"too large for its cluster size here (the larger L1 table it needs does not fit where vmon places it; qemu-img can grow it)";

struct qcow2 *img_open(const char *path, bool readonly)
{
	char err[1024];
	struct qcow2 *q = qcow2_open(path, -1, readonly, err, sizeof(err));

	if (!q)
		fprintf(stderr, "vmon img: %s\n", err);
	return q;
}

void img_resolve(const char *path, const char *name, char *full, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (name[0] == '/' || !slash)
		snprintf(full, len, "%s", name);
	else
		snprintf(full, len, "%.*s/%s", (int)(slash - path), path, name);
}

/*
 * qemu-img info --output=json's object for @path: the same keys, values
 * and (where it has them) backing file names. NULL if it cannot be read.
 * *@next gets the full name of its backing file ("" if none).
 */
static json_t *info_json(const char *path, char *next, size_t len)
{
	uint64_t size;
	const char *fmt = img_probe(path, &size);
	const struct qcow2_header *h;
	json_t *o, *data;
	struct stat st;
	struct qcow2 *q;

	*next = 0;
	if (!fmt || stat(path, &st))
		return NULL;
	q = strcmp(fmt, "qcow2") ? NULL : img_open(path, true);
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
		img_resolve(path, h->backing, next, len);
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
			return img_usage();
	}
	if (json)
		return info_json_print(path, chain);
	fmt = img_probe(path, &size);
	if (!fmt || stat(path, &st))
		return 1;
	printf("image: %s\nfile format: %s\n", path, fmt);
	if (!strcmp(fmt, "raw")) {
		printf("virtual size: %llu\ndisk size: %llu\n",
		       (unsigned long long)size,
		       (unsigned long long)st.st_blocks * 512);
		return 0;
	}
	q = img_open(path, true);
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
		return img_usage();
	fmt = img_probe(path, &size);
	if (!fmt)
		return 1;
	if (strcmp(fmt, "qcow2") != 0) {
		fprintf(stderr,
			"vmon img: %s: raw images have nothing to check\n",
			path);
		return 63;
	}
	q = img_open(path, !mode);
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
		return img_usage();
	top = img_open(path, keep);
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
		b = img_open(bpath, false);
		if (!b) { /* img_open() said why */
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
		return img_usage();
	path = argv[argc - 2];
	arg = argv[argc - 1];
	if (parse_size(arg + (*arg == '+'), 1, &size)) {
		fprintf(stderr, "vmon img: resize %s: %s: not a size\n", path,
			arg);
		return 2;
	}
	if (!fmt)
		fmt = img_probe(path, &cur);
	if (!fmt)
		return 1;
	q = strcmp(fmt, "qcow2") ? NULL : img_open(path, false);
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
		return img_usage();
	if (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h")) {
		img_print_usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "create"))
		return img_cmd_create(argc - 1, argv + 1);
	if (!strcmp(argv[1], "convert"))
		return img_cmd_convert(argc - 1, argv + 1);
	if (!strcmp(argv[1], "rebase"))
		return img_cmd_rebase(argc - 1, argv + 1);
	if (!strcmp(argv[1], "commit"))
		return cmd_commit(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check"))
		return cmd_check(argc - 1, argv + 1);
	if (!strcmp(argv[1], "resize"))
		return cmd_resize(argc - 1, argv + 1);
	if (!strcmp(argv[1], "info"))
		return cmd_info(argc - 1, argv + 1);
	return img_usage();
}
