// SPDX-License-Identifier: GPL-2.0-only
/*
 * img_convert.c - `vmon img convert` (docs/qcow2.md): the guest bytes of
 * an image (through its whole backing chain) copied into a new raw or
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

/* One side of a conversion: a qcow2 engine, or a raw file. */
struct side {
	const char *path;
	struct qcow2 *q;
	int fd;
};

static bool zero(const uint8_t *p, size_t n)
{
	return !p[0] && !memcmp(p, p + 1, n - 1);
}

static int side_read(struct side *s, uint8_t *buf, uint64_t off, size_t n)
{
	ssize_t got;

	if (s->q)
		return qcow2_read(s->q, off, buf, n);
	got = pread(s->fd, buf, n, (off_t)off);
	if (got < 0)
		return -errno;
	memset(buf + got, 0, n - (size_t)got); /* past the file's end */
	return 0;
}

static int side_write(struct side *s, const uint8_t *buf, uint64_t off,
		      size_t n)
{
	if (s->q)
		return qcow2_write(s->q, off, buf, n);
	if (pwrite(s->fd, buf, n, (off_t)off) != (ssize_t)n)
		return errno ? -errno : -EIO;
	return 0;
}

static void side_close(struct side *s)
{
	qcow2_close(s->q);
	if (s->fd >= 0)
		close(s->fd);
}

/* @src's opening: its format @fmt (NULL: probed) and virtual size. */
static int open_src(struct side *s, const char *fmt, uint64_t *size)
{
	const char *found = img_probe(s->path, size);

	if (!found)
		return 1;
	if (!fmt)
		fmt = found;
	if (!strcmp(fmt, "qcow2")) {
		if (strcmp(found, "qcow2") != 0) {
			fprintf(stderr, "vmon img: %s: not a qcow2 image\n",
				s->path);
			return 1;
		}
		s->q = img_open(s->path, true);
		if (!s->q)
			return 1;
		*size = qcow2_size(s->q);
		return 0;
	}
	s->fd = open(s->path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0) {
		fprintf(stderr, "vmon img: %s: %s\n", s->path, strerror(errno));
		return 1;
	}
	return 0;
}

/*
 * A qcow2 output's cluster @off from @len bytes at @p (the image's last
 * cluster may be short: zeros after them), compressed where that makes
 * it smaller.
 */
static int write_compressed(struct side *d, const uint8_t *p, uint64_t off,
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
	return r == 1 ? side_write(d, p, off, len) : r;
}

/* Pieces of @n bytes at @off from @buf that are not all zeros, written
 * (@compress: each a compressed cluster where it gets smaller). */
static int copy_pieces(struct side *d, const uint8_t *buf, uint64_t off,
		       size_t n, size_t piece, bool compress)
{
	for (size_t k = 0; k < n; k += piece) {
		size_t len = n - k < piece ? n - k : piece;
		int r;

		if (zero(buf + k, len))
			continue;
		r = compress ?
			    write_compressed(d, buf + k, off + k, len, piece) :
			    side_write(d, buf + k, off + k, len);
		if (r)
			return r;
	}
	return 0;
}

static int copy(struct side *s, struct side *d, uint64_t size, bool show,
		bool compress)
{
	uint8_t *buf = malloc(CONVERT_CHUNK);
	size_t piece = d->q ? (size_t)1 << qcow2_hdr(d->q)->cluster_bits :
			      RAW_HOLE;
	int r = buf ? 0 : -ENOMEM, last = -1;
	uint64_t off = 0;

	if (piece > CONVERT_CHUNK)
		piece = CONVERT_CHUNK;
	while (!r && off < size) {
		size_t n = size - off < CONVERT_CHUNK ? (size_t)(size - off) :
							CONVERT_CHUNK;

		r = side_read(s, buf, off, n);
		if (r) {
			fprintf(stderr, "vmon img: %s: read at %llu: %s\n",
				s->path, (unsigned long long)off, strerror(-r));
			break;
		}
		r = copy_pieces(d, buf, off, n, piece, compress);
		if (r)
			fprintf(stderr, "vmon img: %s: write at %llu: %s\n",
				d->path, (unsigned long long)off, strerror(-r));
		off += n;
		if (show)
			img_progress(off, size, &last);
	}
	if (!r)
		r = d->q ? qcow2_flush(d->q) : fdatasync(d->fd) ? -errno : 0;
	if (show) {
		img_progress(size, size, &last);
		printf("\n");
	}
	free(buf);
	return r;
}

/* Whether @a and @b name the same file (@b may not exist). */
static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

int img_cmd_convert(int argc, char **argv)
{
	struct create_opts o = CREATE_OPTS_DEFAULT;
	struct side s = { .fd = -1 }, d = { .fd = -1 };
	const char *sfmt = NULL, *ofmt = "raw";
	char *opts[16], size_s[32];
	unsigned int nopts = 0;
	bool show = false, compress = false;
	uint64_t size;
	int i = 1, r;

	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-p")) {
			show = true;
			continue;
		}
		if (!strcmp(a, "-q")) {
			show = false;
			continue;
		}
		if (!strcmp(a, "-c")) {
			compress = true;
			continue;
		}
		if (i + 1 >= argc)
			return img_usage();
		if (!strcmp(a, "-f"))
			sfmt = argv[++i];
		else if (!strcmp(a, "-O"))
			ofmt = argv[++i];
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
	if (compress && o.raw) {
		fprintf(stderr,
			"vmon img: convert -c: compressed output needs -O qcow2\n");
		return 2;
	}
	for (unsigned int k = 0; k < nopts; k++)
		if ((r = img_create_options(&o, opts[k])))
			return r < 0 ? 0 : r;
	if ((r = img_create_check(&o)))
		return r;
	if (o.backing || o.size) {
		fprintf(stderr,
			"vmon img: convert: the output's size and content are the source's (no backing_file or size option)\n");
		return 2;
	}
	if (argc - i != 2)
		return img_usage();
	s.path = argv[i];
	d.path = argv[i + 1];
	if (same_file(s.path, d.path)) {
		fprintf(stderr, "vmon img: convert: %s is the source itself\n",
			d.path);
		return 2;
	}
	if ((r = open_src(&s, sfmt, &size))) {
		side_close(&s);
		return r;
	}
	snprintf(size_s, sizeof(size_s), "%llu", (unsigned long long)size);
	o.size = size_s;
	o.quiet = true; /* qemu-img convert prints no "Formatting" line */
	r = img_create(d.path, &o);
	if (!r) {
		if (o.raw && (d.fd = open(d.path, O_WRONLY | O_CLOEXEC)) < 0)
			fprintf(stderr, "vmon img: %s: %s\n", d.path,
				strerror(errno));
		else if (!o.raw)
			d.q = img_open(d.path, false);
		r = d.fd < 0 && !d.q		       ? 1 :
		    copy(&s, &d, size, show, compress) ? 1 :
							 0;
	}
	side_close(&d);
	side_close(&s);
	return r;
}
