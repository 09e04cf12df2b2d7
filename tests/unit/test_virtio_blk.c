// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_virtio_blk.c - virtio-blk: the request parser against hostile
 * chains, then the device end to end on a real image file through the
 * MMIO bus, the I/O thread and io_uring: read, write, flush, get-id,
 * discard, write-zeroes, read-only disks and O_DIRECT with bounce buffers.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "util/log.h"
#include "virtio/blk.h"
#include "virtio/devices.h"
#include "virtio_harness.h"

#define BASE 0xd0000000ULL
#define RING_AT 0x1000
#define HDR 0x10000
#define DATA 0x20000 /* 64 KiB of data buffers */
#define STATUS 0x40000
#define DISK_SECTORS 2048 /* 1 MiB */

/* --- the parser ------------------------------------------------------ */

struct pfix {
	uint8_t hdr[32];
	uint8_t data[4096];
	uint8_t status;
	struct virtq_elem e;
	struct blk_req r;
	struct blk_limits lim;
};

static void pfix_init(struct pfix *p, uint32_t type, uint64_t sector,
		      unsigned int data_len, bool data_in)
{
	memset(p, 0, sizeof(*p));
	memcpy(p->hdr, &type, 4);
	memcpy(p->hdr + 8, &sector, 8);
	p->lim = (struct blk_limits){ DISK_SECTORS, false, true, true };
	p->e.iov[0] = (struct iovec){ p->hdr, 16 };
	p->e.nr_out = 1;
	p->e.out_len = 16;
	if (data_len && !data_in) {
		p->e.iov[1] = (struct iovec){ p->data, data_len };
		p->e.nr_out++;
		p->e.out_len += data_len;
	}
	if (data_len && data_in) {
		p->e.iov[1] = (struct iovec){ p->data, data_len };
		p->e.nr_in++;
		p->e.in_len += data_len;
	}
	p->e.iov[p->e.nr_out + p->e.nr_in] = (struct iovec){ &p->status, 1 };
	p->e.nr_in++;
	p->e.in_len++;
}

static void test_parse_valid(void **state)
{
	struct pfix *p = malloc(sizeof(*p));

	(void)state;
	pfix_init(p, VIRTIO_BLK_T_IN, 8, 1024, true);
	assert_int_equal(blk_parse(&p->e, &p->lim, &p->r), VIRTIO_BLK_S_OK);
	assert_int_equal(p->r.offset, 4096);
	assert_int_equal(p->r.len, 1024);
	assert_int_equal(p->r.nr_iov, 1);
	assert_ptr_equal(p->r.status, &p->status);
	/* The data may share a buffer with the status byte. */
	p->e.nr_in = 1;
	p->e.iov[1] = (struct iovec){ p->data, 513 };
	p->e.in_len = 513;
	assert_int_equal(blk_parse(&p->e, &p->lim, &p->r), VIRTIO_BLK_S_OK);
	assert_int_equal(p->r.len, 512);
	assert_ptr_equal(p->r.status, p->data + 512);
	/* The header may be split across buffers. */
	pfix_init(p, VIRTIO_BLK_T_OUT, DISK_SECTORS - 1, 512, false);
	p->e.iov[2] = p->e.iov[1];
	p->e.iov[3] = p->e.iov[2 - 0];
	memmove(&p->e.iov[1], &p->e.iov[0], sizeof(struct iovec) * 3);
	p->e.iov[0] = (struct iovec){ p->hdr, 5 };
	p->e.iov[1] = (struct iovec){ p->hdr + 5, 11 };
	p->e.iov[2] = (struct iovec){ p->data, 512 };
	p->e.iov[3] = (struct iovec){ &p->status, 1 };
	p->e.nr_out = 3;
	assert_int_equal(blk_parse(&p->e, &p->lim, &p->r), VIRTIO_BLK_S_OK);
	assert_int_equal(p->r.type, VIRTIO_BLK_T_OUT);
	assert_int_equal(p->r.offset, (DISK_SECTORS - 1) * 512ULL);
	free(p);
}

