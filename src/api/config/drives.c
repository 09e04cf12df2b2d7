// SPDX-License-Identifier: GPL-2.0-only
/*
 * drives.c - PUT/PATCH /drives/{id}: Firecracker's drives as vmon's disks
 * (checked by the disk validator), the root device first, and their part
 * of GET /vm/config.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "object.h"

static const char *const drive_fields[] = { "drive_id",
					    "path_on_host",
					    "is_root_device",
					    "partuuid",
					    "is_read_only",
					    "cache_type",
					    "io_engine",
					    "rate_limiter",
					    "socket",
					    "format",
					    NULL };

int cfg_find_drive(const struct api_config *c, const char *id)
{
	for (unsigned int i = 0; i < c->nr_drives; i++)
		if (!strcmp(c->drives[i].id, id))
			return (int)i;
	return -1;
}

/* The disk validator, in the API's words (the path is in the message). */
static int check_disk(const char *what, const struct disk_config *d, char *err)
{
	struct config_err e;

	if (!config_check_disk(d, &e))
		return 0;
	if (e.field && !strcmp(e.field, "path"))
		return api_fail(err, "%s: field `path_on_host`: %.400s: %s",
				what, d->path, e.cause);
	return api_fail(err, "%s: %s", what, e.cause);
}

/* partuuid, cache_type and io_engine: what only Firecracker's drive has. */
static int drive_extras(const char *what, struct api_drive *d,
			const char *cache, const char *engine, char *err)
{
	for (const char *p = d->partuuid; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
		      (*p >= 'A' && *p <= 'F') || *p == '-'))
			return api_fail(
				err,
				"%s: field `partuuid` must be hexadecimal digits and dashes",
				what);
	/* Off the root drive it is kept and ignored, as in Firecracker. */
	if (cache && strcmp(cache, "Unsafe") != 0 &&
	    strcmp(cache, "Writeback") != 0)
		return api_fail(
			err,
			"%s: field `cache_type`: `%.32s` is not Unsafe or Writeback",
			what, cache);
	d->writeback = cache && !strcmp(cache, "Writeback");
	if (engine && strcmp(engine, "Sync") != 0 &&
	    strcmp(engine, "Async") != 0)
		return api_fail(
			err,
			"%s: field `io_engine`: `%.32s` is not Sync or Async",
			what, engine);
	d->async = engine && !strcmp(engine, "Async");
	return 0;
}

/* The fields of a drive body into @d. */
static int drive_body(const char *what, json_t *body, struct api_drive *d,
		      char *err)
{
	char *cache = NULL, *engine = NULL, fmt[8] = "";
	int r = -1;

	if (!json_object_get(body, "is_root_device"))
		return api_fail(err, "%s: missing field `is_root_device`",
				what);
	if (!api_get_bool(body, what, "is_root_device", &d->root, err) &&
	    !api_get_bool(body, what, "is_read_only", &d->disk.readonly, err) &&
	    !api_get_strbuf(body, what, "path_on_host", true, d->disk.path,
			    sizeof(d->disk.path), NULL, err) &&
	    !api_get_strbuf(body, what, "partuuid", false, d->partuuid,
			    sizeof(d->partuuid), NULL, err) &&
	    !api_get_str(body, what, "cache_type", false, &cache, err) &&
	    !api_get_str(body, what, "io_engine", false, &engine, err) &&
	    !api_parse_rl(body, what, "rate_limiter", &d->disk.rl, NULL, err) &&
	    !api_get_strbuf(body, what, "format", false, fmt, sizeof(fmt), NULL,
			    err) &&
	    !drive_extras(what, d, cache, engine, err))
		r = check_disk(what, &d->disk, err);
	if (!r && fmt[0]) {
		int f = config_parse_disk_format(fmt, strlen(fmt));

		if (f < 0)
			r = api_fail(
				err,
				"%s: field `format`: `%s` is not auto, raw or qcow2",
				what, fmt);
		d->disk.format = (uint8_t)(f < 0 ? 0 : f);
	}
	free(cache);
	free(engine);
	return r;
}

