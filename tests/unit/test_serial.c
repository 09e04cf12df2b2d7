// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_serial.c - the UART's transmit buffer (src/devices/serial.c): what
 * the guest writes reaches the output descriptor through the writer
 * thread, and the rest at teardown; a stalled output never blocks the
 * writing (vCPU) thread: THRE clears when the buffer is full, bytes
 * beyond it are dropped and counted, and THRE with its interrupt comes
 * back once the output drains; an output that never drains does not
 * hold up the teardown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <time.h>

#include "devices/serial.h"
#include "util/log.h"
#include "virtio_harness.h"

#define COM1 SERIAL_COM1_BASE
#define LSR_THRE 0x20
#define IIR_THRI 0x02

static void outb(struct harness *h, uint16_t off, uint8_t v)
{
	bus_access(&h->vm.pio, COM1 + off, &v, 1, true);
}

static uint8_t inb(struct harness *h, uint16_t off)
{
	uint8_t v = 0;

	bus_access(&h->vm.pio, COM1 + off, &v, 1, false);
	return v;
}

static size_t read_some(int fd, char *buf, size_t len, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t got;

	if (poll(&p, 1, ms) != 1)
		return 0;
	got = read(fd, buf, len);
	return got > 0 ? (size_t)got : 0;
}

static void test_output_and_teardown(void **state)
{
	struct harness h;
	struct serial *s;
	char buf[64] = { 0 };
	int p[2];
	size_t n = 0;

	(void)state;
	h_init(&h);
	assert_int_equal(pipe(p), 0);
	s = serial_create(&h.vm, COM1, SERIAL_COM1_IRQ, p[1]);
	assert_non_null(s);
	for (const char *c = "hello\n"; *c; c++)
		outb(&h, 0, (uint8_t)*c);
	assert_true(inb(&h, 5) & LSR_THRE);
	/* The writer thread sends it without a teardown. */
	while (n < 6) {
		size_t got =
			read_some(p[0], buf + n, sizeof(buf) - 1 - n, 2000);

		assert_true(got > 0);
		n += got;
	}
	assert_string_equal(buf, "hello\n");
	/* What is buffered at teardown is written out before it returns. */
	for (int i = 0; i < 1000; i++)
		outb(&h, 0, 'x');
	h_fini(&h);
	close(p[1]);
	n = 0;
	for (size_t got; (got = read_some(p[0], buf, sizeof(buf), 2000));)
		n += got;
	assert_int_equal(n, 1000);
	close(p[0]);
}

static void test_stalled_output(void **state)
{
	enum { TOTAL = 100000 };
	struct harness h;
	struct serial *s;
	static char buf[65536];
	uint64_t dropped;
	size_t n = 0;
	bool thre_back = false;
	int p[2];
	time_t t0;

	(void)state;
	h_init(&h);
	assert_int_equal(pipe(p), 0);
	fcntl(p[1], F_SETPIPE_SZ, 4096);
	s = serial_create(&h.vm, COM1, SERIAL_COM1_IRQ, p[1]);
	assert_non_null(s);
	outb(&h, 1, 0x02); /* IER: THR-empty interrupt */
	assert_int_equal(inb(&h, 2) & 0x0f, IIR_THRI);
	/* Nobody reads the output: the writes still return at once. */
	for (int i = 0; i < TOTAL; i++)
		outb(&h, 0, (uint8_t)('a' + i % 26));
	assert_false(inb(&h, 5) & LSR_THRE);
	assert_int_equal(inb(&h, 2) & 0x0f, 0x01); /* no interrupt */
	dropped = serial_tx_dropped(s);
	assert_true(dropped > 0 && dropped < TOTAL);
	/* Drain the output: THRE and its interrupt come back. */
	t0 = time(NULL);
	while (n < TOTAL - dropped && time(NULL) - t0 < 10) {
		n += read_some(p[0], buf, sizeof(buf), 100);
		if (inb(&h, 5) & LSR_THRE)
			thre_back = true;
	}
	assert_int_equal(n, TOTAL - dropped);
	assert_true(thre_back);
	assert_int_equal(inb(&h, 2) & 0x0f, IIR_THRI);
	h_fini(&h);
	close(p[0]);
	close(p[1]);
}

/*
 * An output nobody reads does not hold up the teardown (issue 13, item 2):
 * it returns after the writer's grace period (an alarm ends the test if
 * it hangs).
 */
static void test_stuck_output_teardown(void **state)
{
	struct harness h;
	struct serial *s;
	time_t t0;
	int p[2];

	(void)state;
	log_level = LOG_ERROR;
	h_init(&h);
	assert_int_equal(pipe(p), 0);
	fcntl(p[1], F_SETPIPE_SZ, 4096);
	s = serial_create(&h.vm, COM1, SERIAL_COM1_IRQ, p[1]);
	assert_non_null(s);
	for (int i = 0; i < 100000; i++)
		outb(&h, 0, 'z');
	alarm(20);
	t0 = time(NULL);
	h_fini(&h);
	alarm(0);
	assert_true(time(NULL) - t0 <= 6);
	close(p[0]); /* the writer left behind gets EPIPE and ends */
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_output_and_teardown),
		cmocka_unit_test(test_stalled_output),
		cmocka_unit_test(test_stuck_output_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
