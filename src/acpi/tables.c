// SPDX-License-Identifier: GPL-2.0-only
/*
 * tables.c - builds vmon's ACPI tables into one block (tables.h): the
 * RSDP (revision 2) at its start, then the XSDT, FADT (revision 6, not
 * hardware-reduced: PM1a event and control blocks, a 32-bit PM timer, a
 * reset register, SCI on IRQ 9, the fixed-feature power button), FACS,
 * MADT (a local APIC per vCPU, the IOAPIC, IRQ0 -> GSI 2 and the SCI's
 * level/high override, LINT1 = NMI) and the DSDT (dsdt.c).
 */
#include "tables.h"

#include <stdlib.h>
#include <string.h>

#include "../pci/hotplug.h"
#include "defs.h"

#define OEM_ID "VMON  "
#define OEM_TABLE_ID "VMONPC  "
#define CREATOR_ID "VMON"

uint8_t acpi_sum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (len--)
		s = (uint8_t)(s + *b++);
	return s;
}

/* A bump allocator over the block: each table at an aligned offset. */
struct cursor {
	uint8_t *buf;
	size_t len, pos;
	uint64_t gpa;
	int err;
};

static void *take(struct cursor *c, size_t size, size_t align, uint64_t *gpa)
{
	size_t at = (c->pos + align - 1) & ~(align - 1);

	if (c->err || at > c->len || size > c->len - at) {
		c->err = -1;
		return NULL;
	}
	c->pos = at + size;
	*gpa = c->gpa + at;
	return c->buf + at;
}

static void header(struct acpi_header *h, const char *sig, uint32_t len,
		   uint8_t rev)
{
	memcpy(h->sig, sig, 4);
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, OEM_ID, 6);
	memcpy(h->oem_table_id, OEM_TABLE_ID, 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, CREATOR_ID, 4);
	h->creator_revision = 1;
}

static void seal(struct acpi_header *h)
{
	h->checksum = 0;
	h->checksum = (uint8_t)-acpi_sum(h, h->length);
}

static struct acpi_gas io_gas(uint16_t port, uint8_t bytes)
{
	struct acpi_gas g = {
		.space = ACPI_GAS_IO,
		.bit_width = (uint8_t)(bytes * 8),
		.access_size = (uint8_t)(bytes == 4 ? 3 :
					 bytes == 2 ? 2 :
						      1),
		.address = port,
	};

	return g;
}

static void fadt_pm(struct acpi_fadt *f)
{
	f->sci_int = ACPI_SCI_IRQ;
	f->pm1a_evt_blk = ACPI_PM1A_EVT;
	f->pm1a_cnt_blk = ACPI_PM1A_CNT;
	f->pm_tmr_blk = ACPI_PM_TMR;
	f->pm1_evt_len = 4;
	f->pm1_cnt_len = 2;
	f->pm_tmr_len = 4;
	f->x_pm1a_evt_blk = io_gas(ACPI_PM1A_EVT, 4);
	f->x_pm1a_cnt_blk = io_gas(ACPI_PM1A_CNT, 2);
	f->x_pm_tmr_blk = io_gas(ACPI_PM_TMR, 4);
	f->reset_reg = io_gas(ACPI_RESET_PORT, 1);
	f->reset_value = ACPI_RESET_VALUE;
	/* No C2/C3: latencies above 100 and 1000 us say so. */
	f->p_lvl2_lat = 0x0fff;
	f->p_lvl3_lat = 0x0fff;
	f->century = 0x32; /* the RTC's CMOS century byte */
	f->iapc_boot_arch = FADT_LEGACY_DEVICES | FADT_8042 | FADT_NO_VGA;
	f->flags = FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON |
		   FADT_TMR_VAL_EXT | FADT_RESET_REG_SUP;
}

static void fadt(struct acpi_fadt *f, uint64_t facs, uint64_t dsdt, bool gpe0)
{
	header(&f->h, "FACP", sizeof(*f), 6);
	f->firmware_ctrl = (uint32_t)facs;
	f->dsdt = (uint32_t)dsdt;
	f->x_firmware_ctrl = facs;
	f->x_dsdt = dsdt;
	/* No SMI command port: the machine is always in ACPI mode. */
	fadt_pm(f);
	if (gpe0) { /* PCI hotplug's GPE block (src/pci/hotplug.h) */
		f->gpe0_blk = ACPI_GPE0_BASE;
		f->gpe0_blk_len = ACPI_GPE0_LEN;
		f->x_gpe0_blk = io_gas(ACPI_GPE0_BASE, ACPI_GPE0_LEN);
	}
	f->minor_version = 5;
	memcpy(&f->hypervisor_id, "VMON\0\0\0\0", 8);
	seal(&f->h);
}

static size_t madt_size(const struct acpi_desc *d)
{
	return sizeof(struct acpi_madt) +
	       d->nr_cpus * sizeof(struct madt_lapic) +
	       sizeof(struct madt_ioapic) + 2 * sizeof(struct madt_iso) +
	       sizeof(struct madt_lapic_nmi);
}

static uint8_t *madt_iso(uint8_t *p, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	struct madt_iso *o = (struct madt_iso *)p;

	o->type = MADT_ISO;
	o->length = sizeof(*o);
	o->source = irq;
	o->gsi = gsi;
	o->flags = flags;
	return p + sizeof(*o);
}

