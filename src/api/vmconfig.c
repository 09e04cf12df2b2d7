// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmconfig.c - Firecracker's configuration objects to vmon's: strict JSON
 * validation (types, ranges, unknown fields), all-or-nothing updates, the
 * GET views, the --config-file document, and the vm_config for boot.
 */
#include "vmconfig.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../arch/x86/cpuid.h"

/* A path, id or argument string: bounded, no NUL (jansson allows it). */
#define API_STR_MAX 4096

__attribute__((format(printf, 2, 3))) static int fail(char *err,
						      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, API_ERR_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

void api_config_init(struct api_config *c)
{
	memset(c, 0, sizeof(*c));
	c->vcpu_count = 1;
	c->mem_size_mib = API_DEFAULT_MEM_MIB;
}

void api_config_free(struct api_config *c)
{
	free(c->kernel);
	free(c->initrd);
	free(c->boot_args);
	free(c->cpu_template);
	free(c->huge_pages);
	free(c->log_path);
	free(c->log_level);
	free(c->metrics_path);
	memset(c, 0, sizeof(*c));
}

/* Refuses any key of @obj not in the NULL-terminated @known. */
static int check_fields(json_t *obj, const char *what, const char *const *known,
			char *err)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return fail(err, "%s: expected a JSON object", what);
	json_object_foreach(obj, key, v)
	{
		bool ok = false;

		for (const char *const *k = known; *k; k++)
			if (!strcmp(key, *k))
				ok = true;
		if (!ok)
			return fail(err, "%s: unknown field `%.64s`", what,
				    key);
	}
	return 0;
}

/* Optional string field: 0 (absent: *out untouched), or -1. */
static int get_str(json_t *obj, const char *what, const char *key,
		   bool required, char **out, char *err)
{
	json_t *v = json_object_get(obj, key);
	const char *s;

	if (!v) {
		if (required)
			return fail(err, "%s: missing field `%s`", what, key);
		return 0;
	}
	if (!json_is_string(v))
		return fail(err, "%s: field `%s` must be a string", what, key);
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return fail(err, "%s: field `%s` contains a NUL character",
			    what, key);
	if (json_string_length(v) > API_STR_MAX)
		return fail(err, "%s: field `%s` is longer than %d bytes", what,
			    key, API_STR_MAX);
	free(*out);
	*out = strdup(s);
	if (!*out)
		return fail(err, "%s: out of memory", what);
	return 0;
}

static int get_bool(json_t *obj, const char *what, const char *key, bool *out,
		    char *err)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return fail(err, "%s: field `%s` must be true or false", what,
			    key);
	*out = json_is_true(v);
	return 0;
}

static int get_uint(json_t *obj, const char *what, const char *key,
		    bool required, uint64_t min, uint64_t max, uint64_t *out,
		    bool *given, char *err)
{
	json_t *v = json_object_get(obj, key);
	json_int_t n;

	if (given)
		*given = v != NULL;
	if (!v) {
		if (required)
			return fail(err, "%s: missing field `%s`", what, key);
		return 0;
	}
	if (!json_is_integer(v))
		return fail(err, "%s: field `%s` must be an integer", what,
			    key);
	n = json_integer_value(v);
	if (n < 0 || (uint64_t)n < min || (uint64_t)n > max)
		return fail(
			err,
			"%s: field `%s` is %lld, must be between %llu and %llu",
			what, key, (long long)n, (unsigned long long)min,
			(unsigned long long)max);
	*out = (uint64_t)n;
	return 0;
}

static void swap_config(struct api_config *c, struct api_config *n)
{
	struct api_config t = *c;

	*c = *n;
	*n = t;
}

/* A deep copy, so a failed update can be thrown away. */
int api_config_copy(struct api_config *dst, const struct api_config *src)
{
	*dst = *src;
	dst->kernel = src->kernel ? strdup(src->kernel) : NULL;
	dst->initrd = src->initrd ? strdup(src->initrd) : NULL;
	dst->boot_args = src->boot_args ? strdup(src->boot_args) : NULL;
	dst->cpu_template = src->cpu_template ? strdup(src->cpu_template) :
						NULL;
	dst->huge_pages = src->huge_pages ? strdup(src->huge_pages) : NULL;
	dst->log_path = src->log_path ? strdup(src->log_path) : NULL;
	dst->log_level = src->log_level ? strdup(src->log_level) : NULL;
	dst->metrics_path = src->metrics_path ? strdup(src->metrics_path) :
						NULL;
	if ((src->kernel && !dst->kernel) || (src->initrd && !dst->initrd) ||
	    (src->boot_args && !dst->boot_args) ||
	    (src->cpu_template && !dst->cpu_template) ||
	    (src->huge_pages && !dst->huge_pages) ||
	    (src->log_path && !dst->log_path) ||
	    (src->log_level && !dst->log_level) ||
	    (src->metrics_path && !dst->metrics_path)) {
		api_config_free(dst);
		return -1;
	}
	return 0;
}

