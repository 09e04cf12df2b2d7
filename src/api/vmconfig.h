/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vmconfig.h - the VM description the API and --config-file build up
 * (Firecracker's configuration objects), its JSON parsing, its JSON
 * export (GET /machine-config, GET /vm/config) and its conversion to a
 * vm_config. The JSON of each object is in src/api/config/<object>.c;
 * the rules are the validators of src/config (docs/config.md), whose
 * errors come back named by the API's paths and keys.
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

#include "../config/config.h"
#include "../migration/migration.h"
#include "../net/mmds_store.h"

/*
 * Firecracker's limit of 32 vCPUs and vmon's bound of memory: the API's
 * own (the minimums are the machine validator's, src/config).
 */
#define API_MAX_VCPUS 32
#define API_MAX_MEM_MIB (1024 * 1024)
#define API_DEFAULT_MEM_MIB 128

/* Device ids in paths and bodies: 1..64 of [A-Za-z0-9_]. */
#define API_ID_MAX 64

/* A Firecracker drive: vmon's disk plus what only the API knows. */
struct api_drive {
	char id[API_ID_MAX + 1];
	bool root; /* is_root_device: first disk, root= on the command line */
	char partuuid[API_ID_MAX + 1]; /* "": root=/dev/vda */
	bool writeback; /* cache_type Writeback (else Unsafe) */
	bool async; /* io_engine Async (else Sync) */
	struct disk_config disk;
};

struct api_net {
	char id[API_ID_MAX + 1];
	struct net_config net;
};

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
	char *huge_pages; /* "None", "Transparent" or "2M" (hugetlbfs) */
	bool mem_merge; /* vmon's extension "mem_merge" (docs/density.md) */
	/* cpu-config: PUT /cpu-config's custom CPU template */
	bool cpu_custom_set;
	struct cpu_custom cpu_custom;
	/* serial: PUT /serial's output file; "": where the options say */
	char serial_out_path[VMON_DISK_PATH_MAX];
	/* logger */
	bool logger_set;
	char *log_path;
	char *log_level;
	char *log_module; /* only messages of this module (log.h) */
	bool show_level;
	bool show_log_origin;
	/* metrics */
	bool metrics_set;
	char *metrics_path;
	/* drives (the root device, if any, first), network interfaces */
	struct api_drive drives[VMON_MAX_DISKS];
	unsigned int nr_drives;
	struct api_net nets[VMON_MAX_NETS];
	unsigned int nr_nets;
	/* vsock, balloon (amount in MiB) */
	bool vsock_set;
	struct vsock_config vsock;
	bool balloon_set;
	uint64_t balloon_mib;
	struct balloon_config balloon;
	/* mmds-config (src/net/mmds_store.h); set: configured */
	struct mmds_config mmds;
	/*
	 * The objects that keep their configuration in vm_config form
	 * (config/object.h): entropy (rng, rng_rl). InstanceStart starts
	 * from it; its other fields are unused.
	 */
	struct vm_config devices;
	/* Built by api_config_to_vm(): root= for the command line, or NULL. */
	char *root_args;
};

/* Error text buffers: a message that names the field and the problem. */
#define API_ERR_MAX 512

void api_config_init(struct api_config *c);
/*
 * A deep copy of @src on the heap (the struct is ~150 KiB: never on a
 * stack), or NULL (out of memory). api_config_move() commits it,
 * api_config_drop() throws it away.
 */
struct api_config *api_config_dup(const struct api_config *src);
/* @c takes @n's content (its own is freed); @n, from api_config_dup(), is
 * freed. */
void api_config_move(struct api_config *c, struct api_config *n);
/* Frees a copy from api_config_dup() and what it owns. */
void api_config_drop(struct api_config *n);
void api_config_free(struct api_config *c);

/* Each returns 0, or -1 with @err filled; @c is unchanged on error. */
int api_config_boot_source(struct api_config *c, json_t *body, char *err);
/* @partial: PATCH semantics (only the given fields change). */
int api_config_machine(struct api_config *c, json_t *body, bool partial,
		       char *err);
int api_config_logger(struct api_config *c, json_t *body, char *err);
int api_config_metrics(struct api_config *c, json_t *body, char *err);

/*
 * Devices, before boot. @id is the id from the request path; the body's
 * own id must match it. A PUT of an existing id replaces that device.
 */
int api_config_drive(struct api_config *c, const char *id, json_t *body,
		     char *err);
int api_config_net(struct api_config *c, const char *id, json_t *body,
		   char *err);
int api_config_vsock(struct api_config *c, json_t *body, char *err);
int api_config_balloon(struct api_config *c, json_t *body, char *err);
/* PUT /mmds/config: the listed interfaces must exist. */
int api_config_mmds(struct api_config *c, json_t *body, char *err);

