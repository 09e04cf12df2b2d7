// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_mmds.c - fuzz target of the metadata service's frame parser and
 * responder (src/net/mmds_stack.c, mmds_http.c, mmds_store.c lookups):
 * the input is a sequence of Ethernet frames a guest transmits. Byte 0
 * configures the service (bit 0: V2, bit 1: imds_compat); then each record
 * is a 2-byte big-endian length, a flags byte and the frame. Record flags:
 * 1 partial checksum, 2 GSO (as in the virtio-net header), 4 set the TCP
 * acknowledgement number to the MMDS's last sequence number (so inputs
 * get past the handshake whatever the initial sequence number), 8 fill
 * in valid IPv4 and TCP checksums. After each frame the replies are
 * drained and checked for size. Nothing may crash, hang or read out of
 * bounds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/mmds_http.h"
#include "net/mmds_stack.h"
#include "net/mmds_store.h"
#include "net/mmds_wire.h"

#define MAX_FRAME 2048

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fills in the IPv4 header and TCP checksums, where the frame has them. */
static void fix_checksums(uint8_t *f, size_t len)
{
	uint8_t *ip = f + 14, *t;
	size_t ihl, tot;
	uint32_t src, dst, sum;

	if (len < 34 || f[12] != 8 || f[13] != 0)
		return;
	ihl = (size_t)(ip[0] & 15) * 4;
	tot = (size_t)(ip[2] << 8 | ip[3]);
	if (ihl < 20 || tot < ihl + 20 || 14 + tot > len)
		return;
	wire_put16(ip + 10, 0);
	wire_put16(ip + 10, mmds_csum(ip, ihl, 0));
	t = ip + ihl;
	src = wire_get32(ip + 12);
	dst = wire_get32(ip + 16);
	sum = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + 6 +
	      (uint32_t)(tot - ihl);
	wire_put16(t + 16, 0);
	wire_put16(t + 16, mmds_csum(t, tot - ihl, sum));
}

static void setup(uint8_t cfg)
{
	static int done;
	struct mmds_config c = { .version = cfg & 1 ? MMDS_V2 : MMDS_V1,
				 .ipv4 = MMDS_DEFAULT_IPV4,
				 .imds_compat = cfg & 2 };
	char err[256];

	if (!done) {
		json_t *j = json_loads(
			"{\"latest\":{\"meta-data\":{\"ami-id\":\"ami-1\","
			"\"n\":{\"a\":\"b\"},\"num\":1,\"list\":[1,2]}}}",
			0, NULL);

		mmds_put(j, err, sizeof(err));
		json_decref(j);
		done = 1;
	}
	mmds_set_config(&c);
}

/* Drains the replies; returns the sequence number after the last one. */
static uint32_t drain(struct mmds_stack *s, uint32_t next_seq)
{
	static uint8_t out[MMDS_FRAME_MAX];
	size_t n;

	while ((n = mmds_stack_rx(s, out, 0))) {
		if (n < 42 || n > MMDS_FRAME_MAX)
			abort();
		if (n >= 54 && out[12] == 8 && out[13] == 0) {
			size_t doff = (size_t)(out[46] >> 4) * 4;
			uint32_t len = (uint32_t)(n - 34 - doff);

			next_seq = wire_get32(out + 38) + len +
				   ((out[47] & 3) ? 1 : 0);
		}
	}
	return next_seq;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t frame[MAX_FRAME];
	struct mmds_stack *s;
	struct mmds_http_resp r;
	uint32_t next_seq = 0;
	uint64_t now = 0;
	size_t i = 1;

	if (!size)
		return 0;
	setup(data[0]);
	s = mmds_stack_new(MMDS_DEFAULT_IPV4);
	if (!s)
		return 0;
	while (i + 3 <= size) {
		size_t len = (size_t)(data[i] << 8 | data[i + 1]);
		uint8_t fl = data[i + 2];

		i += 3;
		if (len > size - i)
			len = size - i;
		if (len > MAX_FRAME)
			len = MAX_FRAME;
		memcpy(frame, data + i, len);
		i += len;
		if ((fl & 4) && len >= 54)
			memcpy(frame + 42,
			       (uint8_t[]){ (uint8_t)(next_seq >> 24),
					    (uint8_t)(next_seq >> 16),
					    (uint8_t)(next_seq >> 8),
					    (uint8_t)next_seq },
			       4);
		if (fl & 8)
			fix_checksums(frame, len);
		mmds_stack_tx(s, frame, len, len, fl & 3, now);
		next_seq = drain(s, next_seq);
		now += 1000000000ULL;
	}
	mmds_stack_free(s);
	/* The whole input as one HTTP request, too. */
	if (mmds_http_handle((const char *)data, size, now, &r) > 0)
		free(r.data);
	return 0;
}
