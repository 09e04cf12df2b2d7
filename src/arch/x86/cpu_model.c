// SPDX-License-Identifier: GPL-2.0-only
/*
 * cpu_model.c - the x86 CPU model of a snapshot's header
 * (arch_cpu_model_save/check/print of arch.h): the host's CPUID vendor,
 * family, model and stepping, the feature words KVM can give a guest, and
 * the host features the vCPU state depends on (PVM backend, XSAVE area
 * size); and the check of a guest's CPUID against this host
 * (x86_cpuid_check_host). A restore is refused, naming the difference,
 * when the CPU model or the host features differ or a feature the guest
 * was shown is missing here.
 */
#include <stdio.h>
#include <string.h>

#include "../../vmm/kvm.h"
#include "../../vmm/state.h"
#include "../arch.h"
#include "cpuid.h"
#include "x86.h"
#include "msrs.h"

#define CPU_MODEL_TAG 0x4d555043 /* "CPUM" */
#define CPU_MODEL_VERSION 1

/* The feature words compared: those a guest can test and use. */
static const struct {
	uint32_t leaf, subleaf;
	enum cpuid_reg reg;
	uint32_t dynamic; /* bits that follow guest state (OSXSAVE, OSPKE) */
} words[] = {
	{ 1, 0, CPUID_ECX, 1U << 27 },	 { 1, 0, CPUID_EDX, 0 },
	{ 7, 0, CPUID_EBX, 0 },		 { 7, 0, CPUID_ECX, 1U << 4 },
	{ 7, 0, CPUID_EDX, 0 },		 { 0xd, 1, CPUID_EAX, 0 },
	{ 0x80000001, 0, CPUID_ECX, 0 }, { 0x80000001, 0, CPUID_EDX, 0 },
};
#define NR_WORDS (sizeof(words) / sizeof(*words))

static const char reg_names[][4] = { "eax", "ebx", "ecx", "edx" };

static uint32_t word(struct kvm_cpuid2 *c, size_t i)
{
	struct kvm_cpuid_entry2 *e =
		cpuid_find(c, words[i].leaf, words[i].subleaf);
	uint32_t v;

	if (!e)
		return 0;
	v = words[i].reg == CPUID_EAX ? e->eax :
	    words[i].reg == CPUID_EBX ? e->ebx :
	    words[i].reg == CPUID_ECX ? e->ecx :
					e->edx;
	return v & ~words[i].dynamic;
}

struct cpu_model {
	char vendor[13];
	uint32_t family, model, stepping;
	uint32_t words[NR_WORDS];
	bool pvm;
	uint32_t xsave_size;
};

static void host_model(const struct kvm *kvm, struct cpu_model *m)
{
	struct kvm_cpuid_entry2 *e0 =
		cpuid_find(kvm->arch->supported_cpuid, 0, 0);
	struct kvm_cpuid_entry2 *e1 =
		cpuid_find(kvm->arch->supported_cpuid, 1, 0);
	uint32_t a = e1 ? e1->eax : 0;

	memset(m, 0, sizeof(*m));
	if (e0) {
		memcpy(m->vendor, &e0->ebx, 4);
		memcpy(m->vendor + 4, &e0->edx, 4);
		memcpy(m->vendor + 8, &e0->ecx, 4);
	}
	m->family = (a >> 8) & 0xf;
	m->model = (a >> 4) & 0xf;
	if (m->family == 0xf)
		m->family += (a >> 20) & 0xff;
	if (m->family >= 6)
		m->model |= ((a >> 16) & 0xf) << 4;
	m->stepping = a & 0xf;
	for (size_t i = 0; i < NR_WORDS; i++)
		m->words[i] = word(kvm->arch->supported_cpuid, i);
	m->pvm = kvm->pvm;
	m->xsave_size = x86_xsave_size(kvm);
}

int arch_cpu_model_save(const struct kvm *kvm, struct state_writer *w)
{
	struct cpu_model m;
	size_t sec;

	host_model(kvm, &m);
	sec = state_begin(w, CPU_MODEL_TAG, CPU_MODEL_VERSION);
	state_put_bytes(w, m.vendor, 12);
	state_put_u32(w, m.family);
	state_put_u32(w, m.model);
	state_put_u32(w, m.stepping);
	state_put_u32(w, NR_WORDS);
	for (size_t i = 0; i < NR_WORDS; i++)
		state_put_u32(w, m.words[i]);
	state_put_bool(w, m.pvm);
	state_put_u32(w, m.xsave_size);
	state_end(w, sec);
	return w->failed ? -1 : 0;
}

