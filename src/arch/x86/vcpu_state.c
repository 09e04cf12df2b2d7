// SPDX-License-Identifier: GPL-2.0-only
/*
 * vcpu_state.c - the x86 vCPU state of a snapshot (arch_vcpu_save() and
 * arch_vcpu_restore() of arch.h): CPUID, general, segment and control
 * registers, FPU or XSAVE area, XCRs, every readable MSR KVM lists, local
 * APIC, pending events, debug registers and MP state, written field by
 * field through state.h (never a struct image) and read back from an
 * untrusted reader into a struct x86_vcpu_state before anything is set.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "../../util/log.h"
#include "../../vmm/kvm.h"
#include "../../vmm/state.h"
#include "../../vmm/vcpu.h"
#include "../../vmm/vm.h"
#include "../arch.h"
#include "cpuid.h"
#include "msrs.h"

#define VCPU_STATE_TAG 0x55504356 /* "VCPU" */
#define VCPU_STATE_VERSION 1
#define XSAVE_LEGACY_SIZE 4096
#define XSAVE_MAX_SIZE (1U << 20)

/* Everything of one vCPU, as KVM takes it. */
struct x86_vcpu_state {
	struct kvm_cpuid2 *cpuid;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	bool have_xsave;
	uint32_t xsave_size; /* bytes of xsave (have_xsave) */
	struct kvm_xsave *xsave;
	struct kvm_fpu fpu;
	struct kvm_xcrs xcrs;
	struct kvm_msrs *msrs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_debugregs dbg;
	struct kvm_mp_state mp;
};

static void vstate_free(struct x86_vcpu_state *s)
{
	free(s->cpuid);
	free(s->xsave);
	free(s->msrs);
	memset(s, 0, sizeof(*s));
}

