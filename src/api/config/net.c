// SPDX-License-Identifier: GPL-2.0-only
/*
 * net.c - PUT/PATCH /network-interfaces/{id}: Firecracker's interfaces
 * as vmon's nets (the tap-name rule, the MAC parser and the one-tap-one-
 * MAC rule of src/config/net.c), and their part of GET /vm/config.
 */
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "object.h"

static const char *const net_fields[] = {
	"iface_id",	   "host_dev_name",   "guest_mac", "mtu",
	"rx_rate_limiter", "tx_rate_limiter", NULL
};

static const struct api_field net_keys[] = {
	{ "tap", "host_dev_name" },
	{ "mac", "guest_mac" },
	{ "mtu", "mtu" },
	{ NULL, NULL },
};

int cfg_find_net(const struct api_config *c, const char *id)
{
	for (unsigned int i = 0; i < c->nr_nets; i++)
		if (!strcmp(c->nets[i].id, id))
			return (int)i;
	return -1;
}

/* The net validator, then the other interfaces (all but @idx). */
static int check_net(const struct api_config *n, int idx, const char *what,
		     const struct net_config *net, char *err)
{
	struct config_err e;

	if (config_check_net(net, &e))
		return api_config_err(err, what, &e, net_keys);
	for (unsigned int i = 0; i < n->nr_nets; i++) {
		size_t len;

		if ((int)i == idx ||
		    !config_check_net_pair(net, &n->nets[i].net, &e))
			continue;
		api_config_err(err, what, &e, net_keys);
		len = strlen(err);
		snprintf(err + len, API_ERR_MAX - len, " by %.64s",
			 n->nets[i].id);
		return -1;
	}
	return 0;
}

int cfg_parse_net(struct api_config *n, const char *id, json_t *body, char *err)
{
	char what[96], mac[24] = "";
	uint64_t mtu = 0;
	struct api_net a;
	int idx = cfg_find_net(n, id);

	snprintf(what, sizeof(what), "network-interfaces/%.64s", id);
	memset(&a, 0, sizeof(a));
	if (api_check_fields(body, what, net_fields, err) ||
	    api_check_body_id(body, what, "iface_id", id, err) ||
	    api_get_strbuf(body, what, "host_dev_name", true, a.net.tap,
			   sizeof(a.net.tap), NULL, err) ||
	    api_get_strbuf(body, what, "guest_mac", false, mac, sizeof(mac),
			   &a.net.mac_set, err) ||
	    api_get_uint(body, what, "mtu", false, VMON_NET_MTU_MIN, 65535,
			 &mtu, NULL, err) ||
	    api_parse_rl(body, what, "rx_rate_limiter", &a.net.rx_rl, NULL,
			 err) ||
	    api_parse_rl(body, what, "tx_rate_limiter", &a.net.tx_rl, NULL,
			 err))
		return -1;
	snprintf(a.id, sizeof(a.id), "%s", id);
	a.net.mtu = (uint16_t)mtu;
	if (a.net.mac_set && config_parse_mac(mac, strlen(mac), a.net.mac))
		return api_fail(
			err,
			"%s: field `guest_mac`: expected six hexadecimal bytes like 06:00:ac:10:00:02",
			what);
	if (check_net(n, idx, what, &a.net, err))
		return -1;
	if (idx < 0) {
		if (n->nr_nets == VMON_MAX_NETS)
			return api_fail(
				err,
				"%s: vmon has at most %u network interfaces",
				what, VMON_MAX_NETS);
		idx = (int)n->nr_nets++;
	}
	n->nets[idx] = a;
	return 0;
}

int api_config_net(struct api_config *c, const char *id, json_t *body,
		   char *err)
{
	TRANSACT(c, err, cfg_parse_net(n_, id, body, err));
}

static const char *const net_patch_fields[] = { "iface_id", "rx_rate_limiter",
						"tx_rate_limiter", NULL };

int api_config_net_update(const struct api_config *c, const char *id,
			  json_t *body, struct api_net_update *u, char *err)
{
	char what[96];
	int idx;

	snprintf(what, sizeof(what), "network-interfaces/%.64s", id);
	memset(u, 0, sizeof(*u));
	if (api_check_fields(body, what, net_patch_fields, err) ||
	    api_check_body_id(body, what, "iface_id", id, err))
		return -1;
	idx = cfg_find_net(c, id);
	if (idx < 0)
		return api_fail(err, "%s: no such network interface", what);
	u->index = (unsigned int)idx;
	u->rx = c->nets[idx].net.rx_rl;
	u->tx = c->nets[idx].net.tx_rl;
	return api_parse_rl(body, what, "rx_rate_limiter", &u->rx, &u->have_rx,
			    err) ||
			       api_parse_rl(body, what, "tx_rate_limiter",
					    &u->tx, &u->have_tx, err) ?
		       -1 :
		       0;
}

void api_config_net_commit(struct api_config *c, const struct api_net_update *u)
{
	struct net_config *n = &c->nets[u->index].net;

	if (u->have_rx)
		n->rx_rl = u->rx;
	if (u->have_tx)
		n->tx_rl = u->tx;
}

void cfg_nets_json(const struct api_config *c, json_t *j)
{
	json_t *nets = json_array();

	for (unsigned int i = 0; nets && i < c->nr_nets; i++) {
		const struct api_net *a = &c->nets[i];
		json_t *o = json_pack("{s:s, s:s}", "iface_id", a->id,
				      "host_dev_name", a->net.tap);

		if (!o)
			continue;
		if (a->net.mac_set) {
			char mac[18];

			config_format_mac(a->net.mac, mac);
			json_object_set_new(o, "guest_mac", json_string(mac));
		}
		if (a->net.mtu)
			json_object_set_new(o, "mtu", json_integer(a->net.mtu));
		api_rl_json(o, "rx_rate_limiter", &a->net.rx_rl);
		api_rl_json(o, "tx_rate_limiter", &a->net.tx_rl);
		json_array_append_new(nets, o);
	}
	json_object_set_new(j, "network-interfaces", nets);
}

static const struct api_object net_object = {
	.key = "network-interfaces",
	.order = 20,
	.parse_id = cfg_parse_net,
	.idkey = "iface_id",
	.find = cfg_find_net,
	.json = cfg_nets_json,
};
API_OBJECT(net_object);
