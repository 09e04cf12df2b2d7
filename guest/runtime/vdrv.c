// SPDX-License-Identifier: GPL-2.0-only
/*
 * vdrv.c - the minimal polling virtio-mmio driver of the freestanding guest
 * programs (vdrv.h): command-line device discovery, device initialisation,
 * split-queue submission and polling, virtio-blk request chains.
 */
#include "rt.h"
#include "vdrv.h"

const char *vdrv_find(const char *s, const char *word)
{
	for (; *s; s++) {
		const char *a = s, *b = word;

		while (*b && *a == *b)
			a++, b++;
		if (!*b)
			return a;
	}
	return NULL;
}

uint64_t vdrv_num(const char **p)
{
	uint64_t v = 0;
	unsigned int base = 10;
	const char *s = *p;

	if (s[0] == '0' && s[1] == 'x') {
		base = 16;
		s += 2;
	}
	for (;; s++) {
		unsigned int d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned int)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned int)(*s - 'a' + 10);
		else
			break;
		v = v * base + d;
	}
	*p = s;
	return v;
}

uint64_t vdrv_next_device(const char **p)
{
	const char *s = *p ? vdrv_find(*p, "virtio_mmio.device=") : NULL;
	uint64_t base = 0;

	if (s) {
		vdrv_num(&s); /* size */
		if (*s == '@') {
			s++;
			base = vdrv_num(&s);
		}
	}
	*p = s;
	return base;
}

bool vdrv_is_virtio(uint64_t base)
{
	return *vdrv_reg(base, VMMIO_MAGIC) == 0x74726976 &&
	       *vdrv_reg(base, VMMIO_VERSION) == 2;
}

/*
 * Which device each set of rings was last given to. A driver hands rings
 * to another device only after resetting the one that had them: until
 * then that device may still write them (its used ring's flags, when its
 * I/O thread polls) and read their available ring.
 */
#define VDRV_OWNERS 8
static struct {
	struct vq *qs;
	uint64_t base;
} owners[VDRV_OWNERS];

static void take_rings(uint64_t base, struct vq *qs)
{
	unsigned int i, free_slot = VDRV_OWNERS;

	for (i = 0; i < VDRV_OWNERS; i++) {
		if (owners[i].qs == qs)
			break;
		if (!owners[i].qs && free_slot == VDRV_OWNERS)
			free_slot = i;
	}
	if (i < VDRV_OWNERS) {
		if (owners[i].base != base)
			*vdrv_reg(owners[i].base, VMMIO_STATUS) = 0;
	} else {
		i = free_slot;
	}
	if (i < VDRV_OWNERS) {
		owners[i].qs = qs;
		owners[i].base = base;
	}
}

bool vdrv_init(uint64_t base, struct vq *qs, unsigned int nq, uint32_t features)
{
	const uint32_t drv = VSTAT_ACKNOWLEDGE | VSTAT_DRIVER;

	take_rings(base, qs);
	memset(qs, 0, nq * sizeof(*qs));
	*vdrv_reg(base, VMMIO_STATUS) = 0;
	*vdrv_reg(base, VMMIO_STATUS) = VSTAT_ACKNOWLEDGE;
	*vdrv_reg(base, VMMIO_STATUS) = drv;
	*vdrv_reg(base, VMMIO_DRIVER_FEATURES_SEL) = 1;
	*vdrv_reg(base, VMMIO_DRIVER_FEATURES) = 1; /* VERSION_1 */
	*vdrv_reg(base, VMMIO_DRIVER_FEATURES_SEL) = 0;
	*vdrv_reg(base, VMMIO_DRIVER_FEATURES) = features;
	*vdrv_reg(base, VMMIO_STATUS) = drv | VSTAT_FEATURES_OK;
	if (!(*vdrv_reg(base, VMMIO_STATUS) & VSTAT_FEATURES_OK))
		return false;
	for (unsigned int i = 0; i < nq; i++) {
		*vdrv_reg(base, VMMIO_QUEUE_SEL) = i;
		if (*vdrv_reg(base, VMMIO_QUEUE_NUM_MAX) < VQ_SIZE)
			return false;
		*vdrv_reg(base, VMMIO_QUEUE_NUM) = VQ_SIZE;
		*vdrv_reg(base, VMMIO_QUEUE_DESC) =
			(uint32_t)(uintptr_t)qs[i].desc;
		*vdrv_reg(base, VMMIO_QUEUE_DESC + 4) = 0;
		*vdrv_reg(base, VMMIO_QUEUE_AVAIL) =
			(uint32_t)(uintptr_t)qs[i].avail;
		*vdrv_reg(base, VMMIO_QUEUE_AVAIL + 4) = 0;
		*vdrv_reg(base, VMMIO_QUEUE_USED) =
			(uint32_t)(uintptr_t)&qs[i].used;
		*vdrv_reg(base, VMMIO_QUEUE_USED + 4) = 0;
		*vdrv_reg(base, VMMIO_QUEUE_READY) = 1;
	}
	*vdrv_reg(base, VMMIO_STATUS) = drv | VSTAT_FEATURES_OK |
					VSTAT_DRIVER_OK;
	return *vdrv_reg(base, VMMIO_QUEUE_READY) == 1 &&
	       !(*vdrv_reg(base, VMMIO_STATUS) & VSTAT_NEEDS_RESET);
}