/* KVM's XSAVE size on this host: 0 without XSAVE. */
static uint32_t host_xsave_size(const struct kvm *kvm)
{
	int n;

	if (ioctl(kvm->fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) <= 0)
		return 0;
	n = ioctl(kvm->fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	return n > XSAVE_LEGACY_SIZE ? (uint32_t)n : XSAVE_LEGACY_SIZE;
}

uint32_t x86_xsave_size(const struct kvm *kvm)
{
	return host_xsave_size(kvm);
}

/* --- Writing --- */

static void put_seg(struct state_writer *w, const struct kvm_segment *s)
{
	state_put_u64(w, s->base);
	state_put_u32(w, s->limit);
	state_put_u16(w, s->selector);
	state_put_u8(w, s->type);
	state_put_u8(w, s->present);
	state_put_u8(w, s->dpl);
	state_put_u8(w, s->db);
	state_put_u8(w, s->s);
	state_put_u8(w, s->l);
	state_put_u8(w, s->g);
	state_put_u8(w, s->avl);
	state_put_u8(w, s->unusable);
}

static void put_regs(struct state_writer *w, const struct kvm_regs *r)
{
	const uint64_t v[] = {
		r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi,
		r->rsp, r->rbp, r->r8,	r->r9,	r->r10, r->r11,
		r->r12, r->r13, r->r14, r->r15, r->rip, r->rflags
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(*v); i++)
		state_put_u64(w, v[i]);
}

static void put_sregs(struct state_writer *w, const struct kvm_sregs *s)
{
	const struct kvm_segment *segs[] = { &s->cs, &s->ds, &s->es, &s->fs,
					     &s->gs, &s->ss, &s->tr, &s->ldt };

	for (size_t i = 0; i < 8; i++)
		put_seg(w, segs[i]);
	state_put_u64(w, s->gdt.base);
	state_put_u16(w, s->gdt.limit);
	state_put_u64(w, s->idt.base);
	state_put_u16(w, s->idt.limit);
	state_put_u64(w, s->cr0);
	state_put_u64(w, s->cr2);
	state_put_u64(w, s->cr3);
	state_put_u64(w, s->cr4);
	state_put_u64(w, s->cr8);
	state_put_u64(w, s->efer);
	state_put_u64(w, s->apic_base);
	for (size_t i = 0; i < 4; i++)
		state_put_u64(w, s->interrupt_bitmap[i]);
}

static void put_fpu(struct state_writer *w, const struct kvm_fpu *f)
{
	state_put_bytes(w, f->fpr, sizeof(f->fpr));
	state_put_u16(w, f->fcw);
	state_put_u16(w, f->fsw);
	state_put_u8(w, f->ftwx);
	state_put_u16(w, f->last_opcode);
	state_put_u64(w, f->last_ip);
	state_put_u64(w, f->last_dp);
	state_put_bytes(w, f->xmm, sizeof(f->xmm));
	state_put_u32(w, f->mxcsr);
}

static void put_events(struct state_writer *w, const struct kvm_vcpu_events *e)
{
	state_put_u8(w, e->exception.injected);
	state_put_u8(w, e->exception.nr);
	state_put_u8(w, e->exception.has_error_code);
	state_put_u8(w, e->exception.pending);
	state_put_u32(w, e->exception.error_code);
	state_put_u8(w, e->interrupt.injected);
	state_put_u8(w, e->interrupt.nr);
	state_put_u8(w, e->interrupt.soft);
	state_put_u8(w, e->interrupt.shadow);
	state_put_u8(w, e->nmi.injected);
	state_put_u8(w, e->nmi.pending);
	state_put_u8(w, e->nmi.masked);
	state_put_u32(w, e->sipi_vector);
	state_put_u32(w, e->flags);
	state_put_u8(w, e->smi.smm);
	state_put_u8(w, e->smi.pending);
	state_put_u8(w, e->smi.smm_inside_nmi);
	state_put_u8(w, e->smi.latched_init);
	state_put_u8(w, e->triple_fault.pending);
	state_put_u8(w, e->exception_has_payload);
	state_put_u64(w, e->exception_payload);
}

static void put_cpuid(struct state_writer *w, const struct kvm_cpuid2 *c)
{
	state_put_u32(w, c->nent);
	for (uint32_t i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i];

		state_put_u32(w, e->function);
		state_put_u32(w, e->index);
		state_put_u32(w, e->flags);
		state_put_u32(w, e->eax);
		state_put_u32(w, e->ebx);
		state_put_u32(w, e->ecx);
		state_put_u32(w, e->edx);
	}
}

static void put_state(struct state_writer *w, const struct x86_vcpu_state *s)
{
	put_cpuid(w, s->cpuid);
	put_regs(w, &s->regs);
	put_sregs(w, &s->sregs);
	state_put_bool(w, s->have_xsave);
	if (s->have_xsave) {
		state_put_u32(w, s->xsave_size);
		state_put_bytes(w, s->xsave->region, s->xsave_size);
		state_put_u32(w, s->xcrs.nr_xcrs);
		for (uint32_t i = 0; i < s->xcrs.nr_xcrs; i++) {
			state_put_u32(w, s->xcrs.xcrs[i].xcr);
			state_put_u64(w, s->xcrs.xcrs[i].value);
		}
	} else {
		put_fpu(w, &s->fpu);
	}
	state_put_u32(w, s->msrs->nmsrs);
	for (uint32_t i = 0; i < s->msrs->nmsrs; i++) {
		state_put_u32(w, s->msrs->entries[i].index);
		state_put_u64(w, s->msrs->entries[i].data);
	}
	state_put_bytes(w, s->lapic.regs, sizeof(s->lapic.regs));
	put_events(w, &s->events);
	for (size_t i = 0; i < 4; i++)
		state_put_u64(w, s->dbg.db[i]);
	state_put_u64(w, s->dbg.dr6);
	state_put_u64(w, s->dbg.dr7);
	state_put_u32(w, s->mp.mp_state);
}

