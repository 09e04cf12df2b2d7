/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * balance_policy.h - the decision of `vmon balance` (docs/density.md),
 * apart from its I/O so that it can be tested with made-up VMs: given each
 * VM's host memory use, guest free memory and balloon target, the new
 * balloon targets that bring the VMs' sum under a host target.
 */
#ifndef VMON_APP_BALANCE_POLICY_H
#define VMON_APP_BALANCE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BAL_MIB (1ULL << 20)

/* One VM; every amount in bytes, balloon targets whole MiB. */
struct bal_vm {
	uint64_t mem; /* guest RAM */
	uint64_t resident; /* host memory the VM uses now (its PSS) */
	uint64_t free; /* the guest's free memory (balloon stats); 0: unknown */
	uint64_t target; /* the balloon's target now */
	bool balloon; /* has a balloon: its target can move */
	uint64_t new_target; /* out: the target to set (== target: none) */
};

/*
 * Plans new balloon targets for @n VMs so that the sum of their resident
 * memory falls to @host_target:
 * - a VM whose balloon leaves it less than @floor of RAM is given back
 *   enough to have @floor (or all, if its RAM is smaller);
 * - over the target, the excess is taken by inflating balloons, from the
 *   VMs with the most free memory first, each at most its free memory;
 *   what is still missing then from the same VMs down to the floor;
 * - under the target by more than @slack, the headroom beyond @slack is
 *   given back (deflating), to the VMs with the least free memory first.
 * A VM is never asked to keep less than @floor. Returns the resident sum.
 */
uint64_t balance_plan(struct bal_vm *vms, size_t n, uint64_t host_target,
		      uint64_t floor, uint64_t slack);

#endif
