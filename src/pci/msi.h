/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * msi.h - the VM's MSI routes (KVM GSI routing): GSIs above the interrupt
 * controller's, each routed to one MSI message (address, data) by
 * KVM_SET_GSI_ROUTING, the table always holding the controller's own
 * routes (arch_irqchip_routes()) too. A device signals a GSI through an
 * irqfd on it.
 */
#ifndef VMON_PCI_MSI_H
#define VMON_PCI_MSI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct vm;

#define MSI_MAX_ROUTES 256 /* 16 devices of 16 vectors */

struct msi_routes {
	struct vm *vm;
	pthread_mutex_t lock;
	unsigned int first; /* the first MSI GSI */
	unsigned int limit; /* GSIs KVM allows (KVM_CAP_IRQ_ROUTING) */
	unsigned int nr; /* allocated: first .. first + nr - 1 */
	struct {
		uint64_t addr;
		uint32_t data;
		bool set;
		bool freed; /* given back (hot unplug): the next to reuse */
	} r[MSI_MAX_ROUTES];
	unsigned int updates; /* KVM_SET_GSI_ROUTING calls (tests) */
};

/* 0, or -1 (logged: KVM without GSI routing). No KVM call if vm->fd < 0. */
int msi_routes_init(struct msi_routes *m, struct vm *vm);
void msi_routes_fini(struct msi_routes *m);

/* A new GSI for @who's vector; -1 with the limit logged if none is left. */
int msi_gsi_alloc(struct msi_routes *m, const char *who);
/*
 * Hot unplug: gives @gsi back (no irqfd on it any more); its route goes
 * from KVM's table, and a later msi_gsi_alloc() reuses it.
 */
void msi_gsi_free(struct msi_routes *m, unsigned int gsi);

/*
 * Routes @gsi to the message (@addr, @data), or takes its route away
 * (@set false). 0, or -1 (logged). Any thread; blocks on KVM briefly.
 */
int msi_route_set(struct msi_routes *m, unsigned int gsi, uint64_t addr,
		  uint32_t data, bool set);

/* Whether @addr is one the LAPICs take (0xfeexxxxx). */
static inline bool msi_addr_valid(uint64_t addr)
{
	return (addr & ~0xfffffULL) == 0xfee00000ULL;
}

#endif