/* --- Taking the state from KVM --- */

static int get_xsave(struct vcpu *vcpu, struct x86_vcpu_state *s)
{
	uint32_t size = host_xsave_size(vcpu->vm->kvm);
	unsigned long req = size > XSAVE_LEGACY_SIZE ? KVM_GET_XSAVE2 :
						       KVM_GET_XSAVE;

	if (!size)
		return ioctl(vcpu->fd, KVM_GET_FPU, &s->fpu);
	s->have_xsave = true;
	s->xsave_size = size;
	s->xsave = calloc(1, size);
	if (!s->xsave)
		return -1;
	if (ioctl(vcpu->fd, req, s->xsave))
		return -1;
	if (ioctl(vcpu->fd, KVM_GET_XCRS, &s->xcrs))
		return -1;
	return 0;
}

static int get_cpuid(struct vcpu *vcpu, struct x86_vcpu_state *s)
{
	s->cpuid = cpuid_alloc();
	if (!s->cpuid)
		return -1;
	s->cpuid->nent = CPUID_MAX_ENTRIES;
	return ioctl(vcpu->fd, KVM_GET_CPUID2, s->cpuid);
}

static int get_state(struct vcpu *vcpu, struct x86_vcpu_state *s,
		     const char **what)
{
	s->events.flags = 0;
	if ((*what = "KVM_GET_CPUID2", get_cpuid(vcpu, s)) ||
	    (*what = "KVM_GET_REGS", ioctl(vcpu->fd, KVM_GET_REGS, &s->regs)) ||
	    (*what = "KVM_GET_SREGS",
	     ioctl(vcpu->fd, KVM_GET_SREGS, &s->sregs)) ||
	    (*what = "KVM_GET_XSAVE/FPU", get_xsave(vcpu, s)) ||
	    (*what = "KVM_GET_MSRS", x86_msrs_get(vcpu, &s->msrs)) ||
	    (*what = "KVM_GET_LAPIC",
	     ioctl(vcpu->fd, KVM_GET_LAPIC, &s->lapic)) ||
	    (*what = "KVM_GET_VCPU_EVENTS",
	     ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &s->events)) ||
	    (*what = "KVM_GET_DEBUGREGS",
	     ioctl(vcpu->fd, KVM_GET_DEBUGREGS, &s->dbg)) ||
	    (*what = "KVM_GET_MP_STATE",
	     ioctl(vcpu->fd, KVM_GET_MP_STATE, &s->mp)))
		return -1;
	return 0;
}

int arch_vcpu_save(struct vcpu *vcpu, struct state_writer *w)
{
	struct x86_vcpu_state s;
	const char *what = "";
	size_t sec;
	int ret = -1;

	memset(&s, 0, sizeof(s));
	if (get_state(vcpu, &s, &what)) {
		pr_err("vcpu%u: %s: %s", vcpu->id, what,
		       errno ? strerror(errno) : "failed");
		goto out;
	}
	sec = state_begin(w, VCPU_STATE_TAG, VCPU_STATE_VERSION);
	state_put_u32(w, vcpu->id);
	put_state(w, &s);
	state_end(w, sec);
	ret = w->failed ? -1 : 0;
out:
	vstate_free(&s);
	return ret;
}

/* --- Reading an untrusted state --- */

static void get_seg(struct state_reader *r, struct kvm_segment *s)
{
	s->base = state_get_u64(r, "segment base");
	s->limit = state_get_u32(r, "segment limit");
	s->selector = state_get_u16(r, "segment selector");
	s->type = state_get_u8(r, "segment type");
	s->present = state_get_u8(r, "segment present");
	s->dpl = state_get_u8(r, "segment dpl");
	s->db = state_get_u8(r, "segment db");
	s->s = state_get_u8(r, "segment s");
	s->l = state_get_u8(r, "segment l");
	s->g = state_get_u8(r, "segment g");
	s->avl = state_get_u8(r, "segment avl");
	s->unusable = state_get_u8(r, "segment unusable");
}

