// SPDX-License-Identifier: GPL-2.0-only
/*
 * setup.c - places the configured virtio devices in the platform's
 * virtio-mmio slots with their interrupt lines (arch_virtio_mmio_slot()),
 * creates the I/O thread that serves them (the VM owns it: vm->io), and
 * builds the virtio_mmio.device= entries of the guest command line. It
 * names no device: it walks the registered types (VIRTIO_TYPE()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../arch/arch.h"
#include "../pci/host.h"
#include "../util/log.h"
#include "../vmm/iothread.h"
#include "../vmm/vm.h"
#include "devices.h"
#include "mmio.h"
#include "pci.h"

struct placer {
	struct vm *vm;
	struct iothread *io;
	unsigned int next;
	char *cmdline;
	size_t len;
};

static int add_cmdline(struct placer *p, const struct virtio_dev *d)
{
	char entry[96];
	size_t n;
	char *s;

	if (virtio_mmio_cmdline(d, entry, sizeof(entry)))
		return -1;
	n = strlen(entry);
	s = realloc(p->cmdline, p->len + n + 2);
	if (!s)
		return -1;
	if (p->len)
		s[p->len++] = ' ';
	memcpy(s + p->len, entry, n + 1);
	p->len += n;
	p->cmdline = s;
	return 0;
}

static int next_slot(struct placer *p, uint64_t *base, unsigned int *irq,
		     const char *what)
{
	/* The slots and their interrupt lines are the platform's. */
	if (arch_virtio_mmio_slot(p->next, base, irq)) {
		pr_err("%s: more than %u virtio devices", what,
		       p->next - (p->vm->cfg->boot_timer ? 1 : 0));
		return -1;
	}
	p->next++;
	return 0;
}

/* The registered types in slot order into @t; their number. */
static unsigned int sorted_types(const struct virtio_type **t, unsigned int max)
{
	return REGISTRY_SORTED(vmon_virtio_types, struct virtio_type, t, max);
}

/* The devices of @type, in configuration order. */
static int place_type(struct placer *p, const struct virtio_type *type,
		      int con_in, int con_out)
{
	unsigned int n = type->count(p->vm->cfg);
	struct virtio_place where = {
		.vm = p->vm, .io = p->io, .con_in = con_in, .con_out = con_out
	};

	for (unsigned int i = 0; i < n; i++) {
		struct virtio_dev *d;

		if (next_slot(p, &where.base, &where.irq, type->what))
			return -1;
		/* Its I/O handlers are its slot's (hot unplug): on PCI, the
		 * n-th device placed is in slot n (the bridge in 0). */
		iothread_set_owner(p->io, p->next);
		d = type->create(&where, i);
		iothread_set_owner(p->io, 0);
		/* The control plane's device i is the registry's index i. */
		if (!d || d->device->index != i ||
		    (!d->tp && add_cmdline(p, d)))
			return -1;
		if (d->tp && virtio_pci_slot(d) != (int)p->next) {
			pr_err("%s: in PCI slot %d, not %u", d->name,
			       virtio_pci_slot(d), p->next);
			return -1;
		}
	}
	return 0;
}

struct virtio_dev *virtio_type_create(struct vm *vm, const char *what,
				      unsigned int i, unsigned int irq)
{
	const struct virtio_type *types[DEVICE_VIRTIO_ID_MAX];
	unsigned int nr = sorted_types(types, DEVICE_VIRTIO_ID_MAX);
	struct virtio_place where = {
		.vm = vm, .io = vm->io, .irq = irq, .con_in = -1, .con_out = -1
	};

	for (unsigned int t = 0; t < nr; t++)
		if (!strcmp(types[t]->what, what) &&
		    i < types[t]->count(vm->cfg))
			return types[t]->create(&where, i);
	pr_err("%s %u: no such device in the configuration", what, i);
	return NULL;
}

int virtio_devices_create(struct vm *vm, int con_in, int con_out,
			  char **cmdline)
{
	const struct virtio_type *types[DEVICE_VIRTIO_ID_MAX];
	unsigned int nr = sorted_types(types, DEVICE_VIRTIO_ID_MAX);
	/* Firecracker's boot timer takes the first slot (boot_timer.c). */
	struct placer p = { .vm = vm, .next = vm->cfg->boot_timer ? 1 : 0 };
	unsigned int wanted = 0;

	*cmdline = NULL;
	/* With PCI, the host bridge is there with or without devices. */
	if (vm->cfg->virtio_pci && !vm->pci && pci_host_create(vm))
		return -1;
	for (unsigned int t = 0; t < nr; t++)
		wanted += types[t]->count(vm->cfg);
	if (!wanted) {
		*cmdline = strdup("");
		return *cmdline ? 0 : -1;
	}
	p.io = iothread_create();
	if (!p.io)
		return -1;
	/* The VM owns it: vm_destroy() stops it before the devices go. */
	vm->io = p.io;
	for (unsigned int t = 0; t < nr; t++)
		if (place_type(&p, types[t], con_in, con_out))
			goto fail;
	if (iothread_start(p.io))
		goto fail;
	*cmdline = p.cmdline ? p.cmdline : strdup("");
	return *cmdline ? 0 : -1;
fail:
	free(p.cmdline);
	return -1;
}
