// SPDX-License-Identifier: GPL-2.0-only
/*
 * irq-rtt.c - the guest side of bench/irq: request -> interrupt round trips
 * with a virtio-rng device, on virtio-mmio (an IOAPIC line, a GSI) or on
 * virtio-pci with MSI-X, whichever the VM has: a virtio-rng-pci function
 * (1af4:1044) on bus 0 unless the command line has a virtio-mmio entry
 * for one (vmon puts it on the PVH command line, QEMU's microvm in
 * fw_cfg's). The same ELF runs under vmon and QEMU (microvm for mmio, q35
 * for PCI).
 *
 * The driver runs in ring 3 (native on a PVM host). One request at a time:
 * a 64-byte buffer offered, the queue notified (an MMIO write: an
 * ioeventfd in both VMMs), and then
 *   poll  the device is asked for no interrupt (VRING_AVAIL_F_NO_INTERRUPT)
 *         and ring 3 polls the used ring: the request's round trip alone
 *   irq   ring 3 spins on a counter the interrupt handler bumps: the round
 *         trip including the interrupt's delivery
 * so irq minus poll is what the interrupt costs. The handler is an
 * assembly stub straight in the IDT (rt_set_gate): for mmio it writes
 * INTERRUPT_ACK (the line is level in QEMU until acknowledged; Linux's
 * handler acknowledges too), then the LAPIC EOI and the counter; for
 * MSI-X the EOI and the counter. It runs in guest ring 0, which a PVM host emulates:
 * its few instructions and the EOI's exit are in every irq figure.
 *
 * Each phase is "PHASE name start" / "PHASE name end N 0 tsc=T" (the host
 * times it), then "IRQLAT name n=N p50=.. p90=.. p99=.. min=.. max=..
 * stray=.." in TSC ticks per round trip (stray: interrupts that came in
 * the poll phase). Options: bench.n=N round trips per phase (default
 * 20000), bench.bytes=B buffer size (default 64).
 */
#include "rt.h"
#include "vdrv.h"
#include "../tests/pci_cfg.h"

#define VEC 0x50
#define WARM 200
#define MAXN 200000
#define MAXBUF 4096
#define AVAIL_F_NO_INTERRUPT 1
#define VIRTIO_ID_RNG 4
#define PCI_QSIZE 8 /* QEMU's virtio-rng queue; vmon's takes it too */

static struct vq q __attribute__((aligned(4096)));
static uint8_t buf[MAXBUF] __attribute__((aligned(64)));
static uint32_t lat[MAXN];
static uint64_t nreq = 20000, nbytes = 64;

static bool pci;
static uint64_t mmio_base, notify_addr;
static unsigned int pin;
static struct vdev v;

/* Shared with the stubs below. */
volatile uint32_t irq_count;
uint64_t irq_ack_addr;
void irq_gsi_entry(void);
void irq_msi_entry(void);

/*
 * The handlers: save RAX, (mmio) acknowledge the used-buffer interrupt,
 * EOI the LAPIC (0xfee000b0), count, return. iretq restores the flags.
 */
asm(".text\n"
    ".globl irq_gsi_entry, irq_msi_entry\n"
    "irq_gsi_entry:\n"
    "	pushq %rax\n"
    "	movq irq_ack_addr(%rip), %rax\n"
    "	movl $1, (%rax)\n"
    "	jmp 1f\n"
    "irq_msi_entry:\n"
    "	pushq %rax\n"
    "1:	movl $0xfee000b0, %eax\n"
    "	movl $0, (%rax)\n"
    "	incl irq_count(%rip)\n"
    "	popq %rax\n"
    "	iretq\n");

/*
 * Offers descriptor 0 again and notifies. Every entry of the available
 * ring is 0 (give_buffer() zeroed them), so bumping the index is enough
 * whatever the queue's size: vmon's virtio-mmio takes 16 (vdrv_init), QEMU's
 * virtio-rng-pci offers 8.
 */
static void offer(void)
{
	vdrv_barrier();
	q.avail[1]++;
	vdrv_barrier();
	if (pci)
		mmio_write16(notify_addr, 0);
	else
		vdrv_kick(mmio_base, 0);
}

/* @n timed round trips (after WARM untimed ones), @irq: by interrupt. */
static uint64_t round_trips(uint64_t irq)
{
	q.avail[0] = irq ? 0 : AVAIL_F_NO_INTERRUPT;
	for (uint64_t i = 0; i < WARM + nreq; i++) {
		uint16_t used = *(volatile uint16_t *)&q.used.idx;
		uint32_t seen = irq_count;
		uint64_t t0 = rdtsc(), t;

		offer();
		if (irq)
			while (irq_count == seen)
				cpu_relax();
		else
			while (*(volatile uint16_t *)&q.used.idx == used)
				cpu_relax();
		t = rdtsc() - t0;
		if (i >= WARM)
			lat[i - WARM] = t > ~0U ? ~0U : (uint32_t)t;
	}
	return nreq;
}