static const char *const boot_source_fields[] = { "kernel_image_path",
						  "initrd_path", "boot_args",
						  NULL };

static int parse_boot_source(struct api_config *n, json_t *body, char *err)
{
	const char *what = "boot-source";

	free(n->kernel);
	free(n->initrd);
	free(n->boot_args);
	n->kernel = n->initrd = n->boot_args = NULL;
	if (check_fields(body, what, boot_source_fields, err) ||
	    get_str(body, what, "kernel_image_path", true, &n->kernel, err) ||
	    get_str(body, what, "initrd_path", false, &n->initrd, err) ||
	    get_str(body, what, "boot_args", false, &n->boot_args, err))
		return -1;
	if (!*n->kernel)
		return fail(err,
			    "boot-source: field `kernel_image_path` is empty");
	n->boot_source_set = true;
	return 0;
}

static const char *const machine_fields[] = {
	"vcpu_count",	     "mem_size_mib", "smt", "cpu_template",
	"track_dirty_pages", "huge_pages",   NULL
};

/* Firecracker's instance-type templates, which vmon does not model. */
static const char *const fc_templates[] = { "C3",  "T2",   "T2S", "T2CL",
					    "T2A", "V1N1", NULL };

static int check_cpu_template(const char *t, char *err)
{
	char name[32];
	size_t len = strcspn(t, ",");

	if (!strcmp(t, "None"))
		return 0;
	for (const char *const *f = fc_templates; *f; f++)
		if (!strcmp(t, *f))
			return fail(
				err,
				"machine-config: field `cpu_template`: Firecracker's %s template is not implemented by vmon; use None, host or pvm (with ,+FEATURE,-FEATURE edits)",
				t);
	if (t[0] == '+' || t[0] == '-')
		return 0; /* edits of the default: checked at boot */
	if (len >= sizeof(name))
		return fail(
			err,
			"machine-config: field `cpu_template`: unknown template");
	memcpy(name, t, len);
	name[len] = 0;
	for (const char *const *v = cpu_template_names; *v; v++)
		if (!strcmp(name, *v))
			return 0;
	return fail(
		err,
		"machine-config: field `cpu_template`: unknown template `%.32s` (expected None, host or pvm)",
		name);
}

static int parse_machine(struct api_config *n, json_t *body, bool partial,
			 char *err)
{
	const char *what = "machine-config";
	uint64_t vcpus = n->vcpu_count, mem = n->mem_size_mib;
	bool have_vcpus, have_mem;
	char *tmpl = NULL, *huge = NULL;

	if (check_fields(body, what, machine_fields, err) ||
	    get_uint(body, what, "vcpu_count", !partial, 1, API_MAX_VCPUS,
		     &vcpus, &have_vcpus, err) ||
	    get_uint(body, what, "mem_size_mib", !partial, API_MIN_MEM_MIB,
		     API_MAX_MEM_MIB, &mem, &have_mem, err))
		return -1;
	if (!partial) {
		/* PUT: what is not given returns to its default. */
		n->smt = false;
		n->track_dirty_pages = false;
		free(n->cpu_template);
		free(n->huge_pages);
		n->cpu_template = n->huge_pages = NULL;
	}
	if (get_bool(body, what, "smt", &n->smt, err) ||
	    get_bool(body, what, "track_dirty_pages", &n->track_dirty_pages,
		     err) ||
	    get_str(body, what, "cpu_template", false, &tmpl, err) ||
	    get_str(body, what, "huge_pages", false, &huge, err))
		goto bad;
	if (tmpl && check_cpu_template(tmpl, err))
		goto bad;
	if (huge && strcmp(huge, "None") && strcmp(huge, "Transparent")) {
		fail(err,
		     "machine-config: field `huge_pages`: `%.32s` is not supported (vmon has None and Transparent)",
		     huge);
		goto bad;
	}
	if (n->smt && vcpus > 1 && vcpus % 2) {
		fail(err,
		     "machine-config: with smt, `vcpu_count` must be 1 or even, not %llu",
		     (unsigned long long)vcpus);
		goto bad;
	}
	if (tmpl) {
		free(n->cpu_template);
		n->cpu_template = tmpl;
	}
	if (huge) {
		free(n->huge_pages);
		n->huge_pages = huge;
	}
	n->vcpu_count = (unsigned int)vcpus;
	n->mem_size_mib = mem;
	return 0;
bad:
	free(tmpl);
	free(huge);
	return -1;
}

