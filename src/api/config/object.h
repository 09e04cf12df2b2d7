/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * object.h - a configuration object of the API (a device's, as Firecracker
 * names them: "drives", "vsock", "entropy"...), described in its own file
 * of src/api/config/ and registered with API_OBJECT(). The generic code
 * walks the registry: the router serves PUT /KEY (or PUT /KEY/{id}) before
 * boot, --config-file reads section KEY, GET /vm/config shows key KEY.
 * Run-time endpoints (PATCH, GET /balloon...) stay routes of router.c.
 *
 * An object with no fields of its own in struct api_config keeps its
 * configuration in api_config.devices (a vm_config), which InstanceStart
 * starts from: such a device touches neither vmconfig.h nor vmconfig.c.
 */
#ifndef VMON_API_CONFIG_OBJECT_H
#define VMON_API_CONFIG_OBJECT_H

#include <jansson.h>

#include "../../util/registry.h"
#include "../vmconfig.h"

struct api_object {
	const char *key; /* path, --config-file section, GET /vm/config key */
	unsigned int order; /* in the document and GET /vm/config, ascending */
	/* One object (PUT /KEY): the body onto the copy @n, or -1 (@err). */
	int (*parse)(struct api_config *n, json_t *body, char *err);
	/* A list (PUT /KEY/{id}): @idkey names the id in the body and in
	 * the document; @find gives the index of an id or -1. */
	int (*parse_id)(struct api_config *n, const char *id, json_t *body,
			char *err);
	const char *idkey;
	int (*find)(const struct api_config *c, const char *id);
	/* Its part of GET /vm/config, added to @j when configured. */
	void (*json)(const struct api_config *c, json_t *j);
};

REGISTRY_DECLARE(const struct api_object, vmon_api_objects);
#define API_OBJECT(obj) REGISTER(vmon_api_objects, obj)

/* The registered objects in ascending order; their number. */
unsigned int api_objects(const struct api_object *const **objs);

/* PUT of @o on @c, all or nothing (@id: NULL for one object). */
int api_config_object(struct api_config *c, const struct api_object *o,
		      const char *id, json_t *body, char *err);

#endif
