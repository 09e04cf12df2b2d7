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

static void print_usage(FILE *f)
{
	fprintf(f,
		"usage: vmon img create [-q] [-f qcow2|raw] [-b BACKING [-F raw|qcow2]] [-o OPTIONS] PATH [SIZE]\n"
		"       vmon img info [--output=human|json] [--backing-chain] PATH\n"
		"       vmon img check [-r leaks|all] PATH\n"
		"       vmon img commit [-d] PATH\n"
		"       vmon img resize [-f raw|qcow2] PATH [+]SIZE\n");
}

static int usage(void)
{
	print_usage(stderr);
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

/* What `vmon img create` makes: qemu-img create's -f, -b, -F and -o. */
struct create_opts {
	bool raw, quiet;
	const char *backing, *bfmt, *size;
	unsigned int cluster_bits, version, refcount_order;
	bool lazy, zstd;
};

static const char create_help[] =
	"Supported options:\n"
	"  backing_file=<str>     - File name of a base image\n"
	"  backing_fmt=<str>      - Image format of the base image (raw or qcow2)\n"
	"  cluster_size=<size>    - qcow2 cluster size (512 to 2M, a power of two)\n"
	"  compat=<str>           - Compatibility level (v2 [0.10] or v3 [1.1])\n"
	"  compression_type=<str> - zlib or zstd (v3)\n"
	"  extended_l2=<bool (on/off)> - Extended L2 tables (off only)\n"
	"  lazy_refcounts=<bool (on/off)> - Postpone refcount updates (v3)\n"
	"  preallocation=<str>    - Preallocation mode (off only)\n"
	"  refcount_bits=<num>    - Width of a reference count entry in bits (v3: 1 to 64)\n"
	"  size=<size>            - Virtual disk size\n";

/* qemu's bool option values: 1 on, 0 off, -1 neither. */
static int on_off(const char *v)
{
	if (!strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "yes"))
		return 1;
	if (!strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "no"))
		return 0;
	return -1;
}

/* log2 of @v if it is a power of two in [@lo, @hi], else -1. */
static int pow2_bits(uint64_t v, uint64_t lo, uint64_t hi)
{
	if (v < lo || v > hi || (v & (v - 1)))
		return -1;
	return __builtin_ctzll(v);
}

/* One -o KEY=VALUE of @o; 0, or 2 with the reason printed. */
static int create_option(struct create_opts *o, char *kv)
{
	char *v = strchr(kv, '=');
	uint64_t n;
	int b;

	if (!v) {
		fprintf(stderr, "vmon img: option '%s': KEY=VALUE expected\n",
			kv);
		return 2;
	}
	*v++ = 0;
	if (!strcmp(kv, "size")) {
		o->size = v;
		return 0;
	}
	if (!strcmp(kv, "preallocation")) {
		if (strcmp(v, "off") != 0)
			goto unsupported;
		return 0;
	}
	if (o->raw) {
		fprintf(stderr, "vmon img: invalid option '%s' for raw\n", kv);
		return 2;
	}
	if (!strcmp(kv, "backing_file")) {
		o->backing = v;
	} else if (!strcmp(kv, "backing_fmt")) {
		o->bfmt = v;
	} else if (!strcmp(kv, "cluster_size")) {
		if (parse_size(v, 1, &n) ||
		    (b = pow2_bits(n, 1ULL << QCOW2_MIN_CLUSTER_BITS,
				   1ULL << QCOW2_MAX_CLUSTER_BITS)) < 0) {
			fprintf(stderr,
				"vmon img: cluster_size=%s: a power of two between 512 and 2048k\n",
				v);
			return 2;
		}
		o->cluster_bits = (unsigned int)b;
	} else if (!strcmp(kv, "compat")) {
		if (!strcmp(v, "0.10") || !strcmp(v, "v2"))
			o->version = 2;
		else if (!strcmp(v, "1.1") || !strcmp(v, "v3"))
			o->version = 3;
		else
			goto invalid;
	} else if (!strcmp(kv, "compression_type")) {
		if (strcmp(v, "zlib") != 0 && strcmp(v, "zstd") != 0)
			goto invalid;
		o->zstd = !strcmp(v, "zstd");
	} else if (!strcmp(kv, "extended_l2")) {
		if ((b = on_off(v)) < 0)
			goto invalid;
		if (b)
			goto unsupported;
	} else if (!strcmp(kv, "lazy_refcounts")) {
		if ((b = on_off(v)) < 0)
			goto invalid;
		o->lazy = b;
	} else if (!strcmp(kv, "refcount_bits")) {
		if (parse_size(v, 1, &n) || (b = pow2_bits(n, 1, 64)) < 0) {
			fprintf(stderr,
				"vmon img: refcount_bits=%s: a power of two, 1 to 64\n",
				v);
			return 2;
		}
		o->refcount_order = (unsigned int)b;
	} else {
		fprintf(stderr, "vmon img: invalid option '%s' for %s\n", kv,
			o->raw ? "raw" : "qcow2");
		return 2;
	}
	return 0;
invalid:
	fprintf(stderr, "vmon img: invalid value '%s' of option '%s' for %s\n",
		v, kv, o->raw ? "raw" : "qcow2");
	return 2;
unsupported:
	fprintf(stderr, "vmon img: %s=%s: not supported by vmon\n", kv, v);
	return 2;
}

