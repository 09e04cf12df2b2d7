// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_cpuid.c - unit tests for CPU templates, feature edits and topology
 * (src/arch/x86/cpuid.c) on a synthetic KVM_GET_SUPPORTED_CPUID result.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arch/x86/cpuid.h"

#define SIG KVM_CPUID_FLAG_SIGNIFCANT_INDEX

static void add(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx, uint32_t flags,
		uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx)
{
	struct kvm_cpuid_entry2 *e = &c->entries[c->nent++];

	memset(e, 0, sizeof(*e));
	e->function = fn;
	e->index = idx;
	e->flags = flags;
	e->eax = eax;
	e->ebx = ebx;
	e->ecx = ecx;
	e->edx = edx;
}

#define L1_ECX_ALL                                                       \
	(1U << 0 | 1U << 9 | 1U << 12 | 1U << 13 | 1U << 19 | 1U << 20 | \
	 1U << 23 | 1U << 26 | 1U << 27 | 1U << 28 | 1U << 29 | 1U << 31)
#define L1_EDX_ALL (1U << 0 | 1U << 8 | 1U << 9 | 1U << 25 | 1U << 26)
/* fsgsbase bmi1 avx2 smep bmi2 erms avx512f smap avx512bw */
#define L7_EBX_ALL                                                   \
	(1U << 0 | 1U << 3 | 1U << 5 | 1U << 7 | 1U << 8 | 1U << 9 | \
	 1U << 16 | 1U << 20 | 1U << 30)
/* fsrm, md_clear */
#define L7_EDX_ALL (1U << 4 | 1U << 10)

/* A host with AVX2/AVX-512, XSAVE, SMAP, ERMS/FSRM, but no LA57. */
static struct kvm_cpuid2 *host_cpuid(void)
{
	struct kvm_cpuid2 *c = cpuid_alloc();

	assert_non_null(c);
	add(c, 0, 0, 0, 0x1f, 0x756e6547, 0x6c65746e, 0x49656e69);
	/* EBX: clflush size 8, brand index 0x12 in the low 16 bits. */
	add(c, 1, 0, 0, 0x806c1, 0x0812, L1_ECX_ALL, L1_EDX_ALL);
	add(c, 4, 0, SIG, 0x121, 0, 0, 0); /* L1d */
	add(c, 4, 1, SIG, 0x122, 0, 0, 0); /* L1i */
	add(c, 4, 2, SIG, 0x143, 0, 0, 0); /* L2 */
	add(c, 4, 3, SIG, 0x163, 0, 0, 0); /* L3 */
	add(c, 4, 4, SIG, 0, 0, 0, 0);
	add(c, 7, 0, SIG, 1, L7_EBX_ALL, 0, L7_EDX_ALL);
	add(c, 7, 1, SIG, 1U << 4 | 1U << 10 | 1U << 11, 0, 0, 0);
	add(c, 0xb, 0, SIG, 1, 2, 0x100, 0);
	add(c, 0xb, 1, SIG, 4, 16, 0x201, 0);
	add(c, 0xd, 0, SIG, 0xe7, 0x340, 0xa88, 0);
	add(c, 0xd, 1, SIG, 0xf, 0x340, 0, 0);
	add(c, 0xd, 2, SIG, 0x100, 0x240, 0, 0);
	add(c, 0x80000000, 0, 0, 0x80000008, 0, 0, 0);
	add(c, 0x80000001, 0, 0, 0, 0, 1U << 0 | 1U << 5,
	    1U << 11 | 1U << 20 | 1U << 29);
	add(c, 0x80000008, 0, 0, 0x3030, 0, 0x7007, 0);
	return c;
}

static uint32_t reg(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx, int r)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(c, fn, idx);

	assert_non_null(e);
	return r == CPUID_EAX ? e->eax :
	       r == CPUID_EBX ? e->ebx :
	       r == CPUID_ECX ? e->ecx :
				e->edx;
}

static bool has(struct kvm_cpuid2 *c, const char *name)
{
	const struct cpu_feature *f = cpu_feature_find(name);

	assert_non_null(f);
	return cpuid_has(c, f);
}

static char err[256];
static char extra[512];

