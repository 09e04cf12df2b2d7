// SPDX-License-Identifier: GPL-2.0-only
/*
 * merge.c - applying a Diff snapshot to the snapshot it follows
 * (snapshot_merge(), `vmon snapshot-merge`, as Firecracker's
 * `snapshot-editor edit-memory rebase`): the diff's pages into the base's
 * memory file, then the diff's state, as a Full snapshot's, over the
 * base's state file.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../vmm/dirty.h"
#include "snapshot.h"

#define CHUNK (1U << 20)

static int check_pair(const struct snapshot *base, const struct snapshot *diff,
		      char *err, size_t errlen)
{
	if (diff->info.type != SNAPSHOT_DIFF) {
		snprintf(err, errlen, "the second snapshot is not a Diff");
		return -1;
	}
	if (base->info.mem_size != diff->info.mem_size) {
		snprintf(err, errlen,
			 "the base has %llu bytes of memory, the diff %llu",
			 (unsigned long long)base->info.mem_size,
			 (unsigned long long)diff->info.mem_size);
		return -1;
	}
	if (diff->info.parent != base->info.id) {
		snprintf(
			err, errlen,
			"the diff follows snapshot %016llx, the base is %016llx (merge the diffs in order)",
			(unsigned long long)diff->info.parent,
			(unsigned long long)base->info.id);
		return -1;
	}
	return 0;
}

/* Copies [off, off + len) of @from to @to. 0 or -1 (errno). */
static int copy_range(int from, int to, uint64_t off, uint64_t len,
		      uint8_t *buf)
{
	while (len) {
		size_t n = len < CHUNK ? (size_t)len : CHUNK;
		ssize_t got = pread(from, buf, n, (off_t)off);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			errno = got ? errno : EIO;
			return -1;
		}
		for (ssize_t done = 0; done < got;) {
			ssize_t w = pwrite(to, buf + done, (size_t)(got - done),
					   (off_t)off + done);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return -1;
			done += w;
		}
		off += (uint64_t)got;
		len -= (uint64_t)got;
	}
	return 0;
}

/* Every run of pages in the diff's map, from its file to @to. */
static int copy_pages(const struct snapshot *diff, int to)
{
	uint64_t npages = diff->info.mem_size / DIRTY_PAGE, run = 0;
	uint8_t *buf = malloc(CHUNK);
	int ret = 0;

	if (!buf)
		return -1;
	for (uint64_t p = 0; p <= npages && !ret; p++) {
		bool in = p < npages && (diff->pages[p / 64] >> (p % 64) & 1);

		if (in)
			continue;
		if (p > run)
			ret = copy_range(diff->mem_fd, to, run * DIRTY_PAGE,
					 (p - run) * DIRTY_PAGE, buf);
		run = p + 1;
	}
	free(buf);
	return ret;
}

static void sync_dir(const char *path)
{
	char dir[PATH_MAX];
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* Both opened and checked: the state first goes, then the pages come. */
static int apply(const struct snapshot *diff, const char *base_state,
		 const char *base_mem, char *err, size_t errlen)
{
	struct state_writer file;
	int fd, ret = -1;

	state_writer_init(&file);
	if (snapshot_state_as_full(diff, &file)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	fd = open(base_mem, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || unlink(base_state)) {
		snprintf(err, errlen, "%.300s: %s",
			 fd < 0 ? base_mem : base_state, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	sync_dir(base_state);
	if (copy_pages(diff, fd) || fsync(fd)) {
		snprintf(err, errlen, "memory file %.300s: %s", base_mem,
			 strerror(errno));
		close(fd);
		goto out;
	}
	close(fd);
	ret = snapfile_write(base_state, file.data, file.len, err, errlen);
out:
	state_writer_free(&file);
	return ret;
}

int snapshot_merge(const char *base_state, const char *base_mem,
		   const char *diff_state, const char *diff_mem, char *err,
		   size_t errlen)
{
	struct snapshot base, diff;
	char why[SNAPSHOT_ERR_MAX];
	int ret = -1;

	if (snapshot_open(&base, base_state, base_mem, NULL, why,
			  sizeof(why))) {
		snprintf(err, errlen, "base: %s", why);
		return -1;
	}
	if (snapshot_open(&diff, diff_state, diff_mem, NULL, why,
			  sizeof(why))) {
		snprintf(err, errlen, "diff: %s", why);
		snapshot_close(&base);
		return -1;
	}
	if (!check_pair(&base, &diff, err, errlen))
		ret = apply(&diff, base_state, base_mem, err, errlen);
	snapshot_close(&base);
	snapshot_close(&diff);
	return ret;
}