static void read_model(struct state_reader *r, struct cpu_model *m)
{
	struct state_reader s;

	memset(m, 0, sizeof(*m));
	if (state_enter(r, CPU_MODEL_TAG, CPU_MODEL_VERSION, &s, "cpu model"))
		return;
	state_get_bytes(&s, m->vendor, 12, "cpu vendor");
	m->family = state_get_u32(&s, "cpu family");
	m->model = state_get_u32(&s, "cpu model");
	m->stepping = state_get_u32(&s, "cpu stepping");
	if (state_get_u32(&s, "feature words") != NR_WORDS && state_ok(&s))
		state_fail(&s, "feature words: %u expected",
			   (unsigned)NR_WORDS);
	for (size_t i = 0; i < NR_WORDS; i++)
		m->words[i] = state_get_u32(&s, "feature word");
	m->pvm = state_get_bool(&s, "pvm");
	m->xsave_size = state_get_u32(&s, "xsave size");
	state_expect_end(&s, "cpu model");
	for (size_t i = 0; i < 12; i++)
		if (m->vendor[i] < 0x20 || m->vendor[i] > 0x7e)
			m->vendor[i] = '?';
	if (!state_ok(&s))
		state_fail(r, "%s", s.err);
}

/* Fails @r naming the first bits of @want missing from @have. */
static void check_words(struct state_reader *r, const uint32_t *want,
			const uint32_t *have, const char *whose)
{
	for (size_t i = 0; i < NR_WORDS && state_ok(r); i++) {
		uint32_t missing = want[i] & ~have[i];

		if (missing)
			state_fail(
				r,
				"%s CPUID leaf 0x%x.%u %s has features 0x%08x this host lacks",
				whose, words[i].leaf, words[i].subleaf,
				reg_names[words[i].reg], missing);
	}
}

void arch_cpu_model_check(const struct kvm *kvm, struct state_reader *r)
{
	struct cpu_model s, h;

	read_model(r, &s);
	if (!state_ok(r))
		return;
	host_model(kvm, &h);
	if (strcmp(s.vendor, h.vendor) != 0)
		state_fail(r, "CPU vendor %s, this host's is %s", s.vendor,
			   h.vendor);
	else if (s.family != h.family || s.model != h.model)
		state_fail(
			r,
			"CPU family %u model %u, this host's is family %u model %u",
			s.family, s.model, h.family, h.model);
	else if (s.pvm != h.pvm)
		state_fail(r, "taken on a host %s the PVM backend, this one %s",
			   s.pvm ? "with" : "without",
			   h.pvm ? "has it" : "not");
	else if (s.xsave_size != h.xsave_size)
		state_fail(r, "XSAVE area of %u bytes, this host's is %u",
			   s.xsave_size, h.xsave_size);
	else
		check_words(r, s.words, h.words, "the snapshot host's");
}

void arch_cpu_model_print(struct state_reader *r, FILE *f)
{
	struct cpu_model m;

	read_model(r, &m);
	if (!state_ok(r))
		return;
	fprintf(f, "cpu: %s family %u model %u stepping %u%s\n", m.vendor,
		m.family, m.model, m.stepping, m.pvm ? " (PVM host)" : "");
	fprintf(f, "cpu features:");
	for (size_t i = 0; i < NR_WORDS; i++)
		fprintf(f, " %x.%u.%s=%08x", words[i].leaf, words[i].subleaf,
			reg_names[words[i].reg], m.words[i]);
	fprintf(f, "\nxsave area: %u bytes\n", m.xsave_size);
}

void x86_cpuid_check_host(struct kvm_cpuid2 *host, struct kvm_cpuid2 *c,
			  struct state_reader *r)
{
	uint32_t want[NR_WORDS], have[NR_WORDS];

	for (size_t i = 0; i < NR_WORDS; i++) {
		want[i] = word(c, i);
		have[i] = word(host, i);
	}
	check_words(r, want, have, "the guest's");
	if (!state_ok(r))
		return;
	/* The same model: vendor, family, model and stepping (leaf 1 eax). */
	if (cpuid_find(host, 1, 0) && cpuid_find(c, 1, 0) &&
	    cpuid_find(host, 1, 0)->eax != cpuid_find(c, 1, 0)->eax)
		state_fail(
			r,
			"the guest's CPU signature 0x%x, this host gives 0x%x",
			cpuid_find(c, 1, 0)->eax, cpuid_find(host, 1, 0)->eax);
}