static int apply_hides(struct kvm_cpuid2 *c, const char *spec, const char *def,
		       bool cmdline_hides)
{
	err[0] = '\0';
	memset(extra, 'x', sizeof(extra) - 1);
	extra[sizeof(extra) - 1] = '\0';
	return cpuid_apply_template(c, spec, def, cmdline_hides, extra,
				    sizeof(extra), err, sizeof(err));
}

static int apply(struct kvm_cpuid2 *c, const char *spec, const char *def)
{
	return apply_hides(c, spec, def, false);
}

static void test_feature_find(void **state)
{
	const struct cpu_feature *f;

	(void)state;
	f = cpu_feature_find("avx2");
	assert_non_null(f);
	assert_int_equal(f->leaf, 7);
	assert_int_equal(f->subleaf, 0);
	assert_int_equal(f->reg, CPUID_EBX);
	assert_int_equal(f->bit, 5);
	f = cpu_feature_find("cx16");
	assert_int_equal(f->leaf, 1);
	assert_int_equal(f->reg, CPUID_ECX);
	assert_int_equal(f->bit, 13);
	/* '-' and '_' are equal, case is ignored. */
	assert_ptr_equal(cpu_feature_find("sse4-1"),
			 cpu_feature_find("sse4_1"));
	assert_ptr_equal(cpu_feature_find("SSE4_2"),
			 cpu_feature_find("sse4_2"));
	assert_ptr_equal(cpu_feature_find("Avx512-VBMI2"),
			 cpu_feature_find("avx512_vbmi2"));
	/* QEMU's spellings. */
	assert_string_equal(cpu_feature_find("sha")->name, "sha_ni");
	assert_string_equal(cpu_feature_find("tsc-deadline")->name,
			    "tsc_deadline_timer");
	assert_null(cpu_feature_find("nosuch"));
	assert_null(cpu_feature_find(""));
	assert_null(cpu_feature_find("avx2x"));
	assert_true(cpu_feature_find("xsaveerptr")->forcible);
	assert_false(cpu_feature_find("avx")->forcible);
}

static void test_template_names(void **state)
{
	(void)state;
	assert_string_equal(cpu_template_names[0], "host");
	assert_string_equal(cpu_template_names[1], "pvm");
	assert_null(cpu_template_names[2]);
	assert_non_null(cpu_template_desc("host"));
	assert_non_null(cpu_template_desc("pvm"));
	assert_null(cpu_template_desc("nosuch"));
}

static void test_host_template(void **state)
{
	struct kvm_cpuid2 *c = host_cpuid(), *orig = cpuid_dup(c);

	(void)state;
	assert_int_equal(apply(c, "host", "pvm"), 0);
	assert_string_equal(extra, "");
	assert_int_equal(c->nent, orig->nent);
	assert_memory_equal(c->entries, orig->entries,
			    c->nent * sizeof(*c->entries));
	/* No spec at all: the default template. */
	assert_int_equal(apply(c, NULL, "host"), 0);
	assert_memory_equal(c->entries, orig->entries,
			    c->nent * sizeof(*c->entries));
	assert_int_equal(apply(c, "", "host"), 0);
	assert_memory_equal(c->entries, orig->entries,
			    c->nent * sizeof(*c->entries));
	free(c);
	free(orig);
}