static const char *const logger_fields[] = { "log_path",   "level",
					     "show_level", "show_log_origin",
					     "module",	   NULL };
static const char *const log_levels[] = { "Error", "Warning", "Info", "Debug",
					  "Trace", "Off",     NULL };

static int parse_logger(struct api_config *n, json_t *body, char *err)
{
	const char *what = "logger";
	char *level = NULL, *module = NULL;
	bool ok = false;

	if (check_fields(body, what, logger_fields, err) ||
	    get_str(body, what, "log_path", false, &n->log_path, err) ||
	    get_str(body, what, "level", false, &level, err) ||
	    get_str(body, what, "module", false, &module, err) ||
	    get_bool(body, what, "show_level", &n->show_level, err) ||
	    get_bool(body, what, "show_log_origin", &n->show_log_origin, err))
		goto bad;
	free(module);
	module = NULL;
	if (level) {
		for (const char *const *l = log_levels; *l; l++)
			if (!strcasecmp(level, *l))
				ok = true;
		if (!ok) {
			fail(err,
			     "logger: field `level`: `%.32s` is not one of Error, Warning, Info, Debug, Trace, Off",
			     level);
			goto bad;
		}
		free(n->log_level);
		n->log_level = level;
	}
	n->logger_set = true;
	return 0;
bad:
	free(level);
	free(module);
	return -1;
}

static const char *const metrics_fields[] = { "metrics_path", NULL };

static int parse_metrics(struct api_config *n, json_t *body, char *err)
{
	if (n->metrics_set)
		return fail(
			err,
			"metrics: the metrics system is already initialized");
	if (check_fields(body, "metrics", metrics_fields, err) ||
	    get_str(body, "metrics", "metrics_path", true, &n->metrics_path,
		    err))
		return -1;
	if (!*n->metrics_path)
		return fail(err, "metrics: field `metrics_path` is empty");
	n->metrics_set = true;
	return 0;
}

/* Runs @parse on a copy of @c and commits it only on success. */
#define TRANSACT(c, err, call)                               \
	do {                                                 \
		struct api_config n_;                        \
		int r_;                                      \
		if (api_config_copy(&n_, (c)))               \
			return fail((err), "out of memory"); \
		r_ = call;                                   \
		if (!r_)                                     \
			swap_config((c), &n_);               \
		api_config_free(&n_);                        \
		return r_;                                   \
	} while (0)

int api_config_boot_source(struct api_config *c, json_t *body, char *err)
{
	TRANSACT(c, err, parse_boot_source(&n_, body, err));
}

int api_config_machine(struct api_config *c, json_t *body, bool partial,
		       char *err)
{
	TRANSACT(c, err, parse_machine(&n_, body, partial, err));
}

int api_config_logger(struct api_config *c, json_t *body, char *err)
{
	TRANSACT(c, err, parse_logger(&n_, body, err));
}

int api_config_metrics(struct api_config *c, json_t *body, char *err)
{
	TRANSACT(c, err, parse_metrics(&n_, body, err));
}

/* Sections of a Firecracker config file and what vmon lacks for them. */
static const struct {
	const char *key;
	const char *missing; /* NULL: handled */
} doc_sections[] = {
	{ "boot-source", NULL },
	{ "machine-config", NULL },
	{ "logger", NULL },
	{ "metrics", NULL },
	{ "drives", "block devices (virtio-blk)" },
	{ "network-interfaces", "network interfaces (virtio-net)" },
	{ "vsock", "vsock (virtio-vsock)" },
	{ "balloon", "the balloon device (virtio-balloon)" },
	{ "entropy", "the entropy device (virtio-rng)" },
	{ "mmds-config", "MMDS" },
	{ "cpu-config", "custom CPU configuration (cpu-config)" },
	{ "pmem", "pmem devices (virtio-pmem)" },
	{ "memory-hotplug", "memory hotplug (virtio-mem)" },
	{ "serial", "serial configuration" },
};

