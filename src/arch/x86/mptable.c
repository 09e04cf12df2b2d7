// SPDX-License-Identifier: GPL-2.0-only
/*
 * mptable.c - MP floating pointer and configuration table (MP spec 1.4):
 * one processor entry per vCPU, an ISA bus, the IOAPIC, 1:1 ISA interrupt
 * routing, and LINT0 = ExtINT / LINT1 = NMI.
 */
#include "mptable.h"

#include <string.h>

#include "layout.h"

struct mpf {
	char sig[4];
	uint32_t physptr;
	uint8_t length;
	uint8_t spec_rev;
	uint8_t checksum;
	uint8_t feature[5];
} __attribute__((packed));

struct mpc_header {
	char sig[4];
	uint16_t length;
	uint8_t spec_rev;
	uint8_t checksum;
	char oem[8];
	char product[12];
	uint32_t oem_ptr;
	uint16_t oem_size;
	uint16_t count;
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

struct mpc_cpu {
	uint8_t type;
	uint8_t apic_id;
	uint8_t apic_ver;
	uint8_t flags;
	uint32_t signature;
	uint32_t features;
	uint32_t reserved[2];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type;
	uint8_t id;
	char name[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type;
	uint8_t id;
	uint8_t ver;
	uint8_t flags;
	uint32_t addr;
} __attribute__((packed));

struct mpc_intsrc {
	uint8_t type;
	uint8_t irqtype;
	uint16_t flags;
	uint8_t srcbus;
	uint8_t srcbusirq;
	uint8_t dstapic;
	uint8_t dstirq;
} __attribute__((packed));

enum { MP_CPU, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };
enum { MP_INT = 0, MP_NMI = 1, MP_EXTINT = 3 };

_Static_assert(sizeof(struct mpf) == 16, "mpf");
_Static_assert(sizeof(struct mpc_header) == 44, "mpc");
_Static_assert(sizeof(struct mpc_cpu) == 20, "cpu");

static uint8_t checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return (uint8_t)-sum;
}

size_t mptable_size(unsigned int ncpus)
{
	return sizeof(struct mpf) + sizeof(struct mpc_header) +
	       ncpus * sizeof(struct mpc_cpu) + sizeof(struct mpc_bus) +
	       sizeof(struct mpc_ioapic) +
	       (MPTABLE_NR_IRQS + 2) * sizeof(struct mpc_intsrc);
}

/* One processor entry per vCPU; vCPU 0 is the bootstrap processor. */
static uint8_t *put_cpus(uint8_t *p, unsigned int ncpus)
{
	for (unsigned int i = 0; i < ncpus; i++) {
		struct mpc_cpu *c = (struct mpc_cpu *)p;

		c->type = MP_CPU;
		c->apic_id = (uint8_t)i;
		c->apic_ver = 0x14;
		c->flags = 1 | (i == 0 ? 2 : 0); /* enabled, BSP */
		c->signature = 0x600; /* family 6 */
		c->features = 0x201; /* FPU, APIC */
		p += sizeof(*c);
	}
	return p;
}

/* The ISA bus (id 0) and the IOAPIC. */
static uint8_t *put_bus_ioapic(uint8_t *p, uint8_t ioapic_id)
{
	struct mpc_bus *b = (struct mpc_bus *)p;
	struct mpc_ioapic *io = (struct mpc_ioapic *)(b + 1);

	b->type = MP_BUS;
	b->id = 0;
	memcpy(b->name, "ISA   ", 6);
	io->type = MP_IOAPIC;
	io->id = ioapic_id;
	io->ver = 0x11;
	io->flags = 1;
	io->addr = (uint32_t)IOAPIC_ADDR;
	return (uint8_t *)(io + 1);
}

/*
 * ISA IRQ n to IOAPIC pin n (IRQ 0 to @irq0_pin), then LINT0 = ExtINT and
 * LINT1 = NMI.
 */
static uint8_t *put_intsrcs(uint8_t *p, uint8_t ioapic_id, uint8_t irq0_pin)
{
	for (unsigned int irq = 0; irq < MPTABLE_NR_IRQS; irq++) {
		struct mpc_intsrc *s = (struct mpc_intsrc *)p;

		s->type = MP_INTSRC;
		s->irqtype = MP_INT;
		s->flags = 0; /* conforms to the bus: ISA, edge, active high */
		s->srcbus = 0;
		s->srcbusirq = (uint8_t)irq;
		s->dstapic = ioapic_id;
		s->dstirq = irq ? (uint8_t)irq : irq0_pin;
		p += sizeof(*s);
	}
	for (unsigned int lint = 0; lint < 2; lint++) {
		struct mpc_intsrc *s = (struct mpc_intsrc *)p;

		s->type = MP_LINTSRC;
		s->irqtype = lint ? MP_NMI : MP_EXTINT;
		s->srcbus = 0;
		s->srcbusirq = 0;
		s->dstapic = 0xff; /* all local APICs */
		s->dstirq = (uint8_t)lint;
		p += sizeof(*s);
	}
	return p;
}

long mptable_build(uint8_t *buf, size_t len, uint32_t gpa, unsigned int ncpus)
{
	return mptable_build_irq0(buf, len, gpa, ncpus, 0);
}

long mptable_build_irq0(uint8_t *buf, size_t len, uint32_t gpa,
			unsigned int ncpus, uint8_t irq0_pin)
{
	struct mpf *mpf = (struct mpf *)buf;
	struct mpc_header *mpc = (struct mpc_header *)(mpf + 1);
	uint8_t *p = (uint8_t *)(mpc + 1);
	uint8_t ioapic_id = (uint8_t)ncpus;
	size_t total = mptable_size(ncpus);

	if (ncpus == 0 || ncpus > 254 || len < total)
		return -1;
	memset(buf, 0, total);

	p = put_cpus(p, ncpus);
	p = put_bus_ioapic(p, ioapic_id);
	p = put_intsrcs(p, ioapic_id, irq0_pin);

	memcpy(mpc->sig, "PCMP", 4);
	mpc->length = (uint16_t)(p - (uint8_t *)mpc);
	mpc->spec_rev = 4;
	memcpy(mpc->oem, "VMON    ", 8);
	memcpy(mpc->product, "VMON        ", 12);
	mpc->count = (uint16_t)(ncpus + 2 + MPTABLE_NR_IRQS + 2);
	mpc->lapic = (uint32_t)LAPIC_ADDR;
	mpc->checksum = checksum(mpc, mpc->length);

	memcpy(mpf->sig, "_MP_", 4);
	mpf->physptr = gpa + sizeof(*mpf);
	mpf->length = 1;
	mpf->spec_rev = 4;
	mpf->checksum = checksum(mpf, sizeof(*mpf));
	return (long)(p - buf);
}