static void test_parse_hostile(void **state)
{
	struct pfix *p = malloc(sizeof(*p));

	(void)state;
	/* No room for the header, or no status byte: cannot even answer. */
	pfix_init(p, VIRTIO_BLK_T_IN, 0, 0, true);
	p->e.iov[0].iov_len = 15;
	p->e.out_len = 15;
	assert_int_equal(blk_parse(&p->e, &p->lim, &p->r), -1);
	pfix_init(p, VIRTIO_BLK_T_IN, 0, 0, true);
	p->e.nr_in = 0;
	p->e.in_len = 0;
	assert_int_equal(blk_parse(&p->e, &p->lim, &p->r), -1);
	/* Data not a multiple of the sector. */
	pfix_init(p, VIRTIO_BLK_T_IN, 0, 100, true);
	assert_int_equal(blk_parse(&p->e, &p->lim, &p->r), VIRTIO_BLK_S_IOERR);
	pfix_init(p, VIRTIO_BLK_T_OUT, 0, 511, false);
	assert_int_equal(blk_parse(&p->e, &p->lim, &p->r), VIRTIO_BLK_S_IOERR);
	/* Past the end, at the end, and with sector arithmetic overflow. */
	pfix_init(p, VIRTIO_BLK_T_IN, DISK_SECTORS, 512, true);
	assert_int_equal(blk_parse(&p->e, &p->lim, &p->r), VIRTIO_BLK_S_IOERR);
	pfix_init(p, VIRTIO_BLK_T_OUT, DISK_SECTORS - 1, 1024, false);
	assert_int_equal(blk_parse(&p->e, &p->lim, &p->r), VIRTIO_BLK_S_IOERR);
	pfix_init(p, VIRTIO_BLK_T_IN, ~0ULL >> 9, 512, true);
	assert_int_equal(blk_parse(&p->e, &p->lim, &p->r), VIRTIO_BLK_S_IOERR);
	pfix_init(p, VIRTIO_BLK_T_IN, ~0ULL, 512, true);
	assert_int_equal(blk_parse(&p->e, &p->lim, &p->r), VIRTIO_BLK_S_IOERR);
	/* Writes to a read-only disk. */
	pfix_init(p, VIRTIO_BLK_T_OUT, 0, 512, false);
	p->lim.readonly = true;
	assert_int_equal(blk_parse(&p->e, &p->lim, &p->r), VIRTIO_BLK_S_IOERR);
	/* Unknown request types. */
	pfix_init(p, 0xdeadbeef, 0, 0, true);
	assert_int_equal(blk_parse(&p->e, &p->lim, &p->r), VIRTIO_BLK_S_UNSUPP);
	/* Discard: flags, several segments, huge or out-of-range ranges. */
	{
		struct {
			uint64_t sector;
			uint32_t num, flags;
		} seg[2] = { { 0, 8, 1 }, { 0, 8, 0 } };

		pfix_init(p, VIRTIO_BLK_T_DISCARD, 0, 16, false);
		memcpy(p->data, seg, 16);
		assert_int_equal(blk_parse(&p->e, &p->lim, &p->r),
				 VIRTIO_BLK_S_UNSUPP);
		pfix_init(p, VIRTIO_BLK_T_DISCARD, 0, 32, false);
		memcpy(p->data, seg, 32);
		assert_int_equal(blk_parse(&p->e, &p->lim, &p->r),
				 VIRTIO_BLK_S_IOERR);
		seg[0] = (typeof(seg[0])){ DISK_SECTORS - 4, 8, 0 };
		pfix_init(p, VIRTIO_BLK_T_DISCARD, 0, 16, false);
		memcpy(p->data, seg, 16);
		assert_int_equal(blk_parse(&p->e, &p->lim, &p->r),
				 VIRTIO_BLK_S_IOERR);
		seg[0] = (typeof(seg[0])){ ~0ULL, 0xffffffff, 0 };
		pfix_init(p, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false);
		memcpy(p->data, seg, 16);
		assert_int_equal(blk_parse(&p->e, &p->lim, &p->r),
				 VIRTIO_BLK_S_IOERR);
		seg[0] = (typeof(seg[0])){ 0, 8, 3 };
		pfix_init(p, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false);
		memcpy(p->data, seg, 16);
		assert_int_equal(blk_parse(&p->e, &p->lim, &p->r),
				 VIRTIO_BLK_S_UNSUPP);
		seg[0] = (typeof(seg[0])){ 0, 8, 1 };
		pfix_init(p, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false);
		memcpy(p->data, seg, 16);
		assert_int_equal(blk_parse(&p->e, &p->lim, &p->r),
				 VIRTIO_BLK_S_OK);
		assert_true(p->r.unmap);
		p->lim.write_zeroes = false;
		assert_int_equal(blk_parse(&p->e, &p->lim, &p->r),
				 VIRTIO_BLK_S_UNSUPP);
	}
	free(p);
}

