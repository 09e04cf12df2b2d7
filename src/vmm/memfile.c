// SPDX-License-Identifier: GPL-2.0-only
/*
 * memfile.c - opens the file behind file-backed guest RAM (memfile.h).
 */
#include "memfile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/log.h"

int memfile_open(const char *path, uint64_t size)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EISDIR)
		fd = open(path, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		pr_err("memory file %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		pr_err("memory file %s: not a regular file", path);
		close(fd);
		return -1;
	}
	if ((uint64_t)st.st_size < size && ftruncate(fd, (off_t)size)) {
		pr_err("memory file %s: cannot grow to %llu MiB: %s", path,
		       (unsigned long long)(size >> 20), strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}
