// SPDX-License-Identifier: GPL-2.0-only
/*
 * bounds.c - the counters of the bounds of docs/limits.md (bounds.h).
 */
#include "bounds.h"

static uint64_t counts[BOUND_NR];

static const char *const names[BOUND_NR] = {
	[BOUND_CONSOLE_RATE] = "console_rate",
	[BOUND_SERIAL_FILE_MAX] = "serial_file_max",
	[BOUND_UART_TX_BUF] = "uart_tx_buf",
	[BOUND_CONSOLE_OUT_BUF] = "console_out_buf",
	[BOUND_OUTPUT_TEARDOWN] = "output_teardown",
	[BOUND_HC_PRINT_RATE] = "hypercall_print_rate",
	[BOUND_LOG_ONCE] = "log_once",
	[BOUND_DISK_BOUNCE] = "disk_bounce",
	[BOUND_BLK_INFLIGHT] = "blk_inflight",
	[BOUND_BALLOON_PFNS] = "balloon_pfns_per_turn",
	[BOUND_BALLOON_CHAINS] = "balloon_chains_per_turn",
	[BOUND_VSOCK_CONNS] = "vsock_connections",
	[BOUND_VSOCK_PENDING] = "vsock_pending",
	[BOUND_API_CONNECTIONS] = "api_connections",
	[BOUND_API_TIMEOUT] = "api_timeout",
	[BOUND_API_BODY] = "api_body",
	[BOUND_VSOCK_UDS_PENDING] = "vsock_uds_pending",
	[BOUND_CONFIG_FILE] = "config_file",
	[BOUND_MIG_RECORD] = "migration_record",
	[BOUND_MIG_TOKEN] = "migration_token",
};

void bound_hit(enum bound b)
{
	if ((unsigned int)b < BOUND_NR)
		__atomic_fetch_add(&counts[b], 1, __ATOMIC_RELAXED);
}

uint64_t bound_count(enum bound b)
{
	return (unsigned int)b < BOUND_NR ?
		       __atomic_load_n(&counts[b], __ATOMIC_RELAXED) :
		       0;
}

const char *bound_name(enum bound b)
{
	return (unsigned int)b < BOUND_NR ? names[b] : "?";
}
