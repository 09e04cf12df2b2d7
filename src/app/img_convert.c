// SPDX-License-Identifier: GPL-2.0-only
/*
 * img_convert.c - `vmon img convert` (docs/qcow2.md): the guest bytes of
 * an image (through its whole backing chain), or of several one after
 * the other, copied into a new raw or
 * qcow2 image, as `qemu-img convert` makes it: the output's format and
 * options as `img create` takes them, runs of zeros left unallocated
 * (holes in a raw file, clusters never allocated in a qcow2 one), with
 * -c each qcow2 cluster compressed where that makes it smaller.
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

/* Bytes read at a time, and the granularity of a raw output's holes. */
#define CONVERT_CHUNK (2U << 20)
#define RAW_HOLE 4096U
/* Sources of one conversion, at most. */
#define CONVERT_MAX_SRC 64

static bool zero(const uint8_t *p, size_t n)
{
	return !p[0] && !memcmp(p, p + 1, n - 1);
}

static int side_write(struct img_file *s, const uint8_t *buf, uint64_t off,
		      size_t n)
{
	if (s->q)
		return qcow2_write(s->q, off, buf, n);
	if (pwrite(s->fd, buf, n, (off_t)off) != (ssize_t)n)
		return errno ? -errno : -EIO;
	return 0;
}

/*
 * A qcow2 output's cluster @off from @len bytes at @p (the image's last
 * cluster may be short: zeros after them), compressed where that makes
 * it smaller.
 */
static int write_compressed(struct img_file *d, const uint8_t *p, uint64_t off,
			    size_t len, size_t cs)
{
	static uint8_t pad[1U << QCOW2_MAX_CLUSTER_BITS];
	int r;

	if (len < cs) {
		memcpy(pad, p, len);
		memset(pad + len, 0, cs - len);
		p = pad;
	}
	r = qcow2_write_compressed(d->q, off, p);
	/* Not smaller, or the cluster is allocated already (-n): plain. */
	return r == 1 || r == -EEXIST ? side_write(d, p, off, len) : r;
}

/* How the output is written. */
struct how {
	bool compress; /* -c */
	bool compare; /* the output reads non-zero somewhere (-B, -n) */
	bool show; /* -p */
};

/* @len bytes at @off of the output read as zeros afterwards. */
static int side_zero(struct img_file *d, uint64_t off, size_t len)
{
	static const uint8_t z[1 << 16];

	if (d->q)
		return qcow2_zero(d->q, off, len, false);
	for (size_t k = 0; k < len; k += sizeof(z)) {
		int r = side_write(d, z, off + k,
				   len - k < sizeof(z) ? len - k : sizeof(z));

		if (r)
			return r;
	}
	return 0;
}

/*
 * The pieces of @n bytes at @off from @buf that differ from what the
 * output reads (@cur: a buffer for it; zeros unless @h->compare),
 * written: zeros as zeros, the rest as data (@h->compress: a compressed
 * cluster where it gets smaller, and where the cluster is free).
 */
static int copy_pieces(struct img_file *d, const uint8_t *buf, uint8_t *cur,
		       uint64_t off, size_t n, size_t piece,
		       const struct how *h)
{
	int r = h->compare ? img_file_read(d, cur, off, n) : 0;
	size_t run = 0, at = 0; /* data pieces in a row, not written yet */

	for (size_t k = 0; !r && k < n; k += piece) {
		size_t len = n - k < piece ? n - k : piece;
		bool z = zero(buf + k, len);
		bool same = h->compare ? !memcmp(buf + k, cur + k, len) : z;

		if (!same && !z && !h->compress) {
			at = run ? at : k;
			run += len;
			continue;
		}
		if (run) /* one write for the data pieces before this one */
			r = side_write(d, buf + at, off + at, run);
		run = 0;
		if (r || same)
			continue;
		if (z)
			r = side_zero(d, off + k, len);
		else
			r = write_compressed(d, buf + k, off + k, len, piece);
	}
	if (!r && run)
		r = side_write(d, buf + at, off + at, run);
	return r;
}