/*
 * Run-time updates, validated only (the caller applies them to the device
 * and then commits them with the matching *_commit, or drops them).
 */
struct api_drive_update {
	unsigned int index; /* into drives[] = the VM's virtio-blk order */
	bool have_path, have_rl;
	char path[VMON_DISK_PATH_MAX];
	struct rl_config rl;
};
int api_config_drive_update(const struct api_config *c, const char *id,
			    json_t *body, struct api_drive_update *u,
			    char *err);
void api_config_drive_commit(struct api_config *c,
			     const struct api_drive_update *u);

struct api_net_update {
	unsigned int index; /* into nets[] = the VM's virtio-net order */
	bool have_rx, have_tx;
	struct rl_config rx, tx;
};
int api_config_net_update(const struct api_config *c, const char *id,
			  json_t *body, struct api_net_update *u, char *err);
void api_config_net_commit(struct api_config *c,
			   const struct api_net_update *u);

/* PATCH /balloon: the new amount in MiB; PATCH /balloon/statistics. */
int api_config_balloon_amount(const struct api_config *c, json_t *body,
			      uint64_t *mib, char *err);
int api_config_balloon_interval(const struct api_config *c, json_t *body,
				unsigned int *seconds, char *err);
/* PATCH /balloon/hinting/start's body: its acknowledge_on_stop. */
int api_config_balloon_hint_start(json_t *body, bool *ack, char *err);

/* GET /balloon (before boot: the configuration). */
json_t *api_config_balloon_json(const struct api_config *c);

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
 * InstanceStart, and c->root_args; -1 with @err if the configuration is
 * incomplete or inconsistent.
 */
int api_config_to_vm(struct api_config *c, struct vm_config *vm, char *err);
/* PUT /serial's output file, if any, over @vm's serial mode. */
void api_config_serial_apply(const struct api_config *c, struct vm_config *vm);

/* PUT /snapshot/create and /snapshot/load (src/api/config/snapshot.c). */
#define API_PATH_MAX 4096
struct api_snapshot_create {
	char state_path[API_PATH_MAX];
	char mem_path[API_PATH_MAX];
	bool diff; /* snapshot_type Diff */
};
/* What a load changes in the snapshot's configuration (clones). */
struct api_override {
	char id[API_ID_MAX + 1]; /* iface_id or drive_id */
	char value[API_PATH_MAX]; /* host_dev_name or path_on_host */
};
struct api_overrides {
	struct api_override nets[VMON_MAX_NETS];
	unsigned int nr_nets;
	struct api_override drives[VMON_MAX_DISKS];
	unsigned int nr_drives;
	bool vsock_set;
	char vsock_uds[API_PATH_MAX];
};
struct api_snapshot_load {
	char state_path[API_PATH_MAX];
	char mem_path[API_PATH_MAX]; /* the File back-end's path */
	bool uffd; /* the Uffd back-end: mem_path is the handler's socket */
	bool resume;
	bool track_dirty; /* track_dirty_pages (or enable_diff_snapshots) */
	/* The guest clock goes on by the wall-clock time since the snapshot */
	bool clock_realtime;
	struct api_overrides ov;
};
/* Each 0, or -1 with @err naming the field (or what vmon lacks). */
int api_snapshot_create_parse(json_t *body, struct api_snapshot_create *out,
			      char *err);
int api_snapshot_load_parse(json_t *body, struct api_snapshot_load *out,
			    char *err);
/*
 * Overrides (src/api/config/overrides.c): the fields network_overrides,
 * vsock_override and vmon's drive_overrides of request @req's body (a
 * snapshot load, a migration receive); one
 * override as text ("net:ID=TAP", "drive:ID=PATH", "vsock=PATH"); and
 * applying them to the snapshot's configuration @c, each naming an
 * object the snapshot has. Each 0, or -1 with @err.
 */
int api_overrides_parse(json_t *body, const char *req, struct api_overrides *ov,
			char *err);
int api_override_parse_text(const char *text, struct api_overrides *ov,
			    char *err);
int api_overrides_apply(struct api_config *c, const struct api_overrides *ov,
			char *err);

/* PUT /migration/send (src/api/config/migration.c); 0, or -1 with @err. */
struct mig_params;
int api_migration_send_parse(json_t *body, struct mig_params *out, char *err);
/* PUT /migration/receive: where to wait, and the overrides of a load. */
struct api_migration_receive {
	char url[512];
	struct api_overrides ov;
	struct mig_token token; /* `token_file`'s, or unset */
};
int api_migration_receive_parse(json_t *body, struct api_migration_receive *out,
				char *err);

/*
 * Parses a JSON request body: an object, at most @max bytes, no trailing
 * garbage. Returns a new reference or NULL with @err filled.
 */
json_t *api_parse_body(const char *body, size_t len, char *err);

#endif
