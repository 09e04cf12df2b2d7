// SPDX-License-Identifier: GPL-2.0-only
/*
 * mmds.c - the metadata service's configuration object (PUT /mmds/config,
 * the config file's and GET /vm/config's "mmds-config"): version, the
 * interfaces it answers on (which must exist), its link-local IPv4
 * address and the IMDS-compatible output. The store itself is
 * src/net/mmds_store.c's.
 */
#include <arpa/inet.h>
#include <string.h>

#include "common.h"

static const char *const mmds_fields[] = { "version", "network_interfaces",
					   "ipv4_address", "imds_compat",
					   NULL };

static int parse_ifaces(const struct api_config *n, json_t *list,
			struct mmds_config *m, char *err)
{
	size_t i;
	json_t *e;

	if (!json_is_array(list))
		return api_fail(
			err,
			"mmds-config: field `network_interfaces` must be a list of interface ids");
	if (!json_array_size(list))
		return api_fail(
			err,
			"The list of network interface IDs that allow forwarding MMDS requests is empty.");
	json_array_foreach(list, i, e)
	{
		const char *id = json_string_value(e);

		if (!id || cfg_find_net(n, id) < 0)
			return api_fail(
				err,
				"The list of network interface IDs provided contains at least one ID that does not correspond to any existing network interface.");
		if (m->nr_ifaces == MMDS_MAX_IFACES ||
		    strlen(id) > MMDS_IFACE_MAX)
			return api_fail(
				err,
				"mmds-config: field `network_interfaces`: at most %d ids",
				MMDS_MAX_IFACES);
		snprintf(m->ifaces[m->nr_ifaces++], MMDS_IFACE_MAX + 1, "%s",
			 id);
	}
	return 0;
}

static int parse_version_addr(json_t *body, struct mmds_config *m, char *err)
{
	json_t *v = json_object_get(body, "version");
	struct in_addr a;

	if (v) {
		const char *s = json_string_value(v);

		if (!s || (strcmp(s, "V1") != 0 && strcmp(s, "V2") != 0))
			return api_fail(
				err,
				"mmds-config: field `version` must be \"V1\" or \"V2\"");
		m->version = !strcmp(s, "V2") ? MMDS_V2 : MMDS_V1;
	}
	v = json_object_get(body, "ipv4_address");
	if (v) {
		if (!json_is_string(v) ||
		    inet_pton(AF_INET, json_string_value(v), &a) != 1)
			return api_fail(
				err,
				"mmds-config: field `ipv4_address` must be an IPv4 address");
		m->ipv4 = ntohl(a.s_addr);
		if ((m->ipv4 >> 16) != 0xa9fe)
			return api_fail(
				err,
				"The MMDS IPv4 address is not link local.");
	}
	return api_get_bool(body, "mmds-config", "imds_compat", &m->imds_compat,
			    err);
}

int cfg_parse_mmds_config(struct api_config *n, json_t *body, char *err)
{
	struct mmds_config m = { .version = MMDS_V1,
				 .ipv4 = MMDS_DEFAULT_IPV4 };
	json_t *list;

	if (api_check_fields(body, "mmds-config", mmds_fields, err))
		return -1;
	list = json_object_get(body, "network_interfaces");
	if (!list)
		return api_fail(
			err, "mmds-config: missing field `network_interfaces`");
	if (parse_ifaces(n, list, &m, err) || parse_version_addr(body, &m, err))
		return -1;
	m.set = true;
	n->mmds = m;
	return 0;
}

int api_config_mmds(struct api_config *c, json_t *body, char *err)
{
	TRANSACT(c, err, cfg_parse_mmds_config(n_, body, err));
}

void cfg_mmds_config_json(const struct api_config *c, json_t *j)
{
	const struct mmds_config *m = &c->mmds;
	struct in_addr a = { .s_addr = htonl(m->ipv4) };
	char ip[INET_ADDRSTRLEN];
	json_t *o, *list;

	if (!m->set || !(list = json_array()))
		return;
	for (unsigned int i = 0; i < m->nr_ifaces; i++)
		json_array_append_new(list, json_string(m->ifaces[i]));
	inet_ntop(AF_INET, &a, ip, sizeof(ip));
	o = json_pack("{s:s, s:o, s:s, s:b}", "version",
		      m->version == MMDS_V2 ? "V2" : "V1", "network_interfaces",
		      list, "ipv4_address", ip, "imds_compat", m->imds_compat);
	if (o)
		json_object_set_new(j, "mmds-config", o);
}