/* Where a conversion is: the output's bytes copied and the total. */
struct progress {
	uint64_t done, total;
	int last;
};

/*
 * Source @s (its @s->size bytes) into the output @d from byte @at on;
 * the progress in @p.
 */
static int copy(struct img_file *s, struct img_file *d, uint64_t at,
		const struct how *h, struct progress *p)
{
	uint8_t *buf = malloc(CONVERT_CHUNK), *cur = malloc(CONVERT_CHUNK);
	size_t piece = d->q ? (size_t)1 << qcow2_hdr(d->q)->cluster_bits :
			      RAW_HOLE;
	int r = buf && cur ? 0 : -ENOMEM;
	uint64_t off = 0;

	/* With extended L2 entries, 4 KiB runs of zeros stay unallocated
	 * subclusters, as qemu-img convert leaves them. */
	if (d->q && !h->compress &&
	    qcow2_hdr(d->q)->incompat & QCOW2_INCOMPAT_EXTL2)
		piece = RAW_HOLE;
	if (piece > CONVERT_CHUNK)
		piece = CONVERT_CHUNK;
	while (!r && off < s->size) {
		size_t n = s->size - off < CONVERT_CHUNK ?
				   (size_t)(s->size - off) :
				   CONVERT_CHUNK;
		uint64_t pos = at + off; /* in the output */

		r = img_file_read(s, buf, off, n);
		if (r) {
			fprintf(stderr, "vmon img: %s: read at %llu: %s\n",
				s->path, (unsigned long long)off, strerror(-r));
			break;
		}
		r = copy_pieces(d, buf, cur, pos, n, piece, h);
		if (r)
			fprintf(stderr, "vmon img: %s: write at %llu: %s\n",
				d->path, (unsigned long long)pos, strerror(-r));
		off += n;
		p->done += n;
		if (h->show)
			img_progress(p->done, p->total, &p->last);
	}
	free(buf);
	free(cur);
	return r;
}

/* Whether @a and @b name the same file (@b may not exist). */
static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* Opens an existing output (-n) of format @raw or qcow2, of @size bytes
 * at least. */
static int open_existing(struct img_file *d, bool raw, uint64_t size)
{
	uint64_t have = 0;

	if (raw) {
		d->fd = open(d->path, O_WRONLY | O_CLOEXEC);
		if (d->fd < 0) {
			fprintf(stderr, "vmon img: %s: %s\n", d->path,
				strerror(errno));
			return 1;
		}
		have = (uint64_t)lseek(d->fd, 0, SEEK_END);
		close(d->fd);
		d->fd = open(d->path, O_RDWR | O_CLOEXEC);
		if (d->fd < 0)
			return 1;
	} else {
		d->q = img_open(d->path, false);
		if (!d->q)
			return 1;
		have = qcow2_size(d->q);
	}
	if (have < size) {
		fprintf(stderr,
			"vmon img: %s: smaller (%llu bytes) than the source (%llu)\n",
			d->path, (unsigned long long)have,
			(unsigned long long)size);
		return 1;
	}
	return 0;
}

