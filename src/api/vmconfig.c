// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmconfig.c - the API's VM description as a whole: its life (init, deep
 * copy, free), request bodies, GET /vm/config, and the vm_config it
 * hands to InstanceStart. Each configuration object's JSON (parsing into
 * the validators of src/config, and its GET view) is in src/api/config/,
 * one file per object as Firecracker's vmm_config.
 */
#include "vmconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/common.h"
#include "config/object.h"

void api_config_init(struct api_config *c)
{
	memset(c, 0, sizeof(*c));
	vm_config_init(&c->devices);
	c->vcpu_count = 1;
	c->mem_size_mib = API_DEFAULT_MEM_MIB;
}

/* Frees what @c owns, not @c. */
static void free_fields(struct api_config *c)
{
	free(c->kernel);
	free(c->initrd);
	free(c->boot_args);
	free(c->cpu_template);
	free(c->huge_pages);
	free(c->log_path);
	free(c->log_level);
	free(c->log_module);
	free(c->metrics_path);
	free(c->root_args);
}

void api_config_free(struct api_config *c)
{
	free_fields(c);
	memset(c, 0, sizeof(*c));
}

void api_config_drop(struct api_config *n)
{
	if (n)
		free_fields(n);
	free(n);
}

void api_config_move(struct api_config *c, struct api_config *n)
{
	free_fields(c);
	*c = *n;
	free(n);
}

/* A deep copy into @dst; 0 or -1 (out of memory: @dst owns nothing). */
static int copy_into(struct api_config *dst, const struct api_config *src)
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
	dst->log_module = src->log_module ? strdup(src->log_module) : NULL;
	dst->metrics_path = src->metrics_path ? strdup(src->metrics_path) :
						NULL;
	dst->root_args = NULL; /* derived at InstanceStart, never copied */
	if ((src->kernel && !dst->kernel) || (src->initrd && !dst->initrd) ||
	    (src->boot_args && !dst->boot_args) ||
	    (src->cpu_template && !dst->cpu_template) ||
	    (src->huge_pages && !dst->huge_pages) ||
	    (src->log_path && !dst->log_path) ||
	    (src->log_level && !dst->log_level) ||
	    (src->log_module && !dst->log_module) ||
	    (src->metrics_path && !dst->metrics_path)) {
		free_fields(dst);
		return -1;
	}
	return 0;
}

/* A deep copy, so a failed update can be thrown away. */
struct api_config *api_config_dup(const struct api_config *src)
{
	struct api_config *dst = malloc(sizeof(*dst));

	if (dst && copy_into(dst, src)) {
		free(dst);
		return NULL;
	}
	return dst;
}

json_t *api_parse_body(const char *body, size_t len, char *err)
{
	json_error_t je;
	json_t *j;

	if (len == 0) {
		api_fail(err, "the request needs a JSON body");
		return NULL;
	}
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		api_fail(err, "invalid JSON at line %d, column %d: %.160s",
			 je.line, je.column, je.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		api_fail(err, "the request body must be a JSON object");
		return NULL;
	}
	return j;
}

json_t *api_config_full_json(const struct api_config *c)
{
	const struct api_object *const *objs;
	json_t *j = json_object();
	unsigned int nr;

	if (!j)
		return NULL;
	cfg_boot_source_json(c, j);
	json_object_set_new(j, "machine-config", api_config_machine_json(c));
	cfg_logger_json(c, j);
	nr = api_objects(&objs);
	for (unsigned int i = 0; i < nr; i++)
		objs[i]->json(c, j);
	cfg_mmds_config_json(c, j);
	api_fc_shape(j);
	return j;
}

static int devices_to_vm(struct api_config *c, struct vm_config *vm, char *err)
{
	free(c->root_args);
	c->root_args = NULL;
	for (unsigned int i = 0; i < c->nr_drives; i++)
		vm->disks[i] = c->drives[i].disk;
	vm->nr_disks = c->nr_drives;
	for (unsigned int i = 0; i < c->nr_nets; i++) {
		vm->nets[i] = c->nets[i].net;
		vm->nets[i].mmds = false;
		for (unsigned int k = 0; c->mmds.set && k < c->mmds.nr_ifaces;
		     k++)
			vm->nets[i].mmds |=
				!strcmp(c->mmds.ifaces[k], c->nets[i].id);
	}
	vm->nr_nets = c->nr_nets;
	/* The responders the devices create read the address from the store. */
	if (c->mmds.set)
		mmds_set_config(&c->mmds);
	if (c->vsock_set)
		vm->vsock = c->vsock;
	if (c->balloon_set)
		vm->balloon = c->balloon;
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
			return api_fail(err, "out of memory");
	}
	return 0;
}

int api_config_to_vm(struct api_config *c, struct vm_config *vm, char *err)
{
	if (!c->boot_source_set)
		return api_fail(
			err,
			"Cannot start microvm without kernel configuration: PUT /boot-source first");
	/* What the objects keep in vm_config form (entropy...), then the rest. */
	*vm = c->devices;
	vm->kernel = c->kernel;
	vm->initrd = c->initrd;
	vm->cmdline = c->boot_args;
	vm->cpus = c->vcpu_count;
	vm->smt = c->smt;
	vm->cpu_custom = c->cpu_custom_set ? &c->cpu_custom : NULL;
	vm->mem_size = c->mem_size_mib << 20;
	vm->mem_merge = c->mem_merge;
	vm->hugetlb = c->huge_pages && !strcmp(c->huge_pages, "2M");
	vm->track_dirty_pages = c->track_dirty_pages;
	vm->cpu_template = c->cpu_template && strcmp(c->cpu_template, "None") !=
						      0 ?
				   c->cpu_template :
				   NULL;
	/* Firecracker's names apply on top of vmon's default template. */
	if (api_fc_cpu_template(vm->cpu_template)) {
		vm->cpu_named = vm->cpu_template;
		vm->cpu_template = NULL;
	}
	return devices_to_vm(c, vm, err);
}