static void test_pvm_template(void **state)
{
	struct kvm_cpuid2 *c = host_cpuid(), *orig = cpuid_dup(c);
	static const char *const hidden[] = {
		"cx16",	    "xsave",	"osxsave",
		"avx",	    "avx2",	"fma",
		"f16c",	    "avx512f",	"avx512bw",
		"popcnt",   "smap",	"erms",
		"fsrm",	    "fzrm",	"fsrs",
		"xsaveopt", "xsavec",	"xgetbv1",
		"xsaves",   "avx_vnni", /* depends on avx */
		NULL,
	};
	static const char *const kept[] = {
		"fpu",	    "cx8",   "apic",	"sse",	  "sse2",
		"pni",	    "ssse3", "sse4_1",	"sse4_2", "hypervisor",
		"fsgsbase", "bmi1",  "bmi2",	"smep",	  "md_clear",
		"lahf_lm",  "abm",   "syscall", "nx",	  "lm",
		NULL,
	};

	(void)state;
	assert_int_equal(apply(c, "pvm", "host"), 0);
	assert_string_equal(extra,
			    "noxsave clearcpuid=cx16,popcnt,smap,erms,fsrm");
	for (const char *const *n = hidden; *n; n++) {
		assert_true(has(orig, *n));
		if (has(c, *n))
			fail_msg("pvm shows %s", *n);
	}
	for (const char *const *n = kept; *n; n++) {
		if (has(c, *n) != has(orig, *n))
			fail_msg("pvm changed %s", *n);
	}
	/* XSAVE is gone: leaf 0xd describes nothing. */
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 0xd) {
			assert_int_equal(e->eax, 0);
			assert_int_equal(e->ebx, 0);
			assert_int_equal(e->ecx, 0);
			assert_int_equal(e->edx, 0);
		}
	}
	/* XSAVEERPTR is shown although this host does not report it. */
	assert_false(has(orig, "xsaveerptr"));
	assert_true(has(c, "xsaveerptr"));
	assert_int_equal(reg(c, 0x80000008, 0, CPUID_EBX), 1U << 2);
	/* Only the bits of named features changed in leaf 1. */
	assert_int_equal(reg(c, 1, 0, CPUID_EDX), L1_EDX_ALL);
	assert_int_equal(reg(c, 1, 0, CPUID_ECX),
			 L1_ECX_ALL &
				 ~(1U << 12 | 1U << 13 | 1U << 23 | 1U << 26 |
				   1U << 27 | 1U << 28 | 1U << 29));
	assert_int_equal(reg(c, 7, 0, CPUID_EBX),
			 L7_EBX_ALL & ~(1U << 5 | 1U << 9 | 1U << 16 |
					1U << 20 | 1U << 30));
	assert_int_equal(reg(c, 7, 0, CPUID_EDX), 1U << 10);
	assert_int_equal(reg(c, 1, 0, CPUID_EAX), 0x806c1);
	free(c);
	free(orig);
}

static void test_pvm_is_default(void **state)
{
	struct kvm_cpuid2 *a = host_cpuid(), *b = host_cpuid();

	(void)state;
	assert_int_equal(apply(a, "pvm", "host"), 0);
	assert_int_equal(apply(b, NULL, "pvm"), 0);
	assert_memory_equal(a->entries, b->entries,
			    a->nent * sizeof(*a->entries));
	free(a);
	free(b);
}

static void test_edits(void **state)
{
	struct kvm_cpuid2 *c = host_cpuid();

	(void)state;
	/* -avx2 takes AVX-512 with it, leaves AVX. */
	assert_int_equal(apply(c, "host,-avx2", "pvm"), 0);
	assert_false(has(c, "avx2"));
	assert_false(has(c, "avx512f"));
	assert_false(has(c, "avx512bw"));
	assert_true(has(c, "avx"));
	assert_true(has(c, "xsave"));
	assert_int_not_equal(reg(c, 0xd, 0, CPUID_EAX), 0);
	free(c);

	/* Edits alone apply to the default template, in order. */
	c = host_cpuid();
	assert_int_equal(apply(c, "+cx16,+popcnt,-sse4_2", "pvm"), 0);
	assert_true(has(c, "cx16"));
	assert_true(has(c, "popcnt"));
	assert_false(has(c, "sse4_2"));
	assert_false(has(c, "xsave"));
	free(c);

	c = host_cpuid();
	assert_int_equal(apply(c, "pvm,+erms,-xsaveerptr", "host"), 0);
	assert_true(has(c, "erms"));
	assert_false(has(c, "xsaveerptr"));
	free(c);

	/* Aliases and '-' spellings in edits. */
	c = host_cpuid();
	assert_int_equal(apply(c, "host,-SSE4-1,-tsc-deadline", "host"), 0);
	assert_false(has(c, "sse4_1"));
	assert_true(has(c, "sse4_2"));
	free(c);

	/* Hiding what is already hidden, showing what is shown: fine. */
	c = host_cpuid();
	assert_int_equal(apply(c, "pvm,-cx16,+sse2", "host"), 0);
	assert_false(has(c, "cx16"));
	assert_true(has(c, "sse2"));
	free(c);
}

