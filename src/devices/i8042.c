// SPDX-License-Identifier: GPL-2.0-only
/*
 * i8042.c - the PS/2 keyboard controller, as much as a guest needs to find
 * it and to reset the machine through it (Linux reboot=k): status and
 * command registers, the command byte, self-tests, the output port and
 * the pulse-reset commands. A keyboard is attached for the control
 * plane's Ctrl+Alt+Del only: a queue of scancodes (set 2, or set 1 when
 * the command byte asks for translation) announced on IRQ 1, and ACKs to
 * the commands a keyboard driver sends. No mouse is attached. Saved
 * state: status, command byte, pending command and both byte queues.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../vmm/exitcode.h"
#include "../vmm/vm.h"
#include "devices.h"

#define I8042_DATA 0x60
#define I8042_CMD 0x64

#define STAT_OBF 0x01
#define STAT_SYS 0x04
#define STAT_CMD 0x08

#define CTR_KBD_INT 0x01 /* keyboard interrupt enabled */
#define CTR_KBD_OFF 0x10 /* keyboard clock disabled */
#define CTR_XLATE 0x40 /* scancode set 2 translated to set 1 */

#define KBD_IRQ 1
#define KBD_QUEUE 16

struct i8042 {
	struct vm *vm;
	pthread_mutex_t lock;
	uint8_t status;
	uint8_t ctr; /* controller command byte */
	uint8_t pending; /* command waiting for its data byte, or 0 */
	uint8_t out[4];
	unsigned int nout;
	uint8_t kbd[KBD_QUEUE]; /* keyboard bytes, after out[] */
	unsigned int nkbd;
};

static bool kbd_push(struct i8042 *k, const uint8_t *v, unsigned int n)
{
	if (n > KBD_QUEUE - k->nkbd)
		return false;
	for (unsigned int i = 0; i < n; i++)
		k->kbd[k->nkbd++] = v[i];
	return true;
}

/* An edge on IRQ 1 if a keyboard byte waits and interrupts are on. */
static void kbd_irq(struct i8042 *k)
{
	if (k->nkbd && !k->nout && (k->ctr & CTR_KBD_INT) &&
	    !(k->ctr & CTR_KBD_OFF)) {
		vm_irq_line(k->vm, KBD_IRQ, 1);
		vm_irq_line(k->vm, KBD_IRQ, 0);
	}
}

/* A byte the driver sends to the keyboard: ACK, and the usual replies. */
static void kbd_command(struct i8042 *k, uint8_t v)
{
	static const uint8_t ack = 0xfa, id[] = { 0xfa, 0xab, 0x83 },
			     reset[] = { 0xfa, 0xaa }, echo = 0xee;

	switch (v) {
	case 0xee: /* echo */
		kbd_push(k, &echo, 1);
		break;
	case 0xf2: /* identify: an MF2 keyboard */
		kbd_push(k, id, sizeof(id));
		break;
	case 0xff: /* reset and self-test: passed */
		k->nkbd = 0;
		kbd_push(k, reset, sizeof(reset));
		break;
	default: /* LEDs, typematic rate, enable, scan set... and their data */
		kbd_push(k, &ack, 1);
		break;
	}
	kbd_irq(k);
}

static void push(struct i8042 *k, uint8_t v)
{
	if (k->nout < sizeof(k->out))
		k->out[k->nout++] = v;
}

static void reset_machine(struct i8042 *k)
{
	vm_request_stop(k->vm, EXIT_OK, "guest reset (i8042)");
}

