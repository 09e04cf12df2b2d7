// SPDX-License-Identifier: GPL-2.0-only
/*
 * img_create.c - `vmon img create` (docs/qcow2.md): a new qcow2 image
 * with qemu-img create's options (-o), or a raw file; the option parser
 * convert shares.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../block/qcow2.h"
#include "../util/parse.h"
#include "img_int.h"

/* The virtual size of backing file @name of @path, of format @fmt. */
static int backing_size(const char *path, const char *name, const char *fmt,
			uint64_t *size)
{
	char full[4096];
	const char *found;
	struct qcow2 *q;

	img_resolve(path, name, full, sizeof(full));
	found = img_probe(full, size);
	if (!found)
		return -1;
	if (!strcmp(fmt, "raw"))
		return 0;
	if (strcmp(found, "qcow2") != 0) {
		fprintf(stderr, "vmon img: %s: not a qcow2 image\n", full);
		return -1;
	}
	q = img_open(full, true);
	if (!q)
		return -1;
	*size = qcow2_size(q);
	qcow2_close(q);
	return 0;
}

static const char create_help[] =
	"Supported options:\n"
	"  backing_file=<str>     - File name of a base image\n"
	"  backing_fmt=<str>      - Image format of the base image (raw or qcow2)\n"
	"  cluster_size=<size>    - qcow2 cluster size (512 to 2M, a power of two)\n"
	"  compat=<str>           - Compatibility level (v2 [0.10] or v3 [1.1])\n"
	"  compression_type=<str> - zlib or zstd (v3)\n"
	"  extended_l2=<bool (on/off)> - Extended L2 tables\n"
	"  lazy_refcounts=<bool (on/off)> - Postpone refcount updates (v3)\n"
	"  preallocation=<str>    - Preallocation mode (off, metadata, falloc, full)\n"
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
		static const char *const modes[] = { "off", "metadata",
						     "falloc", "full" };

		o->prealloc = -1;
		for (int m = 0; m < 4; m++)
			if (!strcmp(v, modes[m]))
				o->prealloc = m;
		if (o->prealloc < 0 ||
		    (o->raw && o->prealloc == QCOW2_PREALLOC_METADATA))
			goto invalid;
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
		o->extl2 = b;
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
}

int img_create_options(struct create_opts *o, char *list)
{
	char *p = list, *w = list, *kv = list;

	if (!strcmp(list, "help") || !strcmp(list, "?")) {
		fputs(o->raw ?
			      "Supported options:\n"
			      "  preallocation=<str>    - off, falloc, full\n"
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

int img_create_check(const struct create_opts *o)
{
	const char *why = NULL;

	if (o->version == 2 && o->refcount_order != 4)
		why = "refcount widths other than 16 bits need compat=1.1";
	else if (o->version == 2 && o->lazy)
		why = "lazy refcounts need compat=1.1";
	else if (o->version == 2 && o->zstd)
		why = "compression_type=zstd needs compat=1.1";
	else if (o->version == 2 && o->extl2)
		why = "extended_l2=on needs compat=1.1";
	else if (o->extl2 && o->cluster_bits < QCOW2_EXTL2_MIN_CLUSTER_BITS)
		why = "extended_l2=on needs a cluster_size of at least 16384 bytes";
	else if (o->backing && o->prealloc > 0 && !o->extl2)
		why = "preallocation with a backing file needs extended_l2=on";
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
	static const char *const modes[] = { "off", "metadata", "falloc",
					     "full" };

	if (o->raw) {
		printf("Formatting '%s', fmt=raw size=%llu", path,
		       (unsigned long long)size);
		if (o->prealloc >= 0)
			printf(" preallocation=%s", modes[o->prealloc]);
		printf("\n");
		return;
	}
	printf("Formatting '%s', fmt=qcow2 cluster_size=%llu extended_l2=%s",
	       path, 1ULL << h->cluster_bits, o->extl2 ? "on" : "off");
	if (o->prealloc >= 0)
		printf(" preallocation=%s", modes[o->prealloc]);
	printf(" compression_type=%s size=%llu", o->zstd ? "zstd" : "zlib",
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

/* A raw file of @size bytes, preallocated as @pre says (-1: off). */
static int raw_prealloc(int fd, uint64_t size, int pre)
{
	if (ftruncate(fd, (off_t)size))
		return -errno;
	return pre < 0 ? 0 :
			 qcow2_prealloc_range(fd, 0, size,
					      (enum qcow2_prealloc)pre);
}

int img_create(const char *path, struct create_opts *o)
{
	struct qcow2_header h = {
		.version = o->version,
		.cluster_bits = o->cluster_bits,
		.refcount_order = o->refcount_order,
		.compat = o->lazy ? QCOW2_COMPAT_LAZY_REFCOUNTS : 0,
		.incompat = o->extl2 ? QCOW2_INCOMPAT_EXTL2 : 0,
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
		img_resolve(path, o->backing, full, sizeof(full));
		if (!bfmt && !(bfmt = img_probe(full, &bsize)))
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
		return img_usage();
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
		r = raw_prealloc(fd, h.size, o->prealloc);
	else
		r = qcow2_create_fd(fd, &h,
				    o->prealloc < 0 ?
					    QCOW2_PREALLOC_OFF :
					    (enum qcow2_prealloc)o->prealloc);
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

int img_cmd_create(int argc, char **argv)
{
	struct create_opts o = CREATE_OPTS_DEFAULT;
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
			return img_usage();
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
			return img_usage();
	}
	for (unsigned int k = 0; k < nopts; k++)
		if ((r = img_create_options(&o, opts[k])))
			return r < 0 ? 0 : r;
	if ((r = img_create_check(&o)))
		return r;
	if (i >= argc || argc - i > 2 || (o.size && argc - i > 1))
		return img_usage();
	if (argc - i == 2)
		o.size = argv[i + 1];
	return img_create(argv[i], &o);
}