/* Heapsort of lat[0..n-1], in ring 3 (ring 0 is emulated on PVM). */
static void sift(uint64_t root, uint64_t n)
{
	for (uint64_t c; (c = 2 * root + 1) < n; root = c) {
		uint32_t t;

		if (c + 1 < n && lat[c + 1] > lat[c])
			c++;
		if (lat[root] >= lat[c])
			return;
		t = lat[root];
		lat[root] = lat[c];
		lat[c] = t;
	}
}

static uint64_t sort_lat(uint64_t n)
{
	for (uint64_t i = n / 2; i-- > 0;)
		sift(i, n);
	for (uint64_t end = n; end-- > 1;) {
		uint32_t t = lat[0];

		lat[0] = lat[end];
		lat[end] = t;
		sift(0, end);
	}
	return 0;
}

static void phase(const char *name, uint64_t irq)
{
	uint32_t before = irq_count;
	uint64_t n = nreq;

	vdrv_phase(name, round_trips, irq, 0);
	rt_user_call(sort_lat, n);
	printf("IRQLAT %s n=%lu p50=%u p90=%u p99=%u min=%u max=%u stray=%u\n",
	       name, n, lat[n / 2], lat[n * 9 / 10], lat[n * 99 / 100], lat[0],
	       lat[n - 1], irq ? 0 : irq_count - before);
}

static void give_buffer(void)
{
	memset(&q, 0, sizeof(q));
	q.desc[0].addr = (uint64_t)(uintptr_t)buf;
	q.desc[0].len = (uint32_t)nbytes;
	q.desc[0].flags = VQ_DESC_F_WRITE;
}

/* virtio-pci: MSI-X vector 1 -> VEC on this CPU, queue 0 on vector 1. */
static bool pci_init(int slot)
{
	uint64_t e;

	v.slot = (unsigned int)slot;
	cfg_write16(v.slot, 0x04, 0x6); /* memory, bus master */
	if (!check(walk_caps(&v) && v.table < (1ULL << 32) &&
			   v.common < (1ULL << 32) && v.notify < (1ULL << 32),
		   "virtio-pci at 00:%02x.0: capabilities and MSI-X below 4 GiB",
		   v.slot))
		return false;
	e = v.table + 16;
	mmio_write32(e, 0xfee00000U | rt_cpu_id() << 12);
	mmio_write32(e + 4, 0);
	mmio_write32(e + 8, VEC);
	mmio_write32(e + 12, 0);
	cfg_write16(v.slot, v.msix_cap + 2, 0x8000); /* MSI-X on */
	rt_set_gate(VEC, irq_msi_entry);
	give_buffer();
	if (!check(vpci_init(&v, q.desc, q.avail, &q.used, PCI_QSIZE, 1),
		   "virtio-pci: queue 0 on MSI-X vector 1, DRIVER_OK"))
		return false;
	mmio_write16(v.common + C_Q_SELECT, 0);
	notify_addr = v.notify + mmio_read16(v.common + C_Q_NOFF) *
					 (uint64_t)v.notify_mult;
	printf("TRANSPORT pci-msix slot=%u vector=0x%x\n", v.slot, VEC);
	return true;
}

/* virtio-mmio: the entry's IOAPIC pin -> VEC, edge-triggered, CPU 0. */
static bool mmio_init(const char *cmdline)
{
	mmio_base = vdrv_find_device_irq(cmdline, VIRTIO_ID_RNG, &pin);
	if (!check(mmio_base && pin && pin < 24,
		   "a virtio-rng device on virtio-mmio, IOAPIC pin %u", pin))
		return false;
	irq_ack_addr = mmio_base + VMMIO_INTERRUPT_ACK;
	rt_set_gate(VEC, irq_gsi_entry);
	ioapic_route(pin, VEC);
	if (!check(vdrv_init(mmio_base, &q, 1, 0), "virtio-mmio initialised"))
		return false;
	give_buffer();
	printf("TRANSPORT mmio-ioapic pin=%u vector=0x%x\n", pin, VEC);
	return true;
}

static int find_pci(void)
{
	for (unsigned int s = 0; s < 32; s++)
		if (cfg_read32(s, 0) == (0x1044U << 16 | 0x1af4))
			return (int)s;
	return -1;
}

int main(void)
{
	const char *cmdline = vdrv_boot_cmdline();
	const char *o;
	unsigned int irq;
	int slot = -1;

	if ((o = vdrv_find(cmdline, "bench.n=")))
		nreq = vdrv_num(&o);
	if ((o = vdrv_find(cmdline, "bench.bytes=")))
		nbytes = vdrv_num(&o);
	if (!check(nreq > 0 && nreq <= MAXN && nbytes > 0 && nbytes <= MAXBUF,
		   "bench.n=%lu (1..%u), bench.bytes=%lu (1..%u)", nreq, MAXN,
		   nbytes, MAXBUF))
		rt_finish();
	/* No PCI scan with a virtio-mmio rng: vmon warns of 0xcf8 then. */
	if (!vdrv_find_device_irq(cmdline, VIRTIO_ID_RNG, &irq))
		slot = find_pci();
	pci = slot >= 0;
	if (!(pci ? pci_init(slot) : mmio_init(cmdline)))
		rt_finish();
	phase("poll", 0);
	phase("irq", 1);
	check(irq_count >= nreq + WARM, "%u interrupts for %lu requests",
	      irq_count, nreq + WARM);
	rt_finish();
}
