// SPDX-License-Identifier: GPL-2.0-only
/*
 * cpuid.c - CPU templates, named feature edits, feature dependencies and
 * per-vCPU topology, applied to what KVM_GET_SUPPORTED_CPUID reports.
 * The hypervisor leaves 0x40000000+ are never touched (a PVM guest
 * kernel checks them).
 */
#include "cpuid.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define F(n, l, s, r, b)                     \
	{                                    \
		n, l, s, CPUID_##r, b, false \
	}

static const struct cpu_feature features[] = {
	/* Leaf 1, EDX */
	F("fpu", 1, 0, EDX, 0),
	F("vme", 1, 0, EDX, 1),
	F("de", 1, 0, EDX, 2),
	F("pse", 1, 0, EDX, 3),
	F("tsc", 1, 0, EDX, 4),
	F("msr", 1, 0, EDX, 5),
	F("pae", 1, 0, EDX, 6),
	F("mce", 1, 0, EDX, 7),
	F("cx8", 1, 0, EDX, 8),
	F("apic", 1, 0, EDX, 9),
	F("sep", 1, 0, EDX, 11),
	F("mtrr", 1, 0, EDX, 12),
	F("pge", 1, 0, EDX, 13),
	F("mca", 1, 0, EDX, 14),
	F("cmov", 1, 0, EDX, 15),
	F("pat", 1, 0, EDX, 16),
	F("pse36", 1, 0, EDX, 17),
	F("clflush", 1, 0, EDX, 19),
	F("mmx", 1, 0, EDX, 23),
	F("fxsr", 1, 0, EDX, 24),
	F("sse", 1, 0, EDX, 25),
	F("sse2", 1, 0, EDX, 26),
	F("ss", 1, 0, EDX, 27),
	F("ht", 1, 0, EDX, 28),
	/* Leaf 1, ECX */
	F("pni", 1, 0, ECX, 0),
	F("sse3", 1, 0, ECX, 0),
	F("pclmulqdq", 1, 0, ECX, 1),
	F("monitor", 1, 0, ECX, 3),
	F("vmx", 1, 0, ECX, 5),
	F("ssse3", 1, 0, ECX, 9),
	F("fma", 1, 0, ECX, 12),
	F("cx16", 1, 0, ECX, 13),
	F("pdcm", 1, 0, ECX, 15),
	F("pcid", 1, 0, ECX, 17),
	F("sse4_1", 1, 0, ECX, 19),
	F("sse4_2", 1, 0, ECX, 20),
	F("x2apic", 1, 0, ECX, 21),
	F("movbe", 1, 0, ECX, 22),
	F("popcnt", 1, 0, ECX, 23),
	F("tsc_deadline_timer", 1, 0, ECX, 24),
	F("aes", 1, 0, ECX, 25),
	F("xsave", 1, 0, ECX, 26),
	F("osxsave", 1, 0, ECX, 27),
	F("avx", 1, 0, ECX, 28),
	F("f16c", 1, 0, ECX, 29),
	F("rdrand", 1, 0, ECX, 30),
	F("hypervisor", 1, 0, ECX, 31),
	/* Leaf 7.0, EBX */
	F("fsgsbase", 7, 0, EBX, 0),
	F("tsc_adjust", 7, 0, EBX, 1),
	F("bmi1", 7, 0, EBX, 3),
	F("hle", 7, 0, EBX, 4),
	F("avx2", 7, 0, EBX, 5),
	F("smep", 7, 0, EBX, 7),
	F("bmi2", 7, 0, EBX, 8),
	F("erms", 7, 0, EBX, 9),
	F("invpcid", 7, 0, EBX, 10),
	F("rtm", 7, 0, EBX, 11),
	F("mpx", 7, 0, EBX, 14),
	F("avx512f", 7, 0, EBX, 16),
	F("avx512dq", 7, 0, EBX, 17),
	F("rdseed", 7, 0, EBX, 18),
	F("adx", 7, 0, EBX, 19),
	F("smap", 7, 0, EBX, 20),
	F("avx512ifma", 7, 0, EBX, 21),
	F("clflushopt", 7, 0, EBX, 23),
	F("clwb", 7, 0, EBX, 24),
	F("avx512pf", 7, 0, EBX, 26),
	F("avx512er", 7, 0, EBX, 27),
	F("avx512cd", 7, 0, EBX, 28),
	F("sha_ni", 7, 0, EBX, 29),
	F("avx512bw", 7, 0, EBX, 30),
	F("avx512vl", 7, 0, EBX, 31),
	/* Leaf 7.0, ECX */
	F("avx512vbmi", 7, 0, ECX, 1),
	F("umip", 7, 0, ECX, 2),
	F("pku", 7, 0, ECX, 3),
	F("ospke", 7, 0, ECX, 4),
	F("waitpkg", 7, 0, ECX, 5),
	F("avx512_vbmi2", 7, 0, ECX, 6),
	F("gfni", 7, 0, ECX, 8),
	F("vaes", 7, 0, ECX, 9),
	F("vpclmulqdq", 7, 0, ECX, 10),
	F("avx512_vnni", 7, 0, ECX, 11),
	F("avx512_bitalg", 7, 0, ECX, 12),
	F("avx512_vpopcntdq", 7, 0, ECX, 14),
	F("la57", 7, 0, ECX, 16),
	F("rdpid", 7, 0, ECX, 22),
	F("cldemote", 7, 0, ECX, 25),
	F("movdiri", 7, 0, ECX, 27),
	F("movdir64b", 7, 0, ECX, 28),
	/* Leaf 7.0, EDX */
	F("avx512_4vnniw", 7, 0, EDX, 2),
	F("avx512_4fmaps", 7, 0, EDX, 3),
	F("fsrm", 7, 0, EDX, 4),
	F("avx512_vp2intersect", 7, 0, EDX, 8),
	F("md_clear", 7, 0, EDX, 10),
	F("serialize", 7, 0, EDX, 14),
	F("tsxldtrk", 7, 0, EDX, 16),
	F("amx_bf16", 7, 0, EDX, 22),
	F("avx512_fp16", 7, 0, EDX, 23),
	F("amx_tile", 7, 0, EDX, 24),
	F("amx_int8", 7, 0, EDX, 25),
	F("spec_ctrl", 7, 0, EDX, 26),
	F("intel_stibp", 7, 0, EDX, 27),
	F("flush_l1d", 7, 0, EDX, 28),
	F("arch_capabilities", 7, 0, EDX, 29),
	F("ssbd", 7, 0, EDX, 31),
	/* Leaf 7.1, EAX */
	F("avx_vnni", 7, 1, EAX, 4),
	F("avx512_bf16", 7, 1, EAX, 5),
	F("fzrm", 7, 1, EAX, 10),
	F("fsrs", 7, 1, EAX, 11),
	F("fsrc", 7, 1, EAX, 12),
	/* Leaf 0xd.1, EAX */
	F("xsaveopt", 0xd, 1, EAX, 0),
	F("xsavec", 0xd, 1, EAX, 1),
	F("xgetbv1", 0xd, 1, EAX, 2),
	F("xsaves", 0xd, 1, EAX, 3),
	/* Leaf 0x80000001, ECX */
	F("lahf_lm", 0x80000001, 0, ECX, 0),
	F("svm", 0x80000001, 0, ECX, 2),
	F("abm", 0x80000001, 0, ECX, 5),
	F("sse4a", 0x80000001, 0, ECX, 6),
	F("3dnowprefetch", 0x80000001, 0, ECX, 8),
	F("xop", 0x80000001, 0, ECX, 11),
	F("fma4", 0x80000001, 0, ECX, 16),
	F("tbm", 0x80000001, 0, ECX, 21),
	F("topoext", 0x80000001, 0, ECX, 22),
	/* Leaf 0x80000001, EDX */
	F("syscall", 0x80000001, 0, EDX, 11),
	F("nx", 0x80000001, 0, EDX, 20),
	F("mmxext", 0x80000001, 0, EDX, 22),
	F("pdpe1gb", 0x80000001, 0, EDX, 26),
	F("rdtscp", 0x80000001, 0, EDX, 27),
	F("lm", 0x80000001, 0, EDX, 29),
	/* Leaf 0x80000007, EDX */
	F("constant_tsc", 0x80000007, 0, EDX, 8),
	/* Leaf 0x80000008, EBX */
	F("clzero", 0x80000008, 0, EBX, 0),
	{ "xsaveerptr", 0x80000008, 0, CPUID_EBX, 2, true },
	F("wbnoinvd", 0x80000008, 0, EBX, 9),
};

