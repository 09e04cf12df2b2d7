// SPDX-License-Identifier: GPL-2.0-only
/*
 * pagemap.c - which pages of guest RAM the host never populated, from
 * /proc/self/pagemap: a live migration's first pass sends those as zero
 * pages without reading them (reading faults each one in).
 */
#include "memory.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#define PM_PRESENT (1ULL << 63)
#define PM_SWAPPED (1ULL << 62)
#define PM_CHUNK 4096 /* entries read at once: 32 KiB */

int gmem_unpopulated(const struct guest_mem *mem, uint64_t *bits)
{
	uint64_t pages = mem->ram_size / PAGEMAP_PAGE, first, done;
	uint64_t *ent;
	int fd, r = -1;

	if (!mem->anon || !mem->base)
		return -1;
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ent = malloc(PM_CHUNK * sizeof(*ent));
	if (!ent)
		goto out;
	first = (uintptr_t)mem->base / PAGEMAP_PAGE;
	for (done = 0; done < pages;) {
		uint64_t n = pages - done < PM_CHUNK ? pages - done : PM_CHUNK;
		ssize_t got = pread(fd, ent, n * sizeof(*ent),
				    (off_t)((first + done) * sizeof(*ent)));

		if (got != (ssize_t)(n * sizeof(*ent)))
			goto out;
		for (uint64_t i = 0; i < n; i++) {
			uint64_t pg = done + i;

			if (!(ent[i] & (PM_PRESENT | PM_SWAPPED)))
				bits[pg / 64] |= 1ULL << (pg % 64);
			else
				bits[pg / 64] &= ~(1ULL << (pg % 64));
		}
		done += n;
	}
	r = 0;
out:
	free(ent);
	close(fd);
	return r;
}
