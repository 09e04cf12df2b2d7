// SPDX-License-Identifier: GPL-2.0-only
/*
 * api_fuzz.c - fuzz target for the API's request handling and its
 * JSON-to-config layer. Input: "METHOD PATH\n" then the body; the request
 * goes through api_handle() (routing, body parsing, validation, state
 * machine) on an instance whose api_ops only record calls, and the body
 * is also parsed as a --config-file document. Checks: every answer is a
 * valid status with a fault_message on errors, the state machine only
 * moves along its edges, a refused request changes no configuration.
 *
 * Built with libFuzzer under clang (-Dfuzz=true), else with
 * api_fuzz_main.c, which runs the files given (the corpus) once.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/router.h"

static unsigned int starts, pauses, resumes;

static int op_ok(void *opaque, char *err)
{
	(void)opaque;
	(void)err;
	return 0;
}

static int op_start(void *opaque, char *err)
{
	struct vm_config vm;

	if (api_config_to_vm(&((struct api_ctx *)opaque)->cfg, &vm, err))
		return -1;
	starts++;
	return 0;
}

static int op_pause(void *opaque, char *err)
{
	(void)opaque;
	(void)err;
	pauses++;
	return 0;
}

static int op_resume(void *opaque, char *err)
{
	(void)opaque;
	(void)err;
	resumes++;
	return 0;
}

static json_t *op_stats(void *opaque)
{
	(void)opaque;
	return json_object();
}

static int op_drive(void *opaque, const struct api_drive_update *u, char *err)
{
	(void)opaque;
	(void)err;
	return u->index < VMON_MAX_DISKS ? 0 : -1;
}

static int op_net(void *opaque, const struct api_net_update *u, char *err)
{
	(void)opaque;
	(void)err;
	return u->index < VMON_MAX_NETS ? 0 : -1;
}

static int op_balloon_target(void *opaque, uint64_t mib, char *err)
{
	(void)opaque;
	(void)err;
	return mib <= API_MAX_MEM_MIB ? 0 : -1;
}

static int op_balloon_interval(void *opaque, unsigned int seconds, char *err)
{
	(void)opaque;
	(void)err;
	return seconds ? 0 : -1;
}

static int op_balloon_hint(void *opaque, bool start, bool ack, char *err)
{
	(void)opaque;
	(void)start;
	(void)ack;
	(void)err;
	return 0;
}

static int op_balloon_info(void *opaque, struct balloon_info *out)
{
	(void)opaque;
	memset(out, 0, sizeof(*out));
	return 0;
}

static int op_snap_create(void *opaque, const struct api_snapshot_create *c,
			  char *err)
{
	(void)opaque;
	(void)err;
	return *c->state_path && *c->mem_path ? 0 : -1;
}

static int op_snap_load(void *opaque, const struct api_snapshot_load *l,
			char *err)
{
	(void)opaque;
	(void)err;
	return *l->state_path && *l->mem_path ? 0 : -1;
}

static const struct api_ops ops = {
	.start = op_start,
	.pause = op_pause,
	.resume = op_resume,
	.stop = op_ok,
	.flush_metrics = op_ok,
	.stats = op_stats,
	.logger = op_ok,
	.metrics = op_ok,
	.drive_update = op_drive,
	.net_update = op_net,
	.balloon_target = op_balloon_target,
	.balloon_info = op_balloon_info,
	.balloon_interval = op_balloon_interval,
	.balloon_hint = op_balloon_hint,
	.ctrl_alt_del = op_ok,
	.power_button = op_ok,
	.snapshot_create = op_snap_create,
	.snapshot_load = op_snap_load,
};

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "api_fuzz: violated: %s\n", what);
		abort();
	}
}

static char *dump(struct api_ctx *ctx)
{
	json_t *j = api_config_full_json(&ctx->cfg);
	char *s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);

	json_decref(j);
	return s;
}

/* Devices (paths that exist everywhere) for run-time requests. */
static const char devices_doc[] =
	"{\"boot-source\": {\"kernel_image_path\": \"/dev/null\"},"
	"\"drives\": [{\"drive_id\": \"root\", \"is_root_device\": true,"
	" \"is_read_only\": true, \"path_on_host\": \"/dev/null\"}],"
	"\"network-interfaces\": [{\"iface_id\": \"eth0\","
	" \"host_dev_name\": \"tap0\"}],"
	"\"balloon\": {\"amount_mib\": 0, \"deflate_on_oom\": true,"
	" \"stats_polling_interval_s\": 1},"
	"\"vsock\": {\"guest_cid\": 3, \"uds_path\": \"/v.sock\"},"
	"\"entropy\": {}}";

