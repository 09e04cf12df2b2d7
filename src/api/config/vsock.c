// SPDX-License-Identifier: GPL-2.0-only
/*
 * vsock.c - PUT /vsock: the guest CID and the host socket, checked by the
 * vsock validator, and its part of GET /vm/config.
 */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "object.h"

static const char *const vsock_fields[] = { "guest_cid", "uds_path", "vsock_id",
					    NULL };

static const struct api_field vsock_keys[] = {
	{ "cid", "guest_cid" },
	{ "uds", "uds_path" },
	{ NULL, NULL },
};

int cfg_parse_vsock(struct api_config *n, json_t *body, char *err)
{
	struct vsock_config v;
	struct config_err e;
	char *vid = NULL;
	uint64_t cid = 0;

	memset(&v, 0, sizeof(v));
	if (api_check_fields(body, "vsock", vsock_fields, err) ||
	    api_get_str(body, "vsock", "vsock_id", false, &vid, err) ||
	    api_get_uint(body, "vsock", "guest_cid", true, 0, UINT32_MAX, &cid,
			 NULL, err) ||
	    api_get_strbuf(body, "vsock", "uds_path", true, v.uds,
			   sizeof(v.uds), NULL, err)) {
		free(vid);
		return -1;
	}
	free(vid); /* deprecated in Firecracker: accepted, unused */
	v.cid = cid;
	if (config_check_vsock(&v, &e))
		return api_config_err(err, "vsock", &e, vsock_keys);
	n->vsock = v;
	n->vsock_set = true;
	return 0;
}

int api_config_vsock(struct api_config *c, json_t *body, char *err)
{
	TRANSACT(c, err, cfg_parse_vsock(n_, body, err));
}

void cfg_vsock_json(const struct api_config *c, json_t *j)
{
	if (c->vsock_set)
		json_object_set_new(j, "vsock",
				    json_pack("{s:I, s:s}", "guest_cid",
					      (json_int_t)c->vsock.cid,
					      "uds_path", c->vsock.uds));
}

static const struct api_object vsock_object = {
	.key = "vsock",
	.order = 30,
	.parse = cfg_parse_vsock,
	.json = cfg_vsock_json,
};
API_OBJECT(vsock_object);
