// SPDX-License-Identifier: GPL-2.0-only
/*
 * machine.c - the machine object: vCPUs, memory and the CPU template
 * (its name and the names of its feature edits; whether this host's KVM
 * can show a feature is known only when the VM is built).
 */
#include <stdio.h>
#include <string.h>

#include "../arch/x86/cpuid.h"
#include "check.h"

#define FEATURE_NAME_MAX 32

static bool template_known(const char *name, size_t len)
{
	for (const char *const *t = cpu_template_names; *t; t++)
		if (strlen(*t) == len && !strncmp(name, *t, len))
			return true;
	return false;
}

/* One ",+feat" or ",-feat" item of @len bytes at @p. */
static int check_edit(const char *p, size_t len, struct config_err *e)
{
	char name[FEATURE_NAME_MAX];

	if ((*p != '+' && *p != '-') || len < 2)
		return config_fail(
			e, "machine", "cpu_template",
			"'%.*s' is no edit: write +FEATURE or -FEATURE",
			(int)len, p);
	if (len - 1 >= sizeof(name))
		return config_fail(e, "machine", "cpu_template",
				   "unknown CPU feature '%.*s'", (int)len - 1,
				   p + 1);
	memcpy(name, p + 1, len - 1);
	name[len - 1] = 0;
	if (!cpu_feature_find(name))
		return config_fail(e, "machine", "cpu_template",
				   "unknown CPU feature '%s'", name);
	return 0;
}

int config_check_cpu_template(const char *spec, struct config_err *e)
{
	const char *p = spec ? spec : "";

	if (*p && *p != '+' && *p != '-') {
		size_t len = strcspn(p, ",");

		if (!template_known(p, len))
			return config_fail(
				e, "machine", "cpu_template",
				"unknown template '%.*s' (known: host, pvm)",
				(int)(len > 64 ? 64 : len), p);
		p += len;
		if (*p == ',')
			p++;
	}
	while (*p) {
		size_t len = strcspn(p, ",");

		if (check_edit(p, len, e))
			return -1;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

int config_check_machine(unsigned int cpus, uint64_t mem_size,
			 const char *cpu_template, struct config_err *e)
{
	if (cpus == 0)
		return config_fail(e, "machine", "cpus",
				   "a VM needs at least one vCPU");
	if (mem_size < VMON_MIN_MEM)
		return config_fail(e, "machine", "mem_size",
				   "too small, a VM needs at least %llu MiB",
				   VMON_MIN_MEM >> 20);
	if (mem_size > UINT64_MAX - 4095) /* rounded up to whole pages */
		return config_fail(e, "machine", "mem_size", "too large");
	return config_check_cpu_template(cpu_template, e);
}