/* -o LIST: comma-separated options (",," a comma in a value). */
static int create_options(struct create_opts *o, char *list)
{
	char *p = list, *w = list, *kv = list;

	if (!strcmp(list, "help") || !strcmp(list, "?")) {
		fputs(o->raw ?
			      "Supported options:\n"
			      "  preallocation=<str>    - off only\n"
			      "  size=<size>            - Virtual disk size\n" :
			      create_help,
		      stdout);
		return -1;
	}
	for (;;) {
		if (*p == ',' && p[1] == ',') {
			*w++ = ',';
			p += 2;
			continue;
		}
		if (*p == ',' || !*p) {
			bool end = !*p;
			int r;

			*w = 0;
			r = *kv ? create_option(o, kv) : 0;
			if (r || end)
				return r;
			kv = w = ++p;
			continue;
		}
		*w++ = *p++;
	}
}

/* The combinations qemu-img refuses too. */
static int create_check(const struct create_opts *o)
{
	const char *why = NULL;

	if (o->version == 2 && o->refcount_order != 4)
		why = "refcount widths other than 16 bits need compat=1.1";
	else if (o->version == 2 && o->lazy)
		why = "lazy refcounts need compat=1.1";
	else if (o->version == 2 && o->zstd)
		why = "compression_type=zstd needs compat=1.1";
	else if (o->bfmt && strcmp(o->bfmt, "raw") != 0 &&
		 strcmp(o->bfmt, "qcow2") != 0) {
		fprintf(stderr, "vmon img: backing format %s: raw or qcow2\n",
			o->bfmt);
		return 2;
	}
	if (why) {
		fprintf(stderr, "vmon img: %s\n", why);
		return 2;
	}
	return 0;
}

/* qemu-img create's "Formatting ..." line. */
static void create_line(const char *path, const struct create_opts *o,
			const struct qcow2_header *h, uint64_t size)
{
	if (o->quiet)
		return;
	if (o->raw) {
		printf("Formatting '%s', fmt=raw size=%llu\n", path,
		       (unsigned long long)size);
		return;
	}
	printf("Formatting '%s', fmt=qcow2 cluster_size=%llu extended_l2=off compression_type=%s size=%llu",
	       path, 1ULL << h->cluster_bits, o->zstd ? "zstd" : "zlib",
	       (unsigned long long)size);
	if (o->version == 2)
		printf(" compat=0.10");
	if (*h->backing)
		printf(" backing_file=%s", h->backing);
	if (*h->backing_fmt)
		printf(" backing_fmt=%s", h->backing_fmt);
	printf(" lazy_refcounts=%s refcount_bits=%u\n", o->lazy ? "on" : "off",
	       1U << h->refcount_order);
}

