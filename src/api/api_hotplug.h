/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * api_hotplug.h - PUT and DELETE /drives/{id} and
 * /network-interfaces/{id} after InstanceStart: device hotplug on PCI
 * (api_hotplug.c). The router calls these with ctx->lock held.
 */
#ifndef VMON_API_HOTPLUG_H
#define VMON_API_HOTPLUG_H

#include <jansson.h>
#include <stdbool.h>

#include "router.h"

struct api_object;

/* Whether @what ("drives"...) is a list a device can be hot-plugged to. */
bool api_hotplug_route(const char *what);

/* PUT of a new @id on a started instance: 204, or 400 with *@resp. */
unsigned int api_hotplug_put(struct api_ctx *ctx, const struct api_object *o,
			     const char *what, const char *id, json_t *body,
			     json_t **resp);
/* DELETE /@what/@id: asks the guest to eject it. 204 or 400. */
unsigned int api_hotplug_delete(struct api_ctx *ctx, const char *what,
				const char *id, json_t **resp);
/* Frees what the guest ejected and drops it from the configuration. */
void api_hotplug_reap(struct api_ctx *ctx);

/* Removes entry @i of the list of @type ("disk" or "net"). */
void api_config_drop_device(struct api_config *c, const char *type,
			    unsigned int i);

#endif
