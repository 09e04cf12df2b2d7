// SPDX-License-Identifier: GPL-2.0-only
/*
 * cpu.c - x86 vCPU setup: per-vCPU CPUID with topology, LAPIC LINT0/LINT1
 * wiring, MTRR defaults, and the register state of each boot protocol.
 */
#include "cpu.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "../../util/log.h"
#include "../../vmm/vcpu.h"
#include "../../vmm/vm.h"
#include "cpu_custom.h"
#include "cpuid.h"
#include "layout.h"
#include "mce.h"
#include "x86.h"

#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

#define MSR_MTRR_DEF_TYPE 0x2ff
#define MTRR_ENABLE (1ULL << 11)
#define MTRR_TYPE_WB 6ULL

#define CR0_PE (1ULL << 0)
#define CR0_MP (1ULL << 1)
#define CR0_ET (1ULL << 4)
#define CR0_NE (1ULL << 5)
#define CR0_WP (1ULL << 16)
#define CR0_PG (1ULL << 31)
#define CR4_PAE (1ULL << 5)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)

/* Boot GDT selectors. */
#define SEL_CODE64 0x10 /* __BOOT_CS of the Linux boot protocol */
#define SEL_DATA 0x18 /* __BOOT_DS */
#define SEL_TSS 0x20
#define SEL_CODE32 0x28

static const uint64_t boot_gdt[] = {
	0, /* null */
	0, /* unused */
	0x00af9b000000ffffULL, /* 0x10: 64-bit code, DPL 0 */
	0x00cf93000000ffffULL, /* 0x18: flat data */
	0x00808b000000ffffULL, /* 0x20: TSS (busy) */
	0x00cf9b000000ffffULL, /* 0x28: flat 32-bit code */
};

static int set_lapic_lint(struct vcpu *vcpu)
{
	struct kvm_lapic_state lapic;
	uint32_t *lint0 = (uint32_t *)&lapic.regs[APIC_LVT_LINT0];
	uint32_t *lint1 = (uint32_t *)&lapic.regs[APIC_LVT_LINT1];

	if (ioctl(vcpu->fd, KVM_GET_LAPIC, &lapic))
		return -1;
	*lint0 = (*lint0 & ~0x700U) | APIC_MODE_EXTINT << 8;
	*lint1 = (*lint1 & ~0x700U) | APIC_MODE_NMI << 8;
	return ioctl(vcpu->fd, KVM_SET_LAPIC, &lapic);
}

static int set_msrs(struct vcpu *vcpu)
{
	/* struct kvm_msrs ends in a flexible array: room for one entry. */
	union {
		struct kvm_msrs hdr;
		uint8_t bytes[sizeof(struct kvm_msrs) +
			      sizeof(struct kvm_msr_entry)];
	} msrs;

	memset(&msrs, 0, sizeof(msrs));
	msrs.hdr.nmsrs = 1;
	msrs.hdr.entries[0].index = MSR_MTRR_DEF_TYPE;
	msrs.hdr.entries[0].data = MTRR_ENABLE | MTRR_TYPE_WB;
	return ioctl(vcpu->fd, KVM_SET_MSRS, &msrs) == 1 ? 0 : -1;
}

int arch_vcpu_init(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	struct kvm_cpuid2 *c = cpuid_dup(vm->arch->cpuid);
	int ret = -1;

	if (!c)
		return -1;
	if (cpuid_set_topology(c, vcpu->id, vm->nr_vcpus,
			       vm->cfg->smt ? 2 : 1)) {
		pr_err("vcpu%u: CPUID table full", vcpu->id);
		goto out;
	}
	/* A custom template's modifiers win, topology leaves included. */
	if (vm->cfg->cpu_custom)
		cpu_custom_apply_cpuid(vm->cfg->cpu_custom, c);
	if (ioctl(vcpu->fd, KVM_SET_CPUID2, c)) {
		pr_err("vcpu%u: KVM_SET_CPUID2: %s", vcpu->id, strerror(errno));
		goto out;
	}
	if (mce_vcpu_setup(vcpu, c))
		goto out;
	if (set_lapic_lint(vcpu)) {
		pr_err("vcpu%u: local APIC setup: %s", vcpu->id,
		       strerror(errno));
		goto out;
	}
	if (set_msrs(vcpu)) {
		pr_err("vcpu%u: KVM_SET_MSRS (MTRRs) failed", vcpu->id);
		goto out;
	}
	if (vm->cfg->cpu_custom) {
		char err[256];

		if (cpu_custom_apply_msrs(vm->cfg->cpu_custom, vcpu->fd, err,
					  sizeof(err))) {
			pr_err("vcpu%u: %s", vcpu->id, err);
			goto out;
		}
	}
	ret = 0;
out:
	free(c);
	return ret;
}

static void seg_flat(struct kvm_segment *s, uint16_t sel, uint8_t type,
		     bool code64)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->l = code64;
	s->db = !code64;
}

static int write_page_tables(struct vm *vm)
{
	uint64_t *pml4 = gpa_to_hva_rw(&vm->mem, BOOT_PML4_ADDR, 4096);
	uint64_t *pdpt = gpa_to_hva_rw(&vm->mem, BOOT_PDPT_ADDR, 4096);
	uint64_t *pd = gpa_to_hva_rw(&vm->mem, BOOT_PD_ADDR, 4 * 4096);

	if (!pml4 || !pdpt || !pd)
		return -1;
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	/* Identity map of the first 4 GiB with 2 MiB pages. */
	pml4[0] = BOOT_PDPT_ADDR | 0x3;
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD_ADDR + i * 4096) | 0x3;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | 0x83; /* present, writable, 2 MiB */
	return 0;
}

