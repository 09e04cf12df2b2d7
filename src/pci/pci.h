/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pci.h - the PCI bus model (docs/pci.md): bus 0 with up to 32
 * single-function devices, each with a 256-byte type 0 configuration space
 * (write masks and write-1-to-clear bits per byte, so accesses of any
 * width and alignment behave as on hardware), BARs sized by writing all
 * ones, a capability list, and the command register's decoding of memory
 * and I/O space: BAR accesses arrive through the bus's windows only while
 * the device decodes them.
 *
 * Locking: bus->lock guards every configuration space and BAR address.
 * Configuration hooks run with it held; BAR handlers run without it (the
 * device model locks its own state). Devices are added before the vCPUs
 * start, or hot-plugged (hotplug.h), and taken off with pci_bus_remove().
 */
#ifndef VMON_PCI_PCI_H
#define VMON_PCI_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../vmm/bus.h"

struct vm;

#define PCI_CFG_SIZE 256
#define PCI_MAX_DEVS 32
#define PCI_NR_BARS 6

/* Type 0 header offsets and bits (PCI Local Bus 3.0, 6.2). */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_COMMAND_IO 0x1
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4
#define PCI_COMMAND_INTX_DISABLE 0x400
#define PCI_STATUS 0x06
#define PCI_STATUS_INTERRUPT 0x8
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_REVISION_ID 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_CLASS_DEVICE 0x0a
#define PCI_HEADER_TYPE 0x0e
#define PCI_BASE_ADDRESS_0 0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID 0x2e
#define PCI_CAPABILITY_LIST 0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d
#define PCI_CAP_FIRST 0x40

#define PCI_BAR_IO 0x1
#define PCI_BAR_MEM64 0x4

#define PCI_CAP_ID_VNDR 0x09
#define PCI_CAP_ID_MSIX 0x11

struct pci_dev;

/* A BAR's region: its handlers get the offset inside the BAR. */
struct pci_bar {
	uint64_t size; /* a power of two, 0: BAR not implemented */
	bool io, mem64;
	const struct bus_ops *ops;
	void *opaque;
	/* Where it decodes now (bus->lock): valid only if @decoding. */
	uint64_t addr;
	bool decoding;
};

struct pci_dev_ops {
	/*
	 * After a configuration write of @len bytes at @off (bus lock held):
	 * e.g. the MSI-X capability's enable and function mask bits.
	 */
	void (*config_written)(struct pci_dev *p, unsigned int off,
			       unsigned int len);
	/*
	 * BAR @n now decodes at @addr, or no longer decodes (@on false): a
	 * device with ioeventfds moves them (bus lock held).
	 */
	void (*bar_moved)(struct pci_dev *p, unsigned int n, uint64_t addr,
			  bool on);
};

struct pci_dev {
	struct pci_bus *bus;
	unsigned int slot; /* device number on bus 0; function 0 */
	char name[32];
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE]; /* bits the driver may write */
	uint8_t w1c[PCI_CFG_SIZE]; /* bits a 1 clears */
	struct pci_bar bars[PCI_NR_BARS];
	uint8_t cap_end; /* next free capability offset */
	uint8_t cap_last; /* offset of the last capability's next pointer */
	const struct pci_dev_ops *ops;
	void *opaque;
};

struct pci_window {
	uint64_t base, size, next; /* next: where the next BAR goes */
};

struct pci_bus {
	struct vm *vm;
	pthread_mutex_t lock;
	struct pci_dev *devs[PCI_MAX_DEVS];
	/* Empty slots kept for an ejected device until it is freed. */
	uint32_t held;
	uint32_t conf1_addr; /* CONFIG_ADDRESS at 0xcf8 */
	struct pci_window mmio, io;
	uint64_t ecam_base, ecam_size;
};

void pci_bus_init(struct pci_bus *bus, struct vm *vm,
		  const struct pci_window *mmio, const struct pci_window *io);
