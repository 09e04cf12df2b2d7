// SPDX-License-Identifier: GPL-2.0-only
/*
 * acpi.c - guest test (vmon run --acpi --cpus 2): finds the RSDP in the
 * BIOS area, walks the XSDT to the FADT and MADT checking every checksum,
 * checks the MADT (two local APICs, the IOAPIC, IRQ 0 -> GSI 2, the SCI's
 * level/high override) and the FADT (PM blocks, SCI 9, reset register),
 * reads the PM timer over one RTC second and against the TSC, then writes
 * the DSDT's \_S5 SLP_TYP with SLP_EN: vmon must exit 0 (a poweroff).
 * With "acpi.expect=none" on the command line (--no-acpi) it checks that
 * there is no RSDP and ends as the other tests do. With "acpi.button" it
 * enables the power button's event and waits (printing "waiting for the
 * power button") for the SCI that `vmon stop --acpi` raises before the S5
 * write.
 */
#include "acpi_tables.h"

#define PM_TIMER_HZ 3579545U
#define PWRBTN (1U << 8)
#define SCI_VECTOR 0x43

static uint16_t pm1a_evt;
static volatile uint16_t sci_status;
static volatile unsigned int sci_hits;

static void check_madt(const uint8_t *m)
{
	uint32_t len = rd32(m + 4), lapics = 0, ioapics = 0;
	bool irq0 = false, sci = false;

	for (uint32_t off = 44; off + 2 <= len && m[off + 1];
	     off += m[off + 1]) {
		const uint8_t *e = m + off;

		if (e[0] == 0 && (rd32(e + 4) & 1) && e[3] == lapics)
			lapics++;
		else if (e[0] == 1 && rd32(e + 4) == IOAPIC_BASE)
			ioapics++;
		else if (e[0] == 2 && e[3] == 0 && rd32(e + 4) == 2)
			irq0 = true;
		else if (e[0] == 2 && e[3] == 9 && rd32(e + 4) == 9 &&
			 rd16(e + 8) == 0xd)
			sci = true;
	}
	check(rd32(m + 36) == LAPIC_BASE, "MADT: local APIC address");
	check(lapics == 2, "MADT: 2 enabled local APICs, ids 0 and 1 (%u)",
	      lapics);
	check(ioapics == 1, "MADT: the IOAPIC at 0x%lx", IOAPIC_BASE);
	check(irq0, "MADT: IRQ 0 -> GSI 2");
	check(sci, "MADT: IRQ 9 (SCI) level, active high");
}

static uint8_t rtc_seconds(void)
{
	outb(0x70, 0);
	return inb(0x71);
}

/* Waits for the RTC's next second; false if it never comes. */
static bool rtc_edge(void)
{
	uint8_t s = rtc_seconds();

	for (uint64_t i = 0; i < 100000000; i++)
		if (rtc_seconds() != s)
			return true;
	return false;
}

/*
 * Each rate is measured up to five times: a vCPU thread that the host
 * does not run for a while (a busy machine) only makes a window longer
 * than it should be, at random, while a wrong rate is wrong every time.
 */
#define TIMER_TRIES 5

static void check_timer(uint16_t port)
{
	uint32_t p0, p1, q0, q1;
	uint64_t t0, t1, u0, u1, tsc_hz = 0, ticks = 0, cycles = 0;
	bool ok = false;

	check(rtc_edge(), "the RTC ticks");
	for (int i = 0; i < TIMER_TRIES && !ok; i++) {
		rtc_edge();
		p0 = inl(port);
		t0 = rdtsc();
		rtc_edge();
		p1 = inl(port);
		t1 = rdtsc();
		ticks = p1 - p0;
		tsc_hz = t1 - t0;
		ok = ticks > PM_TIMER_HZ * 8 / 10 &&
		     ticks < PM_TIMER_HZ * 12 / 10;
	}
	check(ok, "PM timer: %lu ticks in one RTC second (3579545 expected)",
	      ticks);
	/* A tenth of a second by the PM timer, measured with the TSC. */
	ok = false;
	for (int i = 0; i < TIMER_TRIES && !ok; i++) {
		q0 = inl(port);
		u0 = rdtsc();
		do
			q1 = inl(port);
		while (q1 - q0 < PM_TIMER_HZ / 10);
		u1 = rdtsc();
		cycles = u1 - u0;
		ok = cycles > tsc_hz / 10 * 7 / 10 &&
		     cycles < tsc_hz / 10 * 13 / 10;
	}
	check(ok,
	      "PM timer rate matches the TSC: %lu TSC cycles in 0.1 s (%lu/s)",
	      cycles, tsc_hz);
}