int img_cmd_convert(int argc, char **argv)
{
	struct create_opts o = CREATE_OPTS_DEFAULT;
	struct img_file src[CONVERT_MAX_SRC], d = { .fd = -1 };
	struct progress p = { .last = -1 };
	const char *sfmt = NULL, *ofmt = "raw", *fmt;
	char *opts[16], size_s[32];
	unsigned int nopts = 0;
	struct how h = { 0 };
	bool existing = false;
	uint64_t size = 0, at = 0;
	unsigned int nsrc = 0;
	int i = 1, r = 0;

	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-p") || !strcmp(a, "-q")) {
			h.show = a[1] == 'p';
			continue;
		}
		if (!strcmp(a, "-c") || !strcmp(a, "-n")) {
			h.compress |= a[1] == 'c';
			existing |= a[1] == 'n';
			continue;
		}
		if (i + 1 >= argc)
			return img_usage();
		if (!strcmp(a, "-f"))
			sfmt = argv[++i];
		else if (!strcmp(a, "-O"))
			ofmt = argv[++i];
		else if (!strcmp(a, "-B"))
			o.backing = argv[++i];
		else if (!strcmp(a, "-F"))
			o.bfmt = argv[++i];
		else if (!strcmp(a, "-o") && nopts < 16)
			opts[nopts++] = argv[++i];
		else
			return img_usage();
	}
	if ((sfmt && strcmp(sfmt, "raw") != 0 && strcmp(sfmt, "qcow2") != 0) ||
	    (strcmp(ofmt, "raw") != 0 && strcmp(ofmt, "qcow2") != 0)) {
		fprintf(stderr,
			"vmon img: convert: formats are raw or qcow2\n");
		return 2;
	}
	o.raw = !strcmp(ofmt, "raw");
	if (h.compress && o.raw) {
		fprintf(stderr,
			"vmon img: convert -c: compressed output needs -O qcow2\n");
		return 2;
	}
	if (o.backing && (o.raw || existing)) {
		fprintf(stderr,
			"vmon img: convert -B: a new qcow2 output only (-O qcow2, not -n)\n");
		return 2;
	}
	for (unsigned int k = 0; k < nopts; k++) {
		const char *b = o.backing;

		if ((r = img_create_options(&o, opts[k])))
			return r < 0 ? 0 : r;
		if (o.backing != b || o.size) {
			fprintf(stderr,
				"vmon img: convert: the output's size is the source's, its backing file -B's (no size or backing_file option)\n");
			return 2;
		}
	}
	if ((r = img_create_check(&o)))
		return r;
	if (argc - i < 2)
		return img_usage();
	if (argc - i - 1 > CONVERT_MAX_SRC) {
		fprintf(stderr, "vmon img: convert: at most %d sources\n",
			CONVERT_MAX_SRC);
		return 2;
	}
	d.path = argv[argc - 1];
	for (; i < argc - 1; i++) {
		if (same_file(argv[i], d.path)) {
			fprintf(stderr,
				"vmon img: convert: %s is the source itself\n",
				d.path);
			r = 2;
			break;
		}
		src[nsrc] = (struct img_file){ .fd = -1, .path = argv[i] };
		fmt = sfmt; /* -f, or each source's own */
		if ((r = img_file_open(&src[nsrc++], &fmt)))
			break;
		/* Sources in a row make one output, as in qemu-img. */
		if (src[nsrc - 1].size > UINT64_MAX - size) {
			fprintf(stderr, "vmon img: convert: too large\n");
			r = 2;
			break;
		}
		size += src[nsrc - 1].size;
	}
	d.size = size; /* at least: what is compared is the sources' range */
	/* What the output reads already: its backing file's, or anything. */
	h.compare = o.backing || existing;
	if (!r && existing) {
		r = open_existing(&d, o.raw, size);
	} else if (!r) {
		snprintf(size_s, sizeof(size_s), "%llu",
			 (unsigned long long)size);
		o.size = size_s;
		o.quiet = true; /* qemu-img convert prints no "Formatting" */
		r = img_create(d.path, &o);
		if (!r && o.raw &&
		    (d.fd = open(d.path, O_RDWR | O_CLOEXEC)) < 0) {
			fprintf(stderr, "vmon img: %s: %s\n", d.path,
				strerror(errno));
			r = 1;
		} else if (!r && !o.raw && !(d.q = img_open(d.path, false))) {
			r = 1;
		}
	}
	p.total = size;
	for (unsigned int k = 0; !r && k < nsrc; k++) {
		r = copy(&src[k], &d, at, &h, &p) ? 1 : 0;
		at += src[k].size;
	}
	if (!r) {
		int f = d.q ? qcow2_flush(d.q) : fdatasync(d.fd) ? -errno : 0;

		if (f) {
			fprintf(stderr, "vmon img: %s: flush: %s\n", d.path,
				strerror(-f));
			r = 1;
		}
	}
	if (h.show) {
		if (!r)
			img_progress(size, size, &p.last);
		printf("\n");
	}
	img_file_close(&d);
	for (unsigned int k = 0; k < nsrc; k++)
		img_file_close(&src[k]);
	return r;
}
