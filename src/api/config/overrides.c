// SPDX-License-Identifier: GPL-2.0-only
/*
 * overrides.c - what a snapshot load changes in the snapshot's
 * configuration, so that clones of one snapshot each get their own host
 * resources: Firecracker's network_overrides ([{iface_id, host_dev_name}])
 * and vsock_override ({uds_path}), vmon's drive_overrides ([{drive_id,
 * path_on_host}]), the same as text for the command line, and applying
 * them (each must name an object of the snapshot).
 */
#include <stdio.h>
#include <string.h>

#include "common.h"

static const char *const net_fields[] = { "iface_id", "host_dev_name", NULL };
static const char *const drive_fields[] = { "drive_id", "path_on_host", NULL };
static const char *const vsock_fields[] = { "uds_path", NULL };

/* One list: @key's array of {@id_key, @value_key} objects. */
static int parse_list(json_t *body, const char *req, const char *key,
		      const char *const *fields, struct api_override *out,
		      unsigned int max, unsigned int *nr, char *err)
{
	json_t *a = json_object_get(body, key), *e;
	char what[64];
	size_t i;

	*nr = 0;
	if (!a || json_is_null(a))
		return 0;
	if (!json_is_array(a) || json_array_size(a) > max)
		return api_fail(
			err,
			"%s: field `%s` must be an array of at most %u objects",
			req, key, max);
	json_array_foreach(a, i, e)
	{
		snprintf(what, sizeof(what), "%s: %s[%zu]", req, key, i);
		if (!json_is_object(e))
			return api_fail(err, "%s: must be an object", what);
		if (api_check_fields(e, what, fields, err) ||
		    api_get_strbuf(e, what, fields[0], true, out[i].id,
				   sizeof(out[i].id), NULL, err) ||
		    api_get_strbuf(e, what, fields[1], true, out[i].value,
				   sizeof(out[i].value), NULL, err))
			return -1;
		(*nr)++;
	}
	return 0;
}

int api_overrides_parse(json_t *body, const char *req, struct api_overrides *ov,
			char *err)
{
	json_t *v = json_object_get(body, "vsock_override");
	char what[64];

	memset(ov, 0, sizeof(*ov));
	if (parse_list(body, req, "network_overrides", net_fields, ov->nets,
		       VMON_MAX_NETS, &ov->nr_nets, err) ||
	    parse_list(body, req, "drive_overrides", drive_fields, ov->drives,
		       VMON_MAX_DISKS, &ov->nr_drives, err))
		return -1;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return api_fail(err,
				"%s: field `vsock_override` must be an object",
				req);
	ov->vsock_set = true;
	snprintf(what, sizeof(what), "%s: vsock_override", req);
	if (api_check_fields(v, what, vsock_fields, err))
		return -1;
	return api_get_strbuf(v, what, "uds_path", true, ov->vsock_uds,
			      sizeof(ov->vsock_uds), NULL, err);
}

/* "ID=VALUE" into the next entry of @list. */
static int text_pair(const char *text, const char *kind,
		     struct api_override *list, unsigned int max,
		     unsigned int *nr, char *err)
{
	const char *eq = strchr(text, '=');
	struct api_override *o = &list[*nr];

	if (*nr == max)
		return api_fail(err, "more than %u %s overrides", max, kind);
	if (!eq || eq == text || !eq[1] ||
	    (size_t)(eq - text) >= sizeof(o->id) ||
	    strlen(eq + 1) >= sizeof(o->value))
		return api_fail(err, "expected %s:ID=VALUE", kind);
	memcpy(o->id, text, (size_t)(eq - text));
	o->id[eq - text] = 0;
	snprintf(o->value, sizeof(o->value), "%s", eq + 1);
	(*nr)++;
	return 0;
}

int api_override_parse_text(const char *text, struct api_overrides *ov,
			    char *err)
{
	if (!strncmp(text, "net:", 4))
		return text_pair(text + 4, "net", ov->nets, VMON_MAX_NETS,
				 &ov->nr_nets, err);
	if (!strncmp(text, "drive:", 6))
		return text_pair(text + 6, "drive", ov->drives, VMON_MAX_DISKS,
				 &ov->nr_drives, err);
	if (!strncmp(text, "vsock=", 6) && text[6] &&
	    strlen(text + 6) < sizeof(ov->vsock_uds)) {
		ov->vsock_set = true;
		snprintf(ov->vsock_uds, sizeof(ov->vsock_uds), "%s", text + 6);
		return 0;
	}
	return api_fail(err,
			"expected net:ID=TAP, drive:ID=PATH or vsock=PATH");
}

static int apply_net(struct api_config *c, const struct api_override *o,
		     char *err)
{
	for (unsigned int i = 0; i < c->nr_nets; i++) {
		if (strcmp(c->nets[i].id, o->id) != 0)
			continue;
		if (!*o->value || strlen(o->value) >= VMON_IFNAME_MAX)
			return api_fail(
				err,
				"network override %s: host_dev_name must be 1 to %d characters",
				o->id, VMON_IFNAME_MAX - 1);
		snprintf(c->nets[i].net.tap, sizeof(c->nets[i].net.tap), "%s",
			 o->value);
		return 0;
	}
	return api_fail(
		err, "network override %s: the snapshot has no such interface",
		o->id);
}

static int apply_drive(struct api_config *c, const struct api_override *o,
		       char *err)
{
	for (unsigned int i = 0; i < c->nr_drives; i++) {
		if (strcmp(c->drives[i].id, o->id) != 0)
			continue;
		if (!*o->value || strlen(o->value) >= VMON_DISK_PATH_MAX)
			return api_fail(
				err,
				"drive override %s: path_on_host must be 1 to %d characters",
				o->id, VMON_DISK_PATH_MAX - 1);
		snprintf(c->drives[i].disk.path, sizeof(c->drives[i].disk.path),
			 "%s", o->value);
		return 0;
	}
	return api_fail(err,
			"drive override %s: the snapshot has no such drive",
			o->id);
}

int api_overrides_apply(struct api_config *c, const struct api_overrides *ov,
			char *err)
{
	for (unsigned int i = 0; i < ov->nr_nets; i++)
		if (apply_net(c, &ov->nets[i], err))
			return -1;
	for (unsigned int i = 0; i < ov->nr_drives; i++)
		if (apply_drive(c, &ov->drives[i], err))
			return -1;
	if (!ov->vsock_set)
		return 0;
	if (!c->vsock_set)
		return api_fail(
			err,
			"vsock override: the snapshot has no vsock device");
	if (!*ov->vsock_uds || strlen(ov->vsock_uds) >= VMON_UDS_PATH_MAX)
		return api_fail(
			err,
			"vsock override: uds_path must be 1 to %d characters",
			VMON_UDS_PATH_MAX - 1);
	snprintf(c->vsock.uds, sizeof(c->vsock.uds), "%s", ov->vsock_uds);
	return 0;
}
