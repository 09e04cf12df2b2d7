// SPDX-License-Identifier: GPL-2.0-only
/*
 * wset.c - recorded working sets (wset.h): reading, growing, writing.
 */
#include "wset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"
#include "../util/le.h"

#define PAGE 4096ULL

static const uint8_t magic[8] = { 'V', 'M', 'O', 'N', 'W', 'S', 'E', 'T' };

int wset_add(struct wset *w, uint64_t offset)
{
	if (w->nr == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 1024;
		uint64_t *p = realloc(w->pages, cap * sizeof(*p));

		if (!p)
			return -1;
		w->pages = p;
		w->cap = cap;
	}
	w->pages[w->nr++] = offset;
	return 0;
}

int wset_load(struct wset *w, const char *path, uint64_t file_size, char *err,
	      size_t errlen)
{
	size_t len = 0;
	uint8_t *data;
	uint64_t n;
	int ret = -1;

	memset(w, 0, sizeof(*w));
	if (access(path, F_OK) && errno == ENOENT)
		return 1;
	data = snapfile_read(path, &len, err, errlen);
	if (!data)
		return -1;
	n = len >= 16 ? get_le64(data + 8) : 0;
	if (len < 16 || memcmp(data, magic, sizeof(magic)) != 0 ||
	    n != (len - 16) / 8 || (len - 16) % 8) {
		snprintf(err, errlen, "not a vmon working set file");
		goto out;
	}
	for (uint64_t i = 0; i < n; i++) {
		uint64_t off = get_le64(data + 16 + 8 * i);

		if (off % PAGE || off >= file_size) {
			snprintf(err, errlen,
				 "page offset 0x%llx: outside the memory file",
				 (unsigned long long)off);
			goto out;
		}
		if (wset_add(w, off)) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	ret = 0;
out:
	if (ret)
		wset_free(w);
	free(data);
	return ret;
}

int wset_save(const struct wset *w, const char *path, char *err, size_t errlen)
{
	size_t len = 16 + 8 * w->nr;
	uint8_t *data = malloc(len);
	int ret;

	if (!data) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(data, magic, sizeof(magic));
	put_le64(data + 8, w->nr);
	for (size_t i = 0; i < w->nr; i++)
		put_le64(data + 16 + 8 * i, w->pages[i]);
	ret = snapfile_write(path, data, len, err, errlen);
	free(data);
	return ret;
}

void wset_free(struct wset *w)
{
	free(w->pages);
	memset(w, 0, sizeof(*w));
}