int arch_setup_boot_cpu(struct vcpu *vcpu, const struct boot_entry *entry)
{
	struct vm *vm = vcpu->vm;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	bool lm = entry->mode == BOOT_MODE_LINUX64;

	if (entry->mode >= BOOT_MODE_RESET)
		return x86_firmware_entry(vcpu, entry->mode, entry->entry);
	if (gmem_write(&vm->mem, BOOT_GDT_ADDR, boot_gdt, sizeof(boot_gdt)))
		return -1;
	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs))
		return -1;
	sregs.gdt.base = BOOT_GDT_ADDR;
	sregs.gdt.limit = sizeof(boot_gdt) - 1;
	sregs.idt.base = BOOT_IDT_ADDR;
	sregs.idt.limit = 0;
	seg_flat(&sregs.cs, lm ? SEL_CODE64 : SEL_CODE32, 0xb, lm);
	seg_flat(&sregs.ds, SEL_DATA, 0x3, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	memset(&sregs.tr, 0, sizeof(sregs.tr));
	sregs.tr.selector = SEL_TSS;
	sregs.tr.limit = 0xffff;
	sregs.tr.type = 0xb;
	sregs.tr.present = 1;
	if (lm) {
		if (write_page_tables(vm))
			return -1;
		sregs.cr3 = BOOT_PML4_ADDR;
		sregs.cr4 = CR4_PAE;
		sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
		sregs.efer = EFER_LME | EFER_LMA;
	} else {
		sregs.cr3 = 0;
		sregs.cr4 = 0;
		sregs.cr0 = CR0_PE | CR0_ET;
		sregs.efer = 0;
	}
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs))
		return -1;

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 2;
	regs.rip = entry->entry;
	switch (entry->mode) {
	case BOOT_MODE_LINUX64:
		regs.rsi = entry->arg;
		regs.rsp = BOOT_STACK_ADDR;
		break;
	case BOOT_MODE_PVH:
		regs.rbx = entry->arg;
		break;
	case BOOT_MODE_MULTIBOOT:
		regs.rax = 0x2badb002;
		regs.rbx = entry->arg;
		break;
	}
	return ioctl(vcpu->fd, KVM_SET_REGS, &regs);
}

unsigned int x86_read_code_at_rip(struct vcpu *vcpu, uint8_t *buf,
				  unsigned int len)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	uint64_t lin;
	unsigned int got = 0;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) ||
	    ioctl(vcpu->fd, KVM_GET_REGS, &regs))
		return 0;
	lin = sregs.cs.base + regs.rip;
	if (!(sregs.efer & EFER_LMA))
		lin &= 0xffffffff;
	while (got < len) {
		uint64_t gpa = lin + got;
		unsigned int chunk = 4096 - (unsigned int)(gpa & 4095);
		const uint8_t *p;

		if (sregs.cr0 & CR0_PG) {
			struct kvm_translation tr = { .linear_address =
							      lin + got };

			if (ioctl(vcpu->fd, KVM_TRANSLATE, &tr) || !tr.valid)
				break;
			gpa = tr.physical_address;
		}
		if (chunk > len - got)
			chunk = len - got;
		p = gpa_to_hva(&vcpu->vm->mem, gpa, chunk);
		if (!p)
			break;
		memcpy(buf + got, p, chunk);
		got += chunk;
	}
	return got;
}

const char *x86_emulation_hint(const uint8_t *insn, unsigned int len)
{
	unsigned int i = 0;
	bool rep = false, rexw = false;

	for (; i < len; i++) {
		uint8_t b = insn[i];

		if (b == 0xf3 || b == 0xf2)
			rep = true;
		else if (b == 0xf0 || b == 0x66 || b == 0x67 || b == 0x2e ||
			 b == 0x36 || b == 0x3e || b == 0x26 || b == 0x64 ||
			 b == 0x65)
			continue;
		else if ((b & 0xf0) == 0x40)
			rexw = b & 8;
		else
			break;
	}
	if (i >= len)
		return NULL;
	if (insn[i] == 0xcc)
		return "int3 in guest kernel mode: boot the default guest kernel, whose patches skip the int3 self-test (docs/guest.md)";
	if (insn[i] == 0x9b)
		return "fwait in guest kernel mode: boot the default guest kernel, whose patches avoid it (docs/guest.md)";
	if (insn[i] == 0xdb && i + 1 < len && insn[i + 1] == 0xe2)
		return "AMD FXSAVE-leak workaround (fnclex): use --cpu-template pvm, or +xsaveerptr";
	if (insn[i] != 0x0f || i + 2 >= len)
		return NULL;
	{
		uint8_t op = insn[i + 1], modrm = insn[i + 2];
		unsigned int reg = (modrm >> 3) & 7, mod = modrm >> 6;

		if (op == 0xc7 && reg == 1 && rexw)
			return "cmpxchg16b: use --cpu-template pvm, or -cx16";
		if (op == 0xc7 && (reg == 6 || reg == 7) && mod == 3)
			return "rdrand/rdseed: add -rdrand,-rdseed to the CPU template";
		if (op == 0xae && mod != 3 && reg >= 4 && reg <= 6)
			return "xsave/xrstor: use --cpu-template pvm, or -xsave (or noxsave on the kernel command line)";
		if (op == 0xae && mod == 3 && rep && reg <= 3)
			return "rd/wr fs/gs base: add -fsgsbase to the CPU template";
		if (op == 0x01 && (modrm == 0xca || modrm == 0xcb))
			return "clac/stac (SMAP): use --cpu-template pvm, or -smap";
		if (op == 0x01 && (modrm == 0xd0 || modrm == 0xd1))
			return "xgetbv/xsetbv: use --cpu-template pvm, or -xsave";
		if (op == 0xb8 && rep)
			return "popcnt: use --cpu-template pvm, or -popcnt";
	}
	return NULL;
}
