// SPDX-License-Identifier: GPL-2.0-only
/*
 * config.c - the defaults of a VM, validator errors, the serial and
 * console check, and the check of a whole VM (every object, then the
 * rules between objects).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

void vm_config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->cpus = VMON_DEFAULT_CPUS;
	cfg->mem_size = VMON_DEFAULT_MEM;
	cfg->serial = SERIAL_STDIO;
	cfg->console_rate = VMON_DEFAULT_CONSOLE_RATE;
	cfg->serial_file_max = VMON_DEFAULT_SERIAL_FILE_MAX;
	/* KVM's dirty ring where the host offers it, else its bitmap. */
	cfg->dirty_log = DIRTY_LOG_AUTO;
}

int config_fail(struct config_err *e, const char *object, const char *field,
		const char *fmt, ...)
{
	va_list ap;

	snprintf(e->object, sizeof(e->object), "%s", object);
	e->field = field;
	va_start(ap, fmt);
	vsnprintf(e->cause, sizeof(e->cause), fmt, ap);
	va_end(ap);
	return -1;
}

const char *config_err_str(const struct config_err *e, char *buf, size_t size)
{
	if (e->field)
		snprintf(buf, size, "%s: %s: %s", e->object, e->field,
			 e->cause);
	else
		snprintf(buf, size, "%s: %s", e->object, e->cause);
	return buf;
}

int config_check_serial(enum serial_mode mode, const char *path,
			enum console_mode console, struct config_err *e)
{
	if (mode != SERIAL_STDIO && mode != SERIAL_FILE && mode != SERIAL_NONE)
		return config_fail(e, "serial", "mode", "unknown mode %d",
				   (int)mode);
	if (mode == SERIAL_FILE && (!path || !*path))
		return config_fail(e, "serial", "path",
				   "a file serial needs a path");
	if (console != CONSOLE_SERIAL && console != CONSOLE_VIRTIO)
		return config_fail(e, "console", NULL, "unknown device %d",
				   (int)console);
	return 0;
}

static int check_nets(const struct vm_config *cfg, struct config_err *e)
{
	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		if (config_check_net(&cfg->nets[i], e))
			return -1;
		for (unsigned int j = 0; j < i; j++)
			if (config_check_net_pair(&cfg->nets[i], &cfg->nets[j],
						  e))
				return -1;
	}
	return 0;
}

int config_check_vm(const struct vm_config *cfg, struct config_err *e)
{
	if (cfg->nr_disks > VMON_MAX_DISKS)
		return config_fail(e, "disks", NULL, "at most %u disks",
				   VMON_MAX_DISKS);
	if (cfg->nr_nets > VMON_MAX_NETS)
		return config_fail(e, "nets", NULL,
				   "at most %u network interfaces",
				   VMON_MAX_NETS);
	if (config_check_machine(cfg->cpus, cfg->mem_size, cfg->cpu_template,
				 e) ||
	    config_check_boot(cfg->kernel, cfg->initrd, cfg->cmdline, e) ||
	    config_check_serial(cfg->serial, cfg->serial_path, cfg->console, e))
		return -1;
	for (unsigned int i = 0; i < cfg->nr_disks; i++)
		if (config_check_disk(&cfg->disks[i], e))
			return -1;
	if (check_nets(cfg, e))
		return -1;
	if ((cfg->vsock.cid || cfg->vsock.uds[0]) &&
	    config_check_vsock(&cfg->vsock, e))
		return -1;
	if (cfg->balloon.enabled &&
	    config_check_balloon(&cfg->balloon, cfg->mem_size, e))
		return -1;
	return 0;
}
