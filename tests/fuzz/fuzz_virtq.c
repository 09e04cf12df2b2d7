// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_virtq.c - libFuzzer target for the split-virtqueue walker and the
 * virtio-blk request parser. The input is a small guest: a header that
 * picks the queue size, negotiated features and disk limits, then the
 * contents of 64 KiB of guest RAM holding the rings at fixed addresses.
 * Every chain popped is parsed as a block request and its buffers are
 * written as the device would, so ASan sees any address the walker let
 * through outside guest memory. docs/fuzzing.md says how to run it.
 *
 * Input: [0] log2 queue size, [1] flags (1 indirect, 2 event index,
 * 4 read-only, 8 discard/write-zeroes), [2..9] capacity in sectors,
 * then RAM from GPA 0: descriptors at 0, avail ring at 0x1000, used ring
 * at 0x2000. A 4 KiB read-only region sits at 0x10000.
 */
#include <stdlib.h>
#include <string.h>

#include "virtio/blk.h"
#include "virtio/virtq.h"

#define RAM_SIZE 0x10000
#define ROM_GPA 0x10000
#define ROM_SIZE 0x1000
#define HDR_BYTES 10

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the device "read": global so the reads are not optimized away. */
uint64_t fuzz_sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtq_elem e;
	static struct blk_req r;
	static uint8_t scratch[4096];
	struct guest_mem mem;
	struct blk_limits lim;
	struct virtq vq;
	uint8_t *ram, *rom;
	uint64_t cap;

	if (size < HDR_BYTES)
		return 0;
	/* Exactly-sized heap buffers: ASan catches any stray access. */
	ram = calloc(1, RAM_SIZE);
	rom = calloc(1, ROM_SIZE);
	if (!ram || !rom)
		abort();
	memcpy(ram, data + HDR_BYTES,
	       size - HDR_BYTES < RAM_SIZE ? size - HDR_BYTES : RAM_SIZE);
	memset(&mem, 0, sizeof(mem));
	gmem_add_region(&mem, 0, RAM_SIZE, ram, false, "ram");
	gmem_add_region(&mem, ROM_GPA, ROM_SIZE, rom, true, "rom");
	memcpy(&cap, data + 2, 8);
	lim = (struct blk_limits){ .capacity = cap >> 16,
				   .readonly = data[1] & 4,
				   .discard = data[1] & 8,
				   .write_zeroes = data[1] & 8 };

	virtq_reset(&vq);
	vq.size = (uint16_t)(1u << (data[0] % 10)); /* 1..512 */
	vq.desc_gpa = 0;
	vq.avail_gpa = 0x1000;
	vq.used_gpa = 0x2000;
	if (virtq_enable(&vq, &mem, 256, data[1] & 1, data[1] & 2) ==
	    VIRTQ_OK) {
		for (unsigned int n = 0; n < 2u * vq.size + 2; n++) {
			int got = virtq_pop(&vq, &e);
			int st;

			if (got <= 0) {
				if (got == 0 && virtq_enable_notify(&vq))
					continue;
				break;
			}
			st = blk_parse(&e, &lim, &r);
			if (st < 0)
				break;
			if (st == VIRTIO_BLK_S_OK &&
			    (r.type == VIRTIO_BLK_T_IN ||
			     r.type == VIRTIO_BLK_T_GET_ID)) {
				for (unsigned int i = 0; i < r.nr_iov; i++)
					memset(r.iov[i].iov_base, 0x5a,
					       r.iov[i].iov_len);
			} else if (st == VIRTIO_BLK_S_OK) {
				for (unsigned int i = 0; i < r.nr_iov; i++)
					fuzz_sink ^= virtq_iov_to_buf(
						&r.iov[i], 1, 0, scratch,
						sizeof(scratch));
			}
			*r.status = (uint8_t)st;
			virtq_push(&vq, e.head, (uint32_t)r.len + 1);
			virtq_should_notify(&vq);
		}
	}
	free(ram);
	free(rom);
	return 0;
}
