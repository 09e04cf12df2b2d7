/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bounds.h - how often each bound of docs/limits.md was hit: one counter
 * per bound, for the process (one VM per vmon), raised with a relaxed
 * atomic add by whichever thread hits it and read by the metrics
 * ("bounds" in the metrics and `vmon stat`). No system call.
 */
#ifndef VMON_UTIL_BOUNDS_H
#define VMON_UTIL_BOUNDS_H

#include <stdint.h>

enum bound {
	BOUND_CONSOLE_RATE, /* an output's writer waited for the rate */
	BOUND_SERIAL_FILE_MAX, /* a write to a capped file was cut */
	BOUND_UART_TX_BUF, /* a UART byte dropped (THRE clear) */
	BOUND_CONSOLE_OUT_BUF, /* a virtio-console chain left for room */
	BOUND_OUTPUT_TEARDOWN, /* an output did not drain at teardown */
	BOUND_HC_PRINT_RATE, /* a print hypercall line suppressed */
	BOUND_LOG_ONCE, /* a once-per-address warning suppressed */
	BOUND_DISK_BOUNCE, /* a direct disk request waited for a buffer */
	BOUND_BLK_INFLIGHT, /* a disk queue left unread: in flight full */
	BOUND_BALLOON_PFNS, /* a balloon chain continued next turn */
	BOUND_BALLOON_CHAINS, /* the balloon queue's chains per turn */
	BOUND_VSOCK_CONNS, /* a vsock connection refused: all slots used */
	BOUND_VSOCK_PENDING, /* a vsock control packet dropped */
	BOUND_API_CONNECTIONS, /* the API's connections all in use */
	BOUND_API_TIMEOUT, /* an API connection closed by a timeout */
	BOUND_API_BODY, /* an API request body too large */
	BOUND_VSOCK_UDS_PENDING, /* a host vsock connection closed unread */
	BOUND_CONFIG_FILE, /* a --config-file too large */
	BOUND_MIG_RECORD, /* a migration record over its type's bound */
	BOUND_MIG_TOKEN, /* a migration connection refused for its token */
	BOUND_NR
};

void bound_hit(enum bound b);
uint64_t bound_count(enum bound b);
/* Its name in the metrics ("api_body"). */
const char *bound_name(enum bound b);

#endif
