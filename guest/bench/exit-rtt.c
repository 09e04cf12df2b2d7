// SPDX-License-Identifier: GPL-2.0-only
/*
 * exit-rtt.c - the guest side of bench/all's exit round-trip figure: the
 * TSC cycles one VM exit costs, for an access the VMM handles in user space
 * against the same kind of access KVM handles in the kernel, so the host
 * side can compute the part the VMM adds (user minus kernel). Needs the
 * test device (vmon --test-device, QEMU -device pc-testdev). Accesses:
 *   loop         the measuring loop alone, no exit (its own cost)
 *   pio-user     4-byte read of the test device's scratch port 0xe0
 *   pio-kernel   1-byte read of the PIC's mask register (port 0x21, the
 *                in-kernel irqchip)
 *   mmio-user    4-byte read of the test device's MMIO buffer 0xff000000
 *   mmio-kernel  4-byte read of the local APIC's ID register (in-kernel)
 * from ring 0 (all) and from ring 3 (the MMIO ones and the loop: ring 3
 * runs with IOPL 0, so its port accesses would fault). Each figure is the
 * fewest cycles per access over REPS batches of BATCH accesses (the best of
 * many short batches finds one no host preemption hit). Prints
 * "EXIT ring name cycles" per figure, then exits through debug-exit.
 */
#include "rt.h"

#define BATCH 64
#define REPS 40
#define SCRATCH_PORT 0xe0
#define PIC_MASTER_IMR 0x21
#define TESTDEV_MMIO 0xff000000UL

enum kind { LOOP, PIO_USER, PIO_KERNEL, MMIO_USER, MMIO_KERNEL, NKINDS };

static const char *const names[NKINDS] = {
	"loop", "pio-user", "pio-kernel", "mmio-user", "mmio-kernel",
};

/*
 * One batch of BATCH accesses of one kind, a loop of its own per kind so
 * that the loop around the access is as short as it can be (ring-0 code is
 * emulated on a PVM host: every instruction of the loop counts).
 */
#define BATCH_OF(name, access)                  \
	static void name(void)                  \
	{                                       \
		for (int i = 0; i < BATCH; i++) \
			access;                 \
	}
BATCH_OF(batch_loop, asm volatile("" ::: "memory"))
BATCH_OF(batch_pio_user, (void)inl(SCRATCH_PORT))
BATCH_OF(batch_pio_kernel, (void)inb(PIC_MASTER_IMR))
BATCH_OF(batch_mmio_user, (void)mmio_read32(TESTDEV_MMIO))
BATCH_OF(batch_mmio_kernel, (void)mmio_read32(LAPIC_BASE + LAPIC_ID))

static void (*const batches[NKINDS])(void) = {
	batch_loop,	 batch_pio_user,    batch_pio_kernel,
	batch_mmio_user, batch_mmio_kernel,
};

/* The fewest cycles per access of kind @k over REPS batches. */
static uint64_t measure(uint64_t k)
{
	uint64_t best = ~0ULL;

	for (int r = 0; r < REPS; r++) {
		uint64_t t0 = rdtsc();

		batches[k]();
		t0 = rdtsc() - t0;
		if (t0 < best)
			best = t0;
	}
	return best / BATCH;
}

int main(void)
{
	for (int k = 0; k < NKINDS; k++)
		printf("EXIT ring0 %s %lu\n", names[k], measure((uint64_t)k));
	for (int k = 0; k < NKINDS; k++) {
		if (k == PIO_USER || k == PIO_KERNEL)
			continue;
		printf("EXIT ring3 %s %lu\n", names[k],
		       rt_user_call(measure, (uint64_t)k));
	}
	rt_exit(RT_PASS);
}