#undef F

/* child depends on parent: hiding the parent hides the child. */
static const struct {
	const char *child, *parent;
} deps[] = {
	{ "osxsave", "xsave" },
	{ "avx", "xsave" },
	{ "xsaveopt", "xsave" },
	{ "xsavec", "xsave" },
	{ "xgetbv1", "xsave" },
	{ "xsaves", "xsave" },
	{ "mpx", "xsave" },
	{ "pku", "xsave" },
	{ "ospke", "pku" },
	{ "amx_tile", "xsave" },
	{ "amx_bf16", "amx_tile" },
	{ "amx_int8", "amx_tile" },
	{ "avx2", "avx" },
	{ "fma", "avx" },
	{ "f16c", "avx" },
	{ "vaes", "avx" },
	{ "vpclmulqdq", "avx" },
	{ "avx_vnni", "avx" },
	{ "fma4", "avx" },
	{ "xop", "avx" },
	{ "avx512f", "avx2" },
	{ "avx512dq", "avx512f" },
	{ "avx512ifma", "avx512f" },
	{ "avx512pf", "avx512f" },
	{ "avx512er", "avx512f" },
	{ "avx512cd", "avx512f" },
	{ "avx512bw", "avx512f" },
	{ "avx512vl", "avx512f" },
	{ "avx512vbmi", "avx512f" },
	{ "avx512_vbmi2", "avx512f" },
	{ "avx512_vnni", "avx512f" },
	{ "avx512_bitalg", "avx512f" },
	{ "avx512_vpopcntdq", "avx512f" },
	{ "avx512_4vnniw", "avx512f" },
	{ "avx512_4fmaps", "avx512f" },
	{ "avx512_vp2intersect", "avx512f" },
	{ "avx512_fp16", "avx512f" },
	{ "avx512_bf16", "avx512f" },
	{ "invpcid", "pcid" },
};

