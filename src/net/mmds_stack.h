/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mmds_stack.h - the metadata service's network side on one interface:
 * the Ethernet frames the guest sends towards the MMDS address (ARP
 * requests, IPv4/TCP to port 80) are taken from the transmit path and
 * answered by a minimal ARP/IPv4/TCP responder; its frames go to the
 * guest's receive path. Everything else passes to the tap untouched.
 */
#ifndef VMON_NET_MMDS_STACK_H
#define VMON_NET_MMDS_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The Ethernet address the MMDS answers ARP with (Firecracker's). */
#define MMDS_MAC                                   \
	{                                          \
		0x06, 0x01, 0x23, 0x45, 0x67, 0x01 \
	}
/* The largest frame mmds_stack_rx() writes. */
#define MMDS_FRAME_MAX 1514
#define MMDS_MAX_CONNS 16

/* mmds_stack_tx() flags, from the virtio-net header. */
#define MMDS_TX_PARTIAL_CSUM 1 /* the TCP checksum is left to the device */
#define MMDS_TX_GSO 2 /* the frame asks for segmentation */

/* Firecracker's MMDS metric names. */
struct mmds_stats {
	uint64_t rx_accepted; /* frames for the MMDS, taken from the guest */
	uint64_t rx_accepted_err; /* of those, malformed: dropped */
	uint64_t rx_accepted_unusual; /* well formed but unexpected */
	uint64_t rx_bad_eth; /* too short or oversized frames, dropped */
	uint64_t rx_count; /* frames the MMDS looked at */
	uint64_t tx_bytes, tx_count, tx_frames; /* frames sent to the guest */
	uint64_t tx_errors; /* replies lost (the queue was full) */
	uint64_t connections_created, connections_destroyed;
};

struct mmds_stack;

/* A responder at @ipv4 (host order). NULL if out of memory. */
struct mmds_stack *mmds_stack_new(uint32_t ipv4);
void mmds_stack_free(struct mmds_stack *s);

/*
 * A frame the guest transmitted, without the virtio-net header: @len
 * bytes of it at @frame, of @total in all (a longer frame is only looked
 * at). Returns true if it was the MMDS's (not for the tap).
 */
bool mmds_stack_tx(struct mmds_stack *s, const uint8_t *frame, size_t len,
		   size_t total, unsigned int flags, uint64_t now_ns);

/* The next frame for the guest into @buf (MMDS_FRAME_MAX): its length or 0. */
size_t mmds_stack_rx(struct mmds_stack *s, uint8_t *buf, uint64_t now_ns);
bool mmds_stack_has_rx(struct mmds_stack *s);

void mmds_stack_stats(const struct mmds_stack *s, struct mmds_stats *out);
/* The counts of every responder of the process (the metrics' "mmds"). */
void mmds_stats_total(struct mmds_stats *out);

/* The Internet checksum of @len bytes, starting from @sum. */
uint16_t mmds_csum(const uint8_t *p, size_t len, uint32_t sum);

#endif
