// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmconfig.c - Firecracker's configuration objects to vmon's: strict JSON
 * validation (types, ranges, unknown fields), all-or-nothing updates, the
 * GET views, the --config-file document, and the vm_config for boot.
 */
#include "vmconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

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
	free(c->root_args);
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
	dst->root_args = NULL; /* derived at InstanceStart, never copied */
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
	if (huge && strcmp(huge, "None") != 0 &&
	    strcmp(huge, "Transparent") != 0) {
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

static int parse_document_devices(struct api_config *n, json_t *doc, char *err);

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
	return parse_document_devices(n, doc, err);
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

static void devices_json(const struct api_config *c, json_t *j);

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
	devices_json(c, j);
	return j;
}

static int devices_to_vm(struct api_config *c, struct vm_config *vm, char *err);

int api_config_to_vm(struct api_config *c, struct vm_config *vm, char *err)
{
	if (!c->boot_source_set)
		return fail(
			err,
			"Cannot start microvm without kernel configuration: PUT /boot-source first");
	if (c->balloon_set && c->balloon_mib > c->mem_size_mib)
		return fail(
			err,
			"balloon: field `amount_mib` is %llu, more than the %llu MiB of `mem_size_mib`",
			(unsigned long long)c->balloon_mib,
			(unsigned long long)c->mem_size_mib);
	vm_config_init(vm);
	vm->kernel = c->kernel;
	vm->initrd = c->initrd;
	vm->cmdline = c->boot_args;
	vm->cpus = c->vcpu_count;
	vm->mem_size = c->mem_size_mib << 20;
	vm->cpu_template = c->cpu_template && strcmp(c->cpu_template, "None") !=
						      0 ?
				   c->cpu_template :
				   NULL;
	return devices_to_vm(c, vm, err);
}

/* --- devices: drives, network interfaces, vsock, balloon, entropy ------- */

