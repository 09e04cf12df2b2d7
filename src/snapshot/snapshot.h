/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * snapshot.h - snapshots of a VM (docs/snapshot.md): writing one from a
 * paused VM (a state file and a memory file), opening one (every check
 * that needs no VM: file, format version, header, CPU model, memory file
 * size) and restoring it into a VM built from its configuration but not
 * yet started. The state file's payload is a list of state.h sections:
 * header (with the CPU model), configuration, one per vCPU, the VM's,
 * the devices'.
 */
#ifndef VMON_SNAPSHOT_SNAPSHOT_H
#define VMON_SNAPSHOT_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../vmm/state.h"
#include "file.h"

struct kvm;
struct vm;

/* Full: all of guest RAM; Diff: only the pages written since the last. */
enum snapshot_type { SNAPSHOT_FULL = 0, SNAPSHOT_DIFF = 1 };

struct snapshot_info {
	uint32_t nr_vcpus;
	uint64_t mem_size;
	uint32_t type;
	uint64_t created; /* seconds since the epoch */
	char vmon_version[32];
	uint32_t nr_devices;
	uint64_t id; /* random, names this snapshot */
	uint64_t parent; /* the snapshot a Diff applies to (0: none) */
};

/* An opened, checked snapshot; snapshot_close() frees it. */
struct snapshot {
	uint8_t *data; /* the state file */
	struct snapshot_info info;
	struct state_reader cpu_model; /* the header's CPU model section */
	char *config; /* the VM configuration (JSON, NUL-terminated) */
	struct state_reader rest; /* the vCPUs, the VM, the devices */
	int mem_fd; /* the memory file, -1 if not opened */
	uint64_t *pages; /* Diff: the pages in the memory file (bitmap) */
	size_t link_off, link_end; /* the LINK section in the payload */
};

/* What snapshot_create() writes. */
struct snapshot_params {
	enum snapshot_type type;
	const char *config_json; /* the VM's configuration to rebuild it */
	const char *state_path, *mem_path;
	uint64_t parent; /* the id of the VM's last snapshot (0: none) */
	uint64_t id; /* out: the new snapshot's id */
};
/*
 * Writes a snapshot of @vm, which is paused: the state file and the
 * memory file of @p; Full: all of RAM; Diff (dirty tracking on): the
 * pages written since tracking started or since the last snapshot, in a
 * sparse file. With tracking on, either type starts a new round of it.
 * 0, or -1 with @err.
 */
int snapshot_create(struct vm *vm, struct snapshot_params *p, char *err,
		    size_t errlen);

/*
 * Builds a whole Full state file of @vm into @file (live migration sends
 * it): with @prelude only the header and the configuration (what a
 * receiver needs to build the VM), else everything (@vm paused). 0, or
 * -1 (the reason logged, or out of memory).
 */
int snapshot_state(struct vm *vm, const char *config_json, bool prelude,
		   struct state_writer *file);

/*
 * Applies the Diff snapshot (@diff_state, @diff_mem) to the snapshot it
 * follows (@base_state, @base_mem): the diff's pages are written into the
 * base's memory file and the base's state file becomes the diff's, as a
 * Full snapshot. The base's state file is removed first, so an
 * interrupted merge leaves no loadable half. 0, or -1 with @err.
 */
int snapshot_merge(const char *base_state, const char *base_mem,
		   const char *diff_state, const char *diff_mem, char *err,
		   size_t errlen);

/*
 * Parses a state file held in memory: checksum, version, header and
 * configuration. Fills @s (whose data the caller owns) apart from the
 * memory file. 0, or -1 with @err.
 */
int snapshot_parse(struct snapshot *s, const uint8_t *data, size_t len,
		   char *err, size_t errlen);

/*
 * Reads and checks the state file at @state_path, its CPU model against
 * @kvm (NULL: not checked) and, if @mem_path, the memory file (opened,
 * its size must be the VM's). 0, or -1 with @err; closed either way on
 * error.
 */
int snapshot_open(struct snapshot *s, const char *state_path,
		  const char *mem_path, const struct kvm *kvm, char *err,
		  size_t errlen);
void snapshot_close(struct snapshot *s);
/* Checks the CPU model and host features against @kvm; 0 or -1, @err. */
int snapshot_check_host(struct snapshot *s, const struct kvm *kvm, char *err,
			size_t errlen);

/*
 * Restores the vCPUs, the VM and the devices of @s into @vm, built from
 * s->config and paused (vm_pause()) but never run. 0, or -1 with @err;
 * on error the VM is half set and must be destroyed.
 */
int snapshot_restore(struct snapshot *s, struct vm *vm, char *err,
		     size_t errlen);

/*
 * The state file of the opened Diff @s made a Full snapshot's (its type
 * and page map; the rest as is), whole in @file. 0 or -1 (no memory).
 */
int snapshot_state_as_full(const struct snapshot *s, struct state_writer *file);

/* Prints what the opened @s holds (vmon snapshot-info). */
void snapshot_print(struct snapshot *s, FILE *f);

#endif