void vdrv_give(struct vq *q, uint16_t head)
{
	uint16_t idx = q->avail[1];

	q->avail[2 + idx % VQ_SIZE] = head;
	vdrv_barrier();
	q->avail[1] = (uint16_t)(idx + 1);
	vdrv_barrier();
}

void vdrv_kick(uint64_t base, unsigned int qi)
{
	*vdrv_reg(base, VMMIO_QUEUE_NOTIFY) = qi;
}

void vdrv_notify(uint64_t base, struct vq *q, unsigned int qi)
{
	__asm__ volatile("mfence" ::: "memory");
	if (!(*(volatile uint16_t *)&q->used.flags & 1))
		vdrv_kick(base, qi);
}

uint16_t vdrv_submit(uint64_t base, struct vq *q, unsigned int qi,
		     uint16_t head)
{
	uint16_t seen = q->used.idx;

	vdrv_give(q, head);
	vdrv_notify(base, q, qi);
	return seen;
}

bool vdrv_wait(uint64_t base, struct vq *q, uint16_t seen, uint32_t *len,
	       unsigned long limit)
{
	for (unsigned long i = 0; !limit || i < limit; i++) {
		vdrv_barrier();
		if (*(volatile uint16_t *)&q->used.idx != seen) {
			vdrv_barrier();
			*len = q->used.ring[seen % VQ_SIZE].len;
			return true;
		}
		if (*vdrv_reg(base, VMMIO_STATUS) & VSTAT_NEEDS_RESET)
			return false;
		__asm__ volatile("pause");
	}
	return false;
}

uint32_t vdrv_wait_mem(struct vq *q, uint16_t seen)
{
	while (*(volatile uint16_t *)&q->used.idx == seen)
		__asm__ volatile("pause");
	vdrv_barrier();
	return q->used.ring[seen % VQ_SIZE].id;
}

uint16_t vdrv_blk_chain(struct vq *q, uint16_t d, struct vblk_req *r,
			uint32_t type, uint64_t sector, void *buf, uint32_t len)
{
	uint16_t st = len ? (uint16_t)(d + 2) : (uint16_t)(d + 1);

	r->type = type;
	r->reserved = 0;
	r->sector = sector;
	r->status = 0xff;
	q->desc[d] = (struct vq_desc){ (uintptr_t)r, 16, VQ_DESC_F_NEXT,
				       (uint16_t)(d + 1) };
	if (len)
		q->desc[d + 1] = (struct vq_desc){
			(uintptr_t)buf, len,
			(uint16_t)(VQ_DESC_F_NEXT |
				   (type == VBLK_T_OUT ? 0 : VQ_DESC_F_WRITE)),
			st
		};
	q->desc[st] = (struct vq_desc){ (uintptr_t)&r->status, 1,
					VQ_DESC_F_WRITE, 0 };
	return d;
}

/*
 * vmon boots a program through PVH, QEMU through multiboot (as ELF32), and
 * only QEMU's fw_cfg copy of the command line has the virtio_mmio.device=
 * entries microvm adds: fw_cfg's when it has them.
 */
static char fw_cmdline[4096];

const char *vdrv_boot_cmdline(void)
{
	uint32_t size;

	fw_cfg_read(0x14, &size, 4); /* FW_CFG_CMDLINE_SIZE */
	if (size && size < sizeof(fw_cmdline)) {
		fw_cfg_read(0x15, fw_cmdline, size); /* FW_CFG_CMDLINE_DATA */
		fw_cmdline[size] = 0;
		if (vdrv_find(fw_cmdline, "virtio_mmio.device="))
			return fw_cmdline;
	}
	return rt_cmdline();
}

uint64_t vdrv_find_device_irq(const char *cmdline, uint32_t id,
			      unsigned int *irq)
{
	const char *p = cmdline;
	uint64_t base;

	while ((base = vdrv_next_device(&p))) {
		if (!vdrv_is_virtio(base) ||
		    *vdrv_reg(base, VMMIO_DEVICE_ID) != id)
			continue;
		*irq = 0;
		if (*p == ':') {
			p++;
			*irq = (unsigned int)vdrv_num(&p);
		}
		return base;
	}
	return 0;
}

uint64_t vdrv_find_device(const char *cmdline, uint32_t id)
{
	unsigned int irq;

	return vdrv_find_device_irq(cmdline, id, &irq);
}

void vdrv_phase(const char *name, uint64_t (*fn)(uint64_t), uint64_t arg,
		uint64_t bytes_per)
{
	uint64_t t0, t1, n;

	printf("PHASE %s start\n", name);
	t0 = rdtsc();
	n = rt_user_call(fn, arg);
	t1 = rdtsc();
	printf("PHASE %s end %lu %lu tsc=%lu\n", name, n, n * bytes_per,
	       t1 - t0);
}
