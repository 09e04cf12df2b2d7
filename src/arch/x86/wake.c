// SPDX-License-Identifier: GPL-2.0-only
/*
 * wake.c - x86 vCPU states that firmware, not a kernel loader, starts a
 * CPU in: the reset vector (BOOT_MODE_RESET: real mode, CS base
 * 0xffff0000, IP 0xfff0), an ACPI waking vector in real mode
 * (BOOT_MODE_REAL: CS = vector >> 4, IP = vector & 0xf) or in flat 32-bit
 * protected mode with paging off (BOOT_MODE_FLAT32: the FACS's
 * X_Firmware_Waking_Vector), and an application processor waiting for a
 * SIPI after an INIT. Nothing is written to guest memory: on a resume
 * from S3 all of it is the guest's.
 */
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "../../vmm/vcpu.h"
#include "cpu.h"

#define CR0_RESET 0x60000010ULL /* CD, NW, ET: the power-on value */
#define RFLAGS_RESET 0x2ULL

static void seg_real(struct kvm_segment *s, uint16_t sel, uint64_t base,
		     uint8_t type)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = base;
	s->limit = 0xffff;
	s->type = type;
	s->present = 1;
	s->s = 1;
}

static void seg_flat32(struct kvm_segment *s, uint8_t type)
{
	seg_real(s, 0, 0, type);
	s->limit = 0xffffffff;
	s->g = 1;
	s->db = 1;
}

/* The registers of a CPU after a reset, CS:IP at @cs_sel/@cs_base/@ip. */
static int reset_state(struct vcpu *vcpu, uint16_t cs_sel, uint64_t cs_base,
		       uint64_t ip, bool flat32)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs))
		return -1;
	if (flat32) {
		seg_flat32(&sregs.cs, 0xb);
		seg_flat32(&sregs.ds, 0x3);
	} else {
		seg_real(&sregs.cs, cs_sel, cs_base, 0xb);
		seg_real(&sregs.ds, 0, 0, 0x3);
	}
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	seg_real(&sregs.tr, 0, 0, 0xb);
	sregs.tr.s = 0;
	seg_real(&sregs.ldt, 0, 0, 0x2);
	sregs.ldt.s = 0;
	sregs.gdt.base = sregs.idt.base = 0;
	sregs.gdt.limit = sregs.idt.limit = 0xffff;
	sregs.cr0 = flat32 ? (CR0_RESET & ~(3ULL << 29)) | 1 : CR0_RESET;
	sregs.cr2 = sregs.cr3 = sregs.cr4 = 0;
	sregs.efer = 0;
	memset(sregs.interrupt_bitmap, 0, sizeof(sregs.interrupt_bitmap));
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs))
		return -1;
	memset(&regs, 0, sizeof(regs));
	regs.rflags = RFLAGS_RESET;
	regs.rip = ip;
	return ioctl(vcpu->fd, KVM_SET_REGS, &regs);
}

static int set_mp_state(struct vcpu *vcpu, uint32_t state)
{
	struct kvm_mp_state mp = { .mp_state = state };

	return ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp);
}

int x86_firmware_entry(struct vcpu *vcpu, int mode, uint64_t entry)
{
	switch (mode) {
	case BOOT_MODE_RESET:
		return reset_state(vcpu, 0xf000, 0xffff0000ULL, 0xfff0, false);
	case BOOT_MODE_REAL:
		return reset_state(vcpu, (uint16_t)(entry >> 4),
				   entry & ~0xfULL, entry & 0xf, false);
	case BOOT_MODE_FLAT32:
		return reset_state(vcpu, 0, 0, entry & 0xffffffffULL, true);
	default:
		return -1;
	}
}

void arch_firmware_entry(struct boot_entry *entry)
{
	entry->mode = BOOT_MODE_RESET;
	entry->entry = 0xfffffff0ULL;
	entry->arg = 0;
}

int arch_vcpu_wake(struct vcpu *vcpu, int mode, uint64_t entry)
{
	if (mode == ARCH_WAKE_WAIT_SIPI) {
		if (reset_state(vcpu, 0xf000, 0xffff0000ULL, 0xfff0, false))
			return -1;
		return set_mp_state(vcpu, KVM_MP_STATE_INIT_RECEIVED);
	}
	if (x86_firmware_entry(vcpu, mode, entry))
		return -1;
	return set_mp_state(vcpu, KVM_MP_STATE_RUNNABLE);
}