static void expect_error(const char *spec, const char *def, const char *needle)
{
	struct kvm_cpuid2 *c = host_cpuid();

	assert_int_equal(apply(c, spec, def), -1);
	if (!strstr(err, needle))
		fail_msg("spec '%s': error '%s' lacks '%s'", spec, err, needle);
	free(c);
}

/*
 * The guest command line that hides the same features where CPUID does
 * not reach the guest: the template's own, plus -FEATURE edits if asked.
 */
static void expect_cmdline(const char *spec, bool hides, const char *want)
{
	struct kvm_cpuid2 *c = host_cpuid();

	assert_int_equal(apply_hides(c, spec, "host", hides), 0);
	if (strcmp(extra, want) != 0)
		fail_msg("spec '%s' (hides %d): cmdline '%s', want '%s'", spec,
			 hides, extra, want);
	free(c);
}

/* Where CPUID does not reach user mode, noxsave keeps glibc off AVX too. */
#define TUNABLES                                                               \
	"GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX,-AVX2,-AVX_Fast_Unaligned_Load," \
	"-FMA,-FMA4,-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-AVX512CD"

static void test_cmdline_extra(void **state)
{
	(void)state;
	expect_cmdline("host", false, "");
	expect_cmdline("host", true, "");
	expect_cmdline(NULL, true, "");
	expect_cmdline("pvm", false,
		       "noxsave clearcpuid=cx16,popcnt,smap,erms,fsrm");
	expect_cmdline(
		"pvm", true,
		"noxsave clearcpuid=cx16,popcnt,smap,erms,fsrm " TUNABLES);
	/* -FEATURE edits join the list only when asked. */
	expect_cmdline("host,-avx2", false, "");
	expect_cmdline("host,-avx2", true, "clearcpuid=avx2");
	expect_cmdline("host,-avx2,-sse4-1", true, "clearcpuid=avx2,sse4_1");
	expect_cmdline(
		"pvm,-avx2", true,
		"noxsave clearcpuid=cx16,popcnt,smap,erms,fsrm,avx2 " TUNABLES);
	/* -xsave is spelled noxsave, with or without the list. */
	expect_cmdline("host,-xsave", false, "noxsave");
	expect_cmdline("host,-xsave", true, "noxsave " TUNABLES);
	expect_cmdline("host,-xsave,-cx16", true,
		       "noxsave clearcpuid=cx16 " TUNABLES);
	/* +FEATURE edits add nothing. */
	expect_cmdline("host,+xsaveerptr", true, "");
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("foo", "host", "unknown template 'foo'");
	expect_error("foo,+avx", "host", "unknown template 'foo'");
	expect_error("Host", "host", "unknown template 'Host'");
	expect_error("hostx", "host", "unknown template 'hostx'");
	expect_error(",+avx", "host", "unknown template ''");
	expect_error(NULL, "nosuch", "unknown default template 'nosuch'");
	expect_error("+avx", "nosuch", "unknown default template 'nosuch'");
	expect_error("host,+nosuch", "host", "unknown CPU feature 'nosuch'");
	expect_error("host,-nosuch,+avx", "host",
		     "unknown CPU feature 'nosuch'");
	expect_error("host,avx", "host", "'avx' is no edit");
	expect_error("host,+", "host", "'+' is no edit");
	expect_error("host,-", "host", "'-' is no edit");
	expect_error("host,,-avx", "host", "'' is no edit");
	expect_error("host,pvm", "host", "'pvm' is no edit");
	/* Shown only if KVM supports it (LA57 is absent here). */
	expect_error("host,+la57", "host",
		     "feature 'la57' is not supported by this host's KVM");
	expect_error("+la57", "pvm", "feature 'la57' is not supported");
	expect_error("+svm", "host", "feature 'svm' is not supported");
}