/* Adds or replaces drive @d; the root device is the first disk. */
static int drive_insert(struct api_config *n, int idx, const char *what,
			const struct api_drive *d, char *err)
{
	for (unsigned int i = 0; i < n->nr_drives; i++)
		if (d->root && n->drives[i].root && (int)i != idx)
			return api_fail(
				err,
				"%s: a root block device already exists (drive %.64s)",
				what, n->drives[i].id);
	if (idx < 0) {
		if (n->nr_drives == VMON_MAX_DISKS)
			return api_fail(err, "%s: vmon has at most %u drives",
					what, VMON_MAX_DISKS);
		idx = (int)n->nr_drives++;
	}
	n->drives[idx] = *d;
	if (d->root && idx > 0) {
		/* The root device is the first disk: /dev/vda. */
		memmove(&n->drives[1], &n->drives[0],
			(size_t)idx * sizeof(n->drives[0]));
		n->drives[0] = *d;
	}
	return 0;
}

int cfg_parse_drive(struct api_config *n, const char *id, json_t *body,
		    char *err)
{
	char what[96];
	struct api_drive d;

	snprintf(what, sizeof(what), "drives/%.64s", id);
	memset(&d, 0, sizeof(d));
	if (api_check_fields(body, what, drive_fields, err) ||
	    api_check_body_id(body, what, "drive_id", id, err))
		return -1;
	if (json_object_get(body, "socket"))
		return api_fail(
			err,
			"%s: field `socket`: vhost-user block devices are not supported by vmon (give path_on_host)",
			what);
	snprintf(d.id, sizeof(d.id), "%s", id);
	if (drive_body(what, body, &d, err))
		return -1;
	return drive_insert(n, cfg_find_drive(n, id), what, &d, err);
}

int api_config_drive(struct api_config *c, const char *id, json_t *body,
		     char *err)
{
	TRANSACT(c, err, cfg_parse_drive(n_, id, body, err));
}

static const char *const drive_patch_fields[] = { "drive_id", "path_on_host",
						  "rate_limiter", NULL };

int api_config_drive_update(const struct api_config *c, const char *id,
			    json_t *body, struct api_drive_update *u, char *err)
{
	struct disk_config d;
	char what[96];
	int idx;

	snprintf(what, sizeof(what), "drives/%.64s", id);
	memset(u, 0, sizeof(*u));
	if (api_check_fields(body, what, drive_patch_fields, err) ||
	    api_check_body_id(body, what, "drive_id", id, err))
		return -1;
	idx = cfg_find_drive(c, id);
	if (idx < 0)
		return api_fail(err, "%s: no such drive", what);
	u->index = (unsigned int)idx;
	u->rl = c->drives[idx].disk.rl;
	if (api_get_strbuf(body, what, "path_on_host", false, u->path,
			   sizeof(u->path), &u->have_path, err) ||
	    api_parse_rl(body, what, "rate_limiter", &u->rl, &u->have_rl, err))
		return -1;
	if (!u->have_path)
		return 0;
	d = c->drives[idx].disk;
	memcpy(d.path, u->path, sizeof(d.path));
	return check_disk(what, &d, err);
}

void api_config_drive_commit(struct api_config *c,
			     const struct api_drive_update *u)
{
	struct disk_config *d = &c->drives[u->index].disk;

	if (u->have_path)
		memcpy(d->path, u->path, sizeof(d->path));
	if (u->have_rl)
		d->rl = u->rl;
}

void cfg_drives_json(const struct api_config *c, json_t *j)
{
	json_t *drives = json_array();

	for (unsigned int i = 0; drives && i < c->nr_drives; i++) {
		const struct api_drive *d = &c->drives[i];
		json_t *o = json_pack("{s:s, s:s, s:b, s:b, s:s, s:s}",
				      "drive_id", d->id, "path_on_host",
				      d->disk.path, "is_root_device", d->root,
				      "is_read_only", d->disk.readonly,
				      "cache_type",
				      d->writeback ? "Writeback" : "Unsafe",
				      "io_engine", d->async ? "Async" : "Sync");

		if (!o)
			continue;
		if (*d->partuuid)
			json_object_set_new(o, "partuuid",
					    json_string(d->partuuid));
		if (d->disk.format)
			json_object_set_new(o, "format",
					    json_string(config_disk_format_name(
						    d->disk.format)));
		api_rl_json(o, "rate_limiter", &d->disk.rl);
		json_array_append_new(drives, o);
	}
	json_object_set_new(j, "drives", drives);
}

static const struct api_object drives_object = {
	.key = "drives",
	.order = 10,
	.parse_id = cfg_parse_drive,
	.idkey = "drive_id",
	.find = cfg_find_drive,
	.json = cfg_drives_json,
};
API_OBJECT(drives_object);
