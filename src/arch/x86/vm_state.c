// SPDX-License-Identifier: GPL-2.0-only
/*
 * vm_state.c - the x86 VM state of a snapshot (arch_vm_save() and
 * arch_vm_restore() of arch.h): the in-kernel PIC pair and IOAPIC
 * (KVM_GET_IRQCHIP), the PIT (KVM_GET_PIT2) and the KVM clock, field by
 * field; read back and checked in full before KVM is given any of it.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "../../util/log.h"
#include "../../vmm/state.h"
#include "../../vmm/vm.h"
#include "../arch.h"

#define VM_STATE_TAG 0x54534d56 /* "VMST" */
/* 2 added the wall clock at the pause; version 1 is read too. */
#define VM_STATE_VERSION 2

struct x86_vm_state {
	struct kvm_irqchip pic[2], ioapic;
	struct kvm_pit_state2 pit;
	uint64_t clock;
	uint64_t realtime; /* the host's wall clock at @clock, 0: unknown */
};

/* The PIC's fields, in order, as offsets into struct kvm_pic_state. */
#define PIC_FIELD(f) offsetof(struct kvm_pic_state, f)
static const size_t pic_fields[] = {
	PIC_FIELD(last_irr),
	PIC_FIELD(irr),
	PIC_FIELD(imr),
	PIC_FIELD(isr),
	PIC_FIELD(priority_add),
	PIC_FIELD(irq_base),
	PIC_FIELD(read_reg_select),
	PIC_FIELD(poll),
	PIC_FIELD(special_mask),
	PIC_FIELD(init_state),
	PIC_FIELD(auto_eoi),
	PIC_FIELD(rotate_on_auto_eoi),
	PIC_FIELD(special_fully_nested_mode),
	PIC_FIELD(init4),
	PIC_FIELD(elcr),
	PIC_FIELD(elcr_mask),
};

static void put_pic(struct state_writer *w, const struct kvm_pic_state *p)
{
	for (size_t i = 0; i < sizeof(pic_fields) / sizeof(*pic_fields); i++)
		state_put_u8(w, ((const uint8_t *)p)[pic_fields[i]]);
}

static void get_pic(struct state_reader *r, struct kvm_pic_state *p)
{
	for (size_t i = 0; i < sizeof(pic_fields) / sizeof(*pic_fields); i++)
		((uint8_t *)p)[pic_fields[i]] = state_get_u8(r, "pic");
}

