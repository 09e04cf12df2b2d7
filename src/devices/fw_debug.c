// SPDX-License-Identifier: GPL-2.0-only
/*
 * fw_debug.c - the firmware's debug console at port 0x402, as QEMU's
 * isa-debugcon on its PC: a read returns 0xe9 (SeaBIOS checks for that
 * before it logs there), each written byte is a character of its log.
 * Lines go to vmon's log at debug level (-v -v) as "firmware: ...";
 * only with a BIOS (--firmware). Owns its line buffer, under a mutex
 * (any vCPU may write).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../util/log.h"
#include "../vmm/vm.h"
#include "devices.h"

#define FW_DEBUG_READBACK 0xe9
#define LINE_MAX_CHARS 160

struct fw_debug {
	pthread_mutex_t lock;
	char line[LINE_MAX_CHARS + 1];
	size_t len;
};

static void fw_debug_read(void *opaque, uint64_t off, void *data,
			  unsigned int len)
{
	(void)opaque;
	(void)off;
	memset(data, FW_DEBUG_READBACK, len);
}

static void fw_debug_write(void *opaque, uint64_t off, const void *data,
			   unsigned int len)
{
	struct fw_debug *d = opaque;
	char c = *(const char *)data; /* one character per access */

	(void)off;
	(void)len;
	pthread_mutex_lock(&d->lock);
	if (c != '\n' && c != '\r' && d->len < LINE_MAX_CHARS)
		d->line[d->len++] = (c >= 0x20 && c < 0x7f) ? c : '?';
	if (c == '\n' || d->len == LINE_MAX_CHARS) {
		d->line[d->len] = '\0';
		pr_debug("firmware: %s", d->line);
		d->len = 0;
	}
	pthread_mutex_unlock(&d->lock);
}

static const struct bus_ops fw_debug_ops = {
	.read = fw_debug_read,
	.write = fw_debug_write,
};

static void fw_debug_destroy(struct device *dev)
{
	struct fw_debug *d = dev->opaque;

	pthread_mutex_destroy(&d->lock);
	free(d);
}

/* Its log is not state: a restored VM starts a new line. */
static const struct device_ops fw_debug_device_ops = {
	.state_version = 1,
	.destroy = fw_debug_destroy,
};

int fw_debug_create(struct vm *vm)
{
	struct fw_debug *d = calloc(1, sizeof(*d));

	if (!d)
		return -1;
	pthread_mutex_init(&d->lock, NULL);
	if (!vm_add_device(vm, DEVICE_FW_DEBUG, &fw_debug_device_ops, d)) {
		pthread_mutex_destroy(&d->lock);
		free(d);
		return -1;
	}
	return vm_register_pio(vm, FW_DEBUG_PORT, 1, &fw_debug_ops, d,
			       "fw-debug");
}
