/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * msix.h - MSI-X for a PCI function (PCI 3.0, 6.8.2): the capability, the
 * vector table and pending bit array in a BAR, per-vector and function
 * masks, and delivery: each vector has a GSI routed to its message
 * (msi.h) and an irqfd, so a device signals it by writing an eventfd.
 * A vector masked when it fires gets its pending bit, delivered when it
 * is unmasked.
 *
 * Locking: x->lock, taken inside the bus lock (configuration writes) and
 * inside the device model's lock (msix_notify()).
 */
#ifndef VMON_PCI_MSIX_H
#define VMON_PCI_MSIX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct pci_dev;
struct msi_routes;

#define MSIX_MAX_VECTORS 32
#define MSIX_ENTRY_SIZE 16
#define MSIX_CTRL_ENABLE 0x8000
#define MSIX_CTRL_MASKALL 0x4000
#define MSIX_VECTOR_MASKED 1

struct msix {
	pthread_mutex_t lock;
	struct pci_dev *pdev;
	unsigned int cap; /* the capability's offset */
	unsigned int nr; /* vectors */
	uint8_t table[MSIX_MAX_VECTORS * MSIX_ENTRY_SIZE];
	uint16_t ctrl; /* the capability's Message Control, cached */
	uint64_t pba;
	struct msi_routes *routes;
	int gsi[MSIX_MAX_VECTORS];
	int fd[MSIX_MAX_VECTORS]; /* eventfds, irqfds on gsi[] with KVM */
	bool irqfd[MSIX_MAX_VECTORS];
	uint64_t fired; /* messages sent (tests, statistics) */
};

/*
 * Adds the capability to @p (before pci_bus_add()) for @nr vectors with
 * the table at @table_off and the PBA at @pba_off of BAR @bar, takes a
 * GSI from @routes and an irqfd per vector. 0, or -1 (logged: no GSI left,
 * no room, eventfd or irqfd failure); msix_fini() then frees what was set.
 */
int msix_init(struct msix *x, struct pci_dev *p, struct msi_routes *routes,
	      unsigned int nr, unsigned int bar, uint32_t table_off,
	      uint32_t pba_off);
void msix_fini(struct msix *x);
/*
 * Hot unplug, before msix_fini(): the vectors' irqfds go and their GSIs
 * are given back to the routes (msi_gsi_free()).
 */
void msix_release(struct msix *x);

bool msix_enabled(struct msix *x);
/*
 * Signals vector @v: sent now, or left pending if masked. Returns false
 * if MSI-X is off (the caller falls back to INTx) or @v is no vector.
 */
bool msix_notify(struct msix *x, unsigned int v);
/* Back to the reset state: off, every vector masked, nothing pending. */
void msix_reset(struct msix *x);

/*
 * Snapshots: whether a saved table (@nr vectors) and PBA fit @x; loading
 * them (before the configuration space, whose enable and mask bits then
 * route the unmasked vectors).
 */
bool msix_state_valid(const struct msix *x, const uint8_t *table, uint64_t pba);
void msix_load(struct msix *x, const uint8_t *table, uint64_t pba);

/* The table and PBA: @off inside each; 4- and 8-byte accesses. */
void msix_table_read(struct msix *x, uint64_t off, void *data,
		     unsigned int len);
void msix_table_write(struct msix *x, uint64_t off, const void *data,
		      unsigned int len);
void msix_pba_read(struct msix *x, uint64_t off, void *data, unsigned int len);
/* A configuration write at @off of @len bytes (bus lock held). */
void msix_config_written(struct msix *x, unsigned int off, unsigned int len);

#endif
