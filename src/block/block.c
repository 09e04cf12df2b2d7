// SPDX-License-Identifier: GPL-2.0-only
/*
 * block.c - the generic half of the block layer (block.h): picks the
 * back-end for an image and keeps the in-flight count around its ops.
 */
#include "block.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

struct block *block_open(const struct block_params *p, char *err, size_t errlen)
{
	struct block *b = calloc(1, sizeof(*b));

	if (!b) {
		snprintf(err, errlen, "%.400s: out of memory", p->path);
		return NULL;
	}
	b->ops = &block_raw_ops;
	b->done = p->done;
	b->opaque = p->opaque;
	if (b->ops->open(b, p, err, errlen)) {
		free(b);
		return NULL;
	}
	return b;
}

int block_submit(struct block *b, struct block_req *r)
{
	int err = b->ops->submit(b, r);

	if (!err)
		b->inflight++;
	return err;
}

void block_commit(struct block *b)
{
	b->ops->commit(b);
}

unsigned int block_reap(struct block *b)
{
	unsigned int n = b->ops->reap(b);

	b->inflight -= n < b->inflight ? n : b->inflight;
	return n;
}

void block_drain(struct block *b)
{
	while (b->inflight) {
		if (b->ops->wait(b))
			break;
		block_reap(b);
	}
}

void block_close(struct block *b)
{
	if (!b)
		return;
	block_drain(b);
	b->ops->close(b);
	free(b);
}
