/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vcpu.h - one virtual CPU: its KVM file descriptor, its shared run area,
 * the thread that loops on KVM_RUN, and the exit counters it owns.
 *
 * A vCPU thread owns its vcpu struct and run area while it runs; other
 * threads only set `kick` state through vcpu_kick().
 */
#ifndef VMON_VMM_VCPU_H
#define VMON_VMM_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct vm;

enum vcpu_stat {
	VCPU_STAT_IO,
	VCPU_STAT_MMIO,
	VCPU_STAT_HLT,
	VCPU_STAT_INTR,
	VCPU_STAT_OTHER,
	VCPU_STAT_NR,
};

/* Exit reasons counted one by one (KVM's are all below this). */
#define VCPU_EXIT_REASONS 64

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	int stats_fd; /* KVM_GET_STATS_FD, opened before the thread runs */
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	atomic_int tid; /* the thread's Linux TID once running, else 0 */
	/* KVM's dirty ring (dirty_ring.c), NULL without; next entry to take */
	struct kvm_dirty_gfn *dirty_ring;
	uint32_t dirty_fetch;
	pthread_mutex_t dirty_lock; /* the harvest: collector or vCPU */
	/* Written by the vCPU thread only; read by metrics (relaxed). */
	uint64_t stats[VCPU_STAT_NR];
	uint64_t exits[VCPU_EXIT_REASONS];
	/* vm_wake(): where the vCPU restarts before its next KVM_RUN */
	atomic_bool wake_pending;
	int wake_mode;
	uint64_t wake_entry;
};

/* The name of KVM exit reason @reason ("IO", "MMIO"...), or "?". */
const char *vcpu_exit_name(unsigned int reason);
/* Reads a counter another thread updates. */
static inline uint64_t vcpu_counter(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

int vcpu_create(struct vcpu *vcpu, struct vm *vm, unsigned int id);
void vcpu_destroy(struct vcpu *vcpu);
int vcpu_start(struct vcpu *vcpu);
/* Makes the vCPU leave KVM_RUN soon (async-signal-safe kick). */
void vcpu_kick(struct vcpu *vcpu);
void vcpu_join(struct vcpu *vcpu);

/*
 * The vCPU running on the calling thread, or NULL: lets a bus callback
 * (which runs on the vCPU thread that exited) reach the vCPU's registers.
 */
struct vcpu *vcpu_current(void);

/* The signal used to kick vCPU threads out of KVM_RUN. */
int vcpu_signals_init(void);

/*
 * Prints the report of a fatal exit on stderr: reason, RIP, CPL, the
 * instruction bytes at RIP, registers and, if given, a hint.
 */
void vcpu_report(struct vcpu *vcpu, const char *reason, const uint8_t *insn,
		 unsigned int insn_len);

#endif
