// SPDX-License-Identifier: GPL-2.0-only
/*
 * cpu_named.c - Firecracker's named (static) CPU templates C3, T2, T2S,
 * T2CL, T2A and V1N1 as vmon models them: each needs a CPU vendor (and
 * for T2CL/T2A a generation) and hides, as CPUID modifiers checked like a
 * custom template's (cpu_custom.c), the features its AWS instance type's
 * CPU lacks, by vmon's feature names. They are vmon's reading of what the
 * templates are for, not Firecracker's bitmaps: vmon does not change the
 * family/model/stepping or the IA32_ARCH_CAPABILITIES MSR as Firecracker
 * does, and it hides only the features its table names (docs/api.md).
 */
#include "cpu_named.h"

#include <stdio.h>
#include <string.h>

#include "cpu_custom.h"
#include "cpuid.h"

/* Features that came after Cascade Lake (Intel) and Milan (AMD). */
#define NEWER                                                                 \
	"avx512ifma", "avx512vbmi", "avx512_vbmi2", "gfni", "vaes",           \
		"vpclmulqdq", "avx512_bitalg", "avx512_vpopcntdq", "la57",    \
		"avx512_4vnniw", "avx512_4fmaps", "fsrm",                     \
		"avx512_vp2intersect", "serialize", "tsxldtrk", "amx_bf16",   \
		"avx512_fp16", "amx_tile", "amx_int8", "avx_vnni",            \
		"avx512_bf16", "fzrm", "fsrs", "fsrc", "waitpkg", "cldemote", \
		"movdiri", "movdir64b"
/* What a guest of these instance types never had. */
#define NOT_OFFERED "vmx", "svm", "monitor", "pdcm", "hle", "rtm", "mpx"
/* AVX-512 as Skylake-SP/Cascade Lake have it. */
#define AVX512_SKX                                                             \
	"avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl", "avx512pf", \
		"avx512er"
/* Haswell (T2) lacks what Broadwell and Skylake added. */
#define AFTER_HASWELL                                                    \
	"rdseed", "adx", "smap", "clflushopt", "clwb", "sha_ni", "umip", \
		"pku", "ospke", "rdpid", "xsavec", "xgetbv1", "xsaves",  \
		"3dnowprefetch", "pdpe1gb", "wbnoinvd"

static const char *const c3_hide[] = {
	/* Ivy Bridge EP: no AVX2 generation (Haswell) features either. */
	NOT_OFFERED, AVX512_SKX, NEWER,	 AFTER_HASWELL, "fma", "movbe",
	"bmi1",	     "avx2",	 "bmi2", "invpcid",	"abm", NULL,
};
static const char *const t2_hide[] = {
	/* Haswell E5-2676 v3 (T2S: also safe between Skylake and Cascade
	 * Lake hosts, which these hide alike). */
	NOT_OFFERED, AVX512_SKX, NEWER, AFTER_HASWELL, NULL,
};
static const char *const t2cl_hide[] = {
	/* The features Cascade Lake and Milan share (T2CL and T2A guests
	 * see the same set). */
	NOT_OFFERED, AVX512_SKX, NEWER, "sha_ni", "rdpid",
	"wbnoinvd",  "sse4a",	 "xop", "fma4",	  "tbm",
	"topoext",   "clzero",	 NULL,
};

struct named {
	const char *name;
	const char *vendor; /* CPUID leaf 0; NULL: not an x86 template */
	unsigned int min_family, min_model; /* 0: any */
	const char *needs; /* what the vendor/generation check wants */
	const char *const *hide;
};

static const struct named named[] = {
	{ "C3", "GenuineIntel", 0, 0, "an Intel CPU", c3_hide },
	{ "T2", "GenuineIntel", 0, 0, "an Intel CPU", t2_hide },
	{ "T2S", "GenuineIntel", 0, 0, "an Intel CPU", t2_hide },
	{ "T2CL", "GenuineIntel", 6, 0x55, "an Intel Cascade Lake or newer CPU",
	  t2cl_hide },
	{ "T2A", "AuthenticAMD", 0x19, 0, "an AMD Milan or newer CPU",
	  t2cl_hide },
	{ "V1N1", NULL, 0, 0, "an aarch64 (Neoverse V1) host", NULL },
};

bool cpu_named_is(const char *name)
{
	for (size_t i = 0; i < sizeof(named) / sizeof(*named); i++)
		if (!strcmp(named[i].name, name))
			return true;
	return false;
}

/* Vendor, family and model of @c (leaf 0 and 1). */
static void cpu_id(struct kvm_cpuid2 *c, char vendor[13], unsigned int *family,
		   unsigned int *model)
{
	struct kvm_cpuid_entry2 *e0 = cpuid_find(c, 0, 0);
	struct kvm_cpuid_entry2 *e1 = cpuid_find(c, 1, 0);
	uint32_t a = e1 ? e1->eax : 0;

	memset(vendor, 0, 13);
	if (e0) {
		memcpy(vendor, &e0->ebx, 4);
		memcpy(vendor + 4, &e0->edx, 4);
		memcpy(vendor + 8, &e0->ecx, 4);
	}
	*family = (a >> 8) & 0xf;
	*model = (a >> 4) & 0xf;
	if (*family == 0xf)
		*family += (a >> 20) & 0xff;
	if (*family >= 6)
		*model |= ((a >> 16) & 0xf) << 4;
}

static bool host_fits(const struct named *t, struct kvm_cpuid2 *c)
{
	unsigned int family, model;
	char vendor[13];

	if (!t->vendor)
		return false;
	cpu_id(c, vendor, &family, &model);
	if (strcmp(vendor, t->vendor) != 0)
		return false;
	if (t->min_family && family < t->min_family)
		return false;
	return !(t->min_model && family == t->min_family &&
		 model < t->min_model);
}

int cpu_named_build(const char *name, struct kvm_cpuid2 *c,
		    struct cpu_custom *out, char *err, size_t errlen)
{
	const struct named *t = NULL;

	for (size_t i = 0; i < sizeof(named) / sizeof(*named); i++)
		if (!strcmp(named[i].name, name))
			t = &named[i];
	if (!t)
		return cpu_custom_fail(err, errlen, "CPU template %s: unknown",
				       name);
	if (!host_fits(t, c))
		return cpu_custom_fail(
			err, errlen,
			"CPU template %s: needs %s, which this host is not",
			name, t->needs);
	memset(out, 0, sizeof(*out));
	for (const char *const *n = t->hide; *n; n++) {
		const struct cpu_feature *f = cpu_feature_find(*n);
		struct cpuid_modifier *m;

		/* Hidden already where the leaf is absent. */
		if (!f || !cpuid_find(c, f->leaf, f->subleaf))
			continue;
		if (out->nr_cpuid == CPU_CUSTOM_MAX_CPUID)
			return cpu_custom_fail(
				err, errlen, "CPU template %s: too long", name);
		m = &out->cpuid[out->nr_cpuid++];
		m->leaf = f->leaf;
		m->subleaf = f->subleaf;
		m->reg = (uint8_t)f->reg;
		m->mask = 1U << f->bit;
		m->value = 0;
	}
	return 0;
}