/* Forcible features need their leaf; every other error leaves no leak. */
static void test_missing_leaf(void **state)
{
	struct kvm_cpuid2 *c = host_cpuid();

	(void)state;
	/* Drop leaf 0x80000008 (the last entry). */
	assert_int_equal(c->entries[c->nent - 1].function, 0x80000008);
	c->nent--;
	assert_int_equal(apply(c, "pvm", "host"), -1);
	assert_non_null(strstr(err, "template pvm"));
	assert_int_equal(apply(c, "host,+xsaveerptr", "host"), -1);
	assert_non_null(strstr(err, "leaf 0x80000008 is missing"));
	free(c);
}

static void test_topology(void **state)
{
	struct kvm_cpuid2 *c = host_cpuid();
	uint32_t nent;

	(void)state;
	assert_int_equal(cpuid_set_topology(c, 3, 4, 1), 0);
	/* Leaf 1: APIC ID in EBX[31:24], logical count in [23:16], HTT. */
	assert_int_equal(reg(c, 1, 0, CPUID_EBX), 3U << 24 | 4U << 16 | 0x0812);
	assert_true(has(c, "ht"));
	/* Leaf 0xb: SMT level (1 thread), core level (4 cores), end. */
	assert_int_equal(reg(c, 0xb, 0, CPUID_EAX), 0);
	assert_int_equal(reg(c, 0xb, 0, CPUID_EBX), 1);
	assert_int_equal(reg(c, 0xb, 0, CPUID_ECX), 0x100);
	assert_int_equal(reg(c, 0xb, 0, CPUID_EDX), 3);
	assert_int_equal(reg(c, 0xb, 1, CPUID_EAX), 2);
	assert_int_equal(reg(c, 0xb, 1, CPUID_EBX), 4);
	assert_int_equal(reg(c, 0xb, 1, CPUID_ECX), 0x201);
	assert_int_equal(reg(c, 0xb, 1, CPUID_EDX), 3);
	assert_int_equal(reg(c, 0xb, 2, CPUID_EBX), 0);
	assert_int_equal(reg(c, 0xb, 2, CPUID_ECX) >> 8 & 0xff, 0);
	assert_int_equal(reg(c, 0xb, 2, CPUID_EDX), 3);
	/* No leaf 0x1f on this host: none is invented. */
	assert_null(cpuid_find(c, 0x1f, 0));
	/*
	 * Without smt, leaf 4 and the AMD topology leaves stay as the host
	 * reports them: rewriting them for every VM made the default Linux
	 * guest lose console output on this host (integration/virtio_linux;
	 * test_topology_smt checks them with smt).
	 */
	assert_int_equal(reg(c, 4, 0, CPUID_EAX), 0x121);
	assert_int_equal(reg(c, 4, 3, CPUID_EAX), 0x163);
	assert_int_equal(reg(c, 0x80000008, 0, CPUID_ECX), 0x7007);

	/* Re-applying (another vCPU) replaces, never adds, leaf 0xb. */
	nent = c->nent;
	assert_int_equal(cpuid_set_topology(c, 0, 4, 1), 0);
	assert_int_equal(c->nent, nent);
	assert_int_equal(reg(c, 1, 0, CPUID_EBX) >> 24, 0);
	assert_int_equal(reg(c, 0xb, 0, CPUID_EDX), 0);
	assert_int_equal(reg(c, 0xb, 1, CPUID_EDX), 0);
	free(c);
}

