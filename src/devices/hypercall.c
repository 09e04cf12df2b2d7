// SPDX-License-Identifier: GPL-2.0-only
/*
 * hypercall.c - vmon's paravirtual call ABI (docs/hypercalls.md): a 4-byte
 * write of the function number to port 0x0e80 (the doorbell) from guest
 * ring 0, arguments in RBX, RCX, RSI, RDI, the result in RAX. Port I/O
 * reaches user space on every KVM backend, unlike vmcall/vmmcall (which
 * KVM answers itself, or never returns from on a PVM host).
 * Owns nothing but its port; state lives in the VM.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "../util/bounds.h"
#include "../util/log.h"
#include "../vmm/exitcode.h"
#include "../vmm/vcpu.h"
#include "../vmm/vm.h"
#include "devices.h"
#include "hypercall.h"

/* Class for log_once(), distinct from the other users. */
enum { ONCE_HC = 0x4863 };

/*
 * Guest prints reach vmon's log at most HC_PRINT_PER_S lines a second;
 * the rest are counted and summarised once the second is over
 * (docs/limits.md). One VM per process: the window is the process's.
 */
#define HC_PRINT_PER_S 50

static struct {
	pthread_mutex_t lock;
	time_t second; /* the window (CLOCK_MONOTONIC seconds) */
	unsigned int lines; /* printed in it */
	uint64_t suppressed; /* not printed since the last summary */
} print_rl = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* True if one more guest line may be logged now. */
static bool print_allowed(void)
{
	struct timespec ts;
	uint64_t dropped = 0;
	bool ok;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	pthread_mutex_lock(&print_rl.lock);
	if (ts.tv_sec != print_rl.second) {
		print_rl.second = ts.tv_sec;
		print_rl.lines = 0;
		dropped = print_rl.suppressed;
		print_rl.suppressed = 0;
	}
	ok = print_rl.lines < HC_PRINT_PER_S;
	if (ok)
		print_rl.lines++;
	else
		print_rl.suppressed++;
	if (!ok)
		bound_hit(BOUND_HC_PRINT_RATE);
	pthread_mutex_unlock(&print_rl.lock);
	if (dropped)
		pr_note("guest: %llu print hypercalls suppressed (at most %d lines a second)",
			(unsigned long long)dropped, HC_PRINT_PER_S);
	return ok;
}

static uint64_t version_word(void)
{
	unsigned int major = 0, minor = 0, patch = 0;

	if (sscanf(VMON_VERSION, "%u.%u.%u", &major, &minor, &patch) < 1)
		return 0;
	return (uint64_t)(major & 0xff) << 16 | (minor & 0xff) << 8 |
	       (patch & 0xff);
}

/* Prints guest text on one line; control characters become '?'. */
static uint64_t hc_print(struct vm *vm, uint64_t gpa, uint64_t len)
{
	char buf[VMON_HC_PRINT_MAX + 1];

	if (len > VMON_HC_PRINT_MAX)
		return (uint64_t)-EINVAL;
	if (gmem_read(&vm->mem, gpa, buf, len))
		return (uint64_t)-EFAULT;
	for (uint64_t i = 0; i < len; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = '?';
	buf[len] = 0;
	if (print_allowed())
		pr_note("guest: %s", buf);
	return len;
}

static uint64_t hc_shutdown(struct vm *vm, uint64_t status)
{
	char why[64];

	if (status > VMON_HC_SHUTDOWN_MAX)
		return (uint64_t)-EINVAL;
	snprintf(why, sizeof(why), "guest shut down with status %llu",
		 (unsigned long long)status);
	vm_request_stop(vm, status ? (int)(status << 1 | 1) : EXIT_OK, why);
	return 0;
}

uint64_t hypercall_dispatch(struct vm *vm, uint64_t nr, uint64_t a0,
			    uint64_t a1, uint64_t a2, uint64_t a3)
{
	switch (nr) {
	case VMON_HC_VERSION:
		return version_word();
	case VMON_HC_FEATURES:
		return VMON_HC_FEATURE_MASK;
	case VMON_HC_PRINT:
		return hc_print(vm, a0, a1);
	case VMON_HC_SHUTDOWN:
		return hc_shutdown(vm, a0);
	case VMON_HC_PING:
		return a0 + 2 * a1 + 3 * a2 + 4 * a3;
	default:
		return (uint64_t)-ENOSYS;
	}
}

static void doorbell_write(void *opaque, uint64_t off, const void *data,
			   unsigned int len)
{
	struct vm *vm = opaque;
	struct vcpu *vcpu = vcpu_current();
	struct kvm_regs r;

	if (off != 0 || len != 4 || !vcpu) {
		log_once(
			ONCE_HC, off,
			"hypercall: %u-byte write to port 0x%llx ignored (4-byte writes to 0x%x only)",
			len, (unsigned long long)(VMON_HC_PORT + off),
			VMON_HC_PORT);
		return;
	}
	/*
	 * The OUT instruction has not completed yet (or, when KVM emulated
	 * it, has): either way KVM_SET_REGS with the RIP read here only
	 * changes RAX, and KVM finishes the instruction on the next KVM_RUN.
	 */
	if (ioctl(vcpu->fd, KVM_GET_REGS, &r)) {
		log_once(ONCE_HC, 0x100, "vcpu%u: hypercall: KVM_GET_REGS: %s",
			 vcpu->id, strerror(errno));
		return;
	}
	r.rax = hypercall_dispatch(vm, (uint32_t)bus_get(data, len), r.rbx,
				   r.rcx, r.rsi, r.rdi);
	if (ioctl(vcpu->fd, KVM_SET_REGS, &r))
		log_once(ONCE_HC, 0x101, "vcpu%u: hypercall: KVM_SET_REGS: %s",
			 vcpu->id, strerror(errno));
}

static const struct bus_ops doorbell_ops = {
	.write = doorbell_write,
};

int hypercall_create(struct vm *vm)
{
	/* No state: registered so that every device is in the registry. */
	if (!vm_add_device(vm, DEVICE_HYPERCALL, &device_stateless_ops, vm))
		return -1;
	return vm_register_pio(vm, VMON_HC_PORT, 4, &doorbell_ops, vm,
			       "hypercall");
}
