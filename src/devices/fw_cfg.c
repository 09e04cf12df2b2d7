// SPDX-License-Identifier: GPL-2.0-only
/*
 * fw_cfg.c - QEMU's firmware configuration interface, I/O-port variant:
 * a 16-bit write to port 0x510 selects an item, each 1-byte read of port
 * 0x511 returns its next byte (0 past the end). Items (QEMU's keys):
 * signature "QEMU", id (traditional interface only, no DMA), RAM size,
 * nb_cpus and max_cpus (the vCPUs vmon created), the kernel command line
 * (size and data), and the file directory with "etc/e820" and vmon's
 * "etc/vmon/generation" (devices.h), and with a BIOS (--firmware)
 * "etc/sercon-port" and "bootorder" for SeaBIOS. Integers are little-endian, the
 * directory big-endian, as in QEMU.
 * Owns the items, built once at creation; the selection and read offset
 * and the generation (its saved state) are guarded by one mutex (any
 * vCPU may access the ports). A restored VM counts one more generation
 * with a new id (fw_cfg_next_generation()).
 */
#include <arpa/inet.h>
#include <linux/qemu_fw_cfg.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "../acpi/loader.h"
#include "../arch/x86/acpi.h"
#include "../arch/x86/e820.h"
#include "../util/log.h"
#include "../vmm/vm.h"
#include "devices.h"

#define FW_CFG_MAX_ITEMS 20

struct fw_cfg_item {
	uint16_t key;
	uint32_t len;
	uint8_t *data;
	const char *file; /* NULL: a well-known key, not in the directory */
};

struct fw_cfg {
	pthread_mutex_t lock;
	struct fw_cfg_item items[FW_CFG_MAX_ITEMS];
	unsigned int nr;
	const struct fw_cfg_item *cur; /* NULL: nothing selected */
	uint32_t offset;
	uint64_t generation;
};

static int add_item(struct fw_cfg *fc, uint16_t key, const void *data,
		    size_t len, const char *file)
{
	struct fw_cfg_item *it;

	if (fc->nr == FW_CFG_MAX_ITEMS || len > UINT32_MAX)
		return -1;
	it = &fc->items[fc->nr];
	it->data = malloc(len ? len : 1);
	if (!it->data)
		return -1;
	memcpy(it->data, data, len);
	it->key = key;
	it->len = (uint32_t)len;
	it->file = file;
	fc->nr++;
	return 0;
}

static int add_u16(struct fw_cfg *fc, uint16_t key, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	return add_item(fc, key, b, sizeof(b), NULL);
}

static int add_u32(struct fw_cfg *fc, uint16_t key, uint32_t v)
{
	uint8_t b[4];

	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	return add_item(fc, key, b, sizeof(b), NULL);
}

static int add_u64(struct fw_cfg *fc, uint16_t key, uint64_t v)
{
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	return add_item(fc, key, b, sizeof(b), NULL);
}

/* "etc/e820": packed entries of u64 address, u64 length, u32 type. */
static int add_e820(struct fw_cfg *fc, struct vm *vm, uint16_t key)
{
	struct e820_map_entry map[E820_MAX_MAP];
	uint8_t buf[E820_MAX_MAP * 20];
	int n = e820_build(&vm->mem, map, E820_MAX_MAP);

	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		uint8_t *p = buf + 20 * i;

		for (int j = 0; j < 8; j++) {
			p[j] = (uint8_t)(map[i].addr >> (8 * j));
			p[8 + j] = (uint8_t)(map[i].size >> (8 * j));
		}
		for (int j = 0; j < 4; j++)
			p[16 + j] = (uint8_t)(map[i].type >> (8 * j));
	}
	return add_item(fc, key, buf, 20 * (size_t)n, "etc/e820");
}

/* The generation item's bytes: @gen, then a new random id. */
static void fill_generation(uint8_t *b, uint64_t gen)
{
	struct timespec ts;

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(gen >> (8 * i));
	if (getrandom(b + 8, 16, 0) == 16)
		return;
	/* No entropy: still different from any other VM's. */
	clock_gettime(CLOCK_REALTIME, &ts);
	memcpy(b + 8, &ts, sizeof(ts) < 16 ? sizeof(ts) : 16);
}

static int add_generation(struct fw_cfg *fc)
{
	uint8_t b[FW_CFG_GENERATION_SIZE];

	fill_generation(b, 0);
	return add_item(fc, FW_CFG_GENERATION_KEY, b, sizeof(b),
			"etc/vmon/generation");
}