/* --- the device ------------------------------------------------------ */

struct fixture {
	struct harness h;
	struct virtio_dev *d;
	struct h_ring r;
	char path[64];
	int fd; /* the host's view of the image */
};

/* A disk with @dc, its queue set up; the driver refuses features @refuse. */
static struct fixture *make_refusing(struct disk_config *dc, uint64_t refuse)
{
	struct fixture *f = calloc(1, sizeof(*f));
	uint64_t features = (1ULL << VIRTIO_F_VERSION_1) |
			    (1ULL << VIRTIO_F_INDIRECT_DESC) |
			    (1ULL << VIRTIO_F_EVENT_IDX);

	log_level = LOG_ERROR;
	snprintf(f->path, sizeof(f->path), "/tmp/vmon-blk-test.XXXXXX");
	f->fd = mkstemp(f->path);
	assert_true(f->fd >= 0);
	assert_int_equal(ftruncate(f->fd, DISK_SECTORS * 512), 0);
	snprintf(dc->path, sizeof(dc->path), "%s", f->path);
	h_init(&f->h);
	f->d = virtio_blk_create(&f->h.vm, f->h.io, BASE, 5, dc);
	assert_non_null(f->d);
	assert_int_equal(iothread_start(f->h.io), 0);
	h_ring_init(&f->r, RING_AT, 16);
	/* Take every feature the device offers (FLUSH, DISCARD...). */
	features = (features | f->d->host_features) & ~refuse;
	assert_true(h_negotiate(&f->h, BASE, features) &
		    VIRTIO_STATUS_FEATURES_OK);
	h_queue(&f->h, BASE, 0, 16, f->r.desc, f->r.avail, f->r.used);
	h_driver_ok(&f->h, BASE);
	return f;
}

static struct fixture *make(struct disk_config *dc)
{
	return make_refusing(dc, 0);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (!f)
		return 0;
	h_fini(&f->h);
	close(f->fd);
	unlink(f->path);
	free(f);
	return 0;
}

/*
 * Submits one request (header at HDR, @len data bytes at DATA, status at
 * STATUS) and waits for it; returns the status byte.
 */