static int create(const char *path, struct create_opts *o)
{
	struct qcow2_header h = {
		.version = o->version,
		.cluster_bits = o->cluster_bits,
		.refcount_order = o->refcount_order,
		.compat = o->lazy ? QCOW2_COMPAT_LAZY_REFCOUNTS : 0,
		.compression = o->zstd ? QCOW2_COMP_ZSTD : QCOW2_COMP_ZLIB
	};
	uint64_t bsize, size = 0;
	const char *bfmt = o->bfmt;
	char full[4096];
	int fd, r;

	if (o->backing && o->raw) {
		fprintf(stderr,
			"vmon img: %s: a raw image has no backing file\n",
			path);
		return 2;
	}
	if (o->backing) {
		resolve(path, o->backing, full, sizeof(full));
		if (!bfmt && !(bfmt = probe(full, &bsize)))
			return 1;
		if (strlen(o->backing) > QCOW2_MAX_BACKING_NAME ||
		    backing_size(path, o->backing, bfmt, &bsize))
			return 1;
		snprintf(h.backing, sizeof(h.backing), "%s", o->backing);
		snprintf(h.backing_fmt, sizeof(h.backing_fmt), "%s", bfmt);
		size = bsize;
	}
	if (o->size && parse_size(o->size, 1, &size)) {
		fprintf(stderr, "vmon img: bad size '%s'\n", o->size);
		return 2;
	}
	if (!o->size && !o->backing)
		return usage();
	if (size > (uint64_t)INT64_MAX - 511) {
		fprintf(stderr, "vmon img: size %llu: too large\n",
			(unsigned long long)size);
		return 2;
	}
	create_line(path, o, &h, size);
	h.size = (size + 511) & ~511ULL;
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "vmon img: %s: cannot create: %s\n", path,
			strerror(errno));
		return 1;
	}
	if (o->raw)
		r = ftruncate(fd, (off_t)h.size) ? -errno : 0;
	else
		r = qcow2_create_fd(fd, &h);
	close(fd);
	if (r) {
		fprintf(stderr, "vmon img: %s: cannot create: %s\n", path,
			r == -EFBIG ?
				"too large for its cluster size (the L1 table would pass 32 MiB)" :
			r == -ENAMETOOLONG ?
				"the backing file's name does not fit in the header's cluster" :
				strerror(-r));
		unlink(path);
		return 1;
	}
	return 0;
}

static int cmd_create(int argc, char **argv)
{
	struct create_opts o = { .cluster_bits = 16,
				 .version = 3,
				 .refcount_order = 4 };
	char *opts[16];
	unsigned int nopts = 0;
	int i = 1, r;

	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-q")) {
			o.quiet = true;
			continue;
		}
		if (i + 1 >= argc)
			return usage();
		if (!strcmp(a, "-b"))
			o.backing = argv[++i];
		else if (!strcmp(a, "-F"))
			o.bfmt = argv[++i];
		else if (!strcmp(a, "-o") && nopts < 16)
			opts[nopts++] = argv[++i];
		else if (!strcmp(a, "-f") && (!strcmp(argv[i + 1], "qcow2") ||
					      !strcmp(argv[i + 1], "raw")))
			o.raw = !strcmp(argv[++i], "raw");
		else
			return usage();
	}
	for (unsigned int k = 0; k < nopts; k++)
		if ((r = create_options(&o, opts[k])))
			return r < 0 ? 0 : r;
	if ((r = create_check(&o)))
		return r;
	if (i >= argc || argc - i > 2 || (o.size && argc - i > 1))
		return usage();
	if (argc - i == 2)
		o.size = argv[i + 1];
	return create(argv[i], &o);
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
	if (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h")) {
		print_usage(stdout);
		return 0;
	}
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