static bool valid_id(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > API_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = id[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

/* A string field into @buf of @size bytes (its NUL included). */
static int get_strbuf(json_t *obj, const char *what, const char *key,
		      bool required, char *buf, size_t size, bool *given,
		      char *err)
{
	char *s = NULL;
	size_t n;

	if (given)
		*given = false;
	if (get_str(obj, what, key, required, &s, err))
		return -1;
	if (!s)
		return 0;
	n = strlen(s);
	if (n == 0 || n >= size) {
		free(s);
		return fail(err, "%s: field `%s` must be 1 to %zu bytes long",
			    what, key, size - 1);
	}
	memcpy(buf, s, n + 1);
	free(s);
	if (given)
		*given = true;
	return 0;
}

static const char *const bucket_fields[] = { "size", "refill_time",
					     "one_time_burst", NULL };

static int parse_bucket(json_t *rl, const char *what, const char *key,
			struct tb_config *out, char *err)
{
	json_t *b = json_object_get(rl, key);
	char w[160];
	uint64_t size = 0, refill = 0, burst = 0;

	if (!b)
		return 0; /* absent: unchanged */
	snprintf(w, sizeof(w), "%s.%s", what, key);
	if (json_is_null(b)) {
		memset(out, 0, sizeof(*out));
		return 0;
	}
	if (check_fields(b, w, bucket_fields, err) ||
	    get_uint(b, w, "size", true, 0, RL_MAX_SIZE, &size, NULL, err) ||
	    get_uint(b, w, "refill_time", true, 0, RL_MAX_REFILL_MS, &refill,
		     NULL, err) ||
	    get_uint(b, w, "one_time_burst", false, 0, RL_MAX_SIZE, &burst,
		     NULL, err))
		return -1;
	out->size = size;
	out->refill_time_ms = refill;
	out->one_time_burst = burst;
	return 0;
}

static const char *const rl_fields[] = { "bandwidth", "ops", NULL };

/*
 * Rate limiter field @key of @obj onto @rl: a bucket not given stays as
 * it is (PATCH semantics; a PUT starts from zero), null disables.
 */
static int parse_rl(json_t *obj, const char *what, const char *key,
		    struct rl_config *rl, bool *given, char *err)
{
	json_t *v = json_object_get(obj, key);
	struct rl_config n = *rl;
	char w[128];

	if (given)
		*given = v != NULL;
	if (!v)
		return 0;
	snprintf(w, sizeof(w), "%s: %s", what, key);
	if (json_is_null(v)) {
		memset(rl, 0, sizeof(*rl));
		return 0;
	}
	if (check_fields(v, w, rl_fields, err) ||
	    parse_bucket(v, w, "bandwidth", &n.bandwidth, err) ||
	    parse_bucket(v, w, "ops", &n.ops, err))
		return -1;
	*rl = n;
	return 0;
}

/* The id of the body (field @key) must be the one of the path. */
static int check_body_id(json_t *body, const char *what, const char *key,
			 const char *id, char *err)
{
	char bid[API_ID_MAX + 1];

	if (!valid_id(id))
		return fail(
			err,
			"%s: the id in the path must be 1 to %d of A-Z a-z 0-9 _ -",
			what, API_ID_MAX);
	if (get_strbuf(body, what, key, true, bid, sizeof(bid), NULL, err))
		return -1;
	if (strcmp(bid, id) != 0)
		return fail(
			err,
			"%s: field `%s` (%.64s) does not match the id in the path",
			what, key, bid);
	return 0;
}

static int check_path(const char *what, const char *key, const char *path,
		      bool write, char *err)
{
	if (access(path, write ? R_OK | W_OK : R_OK))
		return fail(err, "%s: field `%s`: %.400s: %s", what, key, path,
			    strerror(errno));
	return 0;
}

static int find_drive(const struct api_config *c, const char *id)
{
	for (unsigned int i = 0; i < c->nr_drives; i++)
		if (!strcmp(c->drives[i].id, id))
			return (int)i;
	return -1;
}

static const char *const drive_fields[] = { "drive_id",	      "path_on_host",
					    "is_root_device", "partuuid",
					    "is_read_only",   "cache_type",
					    "io_engine",      "rate_limiter",
					    "socket",	      NULL };

static int parse_drive(struct api_config *n, const char *id, json_t *body,
		       char *err)
{
	char what[96];
	struct api_drive d;
	char *cache = NULL, *engine = NULL;
	int idx = find_drive(n, id), r = -1;
	bool given;

	snprintf(what, sizeof(what), "drives/%.64s", id);
	memset(&d, 0, sizeof(d));
	if (check_fields(body, what, drive_fields, err) ||
	    check_body_id(body, what, "drive_id", id, err))
		return -1;
	if (json_object_get(body, "socket"))
		return fail(
			err,
			"%s: field `socket`: vhost-user block devices are not supported by vmon (give path_on_host)",
			what);
	snprintf(d.id, sizeof(d.id), "%s", id);
	if (!json_object_get(body, "is_root_device"))
		return fail(err, "%s: missing field `is_root_device`", what);
	if (get_bool(body, what, "is_root_device", &d.root, err) ||
	    get_bool(body, what, "is_read_only", &d.disk.readonly, err) ||
	    get_strbuf(body, what, "path_on_host", true, d.disk.path,
		       sizeof(d.disk.path), NULL, err) ||
	    get_strbuf(body, what, "partuuid", false, d.partuuid,
		       sizeof(d.partuuid), &given, err) ||
	    get_str(body, what, "cache_type", false, &cache, err) ||
	    get_str(body, what, "io_engine", false, &engine, err) ||
	    parse_rl(body, what, "rate_limiter", &d.disk.rl, NULL, err))
		goto out;
	for (const char *p = d.partuuid; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
		      (*p >= 'A' && *p <= 'F') || *p == '-')) {
			fail(err,
			     "%s: field `partuuid` must be hexadecimal digits and dashes",
			     what);
			goto out;
		}
	if (given && !d.root) {
		fail(err,
		     "%s: field `partuuid` is only used with `is_root_device`: true",
		     what);
		goto out;
	}
	if (cache && strcmp(cache, "Unsafe") != 0 &&
	    strcmp(cache, "Writeback") != 0) {
		fail(err,
		     "%s: field `cache_type`: `%.32s` is not Unsafe or Writeback",
		     what, cache);
		goto out;
	}
	d.writeback = cache && !strcmp(cache, "Writeback");
	if (engine && strcmp(engine, "Sync") != 0 &&
	    strcmp(engine, "Async") != 0) {
		fail(err, "%s: field `io_engine`: `%.32s` is not Sync or Async",
		     what, engine);
		goto out;
	}
	d.async = engine && !strcmp(engine, "Async");
	if (check_path(what, "path_on_host", d.disk.path, !d.disk.readonly,
		       err))
		goto out;
	for (unsigned int i = 0; i < n->nr_drives; i++)
		if (d.root && n->drives[i].root && (int)i != idx) {
			fail(err,
			     "%s: a root block device already exists (drive %.64s)",
			     what, n->drives[i].id);
			goto out;
		}
	if (idx < 0) {
		if (n->nr_drives == VMON_MAX_DISKS) {
			fail(err, "%s: vmon has at most %u drives", what,
			     VMON_MAX_DISKS);
			goto out;
		}
		idx = (int)n->nr_drives++;
	}
	n->drives[idx] = d;
	if (d.root && idx > 0) {
		/* The root device is the first disk: /dev/vda. */
		memmove(&n->drives[1], &n->drives[0],
			(size_t)idx * sizeof(n->drives[0]));
		n->drives[0] = d;
	}
	r = 0;
out:
	free(cache);
	free(engine);
	return r;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;

	if (strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (s[3 * i] == ' ' || s[3 * i] == '+' || s[3 * i] == '-' ||
		    s[3 * i + 1] == ' ')
			return -1;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

static int find_net(const struct api_config *c, const char *id)
{
	for (unsigned int i = 0; i < c->nr_nets; i++)
		if (!strcmp(c->nets[i].id, id))
			return (int)i;
	return -1;
}

static const char *const net_fields[] = { "iface_id",	     "host_dev_name",
					  "guest_mac",	     "rx_rate_limiter",
					  "tx_rate_limiter", NULL };

static int parse_net(struct api_config *n, const char *id, json_t *body,
		     char *err)
{
	char what[96], mac[24] = "";
	struct api_net a;
	int idx = find_net(n, id);

	snprintf(what, sizeof(what), "network-interfaces/%.64s", id);
	memset(&a, 0, sizeof(a));
	if (check_fields(body, what, net_fields, err) ||
	    check_body_id(body, what, "iface_id", id, err) ||
	    get_strbuf(body, what, "host_dev_name", true, a.net.tap,
		       sizeof(a.net.tap), NULL, err) ||
	    get_strbuf(body, what, "guest_mac", false, mac, sizeof(mac),
		       &a.net.mac_set, err) ||
	    parse_rl(body, what, "rx_rate_limiter", &a.net.rx_rl, NULL, err) ||
	    parse_rl(body, what, "tx_rate_limiter", &a.net.tx_rl, NULL, err))
		return -1;
	snprintf(a.id, sizeof(a.id), "%s", id);
	for (const char *p = a.net.tap; *p; p++)
		if (*p == '/' || *p == ':' || *p <= ' ' || *p > '~')
			return fail(
				err,
				"%s: field `host_dev_name`: not a valid interface name",
				what);
	if (a.net.mac_set && parse_mac(mac, a.net.mac))
		return fail(
			err,
			"%s: field `guest_mac`: expected six hexadecimal bytes like 06:00:ac:10:00:02",
			what);
	if (a.net.mac_set && (a.net.mac[0] & 1))
		return fail(err, "%s: field `guest_mac`: a multicast address",
			    what);
	for (unsigned int i = 0; i < n->nr_nets; i++) {
		if ((int)i == idx)
			continue;
		if (!strcmp(n->nets[i].net.tap, a.net.tap))
			return fail(
				err,
				"%s: field `host_dev_name`: %s is already used by %.64s",
				what, a.net.tap, n->nets[i].id);
		if (a.net.mac_set && n->nets[i].net.mac_set &&
		    !memcmp(n->nets[i].net.mac, a.net.mac, 6))
			return fail(
				err,
				"%s: field `guest_mac`: already used by %.64s",
				what, n->nets[i].id);
	}
	if (idx < 0) {
		if (n->nr_nets == VMON_MAX_NETS)
			return fail(
				err,
				"%s: vmon has at most %u network interfaces",
				what, VMON_MAX_NETS);
		idx = (int)n->nr_nets++;
	}
	n->nets[idx] = a;
	return 0;
}

static const char *const vsock_fields[] = { "guest_cid", "uds_path", "vsock_id",
					    NULL };

static int parse_vsock(struct api_config *n, json_t *body, char *err)
{
	struct vsock_config v;
	char *vid = NULL;
	uint64_t cid = 0;

	memset(&v, 0, sizeof(v));
	if (check_fields(body, "vsock", vsock_fields, err) ||
	    get_str(body, "vsock", "vsock_id", false, &vid, err) ||
	    get_uint(body, "vsock", "guest_cid", true, 3, UINT32_MAX - 1, &cid,
		     NULL, err) ||
	    get_strbuf(body, "vsock", "uds_path", true, v.uds, sizeof(v.uds),
		       NULL, err)) {
		free(vid);
		return -1;
	}
	free(vid); /* deprecated in Firecracker: accepted, unused */
	v.cid = cid;
	n->vsock = v;
	n->vsock_set = true;
	return 0;
}

/* Statistics interval bound: a day. */
#define API_MAX_STATS_S 86400

static const char *const balloon_fields[] = {
	"amount_mib",	     "deflate_on_oom",	    "stats_polling_interval_s",
	"free_page_hinting", "free_page_reporting", NULL
};

static int parse_balloon(struct api_config *n, json_t *body, char *err)
{
	struct balloon_config b;
	uint64_t mib = 0, interval = 0;
	bool hinting = false;

	memset(&b, 0, sizeof(b));
	if (check_fields(body, "balloon", balloon_fields, err) ||
	    get_uint(body, "balloon", "amount_mib", true, 0, API_MAX_MEM_MIB,
		     &mib, NULL, err) ||
	    get_uint(body, "balloon", "stats_polling_interval_s", false, 0,
		     API_MAX_STATS_S, &interval, NULL, err) ||
	    get_bool(body, "balloon", "free_page_hinting", &hinting, err) ||
	    get_bool(body, "balloon", "free_page_reporting", &b.reporting, err))
		return -1;
	if (!json_object_get(body, "deflate_on_oom"))
		return fail(err, "balloon: missing field `deflate_on_oom`");
	if (get_bool(body, "balloon", "deflate_on_oom", &b.deflate_on_oom, err))
		return -1;
	if (hinting)
		return fail(
			err,
			"balloon: field `free_page_hinting`: free page hinting is not supported by vmon (free_page_reporting is)");
	b.enabled = true;
	b.size = mib << 20;
	b.stats_interval = (unsigned int)interval;
	n->balloon = b;
	n->balloon_mib = mib;
	n->balloon_set = true;
	return 0;
}

static const char *const entropy_fields[] = { "rate_limiter", NULL };

static int parse_entropy(struct api_config *n, json_t *body, char *err)
{
	struct rl_config rl = { 0 };

	if (check_fields(body, "entropy", entropy_fields, err) ||
	    parse_rl(body, "entropy", "rate_limiter", &rl, NULL, err))
		return -1;
	n->entropy_rl = rl;
	n->entropy_set = true;
	return 0;
}

int api_config_drive(struct api_config *c, const char *id, json_t *body,
		     char *err)
{
	TRANSACT(c, err, parse_drive(&n_, id, body, err));
}

int api_config_net(struct api_config *c, const char *id, json_t *body,
		   char *err)
{
	TRANSACT(c, err, parse_net(&n_, id, body, err));
}

int api_config_vsock(struct api_config *c, json_t *body, char *err)
{
	TRANSACT(c, err, parse_vsock(&n_, body, err));
}

int api_config_balloon(struct api_config *c, json_t *body, char *err)
{
	TRANSACT(c, err, parse_balloon(&n_, body, err));
}

int api_config_entropy(struct api_config *c, json_t *body, char *err)
{
	TRANSACT(c, err, parse_entropy(&n_, body, err));
}

static const char *const drive_patch_fields[] = { "drive_id", "path_on_host",
						  "rate_limiter", NULL };

int api_config_drive_update(const struct api_config *c, const char *id,
			    json_t *body, struct api_drive_update *u, char *err)
{
	char what[96];
	int idx;

	snprintf(what, sizeof(what), "drives/%.64s", id);
	memset(u, 0, sizeof(*u));
	if (check_fields(body, what, drive_patch_fields, err) ||
	    check_body_id(body, what, "drive_id", id, err))
		return -1;
	idx = find_drive(c, id);
	if (idx < 0)
		return fail(err, "%s: no such drive", what);
	u->index = (unsigned int)idx;
	u->rl = c->drives[idx].disk.rl;
	if (get_strbuf(body, what, "path_on_host", false, u->path,
		       sizeof(u->path), &u->have_path, err) ||
	    parse_rl(body, what, "rate_limiter", &u->rl, &u->have_rl, err))
		return -1;
	if (u->have_path && check_path(what, "path_on_host", u->path,
				       !c->drives[idx].disk.readonly, err))
		return -1;
	return 0;
}

void api_config_drive_commit(struct api_config *c,
			     const struct api_drive_update *u)
{
	struct disk_config *d = &c->drives[u->index].disk;

	if (u->have_path)
		memcpy(d->path, u->path, sizeof(d->path));
	if (u->have_rl)
		d->rl = u->rl;
}

static const char *const net_patch_fields[] = { "iface_id", "rx_rate_limiter",
						"tx_rate_limiter", NULL };

int api_config_net_update(const struct api_config *c, const char *id,
			  json_t *body, struct api_net_update *u, char *err)
{
	char what[96];
	int idx;

	snprintf(what, sizeof(what), "network-interfaces/%.64s", id);
	memset(u, 0, sizeof(*u));
	if (check_fields(body, what, net_patch_fields, err) ||
	    check_body_id(body, what, "iface_id", id, err))
		return -1;
	idx = find_net(c, id);
	if (idx < 0)
		return fail(err, "%s: no such network interface", what);
	u->index = (unsigned int)idx;
	u->rx = c->nets[idx].net.rx_rl;
	u->tx = c->nets[idx].net.tx_rl;
	return parse_rl(body, what, "rx_rate_limiter", &u->rx, &u->have_rx,
			err) || parse_rl(body, what, "tx_rate_limiter", &u->tx,
					 &u->have_tx, err) ?
		       -1 :
		       0;
}

void api_config_net_commit(struct api_config *c, const struct api_net_update *u)
{
	struct net_config *n = &c->nets[u->index].net;

	if (u->have_rx)
		n->rx_rl = u->rx;
	if (u->have_tx)
		n->tx_rl = u->tx;
}

static const char *const balloon_patch_fields[] = { "amount_mib", NULL };
static const char *const balloon_stats_fields[] = { "stats_polling_interval_s",
						    NULL };

int api_config_balloon_amount(const struct api_config *c, json_t *body,
			      uint64_t *mib, char *err)
{
	if (!c->balloon_set)
		return fail(err, "balloon: no balloon device is configured");
	if (check_fields(body, "balloon", balloon_patch_fields, err) ||
	    get_uint(body, "balloon", "amount_mib", true, 0, c->mem_size_mib,
		     mib, NULL, err))
		return -1;
	return 0;
}

int api_config_balloon_interval(const struct api_config *c, json_t *body,
				unsigned int *seconds, char *err)
{
	uint64_t s = 0;

	if (!c->balloon_set)
		return fail(
			err,
			"balloon/statistics: no balloon device is configured");
	if (check_fields(body, "balloon/statistics", balloon_stats_fields,
			 err) ||
	    get_uint(body, "balloon/statistics", "stats_polling_interval_s",
		     true, 0, API_MAX_STATS_S, &s, NULL, err))
		return -1;
	*seconds = (unsigned int)s;
	return 0;
}

static int parse_document_devices(struct api_config *n, json_t *doc, char *err)
{
	json_t *v = json_object_get(doc, "drives"), *e;
	size_t i;

	if (v && !json_is_null(v)) {
		if (!json_is_array(v))
			return fail(
				err,
				"config file: section `drives` must be a list");
		json_array_foreach(v, i, e)
		{
			json_t *id = json_is_object(e) ?
					     json_object_get(e, "drive_id") :
					     NULL;

			if (!id || !json_is_string(id))
				return fail(
					err,
					"config file: drives[%zu]: missing field `drive_id`",
					i);
			if (find_drive(n, json_string_value(id)) >= 0)
				return fail(
					err,
					"config file: drives[%zu]: drive_id `%.64s` given twice",
					i, json_string_value(id));
			if (parse_drive(n, json_string_value(id), e, err))
				return -1;
		}
	}
	v = json_object_get(doc, "network-interfaces");
	if (v && !json_is_null(v)) {
		if (!json_is_array(v))
			return fail(
				err,
				"config file: section `network-interfaces` must be a list");
		json_array_foreach(v, i, e)
		{
			json_t *id = json_is_object(e) ?
					     json_object_get(e, "iface_id") :
					     NULL;

			if (!id || !json_is_string(id))
				return fail(
					err,
					"config file: network-interfaces[%zu]: missing field `iface_id`",
					i);
			if (find_net(n, json_string_value(id)) >= 0)
				return fail(
					err,
					"config file: network-interfaces[%zu]: iface_id `%.64s` given twice",
					i, json_string_value(id));
			if (parse_net(n, json_string_value(id), e, err))
				return -1;
		}
	}
	v = json_object_get(doc, "vsock");
	if (v && !json_is_null(v) && parse_vsock(n, v, err))
		return -1;
	v = json_object_get(doc, "balloon");
	if (v && !json_is_null(v) && parse_balloon(n, v, err))
		return -1;
	v = json_object_get(doc, "entropy");
	if (v && !json_is_null(v) && parse_entropy(n, v, err))
		return -1;
	return 0;
}

static json_t *bucket_json(const struct tb_config *b)
{
	json_t *j = json_pack("{s:I, s:I}", "size", (json_int_t)b->size,
			      "refill_time", (json_int_t)b->refill_time_ms);

	if (j && b->one_time_burst)
		json_object_set_new(
			j, "one_time_burst",
			json_integer((json_int_t)b->one_time_burst));
	return j;
}

static void rl_json(json_t *obj, const char *key, const struct rl_config *rl)
{
	json_t *j;

	if (!rl_config_enabled(rl))
		return;
	j = json_object();
	if (!j)
		return;
	if (rl->bandwidth.size || rl->bandwidth.refill_time_ms)
		json_object_set_new(j, "bandwidth",
				    bucket_json(&rl->bandwidth));
	if (rl->ops.size || rl->ops.refill_time_ms)
		json_object_set_new(j, "ops", bucket_json(&rl->ops));
	json_object_set_new(obj, key, j);
}

json_t *api_config_balloon_json(const struct api_config *c)
{
	return json_pack("{s:I, s:b, s:I, s:b, s:b}", "amount_mib",
			 (json_int_t)c->balloon_mib, "deflate_on_oom",
			 c->balloon.deflate_on_oom, "stats_polling_interval_s",
			 (json_int_t)c->balloon.stats_interval,
			 "free_page_hinting", 0, "free_page_reporting",
			 c->balloon.reporting);
}

static void devices_json(const struct api_config *c, json_t *j)
{
	json_t *drives = json_array(), *nets = json_array();

	for (unsigned int i = 0; drives && i < c->nr_drives; i++) {
		const struct api_drive *d = &c->drives[i];
		json_t *o = json_pack("{s:s, s:s, s:b, s:b, s:s, s:s}",
				      "drive_id", d->id, "path_on_host",
				      d->disk.path, "is_root_device", d->root,
				      "is_read_only", d->disk.readonly,
				      "cache_type",
				      d->writeback ? "Writeback" : "Unsafe",
				      "io_engine", d->async ? "Async" : "Sync");

		if (!o)
			continue;
		if (*d->partuuid)
			json_object_set_new(o, "partuuid",
					    json_string(d->partuuid));
		rl_json(o, "rate_limiter", &d->disk.rl);
		json_array_append_new(drives, o);
	}
	for (unsigned int i = 0; nets && i < c->nr_nets; i++) {
		const struct api_net *a = &c->nets[i];
		json_t *o = json_pack("{s:s, s:s}", "iface_id", a->id,
				      "host_dev_name", a->net.tap);

		if (!o)
			continue;
		if (a->net.mac_set) {
			char mac[18];
			const uint8_t *m = a->net.mac;

			snprintf(mac, sizeof(mac),
				 "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1],
				 m[2], m[3], m[4], m[5]);
			json_object_set_new(o, "guest_mac", json_string(mac));
		}
		rl_json(o, "rx_rate_limiter", &a->net.rx_rl);
		rl_json(o, "tx_rate_limiter", &a->net.tx_rl);
		json_array_append_new(nets, o);
	}
	json_object_set_new(j, "drives", drives);
	json_object_set_new(j, "network-interfaces", nets);
	if (c->vsock_set)
		json_object_set_new(j, "vsock",
				    json_pack("{s:I, s:s}", "guest_cid",
					      (json_int_t)c->vsock.cid,
					      "uds_path", c->vsock.uds));
	if (c->balloon_set)
		json_object_set_new(j, "balloon", api_config_balloon_json(c));
	if (c->entropy_set) {
		json_t *e = json_object();

		rl_json(e, "rate_limiter", &c->entropy_rl);
		json_object_set_new(j, "entropy", e);
	}
}

static int devices_to_vm(struct api_config *c, struct vm_config *vm, char *err)
{
	free(c->root_args);
	c->root_args = NULL;
	for (unsigned int i = 0; i < c->nr_drives; i++)
		vm->disks[i] = c->drives[i].disk;
	vm->nr_disks = c->nr_drives;
	for (unsigned int i = 0; i < c->nr_nets; i++)
		vm->nets[i] = c->nets[i].net;
	vm->nr_nets = c->nr_nets;
	if (c->vsock_set)
		vm->vsock = c->vsock;
	if (c->balloon_set)
		vm->balloon = c->balloon;
	vm->rng = c->entropy_set;
	vm->rng_rl = c->entropy_rl;
	if (c->nr_drives && c->drives[0].root) {
		const struct api_drive *d = &c->drives[0];
		char buf[API_ID_MAX + 64];

		if (*d->partuuid)
			snprintf(buf, sizeof(buf), "root=PARTUUID=%s %s",
				 d->partuuid, d->disk.readonly ? "ro" : "rw");
		else
			snprintf(buf, sizeof(buf), "root=/dev/vda %s",
				 d->disk.readonly ? "ro" : "rw");
		c->root_args = strdup(buf);
		if (!c->root_args)
			return fail(err, "out of memory");
	}
	return 0;
}
