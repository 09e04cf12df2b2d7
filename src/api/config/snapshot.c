// SPDX-License-Identifier: GPL-2.0-only
/*
 * snapshot.c - the bodies of PUT /snapshot/create and PUT /snapshot/load
 * (Firecracker's fields), checked into struct api_snapshot_create/_load.
 * The overrides are in overrides.c.
 */
#include <string.h>

#include "common.h"

static const char *const create_fields[] = { "snapshot_type", "snapshot_path",
					     "mem_file_path", "version", NULL };

int api_snapshot_create_parse(json_t *body, struct api_snapshot_create *out,
			      char *err)
{
	char type[16] = "Full";

	memset(out, 0, sizeof(*out));
	if (api_check_fields(body, "snapshot/create", create_fields, err) ||
	    api_get_strbuf(body, "snapshot/create", "snapshot_type", false,
			   type, sizeof(type), NULL, err) ||
	    api_get_strbuf(body, "snapshot/create", "snapshot_path", true,
			   out->state_path, sizeof(out->state_path), NULL,
			   err) ||
	    api_get_strbuf(body, "snapshot/create", "mem_file_path", true,
			   out->mem_path, sizeof(out->mem_path), NULL, err))
		return -1;
	out->diff = !strcmp(type, "Diff");
	if (!out->diff && strcmp(type, "Full") != 0)
		return api_fail(
			err,
			"snapshot/create: field `snapshot_type` must be \"Full\" or \"Diff\"");
	if (!*out->state_path || !*out->mem_path)
		return api_fail(
			err,
			"snapshot/create: fields `snapshot_path` and `mem_file_path` must not be empty");
	return 0;
}

static const char *const load_fields[] = { "snapshot_path",
					   "mem_backend",
					   "mem_file_path",
					   "resume_vm",
					   "enable_diff_snapshots",
					   "track_dirty_pages",
					   "network_overrides",
					   "vsock_override",
					   "drive_overrides",
					   "clock_realtime",
					   NULL };
static const char *const backend_fields[] = { "backend_type", "backend_path",
					      NULL };

static int parse_backend(json_t *body, struct api_snapshot_load *out, char *err)
{
	json_t *b = json_object_get(body, "mem_backend");
	char type[16];
	bool old = json_object_get(body, "mem_file_path") != NULL;

	if (!b == !old)
		return api_fail(
			err,
			"snapshot/load: exactly one of the fields `mem_backend` and `mem_file_path` is required");
	if (old)
		return api_get_strbuf(body, "snapshot/load", "mem_file_path",
				      true, out->mem_path,
				      sizeof(out->mem_path), NULL, err);
	if (!json_is_object(b))
		return api_fail(
			err,
			"snapshot/load: field `mem_backend` must be an object");
	if (api_check_fields(b, "snapshot/load: mem_backend", backend_fields,
			     err) ||
	    api_get_strbuf(b, "snapshot/load: mem_backend", "backend_type",
			   true, type, sizeof(type), NULL, err) ||
	    api_get_strbuf(b, "snapshot/load: mem_backend", "backend_path",
			   true, out->mem_path, sizeof(out->mem_path), NULL,
			   err))
		return -1;
	out->uffd = !strcmp(type, "Uffd");
	if (!out->uffd && strcmp(type, "File") != 0)
		return api_fail(
			err,
			"snapshot/load: mem_backend: field `backend_type` must be \"File\" or \"Uffd\"");
	return 0;
}

int api_snapshot_load_parse(json_t *body, struct api_snapshot_load *out,
			    char *err)
{
	memset(out, 0, sizeof(*out));
	if (api_check_fields(body, "snapshot/load", load_fields, err) ||
	    api_get_strbuf(body, "snapshot/load", "snapshot_path", true,
			   out->state_path, sizeof(out->state_path), NULL,
			   err) ||
	    parse_backend(body, out, err) ||
	    api_get_bool(body, "snapshot/load", "clock_realtime",
			 &out->clock_realtime, err) ||
	    api_overrides_parse(body, "snapshot/load", &out->ov, err) ||
	    api_get_bool(body, "snapshot/load", "resume_vm", &out->resume,
			 err) ||
	    api_get_bool(body, "snapshot/load", "enable_diff_snapshots",
			 &out->track_dirty, err) ||
	    api_get_bool(body, "snapshot/load", "track_dirty_pages",
			 &out->track_dirty, err))
		return -1;
	if (!*out->state_path || !*out->mem_path)
		return api_fail(
			err,
			"snapshot/load: the snapshot and memory paths must not be empty");
	return 0;
}
