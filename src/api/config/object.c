// SPDX-License-Identifier: GPL-2.0-only
/*
 * object.c - the registry of the API's configuration objects (object.h):
 * the registered objects in their order, and a PUT of one, all or nothing.
 */
#include "object.h"

#include <pthread.h>

#include "common.h"

#define MAX_OBJECTS 32
static const struct api_object *sorted[MAX_OBJECTS];
static unsigned int nr_sorted;
static pthread_once_t sorted_once = PTHREAD_ONCE_INIT;

static void sort_objects(void)
{
	nr_sorted = REGISTRY_SORTED(vmon_api_objects, struct api_object, sorted,
				    MAX_OBJECTS);
}

unsigned int api_objects(const struct api_object *const **objs)
{
	pthread_once(&sorted_once, sort_objects);
	*objs = sorted;
	return nr_sorted;
}

int api_config_object(struct api_config *c, const struct api_object *o,
		      const char *id, json_t *body, char *err)
{
	TRANSACT(c, err,
		 id ? o->parse_id(n_, id, body, err) : o->parse(n_, body, err));
}