/* "LNRO0005" devices in the DSDT, as many as vmon placed (acpi.virtio=N). */
static void check_virtio(const uint8_t *dsdt)
{
	uint32_t len = rd32(dsdt + 4), n = 0, want = 0;
	const char *s = rt_cmdline();

	for (uint32_t i = 36; i + 8 <= len; i++)
		n += !memcmp(dsdt + i, "LNRO0005", 8);
	for (; *s; s++)
		if (!strncmp(s, "acpi.virtio=", 12))
			want = (uint32_t)(s[12] - '0');
	check(n == want, "DSDT: %u virtio-mmio devices (LNRO0005), %u expected",
	      n, want);
	check(!cmdline_has("virtio_mmio.device="),
	      "no virtio_mmio.device= on the command line with ACPI");
}

static void sci_handler(struct rt_frame *f)
{
	(void)f;
	sci_status = inw(pm1a_evt);
	outw(pm1a_evt, sci_status); /* write 1 to clear: the SCI drops */
	sci_hits++;
	lapic_eoi();
}

/* Waits for the SCI of the power button (vmon stop --acpi). */
static void power_button(const uint8_t *fadt)
{
	pm1a_evt = (uint16_t)rd32(fadt + 56);
	rt_set_handler(SCI_VECTOR, sci_handler);
	ioapic_route(9, SCI_VECTOR);
	outw(pm1a_evt + 2, PWRBTN); /* PWRBTN_EN */
	rt_puts("waiting for the power button\n");
	while (!sci_hits)
		sti_hlt();
	cli();
	check(sci_status & PWRBTN, "SCI with PWRBTN_STS (0x%x)", sci_status);
	check(!(inw(pm1a_evt) & PWRBTN), "PWRBTN_STS cleared by writing 1");
	ioapic_mask(9);
}

int main(void)
{
	const uint8_t *rsdp = find_rsdp(), *fadt, *madt, *dsdt;
	const struct hdr *x;
	int typ;

	if (cmdline_has("acpi.expect=none")) {
		check(!rsdp, "no RSDP without ACPI");
		return 0;
	}
	if (!check(rsdp != 0, "RSDP found in the BIOS area"))
		return 0;
	check(sum(rsdp, 36) == 0 && rsdp[15] == 2,
	      "RSDP revision 2, extended checksum");
	x = (const struct hdr *)rd64(rsdp + 24);
	check(!memcmp(x->sig, "XSDT", 4) && sum(x, x->length) == 0,
	      "XSDT at 0x%lx, checksum", (uint64_t)x);
	fadt = xsdt_find(x, "FACP");
	madt = xsdt_find(x, "APIC");
	if (!fadt || !madt)
		return 0;
	check_madt(madt);
	dsdt = (const uint8_t *)rd64(fadt + 140);
	check(!memcmp(dsdt, "DSDT", 4) && sum(dsdt, rd32(dsdt + 4)) == 0,
	      "FADT: X_DSDT, its checksum");
	check(rd16(fadt + 46) == 9, "FADT: SCI on IRQ 9");
	check(!(rd32(fadt + 112) & (1U << 20)), "FADT: not hardware-reduced");
	check(rd32(fadt + 76) && fadt[91] == 4,
	      "FADT: a 4-byte PM timer block");
	check(rd32(fadt + 112) & (1U << 10), "FADT: a reset register");
	check_virtio(dsdt);
	check_timer((uint16_t)rd32(fadt + 76));
	if (cmdline_has("acpi.button"))
		power_button(fadt);
	typ = sleep_type(dsdt, "_S5_");
	check(typ >= 0, "DSDT: \\_S5 package, SLP_TYP %d", typ);
	rt_puts("powering off through PM1a_CNT\n");
	outw((uint16_t)rd32(fadt + 64), (uint16_t)(typ << 10 | SLP_EN));
	check(false, "vmon stopped at the S5 write");
	return 0;
}