static void command(struct i8042 *k, uint8_t cmd)
{
	switch (cmd) {
	case 0x20: /* read command byte */
		push(k, k->ctr);
		break;
	case 0x60: /* write command byte */
	case 0xd1: /* write output port */
	case 0xd2: /* write keyboard output buffer */
	case 0xd3: /* write aux output buffer */
	case 0xd4: /* write to aux device */
		k->pending = cmd;
		break;
	case 0xa7: /* disable aux */
		k->ctr |= 0x20;
		break;
	case 0xa8: /* enable aux */
		k->ctr &= ~0x20;
		break;
	case 0xa9: /* test aux port: no device, clock line stuck low */
		push(k, 0x01);
		break;
	case 0xaa: /* controller self-test */
		push(k, 0x55);
		k->status |= STAT_SYS;
		break;
	case 0xab: /* test keyboard port */
		push(k, 0x00);
		break;
	case 0xad: /* disable keyboard */
		k->ctr |= 0x10;
		break;
	case 0xae: /* enable keyboard */
		k->ctr &= ~0x10;
		break;
	case 0xd0: /* read output port: A20 on, not in reset */
		push(k, 0x03);
		break;
	default:
		/* 0xf0-0xff pulse output lines; bit 0 clear pulses reset. */
		if (cmd >= 0xf0 && !(cmd & 1))
			reset_machine(k);
		break;
	}
}

static void data_write(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->pending;

	k->pending = 0;
	switch (cmd) {
	case 0x60:
		k->ctr = v;
		break;
	case 0xd1:
		if (!(v & 1))
			reset_machine(k);
		break;
	case 0xd2:
	case 0xd3:
		push(k, v);
		break;
	case 0xd4:
		/* A byte for the aux device: no mouse is attached. */
		break;
	default:
		kbd_command(k, v);
		break;
	}
}

static void i8042_access_read(struct i8042 *k, bool is_data, void *data,
			      unsigned int len)
{
	uint8_t v;

	pthread_mutex_lock(&k->lock);
	if (is_data) {
		v = k->nout ? k->out[0] : k->nkbd ? k->kbd[0] : 0;
		if (k->nout) {
			for (unsigned int i = 1; i < k->nout; i++)
				k->out[i - 1] = k->out[i];
			k->nout--;
		} else if (k->nkbd) {
			for (unsigned int i = 1; i < k->nkbd; i++)
				k->kbd[i - 1] = k->kbd[i];
			k->nkbd--;
		}
		kbd_irq(k);
	} else {
		v = k->status | (k->nout || k->nkbd ? STAT_OBF : 0);
	}
	pthread_mutex_unlock(&k->lock);
	bus_put(data, len, v);
}

static void i8042_access_write(struct i8042 *k, bool is_data, const void *data,
			       unsigned int len)
{
	uint8_t v = (uint8_t)bus_get(data, len), ctr;

	pthread_mutex_lock(&k->lock);
	ctr = k->ctr;
	if (is_data) {
		k->status &= ~STAT_CMD;
		data_write(k, v);
	} else {
		k->status |= STAT_CMD;
		command(k, v);
	}
	/* The command byte may have just enabled the keyboard interrupt. */
	if (k->ctr != ctr)
		kbd_irq(k);
	pthread_mutex_unlock(&k->lock);
}

static void data_read(void *opaque, uint64_t off, void *data, unsigned int len)
{
	(void)off;
	i8042_access_read(opaque, true, data, len);
}

static void data_write_op(void *opaque, uint64_t off, const void *data,
			  unsigned int len)
{
	(void)off;
	i8042_access_write(opaque, true, data, len);
}

static void cmd_read(void *opaque, uint64_t off, void *data, unsigned int len)
{
	(void)off;
	i8042_access_read(opaque, false, data, len);
}

static void cmd_write(void *opaque, uint64_t off, const void *data,
		      unsigned int len)
{
	(void)off;
	i8042_access_write(opaque, false, data, len);
}

static const struct bus_ops i8042_data_ops = {
	.read = data_read,
	.write = data_write_op,
};

static const struct bus_ops i8042_cmd_ops = {
	.read = cmd_read,
	.write = cmd_write,
};

static void i8042_power_on(struct i8042 *k)
{
	k->status = STAT_SYS;
	k->ctr = 0x61; /* translate, keyboard interrupt, system flag... */
	k->pending = 0;
	k->nout = k->nkbd = 0;
}

static void i8042_free(struct i8042 *k)
{
	pthread_mutex_destroy(&k->lock);
	free(k);
}

static const struct device_ops i8042_device_ops;

