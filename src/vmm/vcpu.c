// SPDX-License-Identifier: GPL-2.0-only
/*
 * vcpu.c - the vCPU thread: KVM_RUN in a loop, each exit dispatched to the
 * I/O buses or turned into a VM stop with a report. No exit is ignored:
 * every reason KVM can return is either handled here or reported.
 */
#include "vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../arch/arch.h"
#include "../util/log.h"
#include "../util/seccomp.h"
#include "dirty.h"
#include "exitcode.h"
#include "vm.h"

/* Classes for log_once(): one message per (class, address). */
enum { ONCE_PIO = 1, ONCE_MMIO, ONCE_EXIT };

#define KICK_SIGNAL (SIGRTMIN)

/* The vCPU whose thread this is (NULL on other threads). */
static __thread struct vcpu *current_vcpu;

struct vcpu *vcpu_current(void)
{
	return current_vcpu;
}

static void kick_handler(int sig)
{
	(void)sig;
}

int vcpu_signals_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: KVM_RUN must return with EINTR. */
	return sigaction(KICK_SIGNAL, &sa, NULL);
}

int vcpu_create(struct vcpu *vcpu, struct vm *vm, unsigned int id)
{
	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->stats_fd = -1;
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0) {
		pr_err("vcpu%u: KVM_CREATE_VCPU: %s", id, strerror(errno));
		return -1;
	}
	vcpu->run = mmap(NULL, (size_t)vm->kvm->run_size,
			 PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		pr_err("vcpu%u: mmap of the run area: %s", id, strerror(errno));
		vcpu->run = NULL;
		close(vcpu->fd);
		vcpu->fd = -1;
		return -1;
	}
	/*
	 * Opened now: while the thread is in KVM_RUN, a vCPU ioctl waits for
	 * the vCPU's mutex. -1 (no metrics from KVM) on old kernels.
	 */
	vcpu->stats_fd = ioctl(vcpu->fd, KVM_GET_STATS_FD, NULL);
	return dirty_ring_map(vcpu);
}

void vcpu_destroy(struct vcpu *vcpu)
{
	dirty_ring_unmap(vcpu);
	if (vcpu->run)
		munmap(vcpu->run, (size_t)vcpu->vm->kvm->run_size);
	vcpu->run = NULL;
	if (vcpu->stats_fd >= 0)
		close(vcpu->stats_fd);
	vcpu->stats_fd = -1;
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->fd = -1;
}

