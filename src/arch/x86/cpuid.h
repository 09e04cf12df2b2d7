/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cpuid.h - the CPUID a guest sees: CPU templates (`host`, `pvm`), edits
 * of single features by name (`+avx2`, `-cx16`), feature dependencies,
 * and the per-vCPU topology (APIC IDs, core counts).
 */
#ifndef VMON_ARCH_X86_CPUID_H
#define VMON_ARCH_X86_CPUID_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CPUID_MAX_ENTRIES 256

enum cpuid_reg { CPUID_EAX, CPUID_EBX, CPUID_ECX, CPUID_EDX };

struct cpu_feature {
	const char *name; /* Linux /proc/cpuinfo name */
	uint32_t leaf;
	uint32_t subleaf;
	enum cpuid_reg reg;
	uint8_t bit;
	bool forcible; /* may be shown even if KVM does not report it */
};

/* Looks a feature up by name; '-' and '_' are equal, case is ignored. */
const struct cpu_feature *cpu_feature_find(const char *name);
/* The named feature at bit @bit of @reg of a leaf, or NULL. */
const struct cpu_feature *cpu_feature_at(uint32_t leaf, uint32_t subleaf,
					 enum cpuid_reg reg, unsigned int bit);

struct kvm_cpuid2 *cpuid_alloc(void);
struct kvm_cpuid2 *cpuid_dup(const struct kvm_cpuid2 *src);
struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, uint32_t leaf,
				    uint32_t subleaf);
bool cpuid_has(struct kvm_cpuid2 *c, const struct cpu_feature *f);
uint32_t *cpuid_reg(struct kvm_cpuid_entry2 *e, enum cpuid_reg r);
/* Clears @f and every feature that depends on it. */
void cpuid_hide(struct kvm_cpuid2 *c, const struct cpu_feature *f);
/* Sets @f; returns -1 if its leaf is absent. */
int cpuid_show(struct kvm_cpuid2 *c, const struct cpu_feature *f);

/*
 * Applies a template spec "NAME[,+feat|-feat...]" or just edits
 * "+feat,-feat" (then @default_template is the base) to @c, which holds
 * what KVM supports. On success @cmdline_extra holds the guest command-line
 * options that hide the same features from a Linux guest where CPUID does
 * not (the template's own, e.g. "noxsave clearcpuid=cx16,...", plus, when
 * @cmdline_hides, every -FEATURE edit and, with noxsave, the GLIBC_TUNABLES
 * that keep the guest's glibc off the AVX state its kernel does not switch);
 * it may be "". On error returns -1
 * with a message in @err.
 */
int cpuid_apply_template(struct kvm_cpuid2 *c, const char *spec,
			 const char *default_template, bool cmdline_hides,
			 char *cmdline_extra, size_t cmdline_len, char *err,
			 size_t errlen);

/* Names of the templates and their one-line descriptions, NULL-ended. */
extern const char *const cpu_template_names[];
const char *cpu_template_desc(const char *name);

/*
 * Writes into @c the topology of vCPU @apic_id among @nr_cpus: one socket
 * of @nr_cpus / @threads cores with @threads threads each (2 with SMT,
 * when @nr_cpus is even; otherwise 1: APIC IDs are the vCPU numbers, the
 * thread in the low bit). @c must have room for 3 more entries. Returns
 * 0 or -1.
 */
int cpuid_set_topology(struct kvm_cpuid2 *c, unsigned int apic_id,
		       unsigned int nr_cpus, unsigned int threads);

#endif