struct cpu_template {
	const char *name;
	const char *desc;
	const char *const *hide;
	const char *const *show;
	/*
	 * Where CPUID does not reach the guest (a PVM host runs the guest's
	 * CPUID natively), the kernel command line hides features instead:
	 * noxsave, and clearcpuid= with these Linux feature names.
	 */
	bool noxsave;
	const char *const *clear;
};

/*
 * What the PVM backend's instruction emulator cannot run in guest kernel
 * mode (measured: ../shared/pvm-host.md, confirmed by booting the default
 * guest): cmpxchg16b, xsave/xrstor and everything built on XSAVE state,
 * popcnt, clac/stac (SMAP). ERMS/FSRM (and the fast short rep flags) are
 * hidden because Linux then copies with plain loops, which the emulator
 * runs faster than long rep-string instructions. XSAVEERPTR is shown so
 * Linux skips the AMD FXSAVE-leak workaround (fnclex; emms; fild).
 */
static const char *const pvm_hide[] = {
	"cx16", "xsave", "popcnt", "smap", "erms",
	"fsrm", "fzrm",	 "fsrs",   "fsrc", NULL,
};
static const char *const pvm_show[] = { "xsaveerptr", NULL };
static const char *const pvm_clear[] = { "cx16", "popcnt", "smap",
					 "erms", "fsrm",   NULL };
static const char *const none[] = { NULL };

static const struct cpu_template templates[] = {
	{ "host", "every feature the host's KVM supports", none, none, false,
	  none },
	{ "pvm",
	  "what KVM's PVM backend can emulate in guest kernel mode (no cx16, xsave, popcnt, smap, erms, fsrm)",
	  pvm_hide, pvm_show, true, pvm_clear },
};

const char *const cpu_template_names[] = { "host", "pvm", NULL };

const char *cpu_template_desc(const char *name)
{
	for (size_t i = 0; i < sizeof(templates) / sizeof(*templates); i++)
		if (!strcmp(templates[i].name, name))
			return templates[i].desc;
	return NULL;
}

