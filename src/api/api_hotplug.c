// SPDX-License-Identifier: GPL-2.0-only
/*
 * api_hotplug.c - PUT and DELETE of /drives/{id} and
 * /network-interfaces/{id} on a started instance (docs/pci.md, "Hotplug"),
 * as Firecracker's PCI device hotplug: the configuration's list grows by
 * the new entry and api_ops.hotplug creates its device; DELETE asks the
 * guest to eject it, and the entry goes when api_ops.hotplug_reap finds
 * the device ejected (at the start of each request).
 */
#include "api_hotplug.h"

#include <stdio.h>
#include <string.h>

#include "config/common.h"
#include "config/object.h"

#define MSG_AFTER_BOOT \
	"The requested operation is not supported after starting the microVM."
#define MSG_BEFORE_BOOT \
	"The requested operation is not supported before starting the microVM."

/* The list of @what ("drives" or "network-interfaces"), or false. */
static bool list_of(const char *what, const char **type)
{
	if (!strcmp(what, "drives"))
		*type = "disk";
	else if (!strcmp(what, "network-interfaces"))
		*type = "net";
	else
		return false;
	return true;
}

bool api_hotplug_route(const char *what)
{
	const char *type;

	return list_of(what, &type);
}

static int find(const struct api_config *c, const char *type, const char *id)
{
	return type[0] == 'd' ? cfg_find_drive(c, id) : cfg_find_net(c, id);
}

static unsigned int count(const struct api_config *c, const char *type)
{
	return type[0] == 'd' ? c->nr_drives : c->nr_nets;
}

void api_config_drop_device(struct api_config *c, const char *type,
			    unsigned int i)
{
	if (type[0] == 'd' && i < c->nr_drives) {
		memmove(&c->drives[i], &c->drives[i + 1],
			(c->nr_drives - i - 1) * sizeof(c->drives[0]));
		c->nr_drives--;
	} else if (type[0] == 'n' && i < c->nr_nets) {
		memmove(&c->nets[i], &c->nets[i + 1],
			(c->nr_nets - i - 1) * sizeof(c->nets[0]));
		c->nr_nets--;
	}
}

static unsigned int refuse(json_t **resp, const char *what, const char *id,
			   const char *why)
{
	char msg[API_ERR_MAX + 256];

	snprintf(msg, sizeof(msg), "%s/%.64s: %s", what, id, why);
	*resp = api_fault(msg);
	return 400;
}

/* Hotplug at all: the instance runs (or is paused) with PCI and ACPI. */
static unsigned int need_hotplug(struct api_ctx *ctx, const char *what,
				 const char *id, json_t **resp)
{
	char err[API_ERR_MAX] = "", why[API_ERR_MAX + 80];

	if (ctx->state == API_NOT_STARTED)
		return refuse(resp, what, id, MSG_BEFORE_BOOT);
	if (ctx->state == API_STOPPING || !ctx->ops->hotplug_check)
		return refuse(resp, what, id, MSG_AFTER_BOOT);
	if (ctx->ops->hotplug_check(ctx->opaque, err)) {
		snprintf(why, sizeof(why), "%s (%s)", MSG_AFTER_BOOT, err);
		return refuse(resp, what, id, why);
	}
	return 0;
}

unsigned int api_hotplug_put(struct api_ctx *ctx, const struct api_object *o,
			     const char *what, const char *id, json_t *body,
			     json_t **resp)
{
	char err[API_ERR_MAX] = "";
	const char *type = "";
	unsigned int st = need_hotplug(ctx, what, id, resp), n;

	if (st)
		return st;
	list_of(what, &type);
	if (find(&ctx->cfg, type, id) >= 0)
		return refuse(
			resp, what, id,
			"exists (PATCH changes a running device; DELETE unplugs it)");
	n = count(&ctx->cfg, type);
	if (api_config_object(&ctx->cfg, o, id, body, err))
		return refuse(resp, what, id, err);
	/* The new entry must be the last: a root drive would go first. */
	if (find(&ctx->cfg, type, id) != (int)n ||
	    (type[0] == 'd' && ctx->cfg.drives[n].root)) {
		api_config_drop_device(&ctx->cfg, type,
				       (unsigned int)find(&ctx->cfg, type, id));
		return refuse(resp, what, id,
			      "a root device cannot be hot-plugged");
	}
	if (ctx->ops->hotplug(ctx->opaque, type, n, err)) {
		api_config_drop_device(&ctx->cfg, type, n);
		return refuse(resp, what, id, err);
	}
	return 204;
}

unsigned int api_hotplug_delete(struct api_ctx *ctx, const char *what,
				const char *id, json_t **resp)
{
	char err[API_ERR_MAX] = "";
	const char *type = "";
	unsigned int st = need_hotplug(ctx, what, id, resp);
	int i;

	if (st)
		return st;
	list_of(what, &type);
	i = find(&ctx->cfg, type, id);
	if (i < 0)
		return refuse(resp, what, id, "no such device");
	if (ctx->ops->unplug(ctx->opaque, type, (unsigned int)i, err))
		return refuse(resp, what, id, err);
	return 204;
}

void api_hotplug_reap(struct api_ctx *ctx)
{
	if ((ctx->state == API_RUNNING || ctx->state == API_PAUSED) &&
	    ctx->ops->hotplug_reap)
		ctx->ops->hotplug_reap(ctx->opaque);
}