int i8042_create(struct vm *vm)
{
	struct i8042 *k = calloc(1, sizeof(*k));

	if (!k)
		return -1;
	k->vm = vm;
	i8042_power_on(k);
	pthread_mutex_init(&k->lock, NULL);
	if (!vm_add_device(vm, DEVICE_I8042, &i8042_device_ops, k)) {
		i8042_free(k);
		return -1;
	}
	if (vm_register_pio(vm, I8042_DATA, 1, &i8042_data_ops, k, "i8042") ||
	    vm_register_pio(vm, I8042_CMD, 1, &i8042_cmd_ops, k, "i8042"))
		return -1;
	return 0;
}

struct i8042 *vm_i8042(struct vm *vm)
{
	return device_model(vm_device(vm, DEVICE_I8042, 0), DEVICE_I8042);
}

int i8042_ctrl_alt_del(struct i8042 *k)
{
	/* Ctrl, Alt, Delete pressed, then released in reverse order. */
	static const uint8_t set2[] = { 0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0,
					0x71, 0xf0, 0x11, 0xf0, 0x14 };
	static const uint8_t set1[] = { 0x1d, 0x38, 0xe0, 0x53,
					0xe0, 0xd3, 0xb8, 0x9d };
	bool ok;

	pthread_mutex_lock(&k->lock);
	if (k->ctr & CTR_XLATE)
		ok = kbd_push(k, set1, sizeof(set1));
	else
		ok = kbd_push(k, set2, sizeof(set2));
	if (ok)
		kbd_irq(k);
	pthread_mutex_unlock(&k->lock);
	return ok ? 0 : -1;
}

/* --- the device interface: reset, state, teardown ------------------------ */

static void i8042_reset(struct device *dev)
{
	struct i8042 *k = dev->opaque;

	pthread_mutex_lock(&k->lock);
	i8042_power_on(k);
	pthread_mutex_unlock(&k->lock);
}

static int i8042_save(struct device *dev, struct state_writer *w)
{
	struct i8042 *k = dev->opaque;

	pthread_mutex_lock(&k->lock);
	state_put_u8(w, k->status);
	state_put_u8(w, k->ctr);
	state_put_u8(w, k->pending);
	state_put_u8(w, (uint8_t)k->nout);
	state_put_bytes(w, k->out, k->nout);
	state_put_u8(w, (uint8_t)k->nkbd);
	state_put_bytes(w, k->kbd, k->nkbd);
	pthread_mutex_unlock(&k->lock);
	return 0;
}

static bool valid_pending(uint8_t cmd)
{
	return cmd == 0 || cmd == 0x60 || (cmd >= 0xd1 && cmd <= 0xd4);
}

static int i8042_restore(struct device *dev, struct state_reader *r)
{
	struct i8042 *k = dev->opaque;
	struct i8042 t = { 0 };

	t.status = state_get_u8(r, "i8042 status");
	t.ctr = state_get_u8(r, "i8042 command byte");
	t.pending = state_get_u8(r, "i8042 pending command");
	t.nout = state_get_u8(r, "i8042 output count");
	if (state_check(r, t.nout <= sizeof(t.out), "i8042 output count"))
		state_get_bytes(r, t.out, t.nout, "i8042 output");
	t.nkbd = state_get_u8(r, "i8042 keyboard count");
	if (state_check(r, t.nkbd <= KBD_QUEUE, "i8042 keyboard count"))
		state_get_bytes(r, t.kbd, t.nkbd, "i8042 keyboard queue");
	state_check(r, valid_pending(t.pending), "i8042 pending command");
	state_check(r, !(t.status & ~(STAT_SYS | STAT_CMD)), "i8042 status");
	state_expect_end(r, "i8042");
	if (!state_ok(r))
		return -1;
	pthread_mutex_lock(&k->lock);
	k->status = t.status;
	k->ctr = t.ctr;
	k->pending = t.pending;
	k->nout = t.nout;
	memcpy(k->out, t.out, t.nout);
	k->nkbd = t.nkbd;
	memcpy(k->kbd, t.kbd, t.nkbd);
	pthread_mutex_unlock(&k->lock);
	return 0;
}

static void i8042_destroy(struct device *dev)
{
	i8042_free(dev->opaque);
}

static const struct device_ops i8042_device_ops = {
	.state_version = 1,
	.reset = i8042_reset,
	.save = i8042_save,
	.restore = i8042_restore,
	.destroy = i8042_destroy,
};