void pci_bus_fini(struct pci_bus *bus);

/*
 * Fills the identity of @p (header type 0, no BARs, no capabilities)
 * before pci_add_bar()/pci_add_cap() and pci_bus_add().
 */
void pci_dev_init(struct pci_dev *p, const char *name, uint16_t vendor,
		  uint16_t device, uint32_t class_code, uint8_t revision);
/*
 * BAR @n of @size bytes (a power of two, at least 16; 4 for I/O), a
 * memory BAR (64-bit with @mem64, taking BAR n+1 too) or an I/O BAR.
 * 0, or -1 (bad BAR number or size: logged).
 */
int pci_add_bar(struct pci_dev *p, unsigned int n, uint64_t size, bool io,
		bool mem64, const struct bus_ops *ops, void *opaque);
/*
 * Appends a capability of @len bytes (its ID and next pointer included)
 * to the list; returns its offset, or 0 if the space is full (logged).
 * The caller fills the body and its write masks.
 */
unsigned int pci_add_cap(struct pci_dev *p, uint8_t id, unsigned int len);
/*
 * Adds @p to the first free slot (or @slot if not negative) and places
 * its BARs in the windows (decoding once the driver sets the command
 * bits). A held slot is not free. 0, or -1 with the cause logged (slot
 * taken, windows full).
 */
int pci_bus_add(struct pci_bus *bus, struct pci_dev *p, int slot);
/*
 * Holds (@hold) or frees empty slot @slot: an ejected device keeps its
 * slot until it is freed, so that no device added in between takes it.
 */
void pci_bus_hold(struct pci_bus *bus, unsigned int slot, bool hold);

/*
 * Takes @p off the bus (hot unplug): its slot reads all ones from then
 * on and its BARs stop decoding (bar_moved() says so). BAR space is not
 * given back to the window. Safe while vCPUs run; the caller frees @p
 * once no vCPU can be inside one of its BAR handlers (VM paused).
 */
void pci_bus_remove(struct pci_bus *bus, struct pci_dev *p);

/*
 * Configuration access to bus 0, device @slot, function @fn, at @off
 * (@len 1, 2, 4 or 8 bytes; may cross a dword). Nothing there reads
 * all ones. Takes the bus lock.
 */
void pci_config_read(struct pci_bus *bus, unsigned int slot, unsigned int fn,
		     unsigned int off, void *data, unsigned int len);
void pci_config_write(struct pci_bus *bus, unsigned int slot, unsigned int fn,
		      unsigned int off, const void *data, unsigned int len);

/*
 * Snapshots: whether @cfg (a saved configuration space) differs from
 * @p's only in bits the driver may write; and loading it, with the
 * decoding and the hooks following (bus lock taken).
 */
bool pci_config_compatible(const struct pci_dev *p, const uint8_t *cfg);
void pci_config_load(struct pci_dev *p, const uint8_t *cfg);

/* The window handlers: the BAR decoding @addr gets the access. */
void pci_window_access(struct pci_bus *bus, bool io, uint64_t addr, void *data,
		       unsigned int len, bool is_write);

/* Little-endian helpers on configuration space (no lock: set-up time). */
static inline void pci_set16(uint8_t *c, unsigned int off, uint16_t v)
{
	c[off] = (uint8_t)v;
	c[off + 1] = (uint8_t)(v >> 8);
}

static inline void pci_set32(uint8_t *c, unsigned int off, uint32_t v)
{
	pci_set16(c, off, (uint16_t)v);
	pci_set16(c, off + 2, (uint16_t)(v >> 16));
}

static inline uint16_t pci_get16(const uint8_t *c, unsigned int off)
{
	return (uint16_t)(c[off] | c[off + 1] << 8);
}

static inline uint32_t pci_get32(const uint8_t *c, unsigned int off)
{
	return pci_get16(c, off) | (uint32_t)pci_get16(c, off + 2) << 16;
}

#endif
