/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fuzz_vm.h - the VM without KVM that the device fuzz targets (fuzz_pio,
 * fuzz_vdev, fuzz_pci) put their devices in: no KVM file descriptor, the
 * port and MMIO buses, guest RAM from GPA 0, and optionally a read-only
 * region after it (for buffers a device must not write).
 */
#ifndef VMON_TESTS_FUZZ_VM_H
#define VMON_TESTS_FUZZ_VM_H

#include <stdlib.h>
#include <sys/mman.h>

#include "util/log.h"
#include "vmm/vm.h"

static inline void *fuzz_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		abort();
	return p;
}

/*
 * Makes @vm a VM of @ram_size bytes of RAM (returned), with @rom_size
 * read-only bytes at @rom_gpa if @rom_size is not 0. Only errors are
 * logged: a fuzzer's inputs make devices complain all the time.
 */
static inline uint8_t *fuzz_vm_init(struct vm *vm, size_t ram_size,
				    uint64_t rom_gpa, size_t rom_size)
{
	uint8_t *ram = fuzz_map(ram_size);

	log_level = LOG_ERROR;
	vm->fd = -1;
	vm->stop_efd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_mutex_init(&vm->discard_lock, NULL);
	bus_init(&vm->pio, "port");
	bus_init(&vm->mmio, "MMIO");
	gmem_add_region(&vm->mem, 0, ram_size, ram, false, "ram");
	if (rom_size)
		gmem_add_region(&vm->mem, rom_gpa, rom_size, fuzz_map(rom_size),
				true, "rom");
	vm->mem.ram_size = ram_size;
	return ram;
}

#endif