static bool name_eq(const char *a, const char *b, size_t blen)
{
	size_t i;

	for (i = 0; i < blen && a[i]; i++) {
		char x = a[i] == '-' ? '_' : (char)tolower((unsigned char)a[i]);
		char y = b[i] == '-' ? '_' : (char)tolower((unsigned char)b[i]);

		if (x != y)
			return false;
	}
	return i == blen && !a[i];
}

static const struct cpu_feature *feature_find_n(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(features) / sizeof(*features); i++)
		if (name_eq(features[i].name, name, len))
			return &features[i];
	/* Common aliases (QEMU's spellings). */
	if (name_eq("sha", name, len))
		return feature_find_n("sha_ni", 6);
	if (name_eq("tsc_deadline", name, len))
		return feature_find_n("tsc_deadline_timer", 18);
	return NULL;
}

const struct cpu_feature *cpu_feature_find(const char *name)
{
	return feature_find_n(name, strlen(name));
}

struct kvm_cpuid2 *cpuid_alloc(void)
{
	return calloc(1, sizeof(struct kvm_cpuid2) +
				 CPUID_MAX_ENTRIES *
					 sizeof(struct kvm_cpuid_entry2));
}

struct kvm_cpuid2 *cpuid_dup(const struct kvm_cpuid2 *src)
{
	struct kvm_cpuid2 *c = cpuid_alloc();

	if (!c)
		return NULL;
	c->nent = src->nent > CPUID_MAX_ENTRIES ? CPUID_MAX_ENTRIES : src->nent;
	memcpy(c->entries, src->entries, c->nent * sizeof(*c->entries));
	return c;
}

struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, uint32_t leaf,
				    uint32_t subleaf)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function != leaf)
			continue;
		if ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) &&
		    e->index != subleaf)
			continue;
		return e;
	}
	return NULL;
}

const struct cpu_feature *cpu_feature_at(uint32_t leaf, uint32_t subleaf,
					 enum cpuid_reg reg, unsigned int bit)
{
	for (size_t i = 0; i < sizeof(features) / sizeof(*features); i++) {
		const struct cpu_feature *f = &features[i];

		if (f->leaf == leaf && f->subleaf == subleaf && f->reg == reg &&
		    f->bit == bit)
			return f;
	}
	return NULL;
}

uint32_t *cpuid_reg(struct kvm_cpuid_entry2 *e, enum cpuid_reg r)
{
	switch (r) {
	case CPUID_EAX:
		return &e->eax;
	case CPUID_EBX:
		return &e->ebx;
	case CPUID_ECX:
		return &e->ecx;
	default:
		return &e->edx;
	}
}

bool cpuid_has(struct kvm_cpuid2 *c, const struct cpu_feature *f)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(c, f->leaf, f->subleaf);

	return e && (*cpuid_reg(e, f->reg) >> f->bit & 1);
}

static void clear_leaf(struct kvm_cpuid2 *c, uint32_t leaf)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == leaf)
			e->eax = e->ebx = e->ecx = e->edx = 0;
	}
}

void cpuid_hide(struct kvm_cpuid2 *c, const struct cpu_feature *f)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(c, f->leaf, f->subleaf);

	if (e)
		*cpuid_reg(e, f->reg) &= ~(1U << f->bit);
	for (size_t i = 0; i < sizeof(deps) / sizeof(*deps); i++)
		if (!strcmp(deps[i].parent, f->name))
			cpuid_hide(c, cpu_feature_find(deps[i].child));
	/* Without XSAVE the state-component leaf describes nothing. */
	if (!strcmp(f->name, "xsave"))
		clear_leaf(c, 0xd);
}

int cpuid_show(struct kvm_cpuid2 *c, const struct cpu_feature *f)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(c, f->leaf, f->subleaf);

	if (!e)
		return -1;
	*cpuid_reg(e, f->reg) |= 1U << f->bit;
	return 0;
}

static const struct cpu_template *template_find(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(templates) / sizeof(*templates); i++)
		if (strlen(templates[i].name) == len &&
		    !strncmp(templates[i].name, name, len))
			return &templates[i];
	return NULL;
}

