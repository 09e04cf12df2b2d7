// SPDX-License-Identifier: GPL-2.0-only
/*
 * net.c - the `vmon run` option --net: one virtio-net interface into a
 * net_config.
 */
#include <getopt.h>
#include <string.h>

#include "../../util/log.h"
#include "../cli_option.h"

/* --net tap=NAME[,mac=MAC] */
static int parse_net(const char *arg, struct vm_config *cfg)
{
	struct net_config *n;
	struct config_err e;
	const char *p = arg;

	if (cfg->nr_nets == VMON_MAX_NETS) {
		pr_err("--net %s: at most %u interfaces", arg, VMON_MAX_NETS);
		return -1;
	}
	n = &cfg->nets[cfg->nr_nets];
	memset(n, 0, sizeof(*n));
	while (*p) {
		size_t len = strcspn(p, ",");

		bool mac = len > 4 && !strncmp(p, "mac=", 4) &&
			   !config_parse_mac(p + 4, len - 4, n->mac) &&
			   !(n->mac[0] & 1); /* unicast */

		if (mac) {
			n->mac_set = true;
		} else if (!cli_item_value(p, len, "tap", n->tap,
					   sizeof(n->tap))) {
			pr_err("--net %s: bad option '%.*s' (tap=NAME of at most %u characters, mac=XX:XX:XX:XX:XX:XX unicast)",
			       arg, (int)len, p, VMON_IFNAME_MAX - 1);
			return -1;
		}
		p += len + (p[len] ? 1 : 0);
	}
	if (!n->tap[0]) {
		pr_err("--net %s: expected tap=NAME[,mac=MAC]", arg);
		return -1;
	}
	if (config_check_net(n, &e))
		return cli_config_error("--net", arg, &e, e.field);
	for (unsigned int i = 0; i < cfg->nr_nets; i++)
		if (config_check_net_pair(n, &cfg->nets[i], &e))
			return cli_config_error("--net", arg, &e, e.field);
	cfg->nr_nets++;
	return 0;
}

static const struct cli_option net_option = {
	.name = "net",
	.has_arg = required_argument,
	.order = 30,
	.usage =
		"      --net tap=NAME[,mac=MAC]\n"
		"                           virtio-net on host tap NAME (created if missing\n"
		"                           and allowed); MAC like 02:00:00:00:00:01\n",
	.parse = parse_net,
};
CLI_OPTION(net_option);
