// SPDX-License-Identifier: GPL-2.0-only
/*
 * vsock.c - the `vmon run` option --vsock: the virtio-vsock device into a
 * vsock_config.
 */
#include <getopt.h>
#include <string.h>

#include "../../util/log.h"
#include "../../util/parse.h"
#include "../cli_option.h"

/* --vsock cid=N,uds=PATH */
static int parse_vsock(const char *arg, struct vm_config *cfg)
{
	struct vsock_config v = { 0 };
	struct config_err e;
	const char *p = arg;
	bool have_cid = false;

	while (*p) {
		size_t len = strcspn(p, ",");
		char num[24];

		if (cli_item_value(p, len, "cid", num, sizeof(num)) &&
		    !parse_uint(num, 0, UINT64_MAX, &v.cid)) {
			have_cid = true;
		} else if (!cli_item_value(p, len, "uds", v.uds,
					   sizeof(v.uds))) {
			pr_err("--vsock %s: bad option '%.*s' (cid=N, uds=PATH of at most %u characters)",
			       arg, (int)len, p, VMON_UDS_PATH_MAX - 1);
			return -1;
		}
		p += len + (p[len] ? 1 : 0);
	}
	if (!have_cid || !v.uds[0]) {
		pr_err("--vsock %s: expected cid=N,uds=PATH", arg);
		return -1;
	}
	if (config_check_vsock(&v, &e))
		return cli_config_error("--vsock", arg, &e, e.field);
	cfg->vsock = v;
	return 0;
}

static const struct cli_option vsock_option = {
	.name = "vsock",
	.has_arg = required_argument,
	.order = 40,
	.usage =
		"      --vsock cid=N,uds=PATH\n"
		"                           virtio-vsock with guest CID N (>= 3): host\n"
		"                           programs connect to PATH and send 'CONNECT port';\n"
		"                           guest connections to port P go to PATH_P\n",
	.parse = parse_vsock,
};
CLI_OPTION(vsock_option);
