// SPDX-License-Identifier: GPL-2.0-only
/*
 * document.c - a whole Firecracker --config-file document: its sections,
 * each handed to its object's parser, all or nothing.
 */
#include <string.h>

#include "common.h"

/* Sections of a Firecracker config file and what vmon lacks for them. */
static const struct {
	const char *key;
	const char *missing; /* NULL: handled */
} doc_sections[] = {
	{ "boot-source", NULL },
	{ "machine-config", NULL },
	{ "logger", NULL },
	{ "metrics", NULL },
	{ "drives", NULL },
	{ "network-interfaces", NULL },
	{ "vsock", NULL },
	{ "balloon", NULL },
	{ "entropy", NULL },
	{ "mmds-config", "MMDS" },
	{ "cpu-config", "custom CPU configuration (cpu-config)" },
	{ "pmem", "pmem devices (virtio-pmem)" },
	{ "memory-hotplug", "memory hotplug (virtio-mem)" },
	{ "serial", "serial configuration" },
};

/* Refuses unknown sections, and sections vmon lacks unless empty. */
static int check_sections(json_t *doc, char *err)
{
	const char *key;
	json_t *v;

	json_object_foreach(doc, key, v)
	{
		size_t i, nr = sizeof(doc_sections) / sizeof(*doc_sections);

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
static int parse_list(struct api_config *n, json_t *doc, const char *section,
		      const char *idkey,
		      int (*find)(const struct api_config *, const char *),
		      int (*parse)(struct api_config *, const char *, json_t *,
				   char *),
		      char *err)
{
	json_t *v = json_object_get(doc, section), *e;
	size_t i;

	if (!v || json_is_null(v))
		return 0;
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
		if (find(n, json_string_value(id)) >= 0)
			return api_fail(
				err,
				"config file: %s[%zu]: %s `%.64s` given twice",
				section, i, idkey, json_string_value(id));
		if (parse(n, json_string_value(id), e, err))
			return -1;
	}
	return 0;
}

static int parse_document_devices(struct api_config *n, json_t *doc, char *err)
{
	json_t *v;

	if (parse_list(n, doc, "drives", "drive_id", cfg_find_drive,
		       cfg_parse_drive, err) ||
	    parse_list(n, doc, "network-interfaces", "iface_id", cfg_find_net,
		       cfg_parse_net, err))
		return -1;
	v = json_object_get(doc, "vsock");
	if (v && !json_is_null(v) && cfg_parse_vsock(n, v, err))
		return -1;
	v = json_object_get(doc, "balloon");
	if (v && !json_is_null(v) && cfg_parse_balloon(n, v, err))
		return -1;
	v = json_object_get(doc, "entropy");
	if (v && !json_is_null(v) && cfg_parse_entropy(n, v, err))
		return -1;
	return 0;
}

static int parse_document(struct api_config *n, json_t *doc, char *err)
{
	json_t *v;

	if (!json_is_object(doc))
		return api_fail(err, "config file: expected a JSON object");
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
	return parse_document_devices(n, doc, err);
}

int api_config_document(struct api_config *c, const char *text, size_t len,
			char *err)
{
	json_t *doc = api_parse_body(text, len, err);
	struct api_config n;
	int r;

	if (!doc)
		return -1;
	if (api_config_copy(&n, c)) {
		json_decref(doc);
		return api_fail(err, "out of memory");
	}
	r = parse_document(&n, doc, err);
	if (!r)
		api_swap_config(c, &n);
	api_config_free(&n);
	json_decref(doc);
	return r;
}
