/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vmconfig.h - the VM description the API and --config-file build up
 * (Firecracker's boot-source, machine-config, logger and metrics objects),
 * its JSON parsing with field-by-field validation, its JSON export
 * (GET /machine-config, GET /vm/config) and its conversion to a vm_config.
 *
 * Every parser validates the whole object into a copy first and commits
 * only when all of it is valid: a refused request changes nothing.
 */
#ifndef VMON_API_VMCONFIG_H
#define VMON_API_VMCONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../vmm/config.h"

/* Firecracker's limits: 1..32 vCPUs; memory is vmon's own bound. */
#define API_MAX_VCPUS 32
#define API_MIN_MEM_MIB 2
#define API_MAX_MEM_MIB (1024 * 1024)
#define API_DEFAULT_MEM_MIB 128

struct api_config {
	/* boot-source */
	bool boot_source_set;
	char *kernel;
	char *initrd;
	char *boot_args; /* NULL: vmon's default command line */
	/* machine-config */
	unsigned int vcpu_count;
	uint64_t mem_size_mib;
	bool smt;
	bool track_dirty_pages;
	char *cpu_template; /* as given; NULL or "None": the host default */
	char *huge_pages; /* "None" or "Transparent" */
	/* logger */
	bool logger_set;
	char *log_path;
	char *log_level;
	bool show_level;
	bool show_log_origin;
	/* metrics */
	bool metrics_set;
	char *metrics_path;
};

/* Error text buffers: a message that names the field and the problem. */
#define API_ERR_MAX 512

void api_config_init(struct api_config *c);
/* A deep copy into @dst; 0 or -1 (out of memory). */
int api_config_copy(struct api_config *dst, const struct api_config *src);
void api_config_free(struct api_config *c);

/* Each returns 0, or -1 with @err filled; @c is unchanged on error. */
int api_config_boot_source(struct api_config *c, json_t *body, char *err);
/* @partial: PATCH semantics (only the given fields change). */
int api_config_machine(struct api_config *c, json_t *body, bool partial,
		       char *err);
int api_config_logger(struct api_config *c, json_t *body, char *err);
int api_config_metrics(struct api_config *c, json_t *body, char *err);

/*
 * A whole Firecracker --config-file document. Sections vmon does not have
 * yet (drives, network-interfaces, vsock, balloon...) are refused when
 * they configure something, accepted when empty.
 */
int api_config_document(struct api_config *c, const char *text, size_t len,
			char *err);

/* GET /machine-config and GET /vm/config bodies (new references). */
json_t *api_config_machine_json(const struct api_config *c);
json_t *api_config_full_json(const struct api_config *c);

/*
 * Fills @vm (pointing into @c's strings: @c must outlive it) for
 * InstanceStart; -1 with @err if the configuration is incomplete.
 */
int api_config_to_vm(const struct api_config *c, struct vm_config *vm,
		     char *err);

/*
 * Parses a JSON request body: an object, at most @max bytes, no trailing
 * garbage. Returns a new reference or NULL with @err filled.
 */
json_t *api_parse_body(const char *body, size_t len, char *err);

#endif
