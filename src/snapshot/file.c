// SPDX-License-Identifier: GPL-2.0-only
/*
 * file.c - a snapshot's files on disk (file.h): packing and checking the
 * state file's head and checksum, reading it, and writing any snapshot
 * file crash-safe through a temporary file that is renamed into place.
 */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc64.h"

#define PAGE 4096

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int snapfile_pack(const struct state_writer *payload, struct state_writer *out)
{
	state_writer_init(out);
	state_put_bytes(out, SNAPSHOT_MAGIC, 8);
	state_put_u32(out, SNAPSHOT_FORMAT_VERSION);
	state_put_u32(out, 0); /* flags */
	state_put_u64(out, payload->len);
	state_put_bytes(out, payload->data, payload->len);
	if (out->failed || payload->failed)
		return -1;
	state_put_u64(out, crc64(0, out->data, out->len));
	return out->failed ? -1 : 0;
}

int snapfile_unpack(const uint8_t *data, size_t len, const uint8_t **payload,
		    size_t *plen, char *err, size_t errlen)
{
	uint64_t n, crc;
	uint32_t version;

	if (len < 8 || memcmp(data, SNAPSHOT_MAGIC, 8) != 0) {
		snprintf(err, errlen, "not a vmon snapshot state file");
		return -1;
	}
	if (len < SNAPSHOT_HEAD_SIZE + SNAPSHOT_CRC_SIZE) {
		snprintf(err, errlen, "truncated: %zu bytes", len);
		return -1;
	}
	version = (uint32_t)le64(data + 8) & 0xffffffffU;
	if (version != SNAPSHOT_FORMAT_VERSION) {
		snprintf(
			err, errlen,
			"snapshot format version %u, this vmon reads version %u",
			version, SNAPSHOT_FORMAT_VERSION);
		return -1;
	}
	n = le64(data + 16);
	if (n != len - SNAPSHOT_HEAD_SIZE - SNAPSHOT_CRC_SIZE) {
		snprintf(
			err, errlen,
			"%s: the head announces %llu bytes of state, the file holds %zu",
			n > len ? "truncated" : "wrong length",
			(unsigned long long)n,
			len - SNAPSHOT_HEAD_SIZE - SNAPSHOT_CRC_SIZE);
		return -1;
	}
	crc = crc64(0, data, len - SNAPSHOT_CRC_SIZE);
	if (crc != le64(data + len - SNAPSHOT_CRC_SIZE)) {
		snprintf(
			err, errlen,
			"checksum mismatch (CRC-64 0x%016llx, the file says 0x%016llx): the file is corrupt",
			(unsigned long long)crc,
			(unsigned long long)le64(data + len -
						 SNAPSHOT_CRC_SIZE));
		return -1;
	}
	*payload = data + SNAPSHOT_HEAD_SIZE;
	*plen = (size_t)n;
	return 0;
}

uint8_t *snapfile_read(const char *path, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t *buf = NULL;
	struct stat st;
	size_t got = 0;

	*err = 0;
	if (fd < 0 || fstat(fd, &st)) {
		snprintf(err, errlen, "%s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > SNAPSHOT_STATE_MAX) {
		snprintf(err, errlen, "not a regular file of at most %u MiB",
			 SNAPSHOT_STATE_MAX >> 20);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	while (buf && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n <= 0) {
			snprintf(err, errlen, "%s",
				 n ? strerror(errno) : "changed while read");
			free(buf);
			buf = NULL;
			break;
		}
		got += (size_t)n;
	}
	if (!buf && got == 0 && !*err)
		snprintf(err, errlen, "out of memory");
	*len = got;
out:
	if (fd >= 0)
		close(fd);
	return buf;
}

/* Opens a new temporary file next to @path; its name in @tmp. */
static int create_tmp(const char *path, char *tmp, size_t len, char *err,
		      size_t errlen)
{
	int fd;

	if (snprintf(tmp, len, "%s.tmp-XXXXXX", path) >= (int)len) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		snprintf(err, errlen, "%s", strerror(errno));
	else
		fchmod(fd, 0600);
	return fd;
}

/* fsync, close, rename over @path, fsync the folder; -1 removes @tmp. */
static int commit_tmp(int fd, const char *tmp, const char *path, char *err,
		      size_t errlen)
{
	char dir[PATH_MAX];
	int dfd;

	if (fsync(fd) || close(fd) || rename(tmp, path)) {
		snprintf(err, errlen, "%s", strerror(errno));
		unlink(tmp);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

static int write_all(int fd, const uint8_t *p, size_t len, off_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static int abort_tmp(int fd, const char *tmp, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s", strerror(errno ? errno : EIO));
	close(fd);
	unlink(tmp);
	return -1;
}

int snapfile_write(const char *path, const void *data, size_t len, char *err,
		   size_t errlen)
{
	char tmp[PATH_MAX];
	int fd = create_tmp(path, tmp, sizeof(tmp), err, errlen);

	if (fd < 0)
		return -1;
	if (write_all(fd, data, len, 0))
		return abort_tmp(fd, tmp, err, errlen);
	return commit_tmp(fd, tmp, path, err, errlen);
}

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *q = (const uint64_t *)(const void *)p;

	for (size_t i = 0; i < PAGE / 8; i++)
		if (q[i])
			return false;
	return true;
}

static bool page_skipped(const uint8_t *mem, uint64_t off,
			 const uint64_t *pages)
{
	uint64_t n = off / PAGE;

	if (pages)
		return !(pages[n / 64] >> (n % 64) & 1);
	return page_is_zero(mem + off);
}

int snapfile_write_memory(const char *path, const uint8_t *mem, uint64_t size,
			  const uint64_t *pages, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	int fd = create_tmp(path, tmp, sizeof(tmp), err, errlen);
	uint64_t run = 0; /* start of the pending run of non-zero pages */

	if (fd < 0)
		return -1;
	if (size % PAGE) {
		errno = EINVAL;
		return abort_tmp(fd, tmp, err, errlen);
	}
	if (ftruncate(fd, (off_t)size))
		return abort_tmp(fd, tmp, err, errlen);
	for (uint64_t off = 0; off <= size; off += PAGE) {
		bool skip = off == size || page_skipped(mem, off, pages);

		if (!skip)
			continue;
		if (off > run &&
		    write_all(fd, mem + run, off - run, (off_t)run))
			return abort_tmp(fd, tmp, err, errlen);
		run = off + PAGE;
	}
	return commit_tmp(fd, tmp, path, err, errlen);
}
