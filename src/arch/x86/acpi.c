// SPDX-License-Identifier: GPL-2.0-only
/*
 * acpi.c - the x86 side of ACPI (docs/acpi.md): describes this VM (its
 * vCPUs, the IOAPIC, the virtio-mmio devices placed on the MMIO bus) for
 * the table builder (src/acpi/tables.c), writes the tables into the BIOS
 * area where a guest searches for the RSDP, and routes the interrupt
 * lines as the MADT says (ISA IRQ 0 to IOAPIC pin 2, as QEMU's PC does).
 * Owns vm->arch->rsdp.
 */
#include "acpi.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "../../acpi/loader.h"
#include "../../acpi/tables.h"
#include "../../pci/host.h"
#include "../../util/log.h"
#include "../../vmm/vm.h"
#include "../arch.h"
#include "layout.h"
#include "x86.h"

#define NR_IOAPIC_PINS 24
#define NR_PIC_IRQS 16

/* The virtio-mmio slots that hold a device, in slot order. */
static int describe_virtio(struct vm *vm, struct acpi_desc *d)
{
	uint64_t base;
	unsigned int irq;

	for (unsigned int n = 0; d->nr_virtio < ACPI_MAX_VIRTIO &&
				 !arch_virtio_mmio_slot(n, &base, &irq);
	     n++) {
		/* Slot 0 may hold the boot timer, not a virtio device. */
		if (!bus_find(&vm->mmio, base) || (!n && vm->cfg->boot_timer))
			continue;
		if (irq == ACPI_SCI_IRQ) {
			pr_err("virtio device at 0x%llx: its IRQ %u is the ACPI SCI (at most %u virtio devices with ACPI)",
			       (unsigned long long)base, irq, n);
			return -1;
		}
		d->virtio[d->nr_virtio].base = base;
		d->virtio[d->nr_virtio].size = ACPI_VIRTIO_MMIO_SIZE;
		d->virtio[d->nr_virtio].irq = irq;
		d->nr_virtio++;
	}
	return 0;
}

/* The PCI host bridge's windows and its slots' INTx lines. */
static void describe_pci(struct vm *vm, struct acpi_pci *p)
{
	struct pci_bus *bus;

	if (!vm->pci)
		return;
	bus = &vm->pci->bus;
	p->on = true;
	p->ecam_base = bus->ecam_base;
	p->bus_end = (uint8_t)((bus->ecam_size >> 20) - 1);
	p->mmio_base = (uint32_t)bus->mmio.base;
	p->mmio_size = (uint32_t)bus->mmio.size;
	p->hotplug = vm->pci->hotplug != NULL;
	for (unsigned int s = 0; s < PCI_MAX_DEVS; s++) {
		struct pci_dev *dev = bus->devs[s];
		unsigned int line;
		uint64_t base;

		if (dev && dev->cfg[PCI_INTERRUPT_PIN])
			line = dev->cfg[PCI_INTERRUPT_LINE];
		else if (dev || !p->hotplug || !s ||
			 arch_virtio_mmio_slot(s - 1, &base, &line) ||
			 line == ACPI_SCI_IRQ)
			continue; /* a hot-added device gets this line */
		p->intx[p->nr_intx].slot = (uint8_t)s;
		p->intx[p->nr_intx].gsi = line;
		p->nr_intx++;
	}
}

static int describe(struct vm *vm, struct acpi_desc *d)
{
	memset(d, 0, sizeof(*d));
	d->nr_cpus = vm->nr_vcpus;
	d->lapic_addr = (uint32_t)LAPIC_ADDR;
	d->ioapic_addr = (uint32_t)IOAPIC_ADDR;
	d->ioapic_id = (uint8_t)vm->nr_vcpus; /* as the MP table */
	return describe_virtio(vm, d);
}

int acpi_loader_for(struct vm *vm, struct acpi_loader *l)
{
	struct acpi_desc d;

	if (describe(vm, &d))
		return -1;
	if (acpi_loader_build(&d, l)) {
		pr_err("ACPI tables for the firmware: out of memory or space");
		return -1;
	}
	return 0;
}

int acpi_write_tables(struct vm *vm)
{
	struct acpi_desc d;
	struct acpi_layout l;
	uint8_t *p;

	vm->arch->rsdp = 0;
	if (!vm->cfg->acpi)
		return 0;
	if (describe(vm, &d))
		return -1;
	describe_pci(vm, &d.pci);
	p = gpa_to_hva_rw(&vm->mem, ACPI_TABLES_ADDR, ACPI_TABLES_SIZE);
	if (!p || acpi_build(&d, p, ACPI_TABLES_SIZE, ACPI_TABLES_ADDR, &l)) {
		pr_err("ACPI tables for %u vCPUs and %u virtio devices do not fit in %llu KiB",
		       d.nr_cpus, d.nr_virtio,
		       (unsigned long long)(ACPI_TABLES_SIZE >> 10));
		return -1;
	}
	vm->arch->rsdp = l.rsdp;
	return 0;
}

static void route(struct kvm_irq_routing_entry *e, uint32_t gsi, uint32_t chip,
		  uint32_t pin)
{
	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

unsigned int arch_irqchip_routes(const struct vm *vm,
				 struct kvm_irq_routing_entry *e,
				 unsigned int max)
{
	bool acpi = vm->cfg && vm->cfg->acpi;
	unsigned int n = 0;

	if (max < NR_IOAPIC_PINS + NR_PIC_IRQS)
		return 0;
	/* KVM's default; with ACPI, GSI 0 (the PIT) goes to pin 2. */
	for (uint32_t gsi = 0; gsi < NR_IOAPIC_PINS; gsi++) {
		if (acpi && gsi == 2)
			continue; /* the PICs' cascade: nothing raises it */
		if (gsi < NR_PIC_IRQS)
			route(&e[n++], gsi,
			      gsi < 8 ? KVM_IRQCHIP_PIC_MASTER :
					KVM_IRQCHIP_PIC_SLAVE,
			      gsi & 7);
		route(&e[n++], gsi, KVM_IRQCHIP_IOAPIC, acpi && !gsi ? 2 : gsi);
	}
	return n;
}

int acpi_irq_routing(struct vm *vm)
{
	unsigned int max = NR_IOAPIC_PINS + NR_PIC_IRQS;
	struct kvm_irq_routing *r;
	int ret;

	r = calloc(1, sizeof(*r) + max * sizeof(struct kvm_irq_routing_entry));
	if (!r)
		return -1;
	r->nr = arch_irqchip_routes(vm, r->entries, max);
	ret = ioctl(vm->fd, KVM_SET_GSI_ROUTING, r);
	if (ret)
		pr_err("KVM_SET_GSI_ROUTING (IRQ 0 to IOAPIC pin 2 for ACPI): %s",
		       strerror(errno));
	free(r);
	return ret ? -1 : 0;
}
