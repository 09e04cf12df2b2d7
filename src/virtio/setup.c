// SPDX-License-Identifier: GPL-2.0-only
/*
 * setup.c - places the configured virtio devices in the platform's
 * virtio-mmio slots with their interrupt lines (arch_virtio_mmio_slot()),
 * creates the I/O thread that serves them (the VM owns it: vm->io), and
 * builds the virtio_mmio.device= entries of the guest command line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../arch/arch.h"
#include "../util/log.h"
#include "../vmm/iothread.h"
#include "../vmm/vm.h"
#include "devices.h"
#include "mmio.h"

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
		pr_err("%s: more than %u virtio devices", what, p->next);
		return -1;
	}
	p->next++;
	return 0;
}

int virtio_devices_create(struct vm *vm, int con_in, int con_out,
			  char **cmdline)
{
	const struct vm_config *cfg = vm->cfg;
	struct placer p = { .vm = vm };
	struct virtio_dev *d;
	unsigned int irq;
	uint64_t base;

	*cmdline = NULL;
	if (!cfg->nr_disks && !cfg->nr_nets && !cfg->rng && !cfg->vsock.cid &&
	    !cfg->balloon.enabled && cfg->console != CONSOLE_VIRTIO) {
		*cmdline = strdup("");
		return *cmdline ? 0 : -1;
	}
	p.io = iothread_create();
	if (!p.io)
		return -1;
	/* The VM owns it: vm_destroy() stops it before the devices go. */
	vm->io = p.io;
	if (cfg->console == CONSOLE_VIRTIO) {
		if (next_slot(&p, &base, &irq, "virtio-console"))
			goto fail;
		d = virtio_console_create(vm, p.io, base, irq, con_in, con_out);
		if (!d || add_cmdline(&p, d))
			goto fail;
	}
	/*
	 * Disks and interfaces in configuration order: the registry's index
	 * of the n-th virtio-blk (virtio-net) is the control plane's drive
	 * (interface) n, checked here.
	 */
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		if (next_slot(&p, &base, &irq, "virtio-blk"))
			goto fail;
		d = virtio_blk_create(vm, p.io, base, irq, &cfg->disks[i]);
		if (!d || d->device->index != i || add_cmdline(&p, d))
			goto fail;
	}
	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		if (next_slot(&p, &base, &irq, "virtio-net"))
			goto fail;
		d = virtio_net_create(vm, p.io, base, irq, &cfg->nets[i]);
		if (!d || d->device->index != i || add_cmdline(&p, d))
			goto fail;
	}
	if (cfg->vsock.cid) {
		if (next_slot(&p, &base, &irq, "virtio-vsock"))
			goto fail;
		d = virtio_vsock_create(vm, p.io, base, irq, &cfg->vsock);
		if (!d || add_cmdline(&p, d))
			goto fail;
	}
	if (cfg->balloon.enabled) {
		if (next_slot(&p, &base, &irq, "virtio-balloon"))
			goto fail;
		d = virtio_balloon_create(vm, p.io, base, irq, &cfg->balloon);
		if (!d || add_cmdline(&p, d))
			goto fail;
	}
	if (cfg->rng) {
		if (next_slot(&p, &base, &irq, "virtio-rng"))
			goto fail;
		d = virtio_rng_create(vm, p.io, base, irq);
		if (!d || add_cmdline(&p, d))
			goto fail;
	}
	if (iothread_start(p.io))
		goto fail;
	*cmdline = p.cmdline ? p.cmdline : strdup("");
	return *cmdline ? 0 : -1;
fail:
	free(p.cmdline);
	return -1;
}
