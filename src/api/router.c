// SPDX-License-Identifier: GPL-2.0-only
/*
 * router.c - Firecracker's API endpoints on top of api_config and api_ops:
 * the table of endpoints ({method, path, handler}: routes[] below), body
 * parsing, the instance state machine, and Firecracker's error convention
 * (status code and fault_message).
 */
#include "router.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../migration/migration.h"
#include "api_hotplug.h"
#include "config/object.h"

#ifndef VMON_VERSION
#define VMON_VERSION "unknown"
#endif

#define MSG_AFTER_BOOT \
	"The requested operation is not supported after starting the microVM."
#define MSG_BEFORE_BOOT \
	"The requested operation is not supported before starting the microVM."

struct route;

/* One request as its handler sees it. */
struct request {
	const char *method;
	const char *path;
	const char *id; /* the {id} segment of the path, or NULL */
	const char *body; /* may be NULL when len is 0 */
	size_t len;
	const struct route *route;
	char what[48]; /* the route's path without '/' and "/{id}" */
};

/* Returns the HTTP status and sets *resp (a new reference or NULL). */
typedef unsigned int (*route_handler)(struct api_ctx *ctx,
				      const struct request *rq, json_t **resp);

/*
 * One endpoint: a request whose method and path match runs the handler.
 * A path ending in "{id}" matches any one non-empty path segment there.
 * The pre-boot configuration endpoints share do_config (with @set, then
 * @hook if any) and do_config_id (with @set_id).
 */
struct route {
	const char *method;
	const char *path;
	route_handler handler;
	int (*set)(struct api_config *c, json_t *j, char *err);
	int (*set_id)(struct api_config *c, const char *id, json_t *j,
		      char *err);
	int (*hook)(struct api_ctx *ctx, char *err);
	const struct api_object *object; /* instead of set/set_id */
};

void api_ctx_init(struct api_ctx *ctx, const char *id,
		  const struct api_ops *ops, void *opaque)
{
	memset(ctx, 0, sizeof(*ctx));
	pthread_mutex_init(&ctx->lock, NULL);
	api_config_init(&ctx->cfg);
	ctx->state = API_NOT_STARTED;
	ctx->id = id;
	ctx->max_body = API_MAX_BODY;
	ctx->ops = ops;
	ctx->opaque = opaque;
}

void api_ctx_destroy(struct api_ctx *ctx)
{
	api_config_free(&ctx->cfg);
	pthread_mutex_destroy(&ctx->lock);
}

const char *api_state_name(enum api_state s)
{
	switch (s) {
	case API_NOT_STARTED:
		return "Not started";
	case API_RUNNING:
		return "Running";
	case API_PAUSED:
		return "Paused";
	default:
		return "Stopping";
	}
}

json_t *api_fault(const char *msg)
{
	char clean[API_ERR_MAX + 128];
	size_t i;

	/* Messages quote the client's path and fields: keep them ASCII. */
	for (i = 0; msg[i] && i < sizeof(clean) - 1; i++)
		clean[i] = msg[i] >= 0x20 && msg[i] < 0x7f ? msg[i] : '?';
	clean[i] = 0;
	return json_pack("{s:s}", "fault_message", clean);
}