static uint8_t request(struct fixture *f, uint32_t type, uint64_t sector,
		       uint32_t len, bool data_in, uint32_t *used_len)
{
	uint8_t *st = h_ptr(&f->h, STATUS);
	uint16_t head = (uint16_t)(f->r.avail_idx * 3 % 15);
	uint16_t n1 = (head + 1) % 16, n2 = (head + 2) % 16;
	uint32_t id;

	memcpy(h_ptr(&f->h, HDR), &type, 4);
	memset(h_ptr(&f->h, HDR + 4), 0, 4);
	memcpy(h_ptr(&f->h, HDR + 8), &sector, 8);
	*st = 0xff;
	if (len) {
		h_desc(&f->h, &f->r, head, HDR, 16, VIRTQ_DESC_F_NEXT, n1);
		h_desc(&f->h, &f->r, n1, DATA, len,
		       VIRTQ_DESC_F_NEXT | (data_in ? VIRTQ_DESC_F_WRITE : 0),
		       n2);
		h_desc(&f->h, &f->r, n2, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
	} else {
		h_desc(&f->h, &f->r, head, HDR, 16, VIRTQ_DESC_F_NEXT, n1);
		h_desc(&f->h, &f->r, n1, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
	}
	h_avail(&f->h, &f->r, head);
	h_w32(&f->h, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(h_wait_used(&f->h, f->d, &f->r, f->r.avail_idx, 5000));
	h_used_elem(&f->h, &f->r, (uint16_t)(f->r.avail_idx - 1), &id,
		    used_len);
	assert_int_equal(id, head);
	return *st;
}

static void fill(uint8_t *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed + (i >> 9));
}

static void test_write_flush_read(void **state)
{
	struct disk_config dc = { .serial = "vmon-serial-0001" };
	struct fixture *f = *state = make(&dc);
	uint8_t want[8192], got[8192];
	uint32_t ul;

	/* Guest writes: the host reads the pattern back from the file. */
	fill(want, sizeof(want), 1);
	memcpy(h_ptr(&f->h, DATA), want, sizeof(want));
	assert_int_equal(request(f, VIRTIO_BLK_T_OUT, 100, 8192, false, &ul),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(ul, 1);
	assert_int_equal(request(f, VIRTIO_BLK_T_FLUSH, 0, 0, false, &ul),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(pread(f->fd, got, sizeof(got), 100 * 512),
			 (ssize_t)sizeof(got));
	assert_memory_equal(got, want, sizeof(want));
	/* The host writes: the guest reads it. */
	fill(want, sizeof(want), 99);
	assert_int_equal(pwrite(f->fd, want, 4096, 7 * 512), 4096);
	memset(h_ptr(&f->h, DATA), 0, 4096);
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 7, 4096, true, &ul),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(ul, 4097);
	assert_memory_equal(h_ptr(&f->h, DATA), want, 4096);
	/* The last sector is reachable, the one after it is not. */
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, 512,
				 true, &ul),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, DISK_SECTORS, 512, true,
				 &ul),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(ul, 1);
	/* GET_ID: the serial, zero-padded to 20 bytes. */
	memset(h_ptr(&f->h, DATA), 0xaa, 20);
	assert_int_equal(request(f, VIRTIO_BLK_T_GET_ID, 0, 20, true, &ul),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(ul, 21);
	assert_memory_equal(h_ptr(&f->h, DATA), "vmon-serial-0001\0\0\0\0", 20);
	/* Unknown type. */
	assert_int_equal(request(f, 77, 0, 0, false, &ul), VIRTIO_BLK_S_UNSUPP);
	/* Capacity in the configuration space. */
	{
		uint64_t cap = 0;

		bus_access(&f->h.vm.mmio, BASE + VIRTIO_MMIO_CONFIG, &cap, 8,
			   false);
		assert_int_equal(cap, DISK_SECTORS);
	}
}

static void test_discard_write_zeroes(void **state)
{
	struct disk_config dc = { 0 };
	struct fixture *f = *state = make(&dc);
	uint8_t buf[4096], zero[4096] = { 0 };
	struct {
		uint64_t sector;
		uint32_t num, flags;
	} seg;
	uint32_t ul;

	fill(buf, sizeof(buf), 3);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pwrite(f->fd, buf, 4096, i * 4096), 4096);
	seg = (typeof(seg)){ 0, 8, 0 };
	memcpy(h_ptr(&f->h, DATA), &seg, 16);
	assert_int_equal(request(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false,
				 &ul),
			 VIRTIO_BLK_S_OK);
	seg = (typeof(seg)){ 8, 8, 1 };
	memcpy(h_ptr(&f->h, DATA), &seg, 16);
	assert_int_equal(request(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false,
				 &ul),
			 VIRTIO_BLK_S_OK);
	seg = (typeof(seg)){ 16, 8, 0 };
	memcpy(h_ptr(&f->h, DATA), &seg, 16);
	assert_int_equal(request(f, VIRTIO_BLK_T_DISCARD, 0, 16, false, &ul),
			 VIRTIO_BLK_S_OK);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pread(f->fd, buf, 4096, i * 4096), 4096);
		assert_memory_equal(buf, zero, 4096);
	}
	assert_int_equal(pread(f->fd, buf, 4096, 3 * 4096), 4096);
	assert_memory_not_equal(buf, zero, 4096);
}

