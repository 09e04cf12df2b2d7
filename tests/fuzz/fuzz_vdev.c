// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_vdev.c - libFuzzer target for the virtio device models behind the
 * virtio-mmio transport: rng, console, vsock (its packet parser and
 * connection table), balloon (page lists, free page reports, statistics)
 * and, where the host lets the harness open a tap, net. The input is a
 * guest: which device, the features it acknowledges, its queue size,
 * register writes of its own, which queues it kicks, and the contents of
 * its RAM, where the rings and every buffer they point to live. The
 * devices are made once; each input resets its device (status 0) as a
 * guest may, so the reset path is fuzzed too. The device's I/O work runs
 * on this thread (iothread_poll), so a crash is attributed to the input.
 *
 * Input: [0] device, [1..8] driver features (masked by what the device
 * offers), [9] log2 queue size, [10] queues kicked (bit mask), [11] I/O
 * turns, [12] register writes N (at most 16), then N writes of 6 bytes
 * (offset u16, value u32, both little-endian; offsets below 0x200), then
 * RAM from GPA 0 (256 KiB; queue q's rings at 0x2000 * q).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "virtio/devices.h"
#include "virtio/mmio.h"
#include "vmm/iothread.h"
#include "vmm/vm.h"

#include "fuzz_vm.h"

#define RAM_SIZE (256u << 10)
#define ROM_GPA 0x100000
#define ROM_SIZE 0x1000
#define MMIO_BASE 0xd0000000ULL
#define HDR_BYTES 13
#define MAX_WRITES 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { DEV_RNG, DEV_CONSOLE, DEV_VSOCK, DEV_BALLOON, DEV_NET, NR_DEVS };

static struct {
	struct vm vm;
	struct iothread *io;
	uint8_t *ram;
	struct virtio_dev *dev[NR_DEVS];
	char uds[64];
} F;

static uint64_t base_of(int i)
{
	return MMIO_BASE + (uint64_t)i * VIRTIO_MMIO_SIZE;
}

static void cleanup(void)
{
	unlink(F.uds);
}

/* The VM the devices live in: RAM, a read-only page, the MMIO bus. */
static void setup(void)
{
	struct balloon_config bc = { .enabled = true,
				     .size = 64 << 10,
				     .deflate_on_oom = true,
				     .reporting = true,
				     .stats_interval = 1 };
	struct vsock_config vc = { .cid = 3 };
	struct net_config nc = { .mtu = 1500 };
	int out = open("/dev/null", O_WRONLY | O_CLOEXEC);

	F.ram = fuzz_vm_init(&F.vm, RAM_SIZE, ROM_GPA, ROM_SIZE);
	F.io = iothread_create();
	if (!F.io)
		abort();
	snprintf(F.uds, sizeof(F.uds), "/tmp/vmon-fuzz-vsock-%d",
		 (int)getpid());
	snprintf(vc.uds, sizeof(vc.uds), "%s", F.uds);
	snprintf(nc.tap, sizeof(nc.tap), "vmonfz%d", (int)getpid() % 100000);
	F.dev[DEV_RNG] = virtio_rng_create(&F.vm, F.io, base_of(DEV_RNG), 5);
	F.dev[DEV_CONSOLE] = virtio_console_create(
		&F.vm, F.io, base_of(DEV_CONSOLE), 6, -1, out);
	F.dev[DEV_VSOCK] =
		virtio_vsock_create(&F.vm, F.io, base_of(DEV_VSOCK), 7, &vc);
	F.dev[DEV_BALLOON] = virtio_balloon_create(
		&F.vm, F.io, base_of(DEV_BALLOON), 9, &bc);
	/* Needs /dev/net/tun and CAP_NET_ADMIN: without them, no net. */
	F.dev[DEV_NET] =
		virtio_net_create(&F.vm, F.io, base_of(DEV_NET), 10, &nc);
	for (int i = 0; i < DEV_NET; i++)
		if (!F.dev[i])
			abort();
	atexit(cleanup);
}

static void wr(uint64_t base, uint64_t off, uint32_t v)
{
	bus_access(&F.vm.mmio, base + off, &v, 4, true);
}

static uint32_t rd(uint64_t base, uint64_t off)
{
	uint32_t v = 0;

	bus_access(&F.vm.mmio, base + off, &v, 4, false);
	return v;
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A driver's set-up: features, every queue at 0x2000 * q, DRIVER_OK. */
static void drive_up(struct virtio_dev *d, uint64_t base, uint64_t feat,
		     uint32_t qsize)
{
	uint32_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	feat &= d->host_features;
	wr(base, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(base, VIRTIO_MMIO_STATUS, st);
	wr(base, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(base, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)feat);
	wr(base, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(base, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(feat >> 32));
	st |= VIRTIO_STATUS_FEATURES_OK;
	wr(base, VIRTIO_MMIO_STATUS, st);
	for (uint32_t q = 0; q < d->nr_queues && q < 8; q++) {
		uint64_t at = 0x2000ULL * q;

		wr(base, VIRTIO_MMIO_QUEUE_SEL, q);
		wr(base, VIRTIO_MMIO_QUEUE_NUM, qsize);
		wr(base, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)at);
		wr(base, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)at + 0x1000);
		wr(base, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)at + 0x1800);
		wr(base, VIRTIO_MMIO_QUEUE_READY, 1);
	}
	wr(base, VIRTIO_MMIO_STATUS, st | VIRTIO_STATUS_DRIVER_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtio_dev *d;
	const uint8_t *p;
	uint64_t base, feat = 0;
	unsigned int nw, idx;

	if (size < HDR_BYTES)
		return 0;
	if (!F.io)
		setup();
	idx = data[0] % NR_DEVS;
	d = F.dev[idx];
	if (!d)
		return 0;
	base = base_of((int)idx);
	for (int i = 8; i >= 1; i--)
		feat = feat << 8 | data[i];
	nw = data[12] % (MAX_WRITES + 1);
	if (size < HDR_BYTES + 6u * nw)
		return 0;
	p = data + HDR_BYTES + 6u * nw;
	memset(F.ram, 0, RAM_SIZE);
	memcpy(F.ram, p,
	       (size_t)(data + size - p) < RAM_SIZE ?
		       (size_t)(data + size - p) :
		       RAM_SIZE);

	drive_up(d, base, feat, 1u << (data[9] % 9));
	for (unsigned int i = 0; i < nw; i++) {
		const uint8_t *w = data + HDR_BYTES + 6u * i;

		wr(base, (uint64_t)(w[0] | w[1] << 8) % VIRTIO_MMIO_SIZE,
		   le32(w + 2));
	}
	for (unsigned int turn = 0; turn < 1u + data[11] % 4; turn++) {
		for (uint32_t q = 0; q < 8; q++)
			if (data[10] & (1u << q))
				wr(base, VIRTIO_MMIO_QUEUE_NOTIFY, q);
		iothread_poll(F.io, 0);
		(void)rd(base, VIRTIO_MMIO_INTERRUPT_STATUS);
		wr(base, VIRTIO_MMIO_INTERRUPT_ACK, 3);
	}
	/* The guest resets the device; it must let go of every buffer. */
	wr(base, VIRTIO_MMIO_STATUS, 0);
	iothread_poll(F.io, 0);
	return 0;
}
