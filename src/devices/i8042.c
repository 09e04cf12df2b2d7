// SPDX-License-Identifier: GPL-2.0-only
/*
 * i8042.c - the PS/2 keyboard controller, as much as a guest needs to find
 * it and to reset the machine through it (Linux reboot=k): status and
 * command registers, the command byte, self-tests, the output port and
 * the pulse-reset commands. No keyboard or mouse is attached.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "../vmm/exitcode.h"
#include "../vmm/vm.h"
#include "devices.h"

#define I8042_DATA 0x60
#define I8042_CMD 0x64

#define STAT_OBF 0x01
#define STAT_SYS 0x04
#define STAT_CMD 0x08

struct i8042 {
	struct vm *vm;
	pthread_mutex_t lock;
	uint8_t status;
	uint8_t ctr; /* controller command byte */
	uint8_t pending; /* command waiting for its data byte, or 0 */
	uint8_t out[4];
	unsigned int nout;
};

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
	default:
		/* Bytes for the keyboard or aux device: none is attached. */
		break;
	}
}

static void i8042_access_read(struct i8042 *k, bool is_data, void *data,
			      unsigned int len)
{
	uint8_t v;

	pthread_mutex_lock(&k->lock);
	if (is_data) {
		v = k->nout ? k->out[0] : 0;
		if (k->nout) {
			for (unsigned int i = 1; i < k->nout; i++)
				k->out[i - 1] = k->out[i];
			k->nout--;
		}
	} else {
		v = k->status | (k->nout ? STAT_OBF : 0);
	}
	pthread_mutex_unlock(&k->lock);
	bus_put(data, len, v);
}

static void i8042_access_write(struct i8042 *k, bool is_data, const void *data,
			       unsigned int len)
{
	uint8_t v = (uint8_t)bus_get(data, len);

	pthread_mutex_lock(&k->lock);
	if (is_data) {
		k->status &= ~STAT_CMD;
		data_write(k, v);
	} else {
		k->status |= STAT_CMD;
		command(k, v);
	}
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

static void i8042_destroy(void *opaque)
{
	struct i8042 *k = opaque;

	pthread_mutex_destroy(&k->lock);
	free(k);
}

int i8042_create(struct vm *vm)
{
	struct i8042 *k = calloc(1, sizeof(*k));

	if (!k)
		return -1;
	k->vm = vm;
	k->status = STAT_SYS;
	k->ctr = 0x61; /* translate, keyboard interrupt, system flag... */
	pthread_mutex_init(&k->lock, NULL);
	if (vm_add_device(vm, "i8042", i8042_destroy, k)) {
		i8042_destroy(k);
		return -1;
	}
	if (vm_register_pio(vm, I8042_DATA, 1, &i8042_data_ops, k, "i8042") ||
	    vm_register_pio(vm, I8042_CMD, 1, &i8042_cmd_ops, k, "i8042"))
		return -1;
	return 0;
}
