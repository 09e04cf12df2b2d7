/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cpu_named.h - Firecracker's named CPU templates (C3, T2, T2S, T2CL,
 * T2A, V1N1) as vmon models them: cpu_named.c.
 */
#ifndef VMON_ARCH_X86_CPU_NAMED_H
#define VMON_ARCH_X86_CPU_NAMED_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>

#include "../../config/cpu_custom.h"

/* Whether @name is one of Firecracker's template names. */
bool cpu_named_is(const char *name);
/*
 * The CPUID modifiers of template @name for a host whose CPUID (vendor,
 * family, model; the leaves present) is @c: 0, or -1 with the reason in
 * @err (unknown, or a CPU the template is not for).
 */
int cpu_named_build(const char *name, struct kvm_cpuid2 *c,
		    struct cpu_custom *out, char *err, size_t errlen);

#endif
