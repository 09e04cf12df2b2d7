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

enum snapshot_type { SNAPSHOT_FULL = 0 };

struct snapshot_info {
	uint32_t nr_vcpus;
	uint64_t mem_size;
	uint32_t type;
	uint64_t created; /* seconds since the epoch */
	char vmon_version[32];
	uint32_t nr_devices;
};

/* An opened, checked snapshot; snapshot_close() frees it. */
struct snapshot {
	uint8_t *data; /* the state file */
	struct snapshot_info info;
	struct state_reader cpu_model; /* the header's CPU model section */
	char *config; /* the VM configuration (JSON, NUL-terminated) */
	struct state_reader rest; /* the vCPUs, the VM, the devices */
	int mem_fd; /* the memory file, -1 if not opened */
};

/*
 * Writes a snapshot of @vm, which is paused: the state file at
 * @state_path (@config_json: the VM's configuration to rebuild it from)
 * and guest memory at @mem_path. 0, or -1 with @err.
 */
int snapshot_create(struct vm *vm, const char *config_json,
		    const char *state_path, const char *mem_path, char *err,
		    size_t errlen);

/*
 * Builds a whole state file of @vm into @file (live migration sends it):
 * with @prelude only the header and the configuration (what a receiver
 * needs to build the VM), else everything (@vm paused). 0, or -1 (the
 * reason logged, or out of memory).
 */
int snapshot_state(struct vm *vm, const char *config_json, bool prelude,
		   struct state_writer *file);

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

/* Prints what the opened @s holds (vmon snapshot-info). */
void snapshot_print(struct snapshot *s, FILE *f);

#endif
