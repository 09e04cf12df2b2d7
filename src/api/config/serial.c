// SPDX-License-Identifier: GPL-2.0-only
/*
 * serial.c - PUT /serial (Firecracker's SerialDevice): the file or named
 * pipe the guest's serial output goes to, kept in api_config and applied
 * at InstanceStart over the serial mode vmon was started with; its
 * --config-file section and its part of GET /vm/config.
 */
#include <string.h>

#include "common.h"
#include "object.h"

static const char *const serial_fields[] = { "serial_out_path", "rate_limiter",
					     NULL };

static int cfg_parse_serial(struct api_config *n, json_t *body, char *err)
{
	char path[sizeof(n->serial_out_path)] = "";

	if (api_check_fields(body, "serial", serial_fields, err) ||
	    api_get_strbuf(body, "serial", "serial_out_path", false, path,
			   sizeof(path), NULL, err))
		return -1;
	/* Firecracker drops output beyond the bucket; vmon paces it. */
	if (json_object_get(body, "rate_limiter"))
		return api_fail(
			err,
			"serial: field `rate_limiter`: not supported by vmon (its console output limit applies, docs/limits.md)");
	memcpy(n->serial_out_path, path, sizeof(path));
	return 0;
}

static void serial_json(const struct api_config *c, json_t *j)
{
	if (c->serial_out_path[0])
		json_object_set_new(j, "serial",
				    json_pack("{s:s}", "serial_out_path",
					      c->serial_out_path));
}

static const struct api_object serial_object = {
	.key = "serial",
	.order = 60,
	.parse = cfg_parse_serial,
	.json = serial_json,
};
API_OBJECT(serial_object);

void api_config_serial_apply(const struct api_config *c, struct vm_config *vm)
{
	if (c->serial_out_path[0]) {
		vm->serial = SERIAL_FILE;
		vm->serial_path = c->serial_out_path;
	}
}