/* Requests that may change the configuration after boot. */
static bool runtime_update(const char *method, const char *path)
{
	return !strcmp(method, "PATCH") &&
	       (!strncmp(path, "/drives/", 8) ||
		!strncmp(path, "/network-interfaces/", 20) ||
		!strcmp(path, "/balloon"));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = { "GET", "PUT", "PATCH",
					       "DELETE" };
	struct api_ctx ctx;
	char line[256], method[16], path[240];
	const char *nl = memchr(data, '\n', size < 255 ? size : 255);
	size_t hl = nl ? (size_t)(nl - (const char *)data) : 0;
	const char *body = nl ? nl + 1 : (const char *)data;
	size_t blen = size - (nl ? hl + 1 : 0);
	enum api_state before;
	char *cfg_before, *cfg_after, err[API_ERR_MAX];
	unsigned int st;
	json_t *resp;

	memcpy(line, data, hl);
	line[hl] = 0;
	if (sscanf(line, "%15s %239s", method, path) != 2) {
		snprintf(method, sizeof(method), "%s", methods[size % 4]);
		snprintf(path, sizeof(path), "/machine-config");
	}
	api_ctx_init(&ctx, "fuzz", &ops, &ctx);
	/* Sometimes start with devices, so run-time updates find them. */
	if (size % 5 == 0)
		check(!api_config_document(&ctx.cfg, devices_doc,
					   strlen(devices_doc), err),
		      "the device seed configuration is accepted");
	/* Sometimes start from a running or paused instance. */
	if (size % 3 == 1)
		ctx.state = API_RUNNING;
	else if (size % 3 == 2)
		ctx.state = API_PAUSED;
	before = ctx.state;
	starts = pauses = resumes = 0;
	cfg_before = dump(&ctx);
	st = api_handle(&ctx, method, path, body, blen, &resp);
	cfg_after = dump(&ctx);
	check(st == 200 || st == 204 || st == 400 || st == 500,
	      "status is 200, 204, 400 or 500");
	if (st == 400)
		check(json_is_string(json_object_get(resp, "fault_message")),
		      "a 400 carries a fault_message");
	if (st == 204)
		check(resp == NULL, "a 204 has no body");
	if (st >= 400)
		check(!strcmp(cfg_before, cfg_after) && ctx.state == before,
		      "a refused request changes nothing");
	if (ctx.state != before)
		check((before == API_NOT_STARTED && ctx.state == API_RUNNING &&
		       starts == 1) ||
			      (before == API_RUNNING &&
			       ctx.state == API_PAUSED && pauses == 1) ||
			      (before == API_PAUSED &&
			       ctx.state == API_RUNNING && resumes == 1) ||
			      ctx.state == API_STOPPING,
		      "state changes follow the state machine");
	if (before != API_NOT_STARTED && !runtime_update(method, path))
		check(!strcmp(cfg_before, cfg_after),
		      "no configuration change after boot");
	json_decref(resp);
	free(cfg_before);
	free(cfg_after);

	/* The same bytes as a whole --config-file document. */
	cfg_before = dump(&ctx);
	if (api_config_document(&ctx.cfg, (const char *)data, size, err)) {
		cfg_after = dump(&ctx);
		check(!strcmp(cfg_before, cfg_after),
		      "a refused config file changes nothing");
		check(err[0] != 0, "a refused config file says why");
		free(cfg_after);
	} else {
		check(ctx.cfg.boot_source_set, "an accepted config boots");
	}
	free(cfg_before);
	api_ctx_destroy(&ctx);
	return 0;
}