static int parse_document(struct api_config *n, json_t *doc, char *err)
{
	const char *key;
	json_t *v;

	if (!json_is_object(doc))
		return fail(err, "config file: expected a JSON object");
	json_object_foreach(doc, key, v)
	{
		size_t i, nr = sizeof(doc_sections) / sizeof(*doc_sections);

		for (i = 0; i < nr; i++)
			if (!strcmp(key, doc_sections[i].key))
				break;
		if (i == nr)
			return fail(err, "config file: unknown section `%.64s`",
				    key);
		if (doc_sections[i].missing) {
			/* Empty lists and null are what tools write for "none". */
			if (json_is_null(v) ||
			    (json_is_array(v) && json_array_size(v) == 0))
				continue;
			return fail(
				err,
				"config file: section `%s`: vmon does not support %s yet",
				key, doc_sections[i].missing);
		}
	}
	v = json_object_get(doc, "boot-source");
	if (!v)
		return fail(err, "config file: missing section `boot-source`");
	if (parse_boot_source(n, v, err))
		return -1;
	v = json_object_get(doc, "machine-config");
	if (v && parse_machine(n, v, false, err))
		return -1;
	v = json_object_get(doc, "logger");
	if (v && parse_logger(n, v, err))
		return -1;
	v = json_object_get(doc, "metrics");
	if (v && parse_metrics(n, v, err))
		return -1;
	return 0;
}

json_t *api_parse_body(const char *body, size_t len, char *err)
{
	json_error_t je;
	json_t *j;

	if (len == 0) {
		fail(err, "the request needs a JSON body");
		return NULL;
	}
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		fail(err, "invalid JSON at line %d, column %d: %.160s", je.line,
		     je.column, je.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		fail(err, "the request body must be a JSON object");
		return NULL;
	}
	return j;
}

int api_config_document(struct api_config *c, const char *text, size_t len,
			char *err)
{
	json_t *doc = api_parse_body(text, len, err);
	int r;

	if (!doc)
		return -1;
	{
		struct api_config n;

		if (api_config_copy(&n, c)) {
			json_decref(doc);
			return fail(err, "out of memory");
		}
		r = parse_document(&n, doc, err);
		if (!r)
			swap_config(c, &n);
		api_config_free(&n);
	}
	json_decref(doc);
	return r;
}

json_t *api_config_machine_json(const struct api_config *c)
{
	json_t *j = json_pack("{s:I, s:I, s:b, s:b, s:s}", "vcpu_count",
			      (json_int_t)c->vcpu_count, "mem_size_mib",
			      (json_int_t)c->mem_size_mib, "smt", c->smt,
			      "track_dirty_pages", c->track_dirty_pages,
			      "huge_pages",
			      c->huge_pages ? c->huge_pages : "None");

	if (j && c->cpu_template)
		json_object_set_new(j, "cpu_template",
				    json_string(c->cpu_template));
	return j;
}

json_t *api_config_full_json(const struct api_config *c)
{
	json_t *j = json_object();

	if (!j)
		return NULL;
	if (c->boot_source_set) {
		json_t *b = json_pack("{s:s}", "kernel_image_path", c->kernel);

		if (b && c->initrd)
			json_object_set_new(b, "initrd_path",
					    json_string(c->initrd));
		if (b && c->boot_args)
			json_object_set_new(b, "boot_args",
					    json_string(c->boot_args));
		json_object_set_new(j, "boot-source", b);
	}
	json_object_set_new(j, "machine-config", api_config_machine_json(c));
	if (c->logger_set) {
		json_t *l = json_pack("{s:b, s:b, s:s}", "show_level",
				      c->show_level, "show_log_origin",
				      c->show_log_origin, "level",
				      c->log_level ? c->log_level : "Info");

		if (l && c->log_path)
			json_object_set_new(l, "log_path",
					    json_string(c->log_path));
		json_object_set_new(j, "logger", l);
	}
	if (c->metrics_set)
		json_object_set_new(j, "metrics",
				    json_pack("{s:s}", "metrics_path",
					      c->metrics_path));
	json_object_set_new(j, "drives", json_array());
	json_object_set_new(j, "network-interfaces", json_array());
	return j;
}

int api_config_to_vm(const struct api_config *c, struct vm_config *vm,
		     char *err)
{
	if (!c->boot_source_set)
		return fail(
			err,
			"Cannot start microvm without kernel configuration: PUT /boot-source first");
	vm_config_init(vm);
	vm->kernel = c->kernel;
	vm->initrd = c->initrd;
	vm->cmdline = c->boot_args;
	vm->cpus = c->vcpu_count;
	vm->mem_size = c->mem_size_mib << 20;
	vm->cpu_template = c->cpu_template && strcmp(c->cpu_template, "None") ?
				   c->cpu_template :
				   NULL;
	return 0;
}
