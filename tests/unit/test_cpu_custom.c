// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_cpu_custom.c - unit tests for custom CPU templates
 * (src/arch/x86/cpu_custom.c): CPUID modifiers applied bit by bit, and
 * the checks that refuse what the host cannot honour (a feature KVM
 * cannot give, a feature a PVM guest reads from the CPU, the hypervisor
 * leaves, a missing leaf); Firecracker's named templates (cpu_named.c):
 * the CPU they need and the features they hide.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arch/x86/cpu_custom.h"
#include "arch/x86/cpu_named.h"
#include "arch/x86/cpuid.h"

static void add(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx, uint32_t eax,
		uint32_t ebx, uint32_t ecx, uint32_t edx)
{
	struct kvm_cpuid_entry2 *e = &c->entries[c->nent++];

	memset(e, 0, sizeof(*e));
	e->function = fn;
	e->index = idx;
	e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
	e->eax = eax;
	e->ebx = ebx;
	e->ecx = ecx;
	e->edx = edx;
}

/* KVM supports cx16 (leaf 1 ECX bit 13) but not popcnt (bit 23). */
static struct kvm_cpuid2 *supported(void)
{
	struct kvm_cpuid2 *c = cpuid_alloc();

	assert_non_null(c);
	add(c, 1, 0, 0x806c1, 0x0812, 1U << 13 | 1U << 31, 1U << 0);
	add(c, 7, 0, 0, 1U << 3, 0, 0);
	add(c, 0x40000000, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d);
	return c;
}

/* The CPU itself (what a PVM guest reads): popcnt and cx16. */
static struct kvm_cpuid2 *raw(void)
{
	struct kvm_cpuid2 *c = supported();

	c->entries[0].ecx |= 1U << 23;
	return c;
}

static struct cpu_custom cc;
static char err[512];

static void one(uint32_t leaf, uint8_t reg, uint32_t mask, uint32_t value)
{
	memset(&cc, 0, sizeof(cc));
	cc.nr_cpuid = 1;
	cc.cpuid[0].leaf = leaf;
	cc.cpuid[0].reg = reg;
	cc.cpuid[0].mask = mask;
	cc.cpuid[0].value = value;
	err[0] = 0;
}

static void test_apply(void **state)
{
	struct kvm_cpuid2 *c = supported(), *s = supported();

	(void)state;
	/* EAX stepping 1 -> 5, and cx16 cleared: both honourable. */
	one(1, CPUID_EAX, 0xf, 0x5);
	cc.nr_cpuid = 2;
	cc.cpuid[1] = cc.cpuid[0];
	cc.cpuid[1].reg = CPUID_ECX;
	cc.cpuid[1].mask = 1U << 13;
	cc.cpuid[1].value = 0;
	assert_int_equal(cpu_custom_check(&cc, c, s, NULL, err, sizeof(err)),
			 0);
	cpu_custom_apply_cpuid(&cc, c);
	assert_int_equal(cpuid_find(c, 1, 0)->eax, 0x806c5);
	assert_int_equal(cpuid_find(c, 1, 0)->ecx, 1U << 31);
	/* Bits outside the mask are left; a value bit outside it ignored. */
	one(7, CPUID_EBX, 1U << 5, 0xffffffff);
	cpu_custom_apply_cpuid(&cc, c);
	assert_int_equal(cpuid_find(c, 7, 0)->ebx, 1U << 3 | 1U << 5);
	free(c);
	free(s);
}

static void expect_refused(uint32_t leaf, uint8_t reg, uint32_t mask,
			   uint32_t value, bool pvm, const char *needle)
{
	struct kvm_cpuid2 *c = supported(), *s = supported();
	struct kvm_cpuid2 *r = pvm ? raw() : NULL;

	one(leaf, reg, mask, value);
	assert_int_equal(cpu_custom_check(&cc, c, s, r, err, sizeof(err)), -1);
	if (!strstr(err, needle))
		fail_msg("error \"%s\" lacks \"%s\"", err, needle);
	free(c);
	free(s);
	free(r);
}