static const char *const exit_names[] = {
	[KVM_EXIT_UNKNOWN] = "UNKNOWN",
	[KVM_EXIT_EXCEPTION] = "EXCEPTION",
	[KVM_EXIT_IO] = "IO",
	[KVM_EXIT_HYPERCALL] = "HYPERCALL",
	[KVM_EXIT_DEBUG] = "DEBUG",
	[KVM_EXIT_HLT] = "HLT",
	[KVM_EXIT_MMIO] = "MMIO",
	[KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
	[KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
	[KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
	[KVM_EXIT_INTR] = "INTR",
	[KVM_EXIT_SET_TPR] = "SET_TPR",
	[KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
	[KVM_EXIT_S390_SIEIC] = "S390_SIEIC",
	[KVM_EXIT_S390_RESET] = "S390_RESET",
	[KVM_EXIT_DCR] = "DCR",
	[KVM_EXIT_NMI] = "NMI",
	[KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
	[KVM_EXIT_OSI] = "OSI",
	[KVM_EXIT_PAPR_HCALL] = "PAPR_HCALL",
	[KVM_EXIT_S390_UCONTROL] = "S390_UCONTROL",
	[KVM_EXIT_WATCHDOG] = "WATCHDOG",
	[KVM_EXIT_S390_TSCH] = "S390_TSCH",
	[KVM_EXIT_EPR] = "EPR",
	[KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
	[KVM_EXIT_S390_STSI] = "S390_STSI",
	[KVM_EXIT_IOAPIC_EOI] = "IOAPIC_EOI",
	[KVM_EXIT_HYPERV] = "HYPERV",
	[KVM_EXIT_ARM_NISV] = "ARM_NISV",
	[KVM_EXIT_X86_RDMSR] = "X86_RDMSR",
	[KVM_EXIT_X86_WRMSR] = "X86_WRMSR",
	[KVM_EXIT_DIRTY_RING_FULL] = "DIRTY_RING_FULL",
	[KVM_EXIT_AP_RESET_HOLD] = "AP_RESET_HOLD",
	[KVM_EXIT_X86_BUS_LOCK] = "X86_BUS_LOCK",
	[KVM_EXIT_XEN] = "XEN",
	[KVM_EXIT_RISCV_SBI] = "RISCV_SBI",
	[KVM_EXIT_RISCV_CSR] = "RISCV_CSR",
	[KVM_EXIT_NOTIFY] = "NOTIFY",
};

const char *vcpu_exit_name(unsigned int reason)
{
	if (reason < sizeof(exit_names) / sizeof(*exit_names) &&
	    exit_names[reason])
		return exit_names[reason];
	return "?";
}

static void handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	bool out = run->io.direction == KVM_EXIT_IO_OUT;
	uint8_t *p = (uint8_t *)run + run->io.data_offset;

	for (uint32_t i = 0; i < run->io.count; i++, p += run->io.size) {
		if (!bus_access(&vcpu->vm->pio, run->io.port, p, run->io.size,
				out))
			log_once(ONCE_PIO, run->io.port,
				 "vcpu%u: unhandled port %s 0x%x (%u bytes)%s",
				 vcpu->id, out ? "write to" : "read from",
				 run->io.port, run->io.size,
				 out ? ", dropped" : ", reads all-ones");
	}
}

static void handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	unsigned int len = run->mmio.len;

	if (len > sizeof(run->mmio.data))
		len = sizeof(run->mmio.data);
	if (!bus_access(&vcpu->vm->mmio, run->mmio.phys_addr, run->mmio.data,
			len, run->mmio.is_write))
		log_once(ONCE_MMIO, run->mmio.phys_addr,
			 "vcpu%u: unhandled MMIO %s 0x%llx (%u bytes)%s",
			 vcpu->id,
			 run->mmio.is_write ? "write to" : "read from",
			 (unsigned long long)run->mmio.phys_addr, len,
			 run->mmio.is_write ? ", dropped" : ", reads all-ones");
}

static void fatal_exit(struct vcpu *vcpu, int code, const char *reason)
{
	/* Only the first fatal exit reports: the others are consequences. */
	if (!vm_stopping(vcpu->vm))
		vcpu_report(vcpu, reason, NULL, 0);
	vm_request_stop(vcpu->vm, code, NULL);
}

static void handle_internal_error(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	char why[160];

	if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
		const uint8_t *insn = NULL;
		unsigned int len = 0;

		if (run->emulation_failure.ndata >= 3 &&
		    (run->emulation_failure.flags &
		     KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
			insn = run->emulation_failure.insn_bytes;
			len = run->emulation_failure.insn_size;
			if (len > sizeof(run->emulation_failure.insn_bytes))
				len = sizeof(run->emulation_failure.insn_bytes);
		}
		if (!vm_stopping(vcpu->vm))
			vcpu_report(
				vcpu,
				"emulation failure: KVM cannot emulate the instruction at RIP",
				insn, len);
		vm_request_stop(vcpu->vm, EXIT_EMULATION, NULL);
		return;
	}
	snprintf(why, sizeof(why), "KVM internal error, suberror %u",
		 run->internal.suberror);
	for (uint32_t i = 0; i < run->internal.ndata && i < 4; i++) {
		size_t l = strlen(why);

		snprintf(why + l, sizeof(why) - l, " data[%u]=0x%llx", i,
			 (unsigned long long)run->internal.data[i]);
	}
	fatal_exit(vcpu, EXIT_ENTRY_FAILED, why);
}

static inline void count(uint64_t *c)
{
	__atomic_store_n(c, *c + 1, __ATOMIC_RELAXED);
}

/* Returns true when the vCPU thread must stop. */
static bool handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	char why[128];

	if (run->exit_reason < VCPU_EXIT_REASONS)
		count(&vcpu->exits[run->exit_reason]);
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		count(&vcpu->stats[VCPU_STAT_IO]);
		handle_io(vcpu);
		return false;
	case KVM_EXIT_MMIO:
		count(&vcpu->stats[VCPU_STAT_MMIO]);
		handle_mmio(vcpu);
		return false;
	case KVM_EXIT_INTR:
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		count(&vcpu->stats[VCPU_STAT_INTR]);
		return false;
	case KVM_EXIT_SHUTDOWN:
		fatal_exit(vcpu, EXIT_TRIPLE_FAULT,
			   "triple fault (KVM_EXIT_SHUTDOWN)");
		return true;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(why, sizeof(why),
			 "VM entry failed, hardware reason 0x%llx",
			 (unsigned long long)
				 run->fail_entry.hardware_entry_failure_reason);
		fatal_exit(vcpu, EXIT_ENTRY_FAILED, why);
		return true;
	case KVM_EXIT_INTERNAL_ERROR:
		handle_internal_error(vcpu);
		return true;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			vm_request_stop(vcpu->vm, EXIT_OK, "guest powered off");
			return true;
		case KVM_SYSTEM_EVENT_RESET:
			vm_request_stop(vcpu->vm, EXIT_OK, "guest reset");
			return true;
		default:
			snprintf(why, sizeof(why), "guest system event %u",
				 run->system_event.type);
			fatal_exit(vcpu, EXIT_GUEST_CRASH, why);
			return true;
		}
	case KVM_EXIT_X86_RDMSR:
	case KVM_EXIT_X86_WRMSR:
		/* Not enabled by vmon; answer #GP as an absent MSR would. */
		log_once(ONCE_EXIT, run->exit_reason,
			 "vcpu%u: unexpected MSR exit for 0x%x, injecting #GP",
			 vcpu->id, run->msr.index);
		run->msr.error = 1;
		return false;
	case KVM_EXIT_HYPERCALL:
		log_once(ONCE_EXIT, run->exit_reason,
			 "vcpu%u: hypercall %llu not implemented", vcpu->id,
			 (unsigned long long)run->hypercall.nr);
		run->hypercall.ret = (uint64_t)-1000; /* -KVM_ENOSYS */
		return false;
	case KVM_EXIT_DIRTY_RING_FULL:
		/* Harvested before the vCPU may enter again. */
		if (!dirty_ring_full(vcpu))
			return false;
		fatal_exit(vcpu, EXIT_UNEXPECTED,
			   "the dirty ring is full and cannot be reset");
		return true;
	case KVM_EXIT_DEBUG:
		log_once(ONCE_EXIT, run->exit_reason,
			 "vcpu%u: unexpected debug exit, continuing", vcpu->id);
		return false;
	default:
		/*
		 * HLT (the in-kernel LAPIC handles it), TPR, NMI, exception
		 * and all other exits are impossible with the
		 * capabilities vmon enables: report and stop, never spin.
		 */
		snprintf(why, sizeof(why),
			 "unexpected exit reason %u (KVM_EXIT_%s)",
			 run->exit_reason, vcpu_exit_name(run->exit_reason));
		fatal_exit(vcpu, EXIT_UNEXPECTED, why);
		return true;
	}
}

/*
 * Parks the calling vCPU thread while a pause is requested. Called between
 * two KVM_RUNs, so the vCPU is at an instruction boundary with no exit
 * left half-handled.
 */
static void park(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	pthread_mutex_lock(&vm->pause_lock);
	vm->nr_parked++;
	pthread_cond_broadcast(&vm->pause_cond);
	while ((atomic_load(&vm->pause_req) || atomic_load(&vm->asleep)) &&
	       !vm_stopping(vm))
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	vm->nr_parked--;
	pthread_mutex_unlock(&vm->pause_lock);
	if (!vm_stopping(vm) && !atomic_load(&vm->pause_req) &&
	    atomic_exchange(&vcpu->wake_pending, false) &&
	    arch_vcpu_wake(vcpu, vcpu->wake_mode, vcpu->wake_entry)) {
		pr_err("vcpu%u: cannot restart it for the resume: %s", vcpu->id,
		       strerror(errno));
		vm_request_stop(vm, EXIT_UNEXPECTED, NULL);
	}
}

/* A pause, a suspend (S3) or a resume from it wants the vCPU parked. */
static bool must_park(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	return atomic_load(&vm->pause_req) || atomic_load(&vm->asleep) ||
	       atomic_load(&vcpu->wake_pending);
}

/*
 * The first KVM_RUN since the last vm_resume() (or ever): its time. The
 * very first of the process is also logged at debug level with the CPU
 * the whole process used until then: process start to the guest's first
 * instruction (bench/start_cpu.py --first).
 */
static void mark_run(struct vcpu *vcpu)
{
	static atomic_bool first_logged;
	struct vm *vm = vcpu->vm;
	struct timespec ts;

	if (atomic_load(&vm->run_ns))
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	atomic_store(&vm->run_ns, (uint64_t)ts.tv_sec * 1000000000ULL +
					  (uint64_t)ts.tv_nsec);
	if (log_level >= LOG_DEBUG && !atomic_exchange(&first_logged, true)) {
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
		pr_debug("vcpu%u: first KVM_RUN after %.3f ms of process CPU",
			 vcpu->id, ts.tv_sec * 1e3 + ts.tv_nsec / 1e6);
	}
}

static void thread_exit(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	pthread_mutex_lock(&vm->pause_lock);
	vm->nr_running--;
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	bool exited = false; /* the last KVM_RUN returned with an exit */
	char name[16];
	sigset_t set;

	current_vcpu = vcpu;
	snprintf(name, sizeof(name), "vcpu%u", vcpu->id);
	pthread_setname_np(pthread_self(), name);
	seccomp_thread_enter(THREAD_VCPU);
	sigemptyset(&set);
	sigaddset(&set, KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	atomic_store(&vcpu->tid, (int)gettid());

	while (!vm_stopping(vm)) {
		if (must_park(vcpu)) {
			/*
			 * An I/O or MMIO exit completes on the next KVM_RUN:
			 * with immediate_exit set, KVM finishes the pending
			 * instruction and returns at once, so the vCPU parks
			 * between two instructions.
			 */
			if (exited) {
				vcpu->run->immediate_exit = 1;
				if (ioctl(vcpu->fd, KVM_RUN, 0) == 0 &&
				    handle_exit(vcpu))
					break;
				vcpu->run->immediate_exit = 0;
				exited = false;
			}
			park(vcpu);
			continue;
		}
		exited = false;
		mark_run(vcpu);
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				vcpu->run->immediate_exit = 0;
				count(&vcpu->stats[VCPU_STAT_INTR]);
				continue;
			}
			pr_err("vcpu%u: KVM_RUN: %s", vcpu->id,
			       strerror(errno));
			vm_request_stop(vm, EXIT_UNEXPECTED, NULL);
			break;
		}
		exited = true;
		if (handle_exit(vcpu))
			break;
	}
	thread_exit(vcpu);
	return NULL;
}

int vcpu_start(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	int err;

	pthread_mutex_lock(&vm->pause_lock);
	vm->nr_running++;
	pthread_mutex_unlock(&vm->pause_lock);
	err = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
	if (err) {
		thread_exit(vcpu);
		pr_err("vcpu%u: cannot start thread: %s", vcpu->id,
		       strerror(err));
		return -1;
	}
	vcpu->thread_started = true;
	return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
	if (!vcpu->thread_started)
		return;
	vcpu->run->immediate_exit = 1;
	pthread_kill(vcpu->thread, KICK_SIGNAL);
}

void vcpu_join(struct vcpu *vcpu)
{
	if (!vcpu->thread_started)
		return;
	pthread_join(vcpu->thread, NULL);
	vcpu->thread_started = false;
}