static int apply_template(struct kvm_cpuid2 *c, const struct cpu_template *t)
{
	for (const char *const *n = t->hide; *n; n++)
		cpuid_hide(c, cpu_feature_find(*n));
	for (const char *const *n = t->show; *n; n++)
		if (cpuid_show(c, cpu_feature_find(*n)))
			return -1;
	return 0;
}

/* The features the guest command line hides (clearcpuid=). */
struct clear_list {
	const char *names[256];
	unsigned int n;
};

static void clear_add(struct clear_list *l, const char *name)
{
	for (unsigned int i = 0; i < l->n; i++)
		if (!strcmp(l->names[i], name))
			return;
	if (l->n < sizeof(l->names) / sizeof(*l->names))
		l->names[l->n++] = name;
}

static void clear_del(struct clear_list *l, const char *name)
{
	for (unsigned int i = 0; i < l->n; i++)
		if (!strcmp(l->names[i], name))
			l->names[i] = l->names[--l->n];
}

/* Shows @f and what it needs (its parents); restores leaf 0xd for xsave. */
static int show_with_parents(struct kvm_cpuid2 *c, struct kvm_cpuid2 *supported,
			     const struct cpu_feature *f, struct clear_list *l)
{
	for (size_t i = 0; i < sizeof(deps) / sizeof(*deps); i++) {
		const struct cpu_feature *parent;

		if (strcmp(deps[i].child, f->name) != 0)
			continue;
		parent = cpu_feature_find(deps[i].parent);
		if (!cpuid_has(c, parent) &&
		    show_with_parents(c, supported, parent, l))
			return -1;
	}
	if (!strcmp(f->name, "xsave")) {
		for (uint32_t i = 0; i < c->nent; i++) {
			struct kvm_cpuid_entry2 *e = &c->entries[i];
			struct kvm_cpuid_entry2 *s;

			if (e->function != 0xd)
				continue;
			s = cpuid_find(supported, 0xd, e->index);
			if (s)
				*e = *s;
		}
	}
	clear_del(l, f->name);
	return cpuid_show(c, f);
}

/* What applying one template spec works on. */
struct spec_ctx {
	struct kvm_cpuid2 *c;
	struct kvm_cpuid2 *supported; /* what KVM supports, before any edit */
	struct clear_list clear;
	bool noxsave;
	bool cmdline_hides;
	const char *spec;
	char *err;
	size_t errlen;
};

/*
 * The template the spec names in its first item (then *@p moves past it),
 * or @default_template when the spec starts with an edit; NULL on error.
 */
static const struct cpu_template *template_pick(const char **p,
						const char *spec,
						const char *default_template,
						char *err, size_t errlen)
{
	const struct cpu_template *t;

	if (**p && **p != '+' && **p != '-') {
		size_t len = strcspn(*p, ",");

		t = template_find(*p, len);
		if (!t) {
			snprintf(
				err, errlen,
				"cpu template %s: unknown template '%.*s' (known: host, pvm)",
				spec, (int)len, *p);
			return NULL;
		}
		*p += len;
		if (**p == ',')
			(*p)++;
	} else {
		t = template_find(default_template, strlen(default_template));
	}
	if (!t)
		snprintf(err, errlen, "unknown default template '%s'",
			 default_template);
	return t;
}

/* Applies one edit "+FEATURE" or "-FEATURE" of @len characters at @item. */
static int apply_edit(struct spec_ctx *x, const char *item, size_t len)
{
	const struct cpu_feature *f;
	char sign = *item;

	if ((sign != '+' && sign != '-') || len < 2) {
		snprintf(
			x->err, x->errlen,
			"cpu template %s: '%.*s' is no edit: write +FEATURE or -FEATURE",
			x->spec, (int)len, item);
		return -1;
	}
	f = feature_find_n(item + 1, len - 1);
	if (!f) {
		snprintf(x->err, x->errlen,
			 "cpu template %s: unknown CPU feature '%.*s'", x->spec,
			 (int)len - 1, item + 1);
		return -1;
	}
	if (sign == '-') {
		cpuid_hide(x->c, f);
		if (!strcmp(f->name, "xsave"))
			x->noxsave = true;
		else if (x->cmdline_hides)
			clear_add(&x->clear, f->name);
	} else if (!f->forcible && !cpuid_has(x->supported, f)) {
		snprintf(
			x->err, x->errlen,
			"cpu template %s: feature '%s' is not supported by this host's KVM",
			x->spec, f->name);
		return -1;
	} else if (show_with_parents(x->c, x->supported, f, &x->clear)) {
		snprintf(
			x->err, x->errlen,
			"cpu template %s: feature '%s': CPUID leaf 0x%x is missing",
			x->spec, f->name, f->leaf);
		return -1;
	}
	if (sign == '+' && !strcmp(f->name, "xsave"))
		x->noxsave = false;
	return 0;
}

