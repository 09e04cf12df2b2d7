// SPDX-License-Identifier: GPL-2.0-only
/*
 * interrupts.c - guest test 3 (needs --test-device): the local APIC timer
 * wakes a HLT with its vector; the UART's transmit-empty interrupt (IRQ 4)
 * arrives through the IOAPIC with the vector it was routed to; and the
 * test device's IRQ ports (0x2000 + n) raise ISA IRQ n, with writes of
 * any width (an outl of 1 raises line n, as on QEMU).
 */
#include "rt.h"

#define TIMER_VECTOR 0x40
#define UART_VECTOR 0x41
#define TESTDEV_VECTOR 0x42
#define UART_IRQ 4
#define TESTDEV_IRQ 10

static volatile unsigned int timer_hits, uart_hits, testdev_hits;
static volatile uint8_t uart_iir;

static void timer_handler(struct rt_frame *f)
{
	(void)f;
	timer_hits++;
	lapic_eoi();
}

static void uart_handler(struct rt_frame *f)
{
	(void)f;
	uart_iir = inb(COM1 + 2); /* reading IIR clears the THRE interrupt */
	outb(COM1 + 1, 0); /* IER: no more interrupts */
	uart_hits++;
	lapic_eoi();
}

static void testdev_handler(struct rt_frame *f)
{
	(void)f;
	testdev_hits++;
	outb(0x2000 + TESTDEV_IRQ, 0); /* lower the line */
	lapic_eoi();
}

/* Halts until *flag is set; false if that takes more than @tries wakeups. */
static bool wait_for(volatile unsigned int *flag, int tries)
{
	while (!*flag && tries-- > 0) {
		sti_hlt();
		cli();
	}
	return *flag != 0;
}

static void test_timer(void)
{
	uint64_t t0, t1;

	rt_set_handler(TIMER_VECTOR, timer_handler);
	lapic_write(LAPIC_TIMER_DIV, 0xb); /* divide by 1 */
	lapic_write(LAPIC_LVT_TIMER, TIMER_VECTOR); /* one-shot, unmasked */
	t0 = rdtsc();
	lapic_write(LAPIC_TIMER_INIT, 10000000); /* 10 ms at KVM's 1 GHz */
	check(wait_for(&timer_hits, 10), "LAPIC timer woke HLT (vector 0x%x)",
	      TIMER_VECTOR);
	t1 = rdtsc();
	check(timer_hits == 1, "exactly one timer interrupt: %u", timer_hits);
	check(lapic_read(LAPIC_TIMER_CUR) == 0,
	      "one-shot timer count reached 0");
	check(t1 > t0, "TSC advanced across the wait: %lu cycles", t1 - t0);
	lapic_write(LAPIC_LVT_TIMER, 1U << 16); /* masked */
}

static void test_uart(void)
{
	rt_set_handler(UART_VECTOR, uart_handler);
	ioapic_route(UART_IRQ, UART_VECTOR);
	/* Enabling the THRE interrupt with an empty THR raises IRQ 4. */
	outb(COM1 + 1, 0x02);
	check(wait_for(&uart_hits, 10),
	      "UART THRE interrupt arrived through the IOAPIC (vector 0x%x)",
	      UART_VECTOR);
	check((uart_iir & 0x0f) == 0x02, "IIR said THR empty: 0x%x", uart_iir);
	check(uart_hits == 1, "exactly one UART interrupt: %u", uart_hits);
	ioapic_mask(UART_IRQ);
}

/* Raises the test device's line with a write of @width bytes. */
static void testdev_raise(unsigned int width)
{
	if (width == 4)
		outl(0x2000 + TESTDEV_IRQ, 1);
	else if (width == 2)
		outw(0x2000 + TESTDEV_IRQ, 1);
	else
		outb(0x2000 + TESTDEV_IRQ, 1);
}

static void test_testdev_irq(void)
{
	static const unsigned int widths[] = { 1, 4, 2 };

	rt_set_handler(TESTDEV_VECTOR, testdev_handler);
	ioapic_route(TESTDEV_IRQ, TESTDEV_VECTOR);
	for (unsigned int i = 0; i < 3; i++) {
		testdev_hits = 0;
		testdev_raise(widths[i]);
		check(wait_for(&testdev_hits, 10),
		      "test device raised IRQ %u (vector 0x%x) by a %u-byte write",
		      TESTDEV_IRQ, TESTDEV_VECTOR, widths[i]);
		check(testdev_hits == 1,
		      "exactly one test device interrupt: %u", testdev_hits);
	}
	ioapic_mask(TESTDEV_IRQ);
}

int main(void)
{
	test_timer();
	test_uart();
	test_testdev_irq();
	return 0;
}
