// SPDX-License-Identifier: GPL-2.0-only
/*
 * block_dirty.c - dirty-block tracking of an image (block.h), for block
 * migration: the marking of the chunks a completed write, discard or
 * write-zeroes changed (from block_complete()), and the bitmap's start,
 * collection (from the migration thread) and stop.
 */
#include "block.h"

#include <errno.h>
#include <stdlib.h>

uint64_t block_dirty_words(const struct block *b)
{
	return (b->size / BLOCK_DIRTY_CHUNK + 1 + 63) / 64;
}

static void mark(struct block *b, uint64_t offset, uint64_t len)
{
	uint64_t first, last;

	if (!len || offset >= b->size)
		return;
	if (len > b->size - offset)
		len = b->size - offset;
	first = offset / BLOCK_DIRTY_CHUNK;
	last = (offset + len - 1) / BLOCK_DIRTY_CHUNK;
	for (uint64_t c = first; c <= last; c++)
		atomic_fetch_or(&b->dirty[c / 64], 1ULL << (c % 64));
}

void block_dirty_mark(struct block *b, const struct block_req *r)
{
	/* Even a failed write may have changed part of its range. */
	if (r->op != BLOCK_READ && r->op != BLOCK_FLUSH &&
	    atomic_load_explicit(&b->dirty_on, memory_order_acquire))
		mark(b, r->offset, r->len);
}

int block_dirty_start(struct block *b)
{
	uint64_t words = block_dirty_words(b);

	if (!b->dirty) {
		b->dirty = calloc(words, sizeof(*b->dirty));
		if (!b->dirty)
			return -ENOMEM;
	}
	for (uint64_t w = 0; w < words; w++)
		atomic_store(&b->dirty[w], 0);
	atomic_store_explicit(&b->dirty_on, true, memory_order_release);
	return 0;
}

void block_dirty_collect(struct block *b, uint64_t *bitmap)
{
	uint64_t words = block_dirty_words(b);

	if (!b->dirty)
		return;
	for (uint64_t w = 0; w < words; w++)
		bitmap[w] |= atomic_exchange(&b->dirty[w], 0);
}

void block_dirty_stop(struct block *b)
{
	atomic_store(&b->dirty_on, false);
}