static void test_refused(void **state)
{
	(void)state;
	/* popcnt set: KVM cannot give it. */
	expect_refused(1, CPUID_ECX, 1U << 23, 1U << 23, false,
		       "bit 23 (popcnt): KVM on this host cannot give it");
	/* popcnt cleared on PVM: the guest reads the CPU's bit. */
	expect_refused(1, CPUID_ECX, 1U << 23, 0, true, "clearcpuid=popcnt");
	expect_refused(0x40000000, CPUID_EAX, 1, 0, false, "hypervisor leaves");
	expect_refused(0x80000021, CPUID_EAX, 1, 1, false, "not in the CPUID");
}

static void test_allowed(void **state)
{
	struct kvm_cpuid2 *c = supported(), *s = supported(), *r = raw();

	(void)state;
	/* Clearing popcnt elsewhere than on PVM, or cx16 (KVM reports it)
	 * on PVM; setting hypervisor (supported); an unnamed bit set. */
	one(1, CPUID_ECX, 1U << 23, 0);
	assert_int_equal(cpu_custom_check(&cc, c, s, NULL, err, sizeof(err)),
			 0);
	one(1, CPUID_ECX, 1U << 13 | 1U << 31, 1U << 31);
	assert_int_equal(cpu_custom_check(&cc, c, s, r, err, sizeof(err)), 0);
	one(1, CPUID_EBX, 0xff000000, 0x05000000);
	assert_int_equal(cpu_custom_check(&cc, c, s, r, err, sizeof(err)), 0);
	free(c);
	free(s);
	free(r);
}

/* An Intel Cascade Lake (family 6, model 0x55) with AVX-512 and SHA. */
static struct kvm_cpuid2 *cascade_lake(void)
{
	struct kvm_cpuid2 *c = cpuid_alloc();

	assert_non_null(c);
	add(c, 0, 0, 0x16, 0x756e6547, 0x6c65746e, 0x49656e69);
	add(c, 1, 0, 0x50657, 0x0800, 1U << 13, 1U << 0);
	add(c, 7, 0, 0, 1U << 5 | 1U << 16 | 1U << 29, 0, 0);
	return c;
}

static bool hides(const struct cpu_custom *m, uint32_t leaf, uint8_t reg,
		  unsigned int bit)
{
	for (unsigned int i = 0; i < m->nr_cpuid; i++)
		if (m->cpuid[i].leaf == leaf && m->cpuid[i].reg == reg &&
		    m->cpuid[i].mask == 1U << bit && !m->cpuid[i].value)
			return true;
	return false;
}

static void test_named(void **state)
{
	struct kvm_cpuid2 *c = cascade_lake();
	struct cpu_custom m;

	(void)state;
	assert_true(cpu_named_is("T2CL") && cpu_named_is("V1N1"));
	assert_false(cpu_named_is("host"));
	/* T2CL on Cascade Lake: AVX-512F and SHA hidden, AVX2 kept. */
	assert_int_equal(cpu_named_build("T2CL", c, &m, err, sizeof(err)), 0);
	assert_true(hides(&m, 7, CPUID_EBX, 16));
	assert_true(hides(&m, 7, CPUID_EBX, 29));
	assert_false(hides(&m, 7, CPUID_EBX, 5));
	/* C3 (Ivy Bridge) hides AVX2 too; an absent leaf adds nothing. */
	assert_int_equal(cpu_named_build("C3", c, &m, err, sizeof(err)), 0);
	assert_true(hides(&m, 7, CPUID_EBX, 5));
	for (unsigned int i = 0; i < m.nr_cpuid; i++)
		assert_non_null(
			cpuid_find(c, m.cpuid[i].leaf, m.cpuid[i].subleaf));
	/* The CPU each needs. */
	assert_int_equal(cpu_named_build("T2A", c, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "AMD Milan"));
	assert_int_equal(cpu_named_build("V1N1", c, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "aarch64"));
	cpuid_find(c, 1, 0)->eax = 0x306f2; /* Haswell: model 0x3f */
	assert_int_equal(cpu_named_build("T2CL", c, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "Cascade Lake"));
	assert_int_equal(cpu_named_build("T2", c, &m, err, sizeof(err)), 0);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apply),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_named),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
