// SPDX-License-Identifier: GPL-2.0-only
/*
 * pio_mmio.c - guest test 2 (needs --test-device): port I/O and MMIO
 * exits. Writes of 1, 2 and 4 bytes to the test device's scratch register
 * (ports 0xe0-0xe3) and of 1, 2, 4 and 8 bytes to its MMIO buffer
 * (0xff000000, 64 KiB) read back as written; unassigned ports and MMIO
 * read all-ones, and writes there are dropped without stopping the guest.
 */
#include "rt.h"

#define SCRATCH 0xe0
#define IOMEM 0xff000000UL
#define IOMEM_SIZE 0x10000UL
#define NO_PORT 0x0234
#define NO_MMIO 0xfe000000UL

static void test_ports(void)
{
	outl(SCRATCH, 0x12345678);
	check(inl(SCRATCH) == 0x12345678, "4-byte port write/read: 0x%x",
	      inl(SCRATCH));
	check(inb(SCRATCH) == 0x78 && inb(SCRATCH + 1) == 0x56 &&
		      inb(SCRATCH + 2) == 0x34 && inb(SCRATCH + 3) == 0x12,
	      "1-byte reads at each offset see the little-endian bytes");
	check(inw(SCRATCH + 2) == 0x1234, "2-byte read at offset 2: 0x%x",
	      inw(SCRATCH + 2));
	outb(SCRATCH + 2, 0xab);
	check(inl(SCRATCH) == 0x12ab5678, "1-byte write at offset 2: 0x%x",
	      inl(SCRATCH));
	outw(SCRATCH, 0xbeef);
	check(inw(SCRATCH) == 0xbeef && inl(SCRATCH) == 0x12abbeef,
	      "2-byte write/read: 0x%x", inl(SCRATCH));
	outl(0xe4, 0x1000); /* flush page: accepted, no effect */
	check(inl(SCRATCH) == 0x12abbeef,
	      "flush-page port leaves scratch alone");

	check(inb(NO_PORT) == 0xff, "unassigned port, 1-byte read: 0x%x",
	      inb(NO_PORT));
	check(inw(NO_PORT) == 0xffff, "unassigned port, 2-byte read: 0x%x",
	      inw(NO_PORT));
	check(inl(NO_PORT) == 0xffffffff, "unassigned port, 4-byte read: 0x%x",
	      inl(NO_PORT));
	outl(NO_PORT, 0);
	outb(NO_PORT, 0);
	check(inl(NO_PORT) == 0xffffffff,
	      "unassigned port write dropped, guest still running");
}

static void test_mmio(void)
{
	uint64_t end = IOMEM + IOMEM_SIZE;

	mmio_write8(IOMEM, 0x5a);
	check(mmio_read8(IOMEM) == 0x5a, "1-byte MMIO write/read: 0x%x",
	      mmio_read8(IOMEM));
	mmio_write16(IOMEM + 2, 0xc0de);
	check(mmio_read16(IOMEM + 2) == 0xc0de, "2-byte MMIO write/read: 0x%x",
	      mmio_read16(IOMEM + 2));
	mmio_write32(IOMEM + 4, 0xdeadbeef);
	check(mmio_read32(IOMEM + 4) == 0xdeadbeef,
	      "4-byte MMIO write/read: 0x%x", mmio_read32(IOMEM + 4));
	mmio_write64(IOMEM + 8, 0x0123456789abcdefULL);
	check(mmio_read64(IOMEM + 8) == 0x0123456789abcdefULL,
	      "8-byte MMIO write/read: 0x%lx", mmio_read64(IOMEM + 8));
	check(mmio_read32(IOMEM) == 0xc0de005a,
	      "MMIO bytes combine little-endian: 0x%x", mmio_read32(IOMEM));
	check(mmio_read32(IOMEM + 12) == 0x01234567,
	      "4-byte read inside an 8-byte write: 0x%x",
	      mmio_read32(IOMEM + 12));
	mmio_write64(end - 8, 0xfeedfacecafef00dULL);
	check(mmio_read64(end - 8) == 0xfeedfacecafef00dULL &&
		      mmio_read8(end - 1) == 0xfe,
	      "last 8 bytes of the buffer");
	for (uint64_t off = 0x100; off < 0x10000; off += 0x1000)
		mmio_write32(IOMEM + off, (uint32_t)(off * 7 + 1));
	bool ok = true;
	for (uint64_t off = 0x100; off < 0x10000; off += 0x1000)
		ok &= mmio_read32(IOMEM + off) == (uint32_t)(off * 7 + 1);
	check(ok, "16 words across the 64 KiB buffer read back");

	check(mmio_read8(NO_MMIO) == 0xff, "unassigned MMIO, 1-byte read: 0x%x",
	      mmio_read8(NO_MMIO));
	check(mmio_read16(NO_MMIO) == 0xffff,
	      "unassigned MMIO, 2-byte read: 0x%x", mmio_read16(NO_MMIO));
	check(mmio_read32(NO_MMIO) == 0xffffffff,
	      "unassigned MMIO, 4-byte read: 0x%x", mmio_read32(NO_MMIO));
	check(mmio_read64(NO_MMIO) == ~0ULL,
	      "unassigned MMIO, 8-byte read: 0x%lx", mmio_read64(NO_MMIO));
	mmio_write32(NO_MMIO, 0);
	mmio_write64(NO_MMIO + 8, 0);
	check(mmio_read32(NO_MMIO) == 0xffffffff,
	      "unassigned MMIO write dropped, guest still running");
	check(mmio_read32(end) == 0xffffffff,
	      "just past the buffer is unassigned: 0x%x", mmio_read32(end));
}

int main(void)
{
	test_ports();
	test_mmio();
	return 0;
}