/*
 * What SeaBIOS reads besides the above when vmon boots firmware: its
 * console on COM1 ("etc/sercon-port", as QEMU's -nographic machines) and
 * an empty "bootorder" (its own order: the first bootable disk).
 */
static int add_firmware_items(struct fw_cfg *fc, struct vm *vm)
{
	uint8_t port[2] = { 0xf8, 0x03 }; /* 0x3f8, little-endian */

	struct acpi_loader l;
	int ret;

	if (!vm->cfg || !vm->cfg->firmware || vm->cfg->kernel)
		return 0;
	if (add_u16(fc, FW_CFG_BOOT_MENU, 0) || /* no menu, no wait */
	    add_item(fc, FW_CFG_GENERATION_KEY + 1, port, sizeof(port),
		     "etc/sercon-port") ||
	    add_item(fc, FW_CFG_GENERATION_KEY + 2, "", 0, "bootorder"))
		return -1;
	if (!vm->cfg->acpi)
		return 0;
	/* The tables, which SeaBIOS places and parses (virtio-mmio). */
	if (acpi_loader_for(vm, &l))
		return -1;
	ret = add_item(fc, FW_CFG_GENERATION_KEY + 3, l.rsdp, sizeof(l.rsdp),
		       ACPI_LOADER_RSDP_FILE) ||
	      add_item(fc, FW_CFG_GENERATION_KEY + 4, l.tables, l.tables_len,
		       ACPI_LOADER_TABLES_FILE) ||
	      add_item(fc, FW_CFG_GENERATION_KEY + 5, l.script, l.script_len,
		       ACPI_LOADER_SCRIPT_FILE);
	acpi_loader_free(&l);
	return ret ? -1 : 0;
}

/* The directory lists every item that has a file name, in key order. */
static int add_file_dir(struct fw_cfg *fc)
{
	struct fw_cfg_file files[FW_CFG_MAX_ITEMS];
	uint8_t buf[4 + sizeof(files)];
	uint32_t n = 0, be;

	memset(files, 0, sizeof(files));
	for (unsigned int i = 0; i < fc->nr; i++) {
		const struct fw_cfg_item *it = &fc->items[i];

		if (!it->file)
			continue;
		files[n].size = htonl(it->len);
		files[n].select = htons(it->key);
		strncpy(files[n].name, it->file, FW_CFG_MAX_FILE_PATH - 1);
		n++;
	}
	be = htonl(n);
	memcpy(buf, &be, 4);
	memcpy(buf + 4, files, n * sizeof(files[0]));
	return add_item(fc, FW_CFG_FILE_DIR, buf, 4 + n * sizeof(files[0]),
			NULL);
}

static const struct fw_cfg_item *find_item(const struct fw_cfg *fc,
					   uint16_t key)
{
	for (unsigned int i = 0; i < fc->nr; i++)
		if (fc->items[i].key == key)
			return &fc->items[i];
	return NULL;
}

static void fw_cfg_read(void *opaque, uint64_t off, void *data,
			unsigned int len)
{
	struct fw_cfg *fc = opaque;
	uint8_t *out = data;

	(void)off;
	/* Each byte read returns the next byte of the item, 0 past its end. */
	pthread_mutex_lock(&fc->lock);
	for (unsigned int i = 0; i < len; i++) {
		if (fc->cur && fc->offset < fc->cur->len)
			out[i] = fc->cur->data[fc->offset++];
		else
			out[i] = 0;
	}
	pthread_mutex_unlock(&fc->lock);
}

static void fw_cfg_write(void *opaque, uint64_t off, const void *data,
			 unsigned int len)
{
	struct fw_cfg *fc = opaque;
	uint16_t key;

	/* Writes to the data port (the old write channel) are ignored. */
	if (off != 0 || len != 2)
		return;
	key = (uint16_t)bus_get(data, len);
	pthread_mutex_lock(&fc->lock);
	fc->cur = find_item(fc, key);
	fc->offset = 0;
	pthread_mutex_unlock(&fc->lock);
}

static const struct bus_ops fw_cfg_ops = {
	.read = fw_cfg_read,
	.write = fw_cfg_write,
};

static void fw_cfg_free(struct fw_cfg *fc)
{
	for (unsigned int i = 0; i < fc->nr; i++)
		free(fc->items[i].data);
	pthread_mutex_destroy(&fc->lock);
	free(fc);
}

static const struct device_ops fw_cfg_device_ops;