/*
 * On a PVM host the guest's user mode runs CPUID and XGETBV natively, so
 * its programs see the host's AVX (and AVX-512) and use it, while a guest
 * kernel without XSAVE (noxsave) switches only the legacy FXSAVE state
 * between its tasks: the upper halves of the YMM registers (and ZMM and
 * YMM16-31) pass from one guest process to the next. glibc's AVX string
 * functions then copy another process's bytes (seen as 16 NULs in the
 * middle of a 32-byte memcpy). The kernel hands an unknown NAME=VALUE
 * parameter to init as an environment variable, so this keeps glibc, and
 * what inherits init's environment, on its SSE2 code. A later
 * GLIBC_TUNABLES in the user's own parameters replaces it.
 */
#define PVM_GLIBC_TUNABLES                                                     \
	"GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX,-AVX2,-AVX_Fast_Unaligned_Load," \
	"-FMA,-FMA4,-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-AVX512CD"

/*
 * "noxsave clearcpuid=a,b,... GLIBC_TUNABLES=..." as far as it applies; -1
 * if it does not fit.
 */
static int write_cmdline(const struct spec_ctx *x, char *out, size_t outlen)
{
	size_t used = (size_t)snprintf(out, outlen, "%s",
				       x->noxsave ? "noxsave" : "");

	for (unsigned int i = 0; i < x->clear.n && used < outlen; i++)
		used += (size_t)snprintf(out + used, outlen - used, "%s%s",
					 i    ? "," :
					 used ? " clearcpuid=" :
						"clearcpuid=",
					 x->clear.names[i]);
	if (x->noxsave && x->cmdline_hides && used < outlen)
		used += (size_t)snprintf(out + used, outlen - used, "%s%s",
					 used ? " " : "", PVM_GLIBC_TUNABLES);
	return used >= outlen ? -1 : 0;
}

int cpuid_apply_template(struct kvm_cpuid2 *c, const char *spec,
			 const char *default_template, bool cmdline_hides,
			 char *cmdline_extra, size_t cmdline_len, char *err,
			 size_t errlen)
{
	struct spec_ctx x = { .c = c,
			      .cmdline_hides = cmdline_hides,
			      .spec = spec,
			      .err = err,
			      .errlen = errlen };
	const char *p = spec ? spec : "";
	const struct cpu_template *t;
	int ret = -1;

	t = template_pick(&p, spec, default_template, err, errlen);
	if (!t)
		return -1;
	x.supported = cpuid_dup(c);
	if (!x.supported) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	x.noxsave = t->noxsave;
	for (const char *const *n = t->clear; *n; n++)
		clear_add(&x.clear, *n);
	if (apply_template(c, t)) {
		snprintf(err, errlen, "template %s: a leaf it sets is missing",
			 t->name);
		goto out;
	}
	while (*p) {
		size_t len = strcspn(p, ",");

		if (apply_edit(&x, p, len))
			goto out;
		p += len;
		if (*p == ',')
			p++;
	}
	if (write_cmdline(&x, cmdline_extra, cmdline_len)) {
		snprintf(err, errlen, "cpu template %s: too many edits",
			 spec ? spec : "");
		goto out;
	}
	ret = 0;
out:
	free(x.supported);
	return ret;
}

static unsigned int order_base_2(unsigned int n)
{
	unsigned int b = 0;

	while ((1U << b) < n)
		b++;
	return b;
}