static void get_regs(struct state_reader *r, struct kvm_regs *g)
{
	__u64 *v[] = { &g->rax, &g->rbx, &g->rcx, &g->rdx, &g->rsi, &g->rdi,
		       &g->rsp, &g->rbp, &g->r8,  &g->r9,  &g->r10, &g->r11,
		       &g->r12, &g->r13, &g->r14, &g->r15, &g->rip, &g->rflags };

	for (size_t i = 0; i < sizeof(v) / sizeof(*v); i++)
		*v[i] = state_get_u64(r, "general registers");
}

static void get_sregs(struct state_reader *r, struct kvm_sregs *s)
{
	struct kvm_segment *segs[] = { &s->cs, &s->ds, &s->es, &s->fs,
				       &s->gs, &s->ss, &s->tr, &s->ldt };

	for (size_t i = 0; i < 8; i++)
		get_seg(r, segs[i]);
	s->gdt.base = state_get_u64(r, "gdt base");
	s->gdt.limit = state_get_u16(r, "gdt limit");
	s->idt.base = state_get_u64(r, "idt base");
	s->idt.limit = state_get_u16(r, "idt limit");
	s->cr0 = state_get_u64(r, "cr0");
	s->cr2 = state_get_u64(r, "cr2");
	s->cr3 = state_get_u64(r, "cr3");
	s->cr4 = state_get_u64(r, "cr4");
	s->cr8 = state_get_u64(r, "cr8");
	s->efer = state_get_u64(r, "efer");
	s->apic_base = state_get_u64(r, "apic base");
	for (size_t i = 0; i < 4; i++)
		s->interrupt_bitmap[i] = state_get_u64(r, "interrupt bitmap");
}

static void get_fpu(struct state_reader *r, struct kvm_fpu *f)
{
	state_get_bytes(r, f->fpr, sizeof(f->fpr), "fpu registers");
	f->fcw = state_get_u16(r, "fpu fcw");
	f->fsw = state_get_u16(r, "fpu fsw");
	f->ftwx = state_get_u8(r, "fpu ftwx");
	f->last_opcode = state_get_u16(r, "fpu last opcode");
	f->last_ip = state_get_u64(r, "fpu last ip");
	f->last_dp = state_get_u64(r, "fpu last dp");
	state_get_bytes(r, f->xmm, sizeof(f->xmm), "xmm registers");
	f->mxcsr = state_get_u32(r, "mxcsr");
}

static void get_events(struct state_reader *r, struct kvm_vcpu_events *e)
{
	e->exception.injected = state_get_u8(r, "exception injected");
	e->exception.nr = state_get_u8(r, "exception number");
	e->exception.has_error_code = state_get_u8(r, "exception error flag");
	e->exception.pending = state_get_u8(r, "exception pending");
	e->exception.error_code = state_get_u32(r, "exception error code");
	e->interrupt.injected = state_get_u8(r, "interrupt injected");
	e->interrupt.nr = state_get_u8(r, "interrupt number");
	e->interrupt.soft = state_get_u8(r, "interrupt soft");
	e->interrupt.shadow = state_get_u8(r, "interrupt shadow");
	e->nmi.injected = state_get_u8(r, "nmi injected");
	e->nmi.pending = state_get_u8(r, "nmi pending");
	e->nmi.masked = state_get_u8(r, "nmi masked");
	e->sipi_vector = state_get_u32(r, "sipi vector");
	e->flags = state_get_u32(r, "event flags");
	e->smi.smm = state_get_u8(r, "smm");
	e->smi.pending = state_get_u8(r, "smi pending");
	e->smi.smm_inside_nmi = state_get_u8(r, "smm inside nmi");
	e->smi.latched_init = state_get_u8(r, "latched init");
	e->triple_fault.pending = state_get_u8(r, "triple fault pending");
	e->exception_has_payload = state_get_u8(r, "exception payload flag");
	e->exception_payload = state_get_u64(r, "exception payload");
}

