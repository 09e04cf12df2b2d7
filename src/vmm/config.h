/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * config.h - the description of one VM as the user gave it (CLI or, later,
 * the API). Plain data: filled by cli.c, read by vm.c and the loaders.
 */
#ifndef VMON_VMM_CONFIG_H
#define VMON_VMM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

enum serial_mode { SERIAL_STDIO, SERIAL_FILE, SERIAL_NONE };

struct vm_config {
	const char *kernel;
	const char *initrd;
	const char *cmdline; /* user's --cmdline, NULL: default only */
	unsigned int cpus;
	uint64_t mem_size;
	const char *cpu_template; /* "NAME[,+feat,-feat...]", NULL: auto */
	enum serial_mode serial;
	const char *serial_path; /* SERIAL_FILE */
	bool test_device; /* QEMU pc-testdev layout (tests) */
};

#define VMON_DEFAULT_CPUS 1
#define VMON_DEFAULT_MEM (256ULL << 20)

void vm_config_init(struct vm_config *cfg);

#endif
