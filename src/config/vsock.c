// SPDX-License-Identifier: GPL-2.0-only
/*
 * vsock.c - the vsock object: the one rule for guest CIDs, and the host
 * socket path.
 */
#include <string.h>

#include "check.h"

bool config_cid_valid(uint64_t cid)
{
	return cid >= VMON_MIN_CID && cid <= VMON_MAX_CID;
}

int config_check_vsock(const struct vsock_config *v, struct config_err *e)
{
	if (!config_cid_valid(v->cid))
		return config_fail(
			e, "vsock", "cid",
			"%llu: expected %d to %llu (0-2 are reserved, and so is 4294967295)",
			(unsigned long long)v->cid, VMON_MIN_CID, VMON_MAX_CID);
	if (!memchr(v->uds, 0, sizeof(v->uds)) || !v->uds[0])
		return config_fail(e, "vsock", "uds",
				   "a socket path of 1 to %d bytes expected",
				   VMON_UDS_PATH_MAX - 1);
	return 0;
}
