// SPDX-License-Identifier: GPL-2.0-only
/*
 * report.c - the report vmon prints when a vCPU stops the VM abnormally
 * (triple fault, emulation failure, failed entry): reason, RIP, CPL, mode,
 * the instruction bytes at RIP, the registers and a hint if one applies.
 * On AMD SVM a shutdown exit leaves the vCPU in its reset state (KVM
 * re-initialises it, the VMCB being undefined after a shutdown): the report
 * then says the registers are lost rather than show the reset state as the
 * fault's.
 */
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "../../vmm/vcpu.h"
#include "../../vmm/vm.h"
#include "cpu.h"

/* The state INIT gives: real mode at the reset vector F000:FFF0. */
static bool reset_state(const struct kvm_regs *r, const struct kvm_sregs *s)
{
	return r->rip == 0xfff0 && s->cs.selector == 0xf000 &&
	       s->cs.base == 0xffff0000 && !(s->cr0 & 1);
}

static const char *cpu_mode(const struct kvm_sregs *s)
{
	if (!(s->cr0 & 1))
		return "real";
	if (s->efer & (1ULL << 10))
		return s->cs.l ? "64-bit" : "compatibility";
	return s->cs.db ? "32-bit protected" : "16-bit protected";
}

static void print_seg(FILE *f, const char *name, const struct kvm_segment *s)
{
	fprintf(f,
		"  %-3s sel=0x%04x base=0x%016llx limit=0x%08x type=%u dpl=%u p=%u db=%u l=%u\n",
		name, s->selector, (unsigned long long)s->base, s->limit,
		s->type, s->dpl, s->present, s->db, s->l);
}

void vcpu_report(struct vcpu *vcpu, const char *reason, const uint8_t *insn,
		 unsigned int insn_len)
{
	uint8_t code[16];
	struct kvm_sregs s;
	struct kvm_regs r;
	const char *hint = NULL;
	FILE *f = stderr;

	fprintf(f, "vmon: vcpu%u: %s\n", vcpu->id, reason);
	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) ||
	    ioctl(vcpu->fd, KVM_GET_SREGS, &s)) {
		fprintf(f, "vmon: vcpu%u: registers unavailable\n", vcpu->id);
		return;
	}
	if (vcpu->vm->kvm->svm && strstr(reason, "KVM_EXIT_SHUTDOWN") &&
	    reset_state(&r, &s)) {
		fprintf(f,
			"vmon: vcpu%u: registers lost: this host's KVM (AMD SVM) resets a vCPU at a shutdown exit\n",
			vcpu->id);
		fflush(f);
		return;
	}
	if (!insn || !insn_len) {
		insn_len = x86_read_code_at_rip(vcpu, code, sizeof(code));
		insn = code;
	}
	fprintf(f, "  RIP=0x%016llx CPL=%u mode=%s\n",
		(unsigned long long)r.rip, s.cs.dpl, cpu_mode(&s));
	fprintf(f, "  code at RIP:");
	if (!insn_len)
		fprintf(f, " (not readable)");
	for (unsigned int i = 0; i < insn_len; i++)
		fprintf(f, " %02x", insn[i]);
	fprintf(f, "\n");
	fprintf(f,
		"  RAX=0x%016llx RBX=0x%016llx RCX=0x%016llx RDX=0x%016llx\n",
		(unsigned long long)r.rax, (unsigned long long)r.rbx,
		(unsigned long long)r.rcx, (unsigned long long)r.rdx);
	fprintf(f,
		"  RSI=0x%016llx RDI=0x%016llx RBP=0x%016llx RSP=0x%016llx\n",
		(unsigned long long)r.rsi, (unsigned long long)r.rdi,
		(unsigned long long)r.rbp, (unsigned long long)r.rsp);
	fprintf(f,
		"  R8 =0x%016llx R9 =0x%016llx R10=0x%016llx R11=0x%016llx\n",
		(unsigned long long)r.r8, (unsigned long long)r.r9,
		(unsigned long long)r.r10, (unsigned long long)r.r11);
	fprintf(f,
		"  R12=0x%016llx R13=0x%016llx R14=0x%016llx R15=0x%016llx\n",
		(unsigned long long)r.r12, (unsigned long long)r.r13,
		(unsigned long long)r.r14, (unsigned long long)r.r15);
	fprintf(f,
		"  RFLAGS=0x%08llx CR0=0x%08llx CR2=0x%016llx CR3=0x%016llx CR4=0x%08llx EFER=0x%llx\n",
		(unsigned long long)r.rflags, (unsigned long long)s.cr0,
		(unsigned long long)s.cr2, (unsigned long long)s.cr3,
		(unsigned long long)s.cr4, (unsigned long long)s.efer);
	print_seg(f, "CS", &s.cs);
	print_seg(f, "SS", &s.ss);
	print_seg(f, "DS", &s.ds);
	fprintf(f, "  GDT base=0x%llx limit=0x%x IDT base=0x%llx limit=0x%x\n",
		(unsigned long long)s.gdt.base, s.gdt.limit,
		(unsigned long long)s.idt.base, s.idt.limit);
	if (strstr(reason, "emulation"))
		hint = x86_emulation_hint(insn, insn_len);
	if (hint)
		fprintf(f, "  hint: %s\n", hint);
	else if (strstr(reason, "emulation") && vcpu->vm->kvm->pvm)
		fprintf(f,
			"  hint: this host's KVM (PVM backend) emulates guest kernel code; --cpu-template pvm hides the features it cannot emulate\n");
	fflush(f);
}