static void put_ioapic(struct state_writer *w, const struct kvm_ioapic_state *s)
{
	state_put_u64(w, s->base_address);
	state_put_u32(w, s->ioregsel);
	state_put_u32(w, s->id);
	state_put_u32(w, s->irr);
	state_put_u32(w, KVM_IOAPIC_NUM_PINS);
	for (size_t i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
		state_put_u64(w, s->redirtbl[i].bits);
}

static void get_ioapic(struct state_reader *r, struct kvm_ioapic_state *s)
{
	s->base_address = state_get_u64(r, "ioapic base");
	s->ioregsel = state_get_u32(r, "ioapic register select");
	s->id = state_get_u32(r, "ioapic id");
	s->irr = state_get_u32(r, "ioapic irr");
	if (state_get_u32(r, "ioapic pins") != KVM_IOAPIC_NUM_PINS &&
	    state_ok(r))
		state_fail(r, "ioapic pins: %u expected", KVM_IOAPIC_NUM_PINS);
	for (size_t i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
		s->redirtbl[i].bits = state_get_u64(r, "ioapic redirection");
}

static void put_pit(struct state_writer *w, const struct kvm_pit_state2 *p)
{
	for (size_t i = 0; i < 3; i++) {
		const struct kvm_pit_channel_state *c = &p->channels[i];

		state_put_u32(w, c->count);
		state_put_u16(w, c->latched_count);
		state_put_u8(w, c->count_latched);
		state_put_u8(w, c->status_latched);
		state_put_u8(w, c->status);
		state_put_u8(w, c->read_state);
		state_put_u8(w, c->write_state);
		state_put_u8(w, c->write_latch);
		state_put_u8(w, c->rw_mode);
		state_put_u8(w, c->mode);
		state_put_u8(w, c->bcd);
		state_put_u8(w, c->gate);
		state_put_u64(w, (uint64_t)c->count_load_time);
	}
	state_put_u32(w, p->flags);
}

static void get_pit(struct state_reader *r, struct kvm_pit_state2 *p)
{
	for (size_t i = 0; i < 3; i++) {
		struct kvm_pit_channel_state *c = &p->channels[i];

		c->count = state_get_u32(r, "pit count");
		c->latched_count = state_get_u16(r, "pit latched count");
		c->count_latched = state_get_u8(r, "pit count latched");
		c->status_latched = state_get_u8(r, "pit status latched");
		c->status = state_get_u8(r, "pit status");
		c->read_state = state_get_u8(r, "pit read state");
		c->write_state = state_get_u8(r, "pit write state");
		c->write_latch = state_get_u8(r, "pit write latch");
		c->rw_mode = state_get_u8(r, "pit rw mode");
		c->mode = state_get_u8(r, "pit mode");
		c->bcd = state_get_u8(r, "pit bcd");
		c->gate = state_get_u8(r, "pit gate");
		c->count_load_time = (int64_t)state_get_u64(r, "pit load time");
	}
	p->flags = state_get_u32(r, "pit flags");
}

static int get_irqchips(struct vm *vm, struct x86_vm_state *s)
{
	s->pic[0].chip_id = KVM_IRQCHIP_PIC_MASTER;
	s->pic[1].chip_id = KVM_IRQCHIP_PIC_SLAVE;
	s->ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
	if (ioctl(vm->fd, KVM_GET_IRQCHIP, &s->pic[0]) ||
	    ioctl(vm->fd, KVM_GET_IRQCHIP, &s->pic[1]) ||
	    ioctl(vm->fd, KVM_GET_IRQCHIP, &s->ioapic))
		return -1;
	return 0;
}

int arch_vm_save(struct vm *vm, struct state_writer *w)
{
	struct x86_vm_state s;
	size_t sec;

	memset(&s, 0, sizeof(s));
	if (get_irqchips(vm, &s) || ioctl(vm->fd, KVM_GET_PIT2, &s.pit)) {
		pr_err("VM state: KVM_GET_IRQCHIP/PIT2: %s", strerror(errno));
		return -1;
	}
	/* Paused: the clock as it stopped (vm_pause() took it). */
	s.clock = vm->clock_saved ? vm->paused_clock :
				    (uint64_t)vm_guest_clock(vm);
	s.realtime = vm->clock_saved ? vm->paused_realtime : 0;
	sec = state_begin(w, VM_STATE_TAG, VM_STATE_VERSION);
	put_pic(w, &s.pic[0].chip.pic);
	put_pic(w, &s.pic[1].chip.pic);
	put_ioapic(w, &s.ioapic.chip.ioapic);
	put_pit(w, &s.pit);
	state_put_u64(w, s.clock);
	state_put_u64(w, s.realtime);
	state_end(w, sec);
	return w->failed ? -1 : 0;
}

int arch_vm_restore(struct vm *vm, struct state_reader *r)
{
	struct x86_vm_state s;
	struct state_reader sub;
	uint32_t version;

	memset(&s, 0, sizeof(s));
	if (state_enter_versions(r, VM_STATE_TAG, 1, VM_STATE_VERSION, &version,
				 &sub, "VM state"))
		return -1;
	s.pic[0].chip_id = KVM_IRQCHIP_PIC_MASTER;
	s.pic[1].chip_id = KVM_IRQCHIP_PIC_SLAVE;
	s.ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
	get_pic(&sub, &s.pic[0].chip.pic);
	get_pic(&sub, &s.pic[1].chip.pic);
	get_ioapic(&sub, &s.ioapic.chip.ioapic);
	get_pit(&sub, &s.pit);
	s.clock = state_get_u64(&sub, "kvm clock");
	if (version >= 2)
		s.realtime = state_get_u64(&sub, "wall clock");
	state_expect_end(&sub, "VM state");
	if (!state_ok(&sub)) {
		state_fail(r, "VM state: %s", sub.err);
		return -1;
	}
	if (ioctl(vm->fd, KVM_SET_IRQCHIP, &s.pic[0]) ||
	    ioctl(vm->fd, KVM_SET_IRQCHIP, &s.pic[1]) ||
	    ioctl(vm->fd, KVM_SET_IRQCHIP, &s.ioapic) ||
	    ioctl(vm->fd, KVM_SET_PIT2, &s.pit)) {
		state_fail(r, "VM state: KVM_SET_IRQCHIP/PIT2: %s",
			   strerror(errno));
		return -1;
	}
	/* vm_resume() sets the clock: the guest goes on from here. */
	vm->paused_clock = s.clock;
	vm->paused_realtime = s.realtime;
	vm->clock_saved = true;
	return 0;
}