static void test_topology_counts(void **state)
{
	static const struct {
		unsigned int n, pow2, shift;
	} cases[] = {
		{ 1, 1, 0 }, { 2, 2, 1 },  { 3, 4, 2 },	  { 5, 8, 3 },
		{ 8, 8, 3 }, { 9, 16, 4 }, { 64, 64, 6 }, { 128, 128, 7 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct kvm_cpuid2 *c = host_cpuid();
		unsigned int n = cases[i].n, id = n - 1;

		assert_int_equal(cpuid_set_topology(c, id, n, 1), 0);
		assert_int_equal(reg(c, 1, 0, CPUID_EBX) >> 24, id & 0xff);
		assert_int_equal(reg(c, 1, 0, CPUID_EBX) >> 16 & 0xff,
				 cases[i].pow2 & 0xff);
		assert_int_equal(has(c, "ht"), n > 1);
		assert_int_equal(reg(c, 0xb, 1, CPUID_EAX), cases[i].shift);
		assert_int_equal(reg(c, 0xb, 1, CPUID_EBX), n);
		assert_int_equal(reg(c, 0xb, 0, CPUID_EDX), id);
		/* Without smt the host's leaf 4 and AMD leaves are kept. */
		assert_int_equal(reg(c, 4, 0, CPUID_EAX) >> 26, 0);
		assert_int_equal(reg(c, 0x80000008, 0, CPUID_ECX), 0x7007);
		free(c);
	}
}

/* SMT (machine-config smt): 2 threads per core when the count is even. */
static void test_topology_smt(void **state)
{
	struct kvm_cpuid2 *c = host_cpuid();

	(void)state;
	add(c, 0x8000001e, 0, 0, 5, 0, 0, 0);
	/* vCPU 5 of 6: core 2, thread 1. */
	assert_int_equal(cpuid_set_topology(c, 5, 6, 2), 0);
	assert_int_equal(reg(c, 1, 0, CPUID_EBX), 5U << 24 | 8U << 16 | 0x0812);
	assert_true(has(c, "ht"));
	/* Leaf 0xb: SMT level 2 threads (shift 1), core level 6 (shift 3). */
	assert_int_equal(reg(c, 0xb, 0, CPUID_EAX), 1);
	assert_int_equal(reg(c, 0xb, 0, CPUID_EBX), 2);
	assert_int_equal(reg(c, 0xb, 0, CPUID_ECX), 0x100);
	assert_int_equal(reg(c, 0xb, 0, CPUID_EDX), 5);
	assert_int_equal(reg(c, 0xb, 1, CPUID_EAX), 3);
	assert_int_equal(reg(c, 0xb, 1, CPUID_EBX), 6);
	assert_int_equal(reg(c, 0xb, 1, CPUID_ECX), 0x201);
	/* Leaf 4: 3 cores (4 - 1 in [31:26]); L1/L2 shared by the 2 threads
	 * of a core, L3 by all 8 (rounded up). */
	assert_int_equal(reg(c, 4, 0, CPUID_EAX), 3U << 26 | 1U << 14 | 0x121);
	assert_int_equal(reg(c, 4, 2, CPUID_EAX), 3U << 26 | 1U << 14 | 0x143);
	assert_int_equal(reg(c, 4, 3, CPUID_EAX), 3U << 26 | 7U << 14 | 0x163);
	/* AMD: 6 logical processors; 2 threads per core, core id 2. */
	assert_int_equal(reg(c, 0x80000008, 0, CPUID_ECX), 0x3005);
	assert_int_equal(reg(c, 0x8000001e, 0, CPUID_EBX), 1U << 8 | 2);
	free(c);

	/* 4 vCPUs with SMT: 2 cores of 2 threads. */
	c = host_cpuid();
	assert_int_equal(cpuid_set_topology(c, 2, 4, 2), 0);
	assert_int_equal(reg(c, 0xb, 0, CPUID_EBX), 2);
	assert_int_equal(reg(c, 0xb, 1, CPUID_EAX), 2);
	assert_int_equal(reg(c, 4, 0, CPUID_EAX) >> 26, 1);
	free(c);

	/* An odd count (1 vCPU) keeps one thread per core. */
	c = host_cpuid();
	assert_int_equal(cpuid_set_topology(c, 0, 1, 2), 0);
	assert_int_equal(reg(c, 0xb, 0, CPUID_EAX), 0);
	assert_int_equal(reg(c, 0xb, 0, CPUID_EBX), 1);
	assert_int_equal(reg(c, 4, 0, CPUID_EAX), 0x121);
	assert_false(has(c, "ht"));
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_feature_find),
		cmocka_unit_test(test_template_names),
		cmocka_unit_test(test_host_template),
		cmocka_unit_test(test_pvm_template),
		cmocka_unit_test(test_pvm_is_default),
		cmocka_unit_test(test_edits),
		cmocka_unit_test(test_cmdline_extra),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_missing_leaf),
		cmocka_unit_test(test_topology),
		cmocka_unit_test(test_topology_counts),
		cmocka_unit_test(test_topology_smt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
