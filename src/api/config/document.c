// SPDX-License-Identifier: GPL-2.0-only
/*
 * document.c - a whole Firecracker --config-file document: its sections,
 * each handed to its object's parser, all or nothing.
 */
#include <string.h>

#include "common.h"
#include "object.h"

/*
 * Sections of a Firecracker config file other than the registered objects'
 * (object.h), and what vmon lacks for them.
 */
static const struct {
	const char *key;
	const char *missing; /* NULL: handled */
} doc_sections[] = {
	{ "boot-source", NULL },
	{ "machine-config", NULL },
	{ "logger", NULL },
	{ "metrics", NULL },
	{ "mmds-config", NULL },
	{ "pmem", "pmem devices (virtio-pmem)" },
	{ "memory-hotplug", "memory hotplug (virtio-mem)" },
};

static const struct api_object *find_object(const char *key)
{
	const struct api_object *const *objs;
	unsigned int nr = api_objects(&objs);

	for (unsigned int i = 0; i < nr; i++)
		if (!strcmp(objs[i]->key, key))
			return objs[i];
	return NULL;
}

/* Refuses unknown sections, and sections vmon lacks unless empty. */
static int check_sections(json_t *doc, char *err)
{
	const char *key;
	json_t *v;

	json_object_foreach(doc, key, v)
	{
		size_t i, nr = sizeof(doc_sections) / sizeof(*doc_sections);

		if (find_object(key))
			continue;
		for (i = 0; i < nr; i++)
			if (!strcmp(key, doc_sections[i].key))
				break;
		if (i == nr)
			return api_fail(err,
					"config file: unknown section `%.64s`",
					key);
		if (doc_sections[i].missing) {
			/* Empty lists and null are what tools write for "none". */
			if (json_is_null(v) ||
			    (json_is_array(v) && json_array_size(v) == 0))
				continue;
			return api_fail(
				err,
				"config file: section `%s`: vmon does not support %s yet",
				key, doc_sections[i].missing);
		}
	}
	return 0;
}

/* A list section of devices with ids (drives, network-interfaces). */
static int parse_list(struct api_config *n, json_t *v,
		      const struct api_object *o, char *err)
{
	const char *section = o->key, *idkey = o->idkey;
	json_t *e;
	size_t i;

	if (!json_is_array(v))
		return api_fail(err, "config file: section `%s` must be a list",
				section);
	json_array_foreach(v, i, e)
	{
		json_t *id = json_is_object(e) ? json_object_get(e, idkey) :
						 NULL;

		if (!id || !json_is_string(id))
			return api_fail(
				err, "config file: %s[%zu]: missing field `%s`",
				section, i, idkey);
		if (o->find(n, json_string_value(id)) >= 0)
			return api_fail(
				err,
				"config file: %s[%zu]: %s `%.64s` given twice",
				section, i, idkey, json_string_value(id));
		if (o->parse_id(n, json_string_value(id), e, err))
			return -1;
	}
	return 0;
}

/* The registered objects' sections, in their order. */
static int parse_document_devices(struct api_config *n, json_t *doc, char *err)
{
	const struct api_object *const *objs;
	unsigned int nr = api_objects(&objs);

	for (unsigned int i = 0; i < nr; i++) {
		json_t *v = json_object_get(doc, objs[i]->key);

		if (!v || json_is_null(v))
			continue;
		if (objs[i]->parse_id ? parse_list(n, v, objs[i], err) :
					objs[i]->parse(n, v, err))
			return -1;
	}
	return 0;
}

static int parse_document(struct api_config *n, json_t *doc, char *err)
{
	json_t *v;

	if (!json_is_object(doc))
		return api_fail(err, "config file: expected a JSON object");
	api_drop_nulls(doc); /* a null section is an absent one */
	if (check_sections(doc, err))
		return -1;
	v = json_object_get(doc, "boot-source");
	if (!v)
		return api_fail(err,
				"config file: missing section `boot-source`");
	if (cfg_parse_boot_source(n, v, err))
		return -1;
	v = json_object_get(doc, "machine-config");
	if (v && cfg_parse_machine(n, v, false, err))
		return -1;
	v = json_object_get(doc, "logger");
	if (v && cfg_parse_logger(n, v, err))
		return -1;
	v = json_object_get(doc, "metrics");
	if (v && cfg_parse_metrics(n, v, err))
		return -1;
	if (parse_document_devices(n, doc, err))
		return -1;
	/* After the interfaces it names. */
	v = json_object_get(doc, "mmds-config");
	return v ? cfg_parse_mmds_config(n, v, err) : 0;
}

int api_config_document(struct api_config *c, const char *text, size_t len,
			char *err)
{
	json_t *doc = api_parse_body(text, len, err);
	struct api_config *n;
	int r;

	if (!doc)
		return -1;
	n = api_config_dup(c);
	if (!n) {
		json_decref(doc);
		return api_fail(err, "out of memory");
	}
	r = parse_document(n, doc, err);
	if (!r)
		api_config_move(c, n);
	else
		api_config_drop(n);
	json_decref(doc);
	return r;
}