static unsigned int fault(json_t **resp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static unsigned int fault(json_t **resp, const char *fmt, ...)
{
	char msg[API_ERR_MAX + 128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	*resp = api_fault(msg);
	return 400;
}

/* Endpoints Firecracker has and vmon does not, with what is missing. */
static const struct {
	const char *path;
	bool prefix; /* path + "{id}" */
	const char *methods; /* Firecracker's methods, space-separated */
	const char *missing;
} missing_endpoints[] = {
	{ "/pmem/", true, "PUT PATCH", "pmem devices (virtio-pmem)" },
	{ "/hotplug/memory", false, "GET PUT PATCH",
	  "memory hotplug (virtio-mem)" },
};

static bool method_in(const char *method, const char *list)
{
	size_t n = strlen(method);

	for (const char *p = list; *p;) {
		size_t l = strcspn(p, " ");

		if (l == n && !strncmp(p, method, n))
			return true;
		p += l;
		while (*p == ' ')
			p++;
	}
	return false;
}

static unsigned int bad_route(const char *method, const char *path,
			      json_t **resp)
{
	return fault(resp, "Invalid request method and/or path: %.16s %.200s.",
		     method, path);
}

/* 0 if @body parsed into *out (an object), else the error status. */
static unsigned int need_body(const char *body, size_t len, json_t **out,
			      json_t **resp)
{
	char err[API_ERR_MAX];

	*out = api_parse_body(body, len, err);
	if (!*out)
		return fault(resp, "%s", err);
	return 0;
}

/* Before boot, and not while an incoming migration is awaited. */
static unsigned int need_configurable(struct api_ctx *ctx, const char *what,
				      json_t **resp)
{
	if (ctx->state != API_NOT_STARTED)
		return fault(resp, "%s: " MSG_AFTER_BOOT, what);
	if (ctx->incoming)
		return fault(
			resp,
			"%s: an incoming migration is awaited: the VM comes with its configuration",
			what);
	return 0;
}

static unsigned int do_config(struct api_ctx *ctx, const struct request *rq,
			      json_t **resp)
{
	int (*hook)(struct api_ctx *, char *) = rq->route->hook;
	const char *what = rq->what;
	char err[API_ERR_MAX] = "";
	struct api_config *saved = NULL;
	unsigned int st;
	json_t *j;

	st = need_configurable(ctx, what, resp);
	if (!st)
		st = need_body(rq->body, rq->len, &j, resp);
	if (st)
		return st;
	/* Only a hooked route (logger, metrics) may have to go back. */
	if (hook && !(saved = api_config_dup(&ctx->cfg))) {
		json_decref(j);
		*resp = api_fault("out of memory");
		return 500;
	}
	if (rq->route->object ? api_config_object(&ctx->cfg, rq->route->object,
						  NULL, j, err) :
				rq->route->set(&ctx->cfg, j, err)) {
		st = fault(resp, "%s", err);
	} else if (hook && hook(ctx, err)) {
		/* The hook could not open its file: nothing changes. */
		api_config_move(&ctx->cfg, saved);
		saved = NULL;
		st = fault(resp, "%s: %s", what, err);
	} else {
		/* Logger and metrics (the hooked routes) allow a load. */
		ctx->configured |= !hook;
		st = 204;
	}
	api_config_drop(saved);
	json_decref(j);
	return st;
}

static int apply_machine_put(struct api_config *c, json_t *j, char *err)
{
	return api_config_machine(c, j, false, err);
}

static int apply_machine_patch(struct api_config *c, json_t *j, char *err)
{
	return api_config_machine(c, j, true, err);
}

/* PUT /logger and /metrics open their files once the body is valid. */
static int hook_logger(struct api_ctx *ctx, char *err)
{
	return ctx->ops->logger ? ctx->ops->logger(ctx->opaque, err) : 0;
}

static int hook_metrics(struct api_ctx *ctx, char *err)
{
	return ctx->ops->metrics ? ctx->ops->metrics(ctx->opaque, err) : 0;
}

static unsigned int do_config_id(struct api_ctx *ctx, const struct request *rq,
				 json_t **resp)
{
	char err[API_ERR_MAX] = "";
	unsigned int st;
	json_t *j;

	/* After boot, a drive or interface is hot-plugged (PCI). */
	if (ctx->state != API_NOT_STARTED && rq->route->object &&
	    api_hotplug_route(rq->what)) {
		st = need_body(rq->body, rq->len, &j, resp);
		if (st)
			return st;
		st = api_hotplug_put(ctx, rq->route->object, rq->what, rq->id,
				     j, resp);
		json_decref(j);
		return st;
	}
	st = need_configurable(ctx, rq->what, resp);
	if (!st)
		st = need_body(rq->body, rq->len, &j, resp);
	if (st)
		return st;
	if (rq->route->object ? api_config_object(&ctx->cfg, rq->route->object,
						  rq->id, j, err) :
				rq->route->set_id(&ctx->cfg, rq->id, j, err))
		st = fault(resp, "%s", err);
	else {
		ctx->configured = true;
		st = 204;
	}
	json_decref(j);
	return st;
}

/* Run-time requests: refused before boot and while stopping. */
static unsigned int need_running(struct api_ctx *ctx, const char *what,
				 json_t **resp)
{
	if (ctx->state == API_NOT_STARTED)
		return fault(resp, "%s: " MSG_BEFORE_BOOT, what);
	if (ctx->state == API_STOPPING)
		return fault(resp, "%s: the microVM is stopping", what);
	return 0;
}

/* A run-time request with a body: need_running(), then need_body(). */
static unsigned int need_running_body(struct api_ctx *ctx,
				      const struct request *rq,
				      const char *what, json_t **j,
				      json_t **resp)
{
	unsigned int st = need_running(ctx, what, resp);

	return st ? st : need_body(rq->body, rq->len, j, resp);
}

/* DELETE /drives/{id}, /network-interfaces/{id}: hot unplug. */
static unsigned int do_unplug(struct api_ctx *ctx, const struct request *rq,
			      json_t **resp)
{
	return api_hotplug_delete(ctx, rq->what, rq->id, resp);
}

static unsigned int do_drive_patch(struct api_ctx *ctx,
				   const struct request *rq, json_t **resp)
{
	char err[API_ERR_MAX] = "";
	struct api_drive_update *u;
	const char *id = rq->id;
	json_t *j;
	unsigned int st = need_running_body(ctx, rq, "drives", &j, resp);

	if (st)
		return st;
	u = malloc(sizeof(*u));
	if (!u) {
		json_decref(j);
		*resp = api_fault("out of memory");
		return 500;
	}
	if (api_config_drive_update(&ctx->cfg, id, j, u, err))
		st = fault(resp, "%s", err);
	else if (ctx->ops->drive_update(ctx->opaque, u, err))
		st = fault(resp, "drives/%.64s: %s", id, err);
	else {
		api_config_drive_commit(&ctx->cfg, u);
		st = 204;
	}
	free(u);
	json_decref(j);
	return st;
}

static unsigned int do_net_patch(struct api_ctx *ctx, const struct request *rq,
				 json_t **resp)
{
	char err[API_ERR_MAX] = "";
	struct api_net_update u;
	const char *id = rq->id;
	json_t *j;
	unsigned int st =
		need_running_body(ctx, rq, "network-interfaces", &j, resp);

	if (st)
		return st;
	if (api_config_net_update(&ctx->cfg, id, j, &u, err))
		st = fault(resp, "%s", err);
	else if (ctx->ops->net_update(ctx->opaque, &u, err))
		st = fault(resp, "network-interfaces/%.64s: %s", id, err);
	else {
		api_config_net_commit(&ctx->cfg, &u);
		st = 204;
	}
	json_decref(j);
	return st;
}

static unsigned int do_balloon_patch(struct api_ctx *ctx,
				     const struct request *rq, json_t **resp)
{
	char err[API_ERR_MAX] = "";
	unsigned int st;
	uint64_t mib;
	json_t *j;

	/* As in Firecracker: a run-time request only. */
	st = need_running_body(ctx, rq, "balloon", &j, resp);
	if (st)
		return st;
	if (api_config_balloon_amount(&ctx->cfg, j, &mib, err))
		st = fault(resp, "%s", err);
	else if (ctx->ops->balloon_target(ctx->opaque, mib, err))
		st = fault(resp, "balloon: %s", err);
	else {
		ctx->configured = true;
		ctx->cfg.balloon_mib = mib;
		ctx->cfg.balloon.size = mib << 20;
		st = 204;
	}
	json_decref(j);
	return st;
}

static unsigned int do_balloon_stats_patch(struct api_ctx *ctx,
					   const struct request *rq,
					   json_t **resp)
{
	char err[API_ERR_MAX] = "";
	unsigned int st, secs;
	json_t *j;

	st = need_running_body(ctx, rq, "balloon/statistics", &j, resp);
	if (st)
		return st;
	/* As Firecracker: statistics cannot be turned on or off now. */
	if (api_config_balloon_interval(&ctx->cfg, j, &secs, err))
		st = fault(resp, "%s", err);
	else if (!secs != !ctx->cfg.balloon.stats_interval)
		st = fault(
			resp,
			"balloon/statistics: field `stats_polling_interval_s`: statistics cannot be turned %s after boot",
			secs ? "on" : "off");
	else if (secs && ctx->ops->balloon_interval(ctx->opaque, secs, err))
		st = fault(resp, "balloon/statistics: %s", err);
	else {
		ctx->cfg.balloon.stats_interval = secs;
		st = 204;
	}
	json_decref(j);
	return st;
}

/* The hinting endpoints: running, a balloon configured with hinting. */
static unsigned int need_hinting(struct api_ctx *ctx, json_t **resp)
{
	unsigned int st = need_running(ctx, "balloon/hinting", resp);

	if (st)
		return st;
	if (!ctx->cfg.balloon_set || !ctx->cfg.balloon.hinting)
		return fault(
			resp,
			"balloon/hinting: free page hinting was not enabled when the balloon device was configured");
	return 0;
}

/* PATCH /balloon/hinting/start [{acknowledge_on_stop}] and .../stop. */
static unsigned int do_balloon_hint(struct api_ctx *ctx,
				    const struct request *rq, json_t **resp)
{
	bool start = !strcmp(rq->path, "/balloon/hinting/start");
	char err[API_ERR_MAX] = "";
	unsigned int st = need_hinting(ctx, resp);
	bool ack = true; /* Firecracker's default */
	json_t *j = NULL;

	if (st)
		return st;
	/* The body is optional. */
	if (start && rq->len) {
		st = need_body(rq->body, rq->len, &j, resp);
		if (st)
			return st;
		st = api_config_balloon_hint_start(j, &ack, err);
		json_decref(j);
		if (st)
			return fault(resp, "%s", err);
	}
	if (ctx->ops->balloon_hint(ctx->opaque, start, ack, err))
		return fault(resp, "balloon/hinting: %s", err);
	return 204;
}

static unsigned int ok_json(json_t **resp, json_t *j);

static unsigned int do_balloon_hint_status(struct api_ctx *ctx,
					   const struct request *rq,
					   json_t **resp)
{
	unsigned int st = need_hinting(ctx, resp);
	struct balloon_info bi;
	json_t *j;

	(void)rq;
	if (st)
		return st;
	if (ctx->ops->balloon_info(ctx->opaque, &bi))
		return fault(resp, "balloon/hinting: no balloon device");
	j = json_pack("{s:I}", "host_cmd", (json_int_t)bi.host_cmd);
	if (j && bi.guest_cmd_seen)
		json_object_set_new(j, "guest_cmd",
				    json_integer((json_int_t)bi.guest_cmd));
	return ok_json(resp, j);
}

static const char *const stat_names[BALLOON_NR_STATS] = {
	"swap_in",	    "swap_out",	   "major_faults",
	"minor_faults",	    "free_memory", "total_memory",
	"available_memory", "disk_caches", "hugetlb_allocations",
	"hugetlb_failures",
};

static unsigned int do_balloon_stats(struct api_ctx *ctx,
				     const struct request *rq, json_t **resp)
{
	struct balloon_info bi;
	unsigned int st = need_running(ctx, "balloon/statistics", resp);
	json_t *j;

	(void)rq;
	if (st)
		return st;
	if (!ctx->cfg.balloon_set)
		return fault(
			resp,
			"balloon/statistics: no balloon device is configured");
	if (!ctx->cfg.balloon.stats_interval)
		return fault(
			resp,
			"balloon/statistics: statistics are not enabled (stats_polling_interval_s is 0)");
	if (ctx->ops->balloon_info(ctx->opaque, &bi))
		return fault(resp, "balloon/statistics: no balloon device");
	j = json_pack("{s:I, s:I, s:I, s:I}", "target_pages",
		      (json_int_t)(bi.target_bytes >> 12), "actual_pages",
		      (json_int_t)(bi.actual_bytes >> 12), "target_mib",
		      (json_int_t)(bi.target_bytes >> 20), "actual_mib",
		      (json_int_t)(bi.actual_bytes >> 20));
	for (unsigned int i = 0; j && i < BALLOON_NR_STATS; i++)
		if (bi.have_stat[i])
			json_object_set_new(
				j, stat_names[i],
				json_integer((json_int_t)bi.stats[i]));
	if (!j) {
		*resp = api_fault("out of memory");
		return 500;
	}
	*resp = j;
	return 200;
}

static const char *const action_fields[] = { "action_type", NULL };

/* An event for the running guest: SendCtrlAltDel, PowerButton. */
static unsigned int guest_event(struct api_ctx *ctx, json_t **resp,
				const char *type,
				int (*fn)(void *opaque, char *err))
{
	char err[API_ERR_MAX];

	if (ctx->state == API_NOT_STARTED)
		return fault(resp, "%s: " MSG_BEFORE_BOOT, type);
	if (ctx->state == API_STOPPING)
		return fault(resp, "%s: the microVM is stopping", type);
	if (fn(ctx->opaque, err))
		return fault(resp, "%s: %s", type, err);
	return 204;
}

static unsigned int do_action(struct api_ctx *ctx, const struct request *rq,
			      json_t **resp)
{
	char err[API_ERR_MAX] = "";
	const char *type;
	unsigned int st;
	json_t *j, *t;

	st = need_body(rq->body, rq->len, &j, resp);
	if (st)
		return st;
	{
		const char *key;
		json_t *v;

		json_object_foreach(j, key, v)
		{
			if (strcmp(key, action_fields[0]) != 0) {
				st = fault(resp,
					   "actions: unknown field `%.64s`",
					   key);
				json_decref(j);
				return st;
			}
		}
	}
	t = json_object_get(j, "action_type");
	if (!t || !json_is_string(t)) {
		json_decref(j);
		return fault(
			resp,
			"actions: field `action_type` must be one of InstanceStart, SendCtrlAltDel, FlushMetrics (or vmon's Stop, PowerButton)");
	}
	type = json_string_value(t);
	if (!strcmp(type, "InstanceStart")) {
		if ((st = need_configurable(ctx, "InstanceStart", resp)))
			;
		else if (ctx->ops->start(ctx->opaque, err))
			st = fault(resp, "InstanceStart: %s", err);
		else {
			ctx->state = API_RUNNING;
			st = 204;
		}
	} else if (!strcmp(type, "FlushMetrics")) {
		/* As in Firecracker: after boot; no metrics file, no-op. */
		if (ctx->state == API_NOT_STARTED)
			st = fault(resp, "FlushMetrics: " MSG_BEFORE_BOOT);
		else if (ctx->cfg.metrics_set &&
			 ctx->ops->flush_metrics(ctx->opaque, err))
			st = fault(resp, "FlushMetrics: %s", err);
		else
			st = 204;
	} else if (!strcmp(type, "SendCtrlAltDel")) {
		st = guest_event(ctx, resp, type, ctx->ops->ctrl_alt_del);
	} else if (!strcmp(type, "PowerButton")) {
		st = guest_event(ctx, resp, type, ctx->ops->power_button);
	} else if (!strcmp(type, "Stop")) {
		if (ctx->state != API_RUNNING && ctx->state != API_PAUSED)
			st = fault(resp, "Stop: " MSG_BEFORE_BOOT);
		else if (ctx->ops->stop(ctx->opaque, err))
			st = fault(resp, "Stop: %s", err);
		else {
			ctx->state = API_STOPPING;
			st = 204;
		}
	} else {
		st = fault(
			resp,
			"actions: field `action_type`: unknown action `%.64s` (expected InstanceStart, SendCtrlAltDel, FlushMetrics or vmon's Stop, PowerButton)",
			type);
	}
	json_decref(j);
	return st;
}

static const char *const vm_fields[] = { "state", NULL };

static unsigned int do_vm_state(struct api_ctx *ctx, const struct request *rq,
				json_t **resp)
{
	char err[API_ERR_MAX] = "";
	const char *want, *key;
	unsigned int st;
	json_t *j, *v;

	st = need_body(rq->body, rq->len, &j, resp);
	if (st)
		return st;
	json_object_foreach(j, key, v)
	{
		if (strcmp(key, vm_fields[0]) != 0) {
			st = fault(resp, "vm: unknown field `%.64s`", key);
			json_decref(j);
			return st;
		}
	}
	v = json_object_get(j, "state");
	if (!v || !json_is_string(v) ||
	    (strcmp(json_string_value(v), "Paused") != 0 &&
	     strcmp(json_string_value(v), "Resumed") != 0)) {
		json_decref(j);
		return fault(
			resp,
			"vm: field `state` must be \"Paused\" or \"Resumed\"");
	}
	want = json_string_value(v);
	if (ctx->state == API_NOT_STARTED)
		st = fault(resp, "vm: " MSG_BEFORE_BOOT);
	else if (ctx->state == API_STOPPING)
		st = fault(resp, "vm: the microVM is stopping");
	else if (!strcmp(want, "Paused")) {
		if (ctx->ops->pause(ctx->opaque, err))
			st = fault(resp, "vm: cannot pause: %s", err);
		else {
			ctx->state = API_PAUSED;
			st = 204;
		}
	} else {
		if (ctx->ops->resume(ctx->opaque, err))
			st = fault(resp, "vm: cannot resume: %s", err);
		else {
			ctx->state = API_RUNNING;
			st = 204;
		}
	}
	json_decref(j);
	return st;
}

static unsigned int do_snapshot_create(struct api_ctx *ctx,
				       const struct request *rq, json_t **resp)
{
	struct api_snapshot_create *c = malloc(sizeof(*c));
	char err[API_ERR_MAX] = "";
	unsigned int st;
	json_t *j;

	st = c ? need_body(rq->body, rq->len, &j, resp) : 500;
	if (st) {
		free(c);
		return st == 500 ? fault(resp, "out of memory") : st;
	}
	if (api_snapshot_create_parse(j, c, err))
		st = fault(resp, "%s", err);
	else if (ctx->state != API_PAUSED)
		st = fault(
			resp,
			"snapshot/create: the microVM must be paused (PATCH /vm Paused) first; it is %s",
			api_state_name(ctx->state));
	else if (ctx->ops->snapshot_create(ctx->opaque, c, err))
		st = fault(resp, "snapshot/create: %s", err);
	else
		st = 204;
	free(c);
	json_decref(j);
	return st;
}

/*
 * A snapshot load or a migration receive brings the VM's configuration:
 * only into a fresh instance (logger and metrics may be set before).
 */
static unsigned int need_fresh(struct api_ctx *ctx, const char *what,
			       json_t **resp)
{
	if (ctx->state != API_NOT_STARTED)
		return fault(resp, "%s: " MSG_AFTER_BOOT, what);
	if (ctx->configured)
		return fault(
			resp,
			"%s: only a fresh instance takes a VM from elsewhere: this one was configured (only logger and metrics may be set before)",
			what);
	return 0;
}

static unsigned int do_snapshot_load(struct api_ctx *ctx,
				     const struct request *rq, json_t **resp)
{
	struct api_snapshot_load *l = malloc(sizeof(*l));
	char err[API_ERR_MAX] = "";
	unsigned int st;
	json_t *j;

	st = l ? need_body(rq->body, rq->len, &j, resp) : 500;
	if (st) {
		free(l);
		return st == 500 ? fault(resp, "out of memory") : st;
	}
	if (api_snapshot_load_parse(j, l, err))
		st = fault(resp, "%s", err);
	else if ((st = need_fresh(ctx, "snapshot/load", resp)))
		;
	else if (ctx->ops->snapshot_load(ctx->opaque, l, err))
		st = fault(resp, "snapshot/load: %s", err);
	else {
		ctx->configured = true;
		ctx->state = l->resume ? API_RUNNING : API_PAUSED;
		st = 204;
	}
	free(l);
	json_decref(j);
	return st;
}

static unsigned int do_migrate_send(struct api_ctx *ctx,
				    const struct request *rq, json_t **resp)
{
	struct mig_params p;
	char err[API_ERR_MAX] = "";
	unsigned int st;
	json_t *j;

	st = need_body(rq->body, rq->len, &j, resp);
	if (st)
		return st;
	if (api_migration_send_parse(j, &p, err))
		st = fault(resp, "%s", err);
	else if (ctx->state != API_RUNNING && ctx->state != API_PAUSED)
		st = fault(resp, "migration/send: " MSG_BEFORE_BOOT);
	else if (!ctx->ops->migrate_send)
		st = fault(resp, "migration/send: not supported here");
	else if (ctx->ops->migrate_send(ctx->opaque, &p, err))
		st = fault(resp, "migration/send: %s", err);
	else
		st = 204;
	json_decref(j);
	return st;
}

static unsigned int do_migrate_receive(struct api_ctx *ctx,
				       const struct request *rq, json_t **resp)
{
	struct api_migration_receive *r = malloc(sizeof(*r));
	char err[API_ERR_MAX] = "";
	unsigned int st;
	json_t *j;

	st = r ? need_body(rq->body, rq->len, &j, resp) : 500;
	if (st) {
		free(r);
		return st == 500 ? fault(resp, "out of memory") : st;
	}
	if (api_migration_receive_parse(j, r, err))
		st = fault(resp, "%s", err);
	else if ((st = need_fresh(ctx, "migration/receive", resp)))
		;
	else if (!ctx->ops->migrate_receive)
		st = fault(resp, "migration/receive: not supported here");
	else if (ctx->ops->migrate_receive(ctx->opaque, r, err))
		st = fault(resp, "migration/receive: %s", err);
	else {
		/* The VM comes with its configuration: none is taken now. */
		ctx->configured = ctx->incoming = true;
		st = 204;
	}
	free(r);
	json_decref(j);
	return st;
}

static unsigned int do_migrate_cancel(struct api_ctx *ctx,
				      const struct request *rq, json_t **resp)
{
	char err[API_ERR_MAX] = "";

	(void)rq;
	if (!ctx->ops->migrate_cancel ||
	    ctx->ops->migrate_cancel(ctx->opaque, err))
		return fault(resp, "migration/cancel: %s",
			     *err ? err : "no migration");
	return 204;
}

static unsigned int ok_json(json_t **resp, json_t *j)
{
	if (!j) {
		*resp = api_fault("out of memory");
		return 500;
	}
	*resp = j;
	return 200;
}

static unsigned int get_root(struct api_ctx *ctx, const struct request *rq,
			     json_t **resp)
{
	(void)rq;
	return ok_json(resp, json_pack("{s:s, s:s, s:s, s:s}", "app_name",
				       "vmon", "id", ctx->id, "state",
				       api_state_name(ctx->state),
				       "vmm_version", VMON_VERSION));
}

static unsigned int get_version(struct api_ctx *ctx, const struct request *rq,
				json_t **resp)
{
	(void)ctx;
	(void)rq;
	/* Firecracker's version for version-gated clients (GET / says vmon). */
	return ok_json(resp, json_pack("{s:s}", "firecracker_version",
				       API_FC_VERSION));
}

static unsigned int get_machine_config(struct api_ctx *ctx,
				       const struct request *rq, json_t **resp)
{
	(void)rq;
	return ok_json(resp, api_config_machine_json(&ctx->cfg));
}

static unsigned int get_vm_config(struct api_ctx *ctx, const struct request *rq,
				  json_t **resp)
{
	(void)rq;
	return ok_json(resp, api_config_full_json(&ctx->cfg));
}

static unsigned int get_balloon(struct api_ctx *ctx, const struct request *rq,
				json_t **resp)
{
	(void)rq;
	if (!ctx->cfg.balloon_set)
		return fault(resp, "balloon: no balloon device is configured");
	return ok_json(resp, api_config_balloon_json(&ctx->cfg));
}

static unsigned int get_vmon_stats(struct api_ctx *ctx,
				   const struct request *rq, json_t **resp)
{
	(void)rq;
	if (ctx->state == API_NOT_STARTED)
		return fault(resp, "vmon/stats: " MSG_BEFORE_BOOT);
	return ok_json(resp, ctx->ops->stats(ctx->opaque));
}

/* PUT and PATCH /mmds: before and after boot, as in Firecracker. */
static unsigned int do_mmds_update(struct api_ctx *ctx,
				   const struct request *rq, json_t **resp)
{
	char err[API_ERR_MAX] = "";
	unsigned int st;
	json_t *j;
	int r;

	(void)ctx;
	st = need_body(rq->body, rq->len, &j, resp);
	if (st)
		return st;
	r = !strcmp(rq->method, "PUT") ? mmds_put(j, err, sizeof(err)) :
					 mmds_patch(j, err, sizeof(err));
	json_decref(j);
	if (!r)
		return 204;
	*resp = api_fault(err);
	return r == -2 ? 413 : 400;
}

static unsigned int get_mmds(struct api_ctx *ctx, const struct request *rq,
			     json_t **resp)
{
	(void)ctx;
	(void)rq;
	return ok_json(resp, mmds_get());
}

static unsigned int get_migration(struct api_ctx *ctx, const struct request *rq,
				  json_t **resp)
{
	(void)rq;
	if (!ctx->ops->migrate_info)
		return fault(resp, "migration: not supported here");
	return ok_json(resp, ctx->ops->migrate_info(ctx->opaque));
}

/*
 * Every endpoint vmon serves but the configuration objects' PUTs, which
 * come from their registry (object_routes below). Add an endpoint here
 * (docs/design.md).
 */
static unsigned int get_migration(struct api_ctx *ctx, const struct request *rq,
				  json_t **resp);

static const struct route routes[] = {
	{ "GET", "/", get_root },
	{ "GET", "/version", get_version },
	{ "GET", "/machine-config", get_machine_config },
	{ "PUT", "/machine-config", do_config, .set = apply_machine_put },
	{ "PATCH", "/machine-config", do_config, .set = apply_machine_patch },
	{ "GET", "/vm/config", get_vm_config },
	{ "PUT", "/boot-source", do_config, .set = api_config_boot_source },
	{ "PUT", "/logger", do_config, .set = api_config_logger,
	  .hook = hook_logger },
	{ "PUT", "/metrics", do_config, .set = api_config_metrics,
	  .hook = hook_metrics },
	{ "PUT", "/actions", do_action },
	{ "PATCH", "/vm", do_vm_state },
	{ "PATCH", "/drives/{id}", do_drive_patch },
	{ "PATCH", "/network-interfaces/{id}", do_net_patch },
	{ "DELETE", "/drives/{id}", do_unplug },
	{ "DELETE", "/network-interfaces/{id}", do_unplug },
	{ "PATCH", "/balloon", do_balloon_patch },
	{ "GET", "/balloon", get_balloon },
	{ "GET", "/balloon/statistics", do_balloon_stats },
	{ "PATCH", "/balloon/statistics", do_balloon_stats_patch },
	{ "PATCH", "/balloon/hinting/start", do_balloon_hint },
	{ "PATCH", "/balloon/hinting/stop", do_balloon_hint },
	{ "GET", "/balloon/hinting/status", do_balloon_hint_status },
	{ "GET", "/vmon/stats", get_vmon_stats },
	{ "PUT", "/snapshot/create", do_snapshot_create },
	{ "PUT", "/snapshot/load", do_snapshot_load },
	{ "PUT", "/migration/send", do_migrate_send },
	{ "PUT", "/migration/cancel", do_migrate_cancel },
	{ "PUT", "/migration/receive", do_migrate_receive },
	{ "GET", "/migration", get_migration },
	{ "PUT", "/mmds", do_mmds_update },
	{ "PATCH", "/mmds", do_mmds_update },
	{ "GET", "/mmds", get_mmds },
	{ "PUT", "/mmds/config", do_config, .set = api_config_mmds },
};

/* PUT /KEY or PUT /KEY/{id} of each registered object (config/object.h). */
#define MAX_OBJECT_ROUTES 32
static struct route object_routes[MAX_OBJECT_ROUTES];
static char object_paths[MAX_OBJECT_ROUTES][48];
static unsigned int nr_object_routes;
static pthread_once_t object_routes_once = PTHREAD_ONCE_INIT;

static void build_object_routes(void)
{
	const struct api_object *const *objs;
	unsigned int nr = api_objects(&objs);

	for (unsigned int i = 0; i < nr && i < MAX_OBJECT_ROUTES; i++) {
		const struct api_object *o = objs[i];

		snprintf(object_paths[i], sizeof(object_paths[i]),
			 o->parse_id ? "/%s/{id}" : "/%s", o->key);
		object_routes[nr_object_routes++] =
			(struct route){ "PUT", object_paths[i],
					o->parse_id ? do_config_id : do_config,
					.object = o };
	}
}

/* The @i-th route: routes[], then object_routes[]; NULL past the end. */
static const struct route *route_at(size_t i)
{
	size_t fixed = sizeof(routes) / sizeof(*routes);

	pthread_once(&object_routes_once, build_object_routes);
	if (i < fixed)
		return &routes[i];
	return i - fixed < nr_object_routes ? &object_routes[i - fixed] : NULL;
}

/*
 * True if @path matches @pattern; a trailing "{id}" in @pattern takes one
 * non-empty segment, returned in *id (else *id is NULL).
 */
static bool path_match(const char *pattern, const char *path, const char **id)
{
	const char *brace = strstr(pattern, "{id}");
	size_t l;

	*id = NULL;
	if (!brace)
		return !strcmp(pattern, path);
	l = (size_t)(brace - pattern);
	if (strncmp(path, pattern, l) != 0 || !path[l] || strchr(path + l, '/'))
		return false;
	*id = path + l;
	return true;
}

/* "drives" for "/drives/{id}", "balloon/statistics" for its path. */
static void route_what(const struct route *r, char *what, size_t len)
{
	const char *brace = strstr(r->path, "{id}");
	int n = brace ? (int)(brace - r->path) - 2 : (int)strlen(r->path) - 1;

	snprintf(what, len, "%.*s", n, r->path + 1);
}

/* Endpoints Firecracker has and vmon does not: a 400 naming what is missing. */
static unsigned int missing_route(const char *m, const char *p, json_t **resp)
{
	for (size_t i = 0;
	     i < sizeof(missing_endpoints) / sizeof(*missing_endpoints); i++) {
		size_t l = strlen(missing_endpoints[i].path);
		bool match =
			missing_endpoints[i].prefix ?
				!strncmp(p, missing_endpoints[i].path, l) &&
					p[l] && !strchr(p + l, '/') :
				!strcmp(p, missing_endpoints[i].path);

		if (match && method_in(m, missing_endpoints[i].methods))
			return fault(resp,
				     "%s %.200s: not supported by vmon yet: %s",
				     m, p, missing_endpoints[i].missing);
	}
	return bad_route(m, p, resp);
}

/*
 * A PATCH body that names nothing to change: an object with no field but
 * the device id (nulls are "not set"). Unparsable bodies are the
 * handler's to refuse.
 */
static bool patch_is_empty(const char *body, size_t len)
{
	json_t *j = body ? json_loadb(body, len, 0, NULL) : NULL;
	bool empty = json_is_object(j);
	const char *key;
	json_t *v;

	json_object_foreach(j, key, v)
	{
		if (!json_is_null(v) && strcmp(key, "drive_id") != 0 &&
		    strcmp(key, "iface_id") != 0)
			empty = false;
	}
	json_decref(j);
	return empty;
}

static unsigned int route(struct api_ctx *ctx, const char *m, const char *p,
			  const char *body, size_t len, json_t **resp)
{
	struct request rq = { .method = m, .path = p, .body = body, .len = len };
	const struct route *r;

	/* Firecracker's checks of the request before its path. */
	if (!strcmp(m, "GET") && len)
		return fault(resp, "GET request cannot have a body.");
	/* Not the hinting commands (whose body is all optional), not /mmds. */
	if (!strcmp(m, "PATCH") && strncmp(p, "/balloon/hinting/", 17) != 0 &&
	    strcmp(p, "/mmds") != 0 && patch_is_empty(body, len))
		return fault(resp, "Empty PATCH request.");

	for (size_t i = 0; (r = route_at(i)); i++) {
		if (strcmp(r->method, m) != 0 ||
		    !path_match(r->path, p, &rq.id))
			continue;
		rq.route = r;
		route_what(r, rq.what, sizeof(rq.what));
		return r->handler(ctx, &rq, resp);
	}
	return missing_route(m, p, resp);
}

/* The last api_handle() of this thread used a deprecated field. */
static __thread bool response_deprecated;

bool api_response_deprecated(void)
{
	return response_deprecated;
}

unsigned int api_handle(struct api_ctx *ctx, const char *method,
			const char *path, const char *body, size_t len,
			json_t **resp)
{
	unsigned int st;

	*resp = NULL;
	response_deprecated = false;
	if (len > ctx->max_body)
		return fault(
			resp,
			"Request payload with size %zu is larger than the limit of %zu allowed by server.",
			len, ctx->max_body);
	pthread_mutex_lock(&ctx->lock);
	api_hotplug_reap(ctx); /* devices the guest ejected since */
	st = route(ctx, method, path, body, len, resp);
	api_count(&ctx->requests, method, path, st);
	response_deprecated = api_count_deprecated(&ctx->requests, method, path,
						   body, len, st);
	pthread_mutex_unlock(&ctx->lock);
	return st;
}