static int add_entry(struct kvm_cpuid2 *c, uint32_t leaf, uint32_t subleaf,
		     uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx)
{
	struct kvm_cpuid_entry2 *e;

	if (c->nent >= CPUID_MAX_ENTRIES)
		return -1;
	e = &c->entries[c->nent++];
	memset(e, 0, sizeof(*e));
	e->function = leaf;
	e->index = subleaf;
	e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
	e->eax = eax;
	e->ebx = ebx;
	e->ecx = ecx;
	e->edx = edx;
	return 0;
}

/* Replaces every subleaf of an extended-topology leaf (0xb or 0x1f). */
static int set_ext_topology(struct kvm_cpuid2 *c, uint32_t leaf,
			    unsigned int apic_id, unsigned int nr_cpus,
			    unsigned int threads)
{
	unsigned int smt_shift = order_base_2(threads);
	unsigned int shift = smt_shift + order_base_2(nr_cpus / threads);
	uint32_t i = 0;

	if (!cpuid_find(c, leaf, 0))
		return 0;
	while (i < c->nent) {
		if (c->entries[i].function == leaf)
			c->entries[i] = c->entries[--c->nent];
		else
			i++;
	}
	/* Level 0: SMT, @threads per core; level 1: cores; then end. */
	if (add_entry(c, leaf, 0, smt_shift, threads, 0 | 1 << 8, apic_id) ||
	    add_entry(c, leaf, 1, shift, nr_cpus, 1 | 2 << 8, apic_id) ||
	    add_entry(c, leaf, 2, 0, 0, 2, apic_id))
		return -1;
	return 0;
}

/*
 * Leaf 4 (deterministic cache parameters): cores per package - 1 in
 * EAX[31:26]; the logical processors sharing a cache - 1 in EAX[25:14]:
 * a core's threads for L1 and L2, the whole package for L3.
 */
static void set_cache_topology(struct kvm_cpuid2 *c, unsigned int nr_cpus,
			       unsigned int threads)
{
	unsigned int pow2 = 1U << order_base_2(nr_cpus);
	unsigned int cores = 1U << order_base_2(nr_cpus / threads);

	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 4 && (e->eax & 0x1f)) {
			unsigned int level = (e->eax >> 5) & 7;
			unsigned int sharing = level >= 3 ? pow2 - 1 :
							    threads - 1;

			e->eax = (e->eax & 0x3fff) | (cores - 1) << 26 |
				 sharing << 14;
		}
	}
}

/* AMD: the logical processors of the package, threads per core. */
static void set_amd_topology(struct kvm_cpuid2 *c, unsigned int apic_id,
			     unsigned int nr_cpus, unsigned int threads)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(c, 0x80000008, 0);

	if (e && e->ecx)
		e->ecx = (e->ecx & ~0xf0ffU) | (nr_cpus - 1) |
			 order_base_2(nr_cpus) << 12;
	/* 0x8000001e EBX: threads per core - 1 in [15:8], core id [7:0]. */
	e = cpuid_find(c, 0x8000001e, 0);
	if (e)
		e->ebx = (e->ebx & ~0xffffU) | (threads - 1) << 8 |
			 ((apic_id >> order_base_2(threads)) & 0xff);
}

int cpuid_set_topology(struct kvm_cpuid2 *c, unsigned int apic_id,
		       unsigned int nr_cpus, unsigned int threads)
{
	unsigned int pow2 = 1U << order_base_2(nr_cpus);
	struct kvm_cpuid_entry2 *e;

	if (threads != 2 || nr_cpus % 2)
		threads = 1;
	e = cpuid_find(c, 1, 0);
	if (e) {
		e->ebx = (e->ebx & 0xffff) | (apic_id & 0xff) << 24 |
			 (pow2 & 0xff) << 16;
		if (nr_cpus > 1)
			e->edx |= 1U << 28;
		else
			e->edx &= ~(1U << 28);
	}
	/* Cache and AMD leaves: as the host reports them unless smt. */
	if (threads > 1)
		set_cache_topology(c, nr_cpus, threads);
	if (set_ext_topology(c, 0xb, apic_id, nr_cpus, threads) ||
	    set_ext_topology(c, 0x1f, apic_id, nr_cpus, threads))
		return -1;
	if (threads > 1)
		set_amd_topology(c, apic_id, nr_cpus, threads);
	return 0;
}