static void get_cpuid_entries(struct state_reader *r, struct x86_vcpu_state *s)
{
	uint32_t n = state_get_u32(r, "cpuid entries");

	if (!state_check(r, n <= CPUID_MAX_ENTRIES, "cpuid entries"))
		return;
	s->cpuid = cpuid_alloc();
	if (!s->cpuid) {
		state_fail(r, "cpuid: out of memory");
		return;
	}
	s->cpuid->nent = n;
	for (uint32_t i = 0; i < n && state_ok(r); i++) {
		struct kvm_cpuid_entry2 *e = &s->cpuid->entries[i];

		e->function = state_get_u32(r, "cpuid function");
		e->index = state_get_u32(r, "cpuid index");
		e->flags = state_get_u32(r, "cpuid flags");
		e->eax = state_get_u32(r, "cpuid eax");
		e->ebx = state_get_u32(r, "cpuid ebx");
		e->ecx = state_get_u32(r, "cpuid ecx");
		e->edx = state_get_u32(r, "cpuid edx");
	}
}

static void get_xsave_state(struct state_reader *r, struct x86_vcpu_state *s,
			    uint32_t host_size)
{
	s->have_xsave = state_get_bool(r, "xsave present");
	if (state_ok(r) && s->have_xsave != (host_size != 0))
		state_fail(r,
			   "the snapshot was taken %s XSAVE, this host has %s",
			   s->have_xsave ? "with" : "without",
			   host_size ? "it" : "none");
	if (!state_ok(r))
		return;
	if (!s->have_xsave) {
		get_fpu(r, &s->fpu);
		return;
	}
	s->xsave_size = state_get_u32(r, "xsave size");
	if (state_ok(r) && s->xsave_size != host_size) {
		state_fail(r, "xsave area of %u bytes, this host's is %u bytes",
			   s->xsave_size, host_size);
		return;
	}
	s->xsave = calloc(1, host_size);
	if (!s->xsave) {
		state_fail(r, "xsave: out of memory");
		return;
	}
	state_get_bytes(r, s->xsave->region, host_size, "xsave area");
	s->xcrs.nr_xcrs = state_get_u32(r, "xcr count");
	if (!state_check(r, s->xcrs.nr_xcrs <= KVM_MAX_XCRS, "xcr count"))
		return;
	for (uint32_t i = 0; i < s->xcrs.nr_xcrs; i++) {
		s->xcrs.xcrs[i].xcr = state_get_u32(r, "xcr index");
		s->xcrs.xcrs[i].value = state_get_u64(r, "xcr value");
	}
}

static void read_state(struct state_reader *r, struct x86_vcpu_state *s,
		       uint32_t xsave_size)
{
	get_cpuid_entries(r, s);
	get_regs(r, &s->regs);
	get_sregs(r, &s->sregs);
	get_xsave_state(r, s, xsave_size);
	if (state_ok(r))
		s->msrs = x86_msrs_read(r);
	state_get_bytes(r, s->lapic.regs, sizeof(s->lapic.regs), "local APIC");
	get_events(r, &s->events);
	for (size_t i = 0; i < 4; i++)
		s->dbg.db[i] = state_get_u64(r, "debug registers");
	s->dbg.dr6 = state_get_u64(r, "dr6");
	s->dbg.dr7 = state_get_u64(r, "dr7");
	s->mp.mp_state = state_get_u32(r, "mp state");
	state_check(r, s->mp.mp_state <= KVM_MP_STATE_AP_RESET_HOLD,
		    "mp state");
	state_expect_end(r, "vcpu");
}

/* --- Giving it to KVM --- */