static void madt(struct acpi_madt *m, const struct acpi_desc *d)
{
	uint8_t *p = (uint8_t *)(m + 1);
	struct madt_ioapic *io;
	struct madt_lapic_nmi *nmi;

	header(&m->h, "APIC", (uint32_t)madt_size(d), 5);
	m->lapic_addr = d->lapic_addr;
	m->flags = 1;
	for (unsigned int i = 0; i < d->nr_cpus; i++) {
		struct madt_lapic *l = (struct madt_lapic *)p;

		l->type = MADT_LAPIC;
		l->length = sizeof(*l);
		l->uid = (uint8_t)i;
		l->apic_id = (uint8_t)i;
		l->flags = 1;
		p += sizeof(*l);
	}
	io = (struct madt_ioapic *)p;
	io->type = MADT_IOAPIC;
	io->length = sizeof(*io);
	io->id = d->ioapic_id;
	io->addr = d->ioapic_addr;
	p += sizeof(*io);
	p = madt_iso(p, 0, 2, 0);
	p = madt_iso(p, ACPI_SCI_IRQ, ACPI_SCI_IRQ,
		     MADT_ACTIVE_HIGH | MADT_LEVEL);
	nmi = (struct madt_lapic_nmi *)p;
	nmi->type = MADT_LAPIC_NMI;
	nmi->length = sizeof(*nmi);
	nmi->uid = 0xff; /* every processor */
	nmi->lint = 1;
	seal(&m->h);
}

static void rsdp(struct acpi_rsdp *r, uint64_t xsdt)
{
	memcpy(r->sig, "RSD PTR ", 8);
	memcpy(r->oem_id, OEM_ID, 6);
	r->revision = 2;
	r->length = sizeof(*r);
	r->xsdt = xsdt;
	r->checksum = (uint8_t)-acpi_sum(r, 20);
	r->ext_checksum = (uint8_t)-acpi_sum(r, sizeof(*r));
}

static int dsdt(struct cursor *c, const struct acpi_desc *d, uint64_t *gpa)
{
	size_t len;
	uint8_t *aml = acpi_dsdt_aml(d, &len);
	struct acpi_header *h;

	if (!aml)
		return -1;
	h = take(c, sizeof(*h) + len, 16, gpa);
	if (h) {
		header(h, "DSDT", (uint32_t)(sizeof(*h) + len), 2);
		memcpy(h + 1, aml, len);
		seal(h);
	}
	free(aml);
	return h ? 0 : -1;
}

/* The tables at fixed places: the RSDP, the XSDT, then the FACS. */
static void take_head(struct cursor *c, struct acpi_rsdp **r,
		      struct acpi_header **x, struct acpi_facs **facs,
		      struct acpi_layout *out)
{
	*r = take(c, sizeof(**r), 16, &out->rsdp);
	/* Room for every entry (FADT, MADT, MCFG): the FACS never moves. */
	*x = take(c, sizeof(**x) + 3 * sizeof(uint64_t), 16, &out->xsdt);
	*facs = take(c, sizeof(**facs), 64, &out->facs);
}

uint64_t acpi_facs_gpa(uint64_t gpa)
{
	uint8_t tmp[256];
	struct cursor c = { .buf = tmp, .len = sizeof(tmp), .gpa = gpa };
	struct acpi_layout out = { 0 };
	struct acpi_rsdp *r;
	struct acpi_header *x;
	struct acpi_facs *facs;

	take_head(&c, &r, &x, &facs, &out);
	return out.facs;
}

int acpi_build(const struct acpi_desc *d, uint8_t *buf, size_t len,
	       uint64_t gpa, struct acpi_layout *out)
{
	struct cursor c = { .buf = buf, .len = len, .gpa = gpa };
	struct acpi_rsdp *r;
	struct acpi_header *x;
	struct acpi_facs *facs;
	struct acpi_fadt *f;
	struct acpi_madt *m;
	struct acpi_header *mcfg = NULL;
	uint64_t entries[3];
	unsigned int nr = 2;

	memset(buf, 0, len);
	memset(out, 0, sizeof(*out));
	if (!d->nr_cpus || d->nr_cpus > 255 || d->nr_virtio > ACPI_MAX_VIRTIO)
		return -1;
	take_head(&c, &r, &x, &facs, out);
	f = take(&c, sizeof(*f), 16, &out->fadt);
	m = take(&c, madt_size(d), 16, &out->madt);
	if (d->pci.on)
		mcfg = take(&c, acpi_mcfg_size(), 16, &out->mcfg);

	if (c.err || dsdt(&c, d, &out->dsdt))
		return -1;
	memcpy(facs->sig, "FACS", 4);
	facs->length = sizeof(*facs);
	facs->version = 2;
	fadt(f, out->facs, out->dsdt, d->pci.on && d->pci.hotplug);
	madt(m, d);
	if (mcfg) {
		header(mcfg, "MCFG", (uint32_t)acpi_mcfg_size(), 1);
		acpi_mcfg_body(mcfg, d);
		seal(mcfg);
		entries[nr++] = out->mcfg;
	}
	header(x, "XSDT", (uint32_t)(sizeof(*x) + nr * sizeof(uint64_t)), 1);
	entries[0] = out->fadt;
	entries[1] = out->madt;
	memcpy(x + 1, entries, nr * sizeof(uint64_t));
	seal(x);
	rsdp(r, out->xsdt);
	out->size = c.pos;
	return 0;
}