static void test_readonly(void **state)
{
	struct disk_config dc = { .readonly = true };
	struct fixture *f = *state = make(&dc);
	uint8_t before[512], after[512];
	uint32_t ul;

	assert_true(f->d->host_features & (1ULL << 5)); /* VIRTIO_BLK_F_RO */
	fill(before, sizeof(before), 5);
	assert_int_equal(pwrite(f->fd, before, 512, 0), 512);
	memset(h_ptr(&f->h, DATA), 0x55, 512);
	assert_int_equal(request(f, VIRTIO_BLK_T_OUT, 0, 512, false, &ul),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(f, VIRTIO_BLK_T_DISCARD, 0, 16, false, &ul),
			 VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(pread(f->fd, after, 512, 0), 512);
	assert_memory_equal(before, after, 512);
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 0, 512, true, &ul),
			 VIRTIO_BLK_S_OK);
	assert_memory_equal(h_ptr(&f->h, DATA), before, 512);
}

static void test_direct_unaligned(void **state)
{
	struct disk_config dc = { .direct = true };
	struct fixture *f = *state = make(&dc);
	uint8_t want[1024];
	uint32_t ul;
	uint16_t head;

	/* An unaligned guest buffer (DATA + 3) goes through a bounce buffer. */
	fill(want, sizeof(want), 11);
	assert_int_equal(pwrite(f->fd, want, sizeof(want), 4096), 1024);
	fsync(f->fd);
	head = 0;
	memset(h_ptr(&f->h, HDR), 0, 16);
	{
		uint64_t sector = 8;

		memcpy(h_ptr(&f->h, HDR + 8), &sector, 8);
	}
	h_desc(&f->h, &f->r, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
	h_desc(&f->h, &f->r, 1, DATA + 3, 1024,
	       VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	h_desc(&f->h, &f->r, 2, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
	h_avail(&f->h, &f->r, head);
	h_w32(&f->h, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(h_wait_used(&f->h, f->d, &f->r, 1, 5000));
	assert_int_equal(*(uint8_t *)h_ptr(&f->h, STATUS), VIRTIO_BLK_S_OK);
	assert_memory_equal(h_ptr(&f->h, DATA + 3), want, 1024);
	/* And an aligned write goes straight to the disk. */
	fill(h_ptr(&f->h, DATA), 4096, 21);
	assert_int_equal(request(f, VIRTIO_BLK_T_OUT, 16, 4096, false, &ul),
			 VIRTIO_BLK_S_OK);
	{
		uint8_t got[4096];

		assert_int_equal(pread(f->fd, got, 4096, 16 * 512), 4096);
		assert_memory_equal(got, h_ptr(&f->h, DATA), 4096);
	}
}

static void test_many_in_flight(void **state)
{
	struct disk_config dc = { 0 };
	struct fixture *f = *state = make(&dc);
	uint8_t *want = malloc(16 * 4096);

	/* 16 reads queued at once, one kick; each lands in its own buffer. */
	fill(want, 16 * 4096, 7);
	assert_int_equal(pwrite(f->fd, want, 16 * 4096, 0), 16 * 4096);
	for (uint16_t i = 0; i < 5; i++) {
		uint64_t sector = i * 8ULL;
		uint64_t hdr = HDR + 16ULL * i;
		uint32_t type = VIRTIO_BLK_T_IN;

		memcpy(h_ptr(&f->h, hdr), &type, 4);
		memcpy(h_ptr(&f->h, hdr + 8), &sector, 8);
		h_desc(&f->h, &f->r, 3 * i, hdr, 16, VIRTQ_DESC_F_NEXT,
		       3 * i + 1);
		h_desc(&f->h, &f->r, 3 * i + 1, DATA + 4096ULL * i, 4096,
		       VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 3 * i + 2);
		h_desc(&f->h, &f->r, 3 * i + 2, STATUS + i, 1,
		       VIRTQ_DESC_F_WRITE, 0);
		h_avail(&f->h, &f->r, 3 * i);
	}
	h_w32(&f->h, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(h_wait_used(&f->h, f->d, &f->r, 5, 5000));
	for (int i = 0; i < 5; i++) {
		assert_int_equal(*(uint8_t *)h_ptr(&f->h, STATUS + i), 0);
		assert_memory_equal(h_ptr(&f->h, DATA + 4096ULL * i),
				    want + 4096 * i, 4096);
	}
	free(want);
}

static void test_no_status_byte(void **state)
{
	struct disk_config dc = { 0 };
	struct fixture *f = *state = make(&dc);

	/* A request with only a header: nowhere to report: NEEDS_RESET. */
	h_desc(&f->h, &f->r, 0, HDR, 16, 0, 0);
	h_avail(&f->h, &f->r, 0);
	h_w32(&f->h, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	for (int i = 0; i < 400; i++) {
		if (h_r32(&f->h, BASE, VIRTIO_MMIO_STATUS) &
		    VIRTIO_STATUS_NEEDS_RESET)
			break;
		usleep(5000);
	}
	assert_true(h_r32(&f->h, BASE, VIRTIO_MMIO_STATUS) &
		    VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(h_used_idx(&f->h, &f->r), 0);
}

static double secs_since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) +
	       (double)(b.tv_nsec - a->tv_nsec) / 1e9;
}

/*
 * One 4 KiB read of @sector made as the guest runtime's driver makes it
 * (guest/runtime/vdrv.c): the kick skipped while the device sets
 * VIRTQ_USED_F_NO_NOTIFY (counted in *@skipped), then the used index
 * polled, with a read of the status register (a register access under the
 * device lock, as a vCPU's MMIO exit) between two polls. Returns its
 * latency; fails the test when it is not done after 10 s.
 */
static double guest_read(struct fixture *f, uint64_t sector,
			 unsigned int *skipped)
{
	const uint16_t *used_flags = h_ptr(&f->h, f->r.used);
	uint16_t want = (uint16_t)(f->r.avail_idx + 1);
	uint32_t type = VIRTIO_BLK_T_IN;
	struct timespec a;

	clock_gettime(CLOCK_MONOTONIC, &a);
	memcpy(h_ptr(&f->h, HDR), &type, 4);
	memcpy(h_ptr(&f->h, HDR + 8), &sector, 8);
	*(uint8_t *)h_ptr(&f->h, STATUS) = 0xff;
	h_desc(&f->h, &f->r, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
	h_desc(&f->h, &f->r, 1, DATA, 4096,
	       VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	h_desc(&f->h, &f->r, 2, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
	h_avail(&f->h, &f->r, 0);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(used_flags, __ATOMIC_ACQUIRE) &
	    VIRTQ_USED_F_NO_NOTIFY)
		(*skipped)++;
	else
		h_w32(&f->h, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	while (h_used_idx(&f->h, &f->r) != want) {
		assert_false(h_r32(&f->h, BASE, VIRTIO_MMIO_STATUS) &
			     VIRTIO_STATUS_NEEDS_RESET);
		if (secs_since(&a) > 10.0)
			fail_msg(
				"read of sector %llu: not completed after 10 s",
				(unsigned long long)sector);
	}
	assert_int_equal(*(uint8_t *)h_ptr(&f->h, STATUS), VIRTIO_BLK_S_OK);
	return secs_since(&a);
}

/* A disk for guest_read(): without event index, as the guest's driver. */
static struct fixture *make_for_guest(void **state, struct disk_config *dc)
{
	struct fixture *f = *state =
		make_refusing(dc, 1ULL << VIRTIO_F_EVENT_IDX);

	assert_false(f->d->vqs[0].event_idx);
	return f;
}

/*
 * Reads through an ops rate limiter as the api_probe guest makes them, one
 * at a time: 16 pass at once, the other 32 at 64 a second, so the whole
 * takes no less than 0.5 s, and every read completes (a wake-up the
 * limiter's timer or the poller lost would leave one waiting).
 */
static void test_ops_limiter_paces(void **state)
{
	struct disk_config dc = { 0 };
	struct fixture *f;
	struct timespec t0;
	unsigned int skipped = 0;
	double took, worst = 0;

	dc.rl.ops = (struct tb_config){ .size = 16, .refill_time_ms = 250 };
	f = make_for_guest(state, &dc);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 48; i++) {
		double w = guest_read(f, 8ULL * (i % 32), &skipped);

		if (w > worst)
			worst = w;
	}
	took = secs_since(&t0);
	print_message("48 reads at 64 ops/s after a burst of 16: %.3f s, "
		      "longest read %.3f s\n",
		      took, worst);
	/* 32 reads past the bucket at 15.625 ms each, less one clock tick. */
	assert_true(took >= 0.49);
}

/*
 * Back-to-back reads with no limit, kicks through the eventfd (as KVM's
 * ioeventfd) to the I/O thread. Where the host gives it a CPU at once,
 * the thread polls (iothread.c: gaps under IOTHREAD_POLL_MAX_NS): it sets
 * VIRTQ_USED_F_NO_NOTIFY, the driver stops kicking, and kicks are asked
 * for again when a stretch ends (blk_poll()); pauses between some reads
 * end stretches at every point. Each of 2000 reads completes, across
 * every start and end of a stretch; how many went without a kick is
 * printed (on a loaded host, few or none).
 */
static void test_polled_reads(void **state)
{
	struct disk_config dc = { 0 };
	struct fixture *f = make_for_guest(state, &dc);
	struct timespec t0;
	unsigned int skipped = 0;
	double worst = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 2000; i++) {
		double w = guest_read(f, 8ULL * (i % 256), &skipped);

		if (w > worst)
			worst = w;
		/*
		 * Pauses of 10 to 70 us, spun (a sleep would last as long as
		 * the host takes to wake us): stretches end around the budget.
		 */
		if (i % 5 == 4) {
			struct timespec p;

			clock_gettime(CLOCK_MONOTONIC, &p);
			while (secs_since(&p) < 1e-6 * (10 + 10 * (i % 7)))
				;
		}
	}
	print_message("2000 reads: %.3f s, longest %.4f s, %u without a "
		      "kick (the device was polling)\n",
		      secs_since(&t0), worst, skipped);
}

static int null_setup(void **state)
{
	*state = NULL;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_hostile),
#define T(x) cmocka_unit_test_setup_teardown(x, null_setup, teardown)
		T(test_write_flush_read),
		T(test_discard_write_zeroes),
		T(test_readonly),
		T(test_direct_unaligned),
		T(test_many_in_flight),
		T(test_no_status_byte),
		T(test_ops_limiter_paces),
		T(test_polled_reads),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