static int set_xsave(struct vcpu *vcpu, struct x86_vcpu_state *s)
{
	if (!s->have_xsave)
		return ioctl(vcpu->fd, KVM_SET_FPU, &s->fpu);
	if (ioctl(vcpu->fd, KVM_SET_XSAVE, s->xsave))
		return -1;
	return ioctl(vcpu->fd, KVM_SET_XCRS, &s->xcrs);
}

static int set_state(struct vcpu *vcpu, struct x86_vcpu_state *s,
		     const char **what)
{
	/* The restored events carry their own valid flags. */
	s->events.flags &=
		KVM_VCPUEVENT_VALID_NMI_PENDING |
		KVM_VCPUEVENT_VALID_SIPI_VECTOR | KVM_VCPUEVENT_VALID_SHADOW |
		KVM_VCPUEVENT_VALID_SMM | KVM_VCPUEVENT_VALID_PAYLOAD |
		KVM_VCPUEVENT_VALID_TRIPLE_FAULT;
	if ((*what = "KVM_SET_CPUID2",
	     ioctl(vcpu->fd, KVM_SET_CPUID2, s->cpuid)) ||
	    (*what = "KVM_SET_SREGS",
	     ioctl(vcpu->fd, KVM_SET_SREGS, &s->sregs)) ||
	    (*what = "KVM_SET_REGS", ioctl(vcpu->fd, KVM_SET_REGS, &s->regs)) ||
	    (*what = "KVM_SET_XSAVE/FPU", set_xsave(vcpu, s)) ||
	    (*what = "KVM_SET_LAPIC",
	     ioctl(vcpu->fd, KVM_SET_LAPIC, &s->lapic)) ||
	    (*what = "KVM_SET_MSRS", x86_msrs_set(vcpu, s->msrs)) ||
	    (*what = "KVM_SET_MP_STATE",
	     ioctl(vcpu->fd, KVM_SET_MP_STATE, &s->mp)) ||
	    (*what = "KVM_SET_VCPU_EVENTS",
	     ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &s->events)) ||
	    (*what = "KVM_SET_DEBUGREGS",
	     ioctl(vcpu->fd, KVM_SET_DEBUGREGS, &s->dbg)))
		return -1;
	return 0;
}

/*
 * The CPU model this host gives the vCPU (arch_vcpu_init() set it) must
 * have every feature the saved one showed the guest.
 */
static void check_cpuid(struct vcpu *vcpu, struct x86_vcpu_state *s,
			struct state_reader *r)
{
	struct x86_vcpu_state now;

	memset(&now, 0, sizeof(now));
	if (get_cpuid(vcpu, &now))
		state_fail(r, "KVM_GET_CPUID2: %s", strerror(errno));
	else
		x86_cpuid_check_host(now.cpuid, s->cpuid, r);
	vstate_free(&now);
}

int arch_vcpu_restore(struct vcpu *vcpu, struct state_reader *r)
{
	struct x86_vcpu_state s;
	struct state_reader sub;
	const char *what = "";
	int ret = -1;

	memset(&s, 0, sizeof(s));
	if (state_enter(r, VCPU_STATE_TAG, VCPU_STATE_VERSION, &sub, "vcpu"))
		return -1;
	if (state_get_u32(&sub, "vcpu id") != vcpu->id && state_ok(&sub))
		state_fail(&sub, "vcpu%u: the state is another vCPU's",
			   vcpu->id);
	read_state(&sub, &s, host_xsave_size(vcpu->vm->kvm));
	if (state_ok(&sub))
		check_cpuid(vcpu, &s, &sub);
	if (!state_ok(&sub)) {
		state_fail(r, "vcpu%u: %s", vcpu->id, sub.err);
		goto out;
	}
	errno = 0;
	if (set_state(vcpu, &s, &what)) {
		state_fail(r, "vcpu%u: %s: %s", vcpu->id, what,
			   errno ? strerror(errno) : "refused");
		goto out;
	}
	ret = 0;
out:
	vstate_free(&s);
	return ret;
}
