// SPDX-License-Identifier: GPL-2.0-only
/*
 * net.c - the network interface object (virtio-net on a tap): the one
 * tap-name rule, the one MAC parser, and the rule that two interfaces of
 * a VM share neither a tap nor a MAC.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

/*
 * What Linux takes as an interface name (dev_valid_name), without the
 * "%d" templates: 1 to 15 printable characters, no '/', ':' or blank,
 * not "." or "..".
 */
bool config_tap_name_valid(const char *name)
{
	size_t n = strnlen(name, VMON_IFNAME_MAX);

	if (n == 0 || n >= VMON_IFNAME_MAX || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		return false;
	for (const char *p = name; *p; p++)
		if (*p == '/' || *p == ':' || *p <= ' ' || *p > '~')
			return false;
	return true;
}

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int config_parse_mac(const char *s, size_t len, uint8_t mac[6])
{
	uint8_t m[6];

	if (len != 17)
		return -1;
	for (int i = 0; i < 6; i++) {
		int hi = hex(s[3 * i]), lo = hex(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -1;
		m[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(mac, m, sizeof(m));
	return 0;
}

void config_format_mac(const uint8_t mac[6], char *buf)
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
		 mac[2], mac[3], mac[4], mac[5]);
}

int config_check_net(const struct net_config *n, struct config_err *e)
{
	char object[32];

	snprintf(object, sizeof(object), "net %.15s", n->tap);
	if (!config_tap_name_valid(n->tap))
		return config_fail(
			e, "net", "tap",
			"not a valid interface name (1 to %d printable characters, no '/', ':' or blank, not . or ..)",
			VMON_IFNAME_MAX - 1);
	/* Any six octets, as Firecracker takes (vmon's --net wants unicast). */
	if (n->mtu && n->mtu < VMON_NET_MTU_MIN)
		return config_fail(e, object, "mtu", "%u is below %u", n->mtu,
				   VMON_NET_MTU_MIN);
	return 0;
}

int config_check_net_pair(const struct net_config *n,
			  const struct net_config *other, struct config_err *e)
{
	char object[32], mac[18];

	snprintf(object, sizeof(object), "net %.15s", n->tap);
	if (!strcmp(n->tap, other->tap))
		return config_fail(e, object, "tap", "%s is already used",
				   n->tap);
	if (n->mac_set && other->mac_set && !memcmp(n->mac, other->mac, 6)) {
		config_format_mac(n->mac, mac);
		return config_fail(e, object, "mac", "%s is already used", mac);
	}
	return 0;
}