int fw_cfg_create(struct vm *vm)
{
	struct fw_cfg *fc = calloc(1, sizeof(*fc));
	const char *cmdline = vm->cmdline ? vm->cmdline : "";
	size_t cmdline_len = strlen(cmdline) + 1;

	if (!fc)
		return -1;
	pthread_mutex_init(&fc->lock, NULL);
	if (!vm_add_device(vm, DEVICE_FW_CFG, &fw_cfg_device_ops, fc)) {
		fw_cfg_free(fc);
		return -1;
	}
	if (add_item(fc, FW_CFG_SIGNATURE, "QEMU", FW_CFG_SIG_SIZE, NULL) ||
	    add_u32(fc, FW_CFG_ID, FW_CFG_VERSION) ||
	    add_u64(fc, FW_CFG_RAM_SIZE, vm->mem.ram_size) ||
	    add_u16(fc, FW_CFG_NB_CPUS, (uint16_t)vm->nr_vcpus) ||
	    add_u16(fc, FW_CFG_MAX_CPUS, (uint16_t)vm->nr_vcpus) ||
	    add_u32(fc, FW_CFG_CMDLINE_SIZE, (uint32_t)cmdline_len) ||
	    add_item(fc, FW_CFG_CMDLINE_DATA, cmdline, cmdline_len, NULL) ||
	    add_e820(fc, vm, FW_CFG_FILE_FIRST) || add_generation(fc) ||
	    add_firmware_items(fc, vm) || add_file_dir(fc)) {
		pr_err("fw_cfg: cannot build the configuration items");
		return -1;
	}
	return vm_register_pio(vm, FW_CFG_PORT_SEL, 2, &fw_cfg_ops, fc,
			       "fw_cfg");
}

/* --- the device interface: reset, state, teardown ------------------------ */

static void fw_cfg_reset(struct device *dev)
{
	struct fw_cfg *fc = dev->opaque;

	pthread_mutex_lock(&fc->lock);
	fc->cur = NULL;
	fc->offset = 0;
	pthread_mutex_unlock(&fc->lock);
}

/* The items come from the configuration: only the selection is state. */
static int fw_cfg_save(struct device *dev, struct state_writer *w)
{
	struct fw_cfg *fc = dev->opaque;

	pthread_mutex_lock(&fc->lock);
	state_put_bool(w, fc->cur != NULL);
	state_put_u16(w, fc->cur ? fc->cur->key : 0);
	state_put_u64(w, fc->generation);
	state_put_u32(w, fc->offset);
	pthread_mutex_unlock(&fc->lock);
	return 0;
}

static int fw_cfg_restore(struct device *dev, struct state_reader *r)
{
	struct fw_cfg *fc = dev->opaque;
	bool selected = state_get_bool(r, "fw_cfg selected");
	uint16_t key = state_get_u16(r, "fw_cfg selector");
	uint64_t gen = state_get_u64(r, "fw_cfg generation");
	uint32_t offset = state_get_u32(r, "fw_cfg offset");
	const struct fw_cfg_item *it = selected ? find_item(fc, key) : NULL;
	struct fw_cfg_item *g =
		(struct fw_cfg_item *)find_item(fc, FW_CFG_GENERATION_KEY);

	state_check(r, !selected || it, "fw_cfg selector");
	state_check(r, it ? offset <= it->len : offset == 0, "fw_cfg offset");
	state_check(r, gen < UINT64_MAX && g, "fw_cfg generation");
	state_expect_end(r, "fw_cfg");
	if (!state_ok(r))
		return -1;
	pthread_mutex_lock(&fc->lock);
	fc->cur = it;
	fc->offset = offset;
	fc->generation = gen;
	fill_generation(g->data, fc->generation);
	pthread_mutex_unlock(&fc->lock);
	return 0;
}

int fw_cfg_next_generation(struct vm *vm)
{
	struct device *dev = vm_device(vm, DEVICE_FW_CFG, 0);
	struct fw_cfg *fc = dev ? dev->opaque : NULL;
	struct fw_cfg_item *g = fc ? (struct fw_cfg_item *)find_item(
					     fc, FW_CFG_GENERATION_KEY) :
				     NULL;

	if (!g)
		return -1;
	pthread_mutex_lock(&fc->lock);
	if (fc->generation < UINT64_MAX)
		fc->generation++;
	fill_generation(g->data, fc->generation);
	pthread_mutex_unlock(&fc->lock);
	return 0;
}

static void fw_cfg_destroy(struct device *dev)
{
	fw_cfg_free(dev->opaque);
}

static const struct device_ops fw_cfg_device_ops = {
	.state_version = 2,
	.reset = fw_cfg_reset,
	.save = fw_cfg_save,
	.restore = fw_cfg_restore,
	.destroy = fw_cfg_destroy,
};
