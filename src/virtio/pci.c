// SPDX-License-Identifier: GPL-2.0-only
/*
 * pci.c - the virtio-pci modern transport (pci.h): the PCI function and its
 * vendor capabilities, BAR 0's common configuration, ISR, device
 * configuration and notification regions, the MSI-X table there, the
 * queue vectors, ioeventfds that follow BAR 0 wherever the driver puts it,
 * and interrupts by MSI-X or INTx. The virtio semantics (features, status,
 * queues) are the framework's (mmio.h), as for virtio-mmio.
 */
#include "pci.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../pci/host.h"
#include "../pci/msix.h"
#include "../util/log.h"
#include "../vmm/state.h"
#include "../vmm/vm.h"

enum { ONCE_VPCI = 0x7a01 };

/* The transport's saved state: vectors, configuration space, MSI-X. */
struct vpci_state {
	uint16_t config_vector;
	uint16_t queue_vector[VIRTIO_MAX_QUEUES];
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t table[MSIX_MAX_VECTORS * MSIX_ENTRY_SIZE];
	uint64_t pba;
};

struct vpci {
	struct virtio_dev *d;
	struct vpci_state *loaded; /* between load() and loaded() */
	struct pci_dev pdev;
	struct msix msix;
	uint16_t config_vector; /* d->lock */
	uint16_t queue_vector[VIRTIO_MAX_QUEUES];
	uint64_t notify_base; /* where the ioeventfds are (bus lock) */
	bool ioeventfds;
};

static uint16_t check_vector(struct vpci *v, uint32_t vec)
{
	return vec < v->msix.nr ? (uint16_t)vec : VIRTIO_MSI_NO_VECTOR;
}

static struct virtq *sel_queue(struct virtio_dev *d)
{
	return d->queue_sel < d->nr_queues ? &d->vqs[d->queue_sel] : NULL;
}

static uint32_t features_at(uint64_t f, uint32_t sel)
{
	return sel > 1 ? 0 : (uint32_t)(f >> (32 * sel));
}

static void put64(uint8_t *img, unsigned int off, uint64_t v)
{
	pci_set32(img, off, (uint32_t)v);
	pci_set32(img, off + 4, (uint32_t)(v >> 32));
}

/* The common configuration structure as the driver reads it. */
static void common_image(struct vpci *v, uint8_t *img)
{
	struct virtio_dev *d = v->d;
	struct virtq *vq = sel_queue(d);

	memset(img, 0, VIRTIO_PCI_COMMON_SIZE);
	pci_set32(img, VPCI_DFSELECT, d->dev_feat_sel);
	pci_set32(img, VPCI_DF, features_at(d->host_features, d->dev_feat_sel));
	pci_set32(img, VPCI_GFSELECT, d->drv_feat_sel);
	pci_set32(img, VPCI_GF,
		  features_at(d->driver_features, d->drv_feat_sel));
	pci_set16(img, VPCI_MSIX_CONFIG, v->config_vector);
	pci_set16(img, VPCI_NUM_QUEUES, (uint16_t)d->nr_queues);
	img[VPCI_STATUS] = (uint8_t)d->status;
	img[VPCI_CFG_GENERATION] = (uint8_t)d->config_generation;
	pci_set16(img, VPCI_Q_SELECT, (uint16_t)d->queue_sel);
	if (!vq)
		return; /* queue_size 0: no such queue */
	pci_set16(img, VPCI_Q_SIZE, vq->size ? vq->size : d->queue_max);
	pci_set16(img, VPCI_Q_MSIX, v->queue_vector[d->queue_sel]);
	pci_set16(img, VPCI_Q_ENABLE, vq->enabled);
	pci_set16(img, VPCI_Q_NOFF, (uint16_t)d->queue_sel);
	put64(img, VPCI_Q_DESC, vq->desc_gpa);
	put64(img, VPCI_Q_AVAIL, vq->avail_gpa);
	put64(img, VPCI_Q_USED, vq->used_gpa);
	pci_set16(img, VPCI_Q_NDATA, (uint16_t)d->queue_sel);
}

static uint64_t get64(const uint8_t *img, unsigned int off)
{
	return pci_get32(img, off) | (uint64_t)pci_get32(img, off + 4) << 32;
}

/* A write to a queue field of the selected queue (@off its offset). */
static void queue_field(struct vpci *v, unsigned int off, const uint8_t *img)
{
	struct virtio_dev *d = v->d;
	struct virtq *vq = sel_queue(d);

	if (!vq || (vq->enabled && off != VPCI_Q_MSIX)) {
		log_once(
			ONCE_VPCI, d->base + off,
			"%s: common config 0x%x written for %s queue %u: ignored",
			d->name, off, vq ? "enabled" : "nonexistent",
			d->queue_sel);
		return;
	}
	switch (off) {
	case VPCI_Q_SIZE:
		vq->size = pci_get16(img, off);
		break;
	case VPCI_Q_MSIX:
		v->queue_vector[d->queue_sel] =
			check_vector(v, pci_get16(img, off));
		break;
	case VPCI_Q_ENABLE:
		if (pci_get16(img, off) != 1)
			break; /* only 1 may be written (4.1.4.3.2) */
		if (!vq->size)
			vq->size = d->queue_max;
		virtio_write_queue_ready(d, vq, 1);
		break;
	case VPCI_Q_DESC:
		vq->desc_gpa = get64(img, off);
		break;
	case VPCI_Q_AVAIL:
		vq->avail_gpa = get64(img, off);
		break;
	case VPCI_Q_USED:
		vq->used_gpa = get64(img, off);
		break;
	}
}

static void common_field(struct vpci *v, unsigned int off, const uint8_t *img)
{
	struct virtio_dev *d = v->d;

	switch (off) {
	case VPCI_DFSELECT:
		d->dev_feat_sel = pci_get32(img, off);
		break;
	case VPCI_GFSELECT:
		d->drv_feat_sel = pci_get32(img, off);
		break;
	case VPCI_GF:
		virtio_write_driver_features(d, pci_get32(img, off));
		break;
	case VPCI_MSIX_CONFIG:
		v->config_vector = check_vector(v, pci_get16(img, off));
		break;
	case VPCI_STATUS:
		virtio_write_status(d, img[off]);
		break;
	case VPCI_Q_SELECT:
		d->queue_sel = pci_get16(img, off);
		break;
	case VPCI_Q_SIZE:
	case VPCI_Q_MSIX:
	case VPCI_Q_ENABLE:
	case VPCI_Q_DESC:
	case VPCI_Q_AVAIL:
	case VPCI_Q_USED:
		queue_field(v, off, img);
		break;
	case VPCI_Q_RESET:
		break; /* VIRTIO_F_RING_RESET is not offered */
	default:
		log_once(ONCE_VPCI, d->base + off,
			 "%s: write of read-only common config field 0x%x",
			 d->name, off);
	}
}

/* Field offsets and sizes of the common structure, in order. */
static const uint8_t fields[][2] = {
	{ VPCI_DFSELECT, 4 },	 { VPCI_DF, 4 },
	{ VPCI_GFSELECT, 4 },	 { VPCI_GF, 4 },
	{ VPCI_MSIX_CONFIG, 2 }, { VPCI_NUM_QUEUES, 2 },
	{ VPCI_STATUS, 1 },	 { VPCI_CFG_GENERATION, 1 },
	{ VPCI_Q_SELECT, 2 },	 { VPCI_Q_SIZE, 2 },
	{ VPCI_Q_MSIX, 2 },	 { VPCI_Q_ENABLE, 2 },
	{ VPCI_Q_NOFF, 2 },	 { VPCI_Q_DESC, 8 },
	{ VPCI_Q_AVAIL, 8 },	 { VPCI_Q_USED, 8 },
	{ VPCI_Q_NDATA, 2 },	 { VPCI_Q_RESET, 2 },
};

/* Bytes @off..@off+@len merged into the image; each field touched acts. */
static void common_write(struct vpci *v, unsigned int off, const void *data,
			 unsigned int len)
{
	uint8_t img[VIRTIO_PCI_COMMON_SIZE];

	common_image(v, img);
	memcpy(img + off, data, len);
	for (unsigned int i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (fields[i][0] < off + len &&
		    off < fields[i][0] + fields[i][1])
			common_field(v, fields[i][0], img);
}

static void kick(struct virtio_dev *d, uint64_t off)
{
	uint64_t q = off / VIRTIO_PCI_NOTIFY_MULT;

	/* Reached only when no ioeventfd took the write. */
	if (q < d->nr_queues && off % VIRTIO_PCI_NOTIFY_MULT == 0)
		virtio_requeue(d, (unsigned int)q);
	else
		log_once(ONCE_VPCI, d->base + VIRTIO_PCI_NOTIFY + off,
			 "%s: notify at 0x%llx: no such queue", d->name,
			 (unsigned long long)off);
}

static void region_access(struct vpci *v, uint64_t off, void *data,
			  unsigned int len, bool is_write)
{
	struct virtio_dev *d = v->d;
	uint8_t img[VIRTIO_PCI_COMMON_SIZE];

	if (off < VIRTIO_PCI_COMMON_SIZE) {
		if (len > VIRTIO_PCI_COMMON_SIZE - off)
			return;
		if (is_write) {
			common_write(v, (unsigned int)off, data, len);
		} else {
			common_image(v, img);
			memcpy(data, img + off, len);
		}
	} else if (off == VIRTIO_PCI_ISR) {
		/* Reading acknowledges (and with INTx, deasserts). */
		if (!is_write)
			bus_put(data, len, atomic_exchange(&d->isr, 0));
	} else if (off >= VIRTIO_PCI_DEVICE_CFG && off < VIRTIO_PCI_NOTIFY) {
		off -= VIRTIO_PCI_DEVICE_CFG;
		if (len > 8)
			return;
		if (is_write && d->ops->config_write)
			d->ops->config_write(d, off, data, len);
		else if (!is_write && d->ops->config_read)
			d->ops->config_read(d, off, data, len);
	} else if (off >= VIRTIO_PCI_NOTIFY && is_write) {
		kick(d, off - VIRTIO_PCI_NOTIFY);
	}
}

void virtio_pci_bar_read(void *opaque, uint64_t off, void *data,
			 unsigned int len)
{
	struct vpci *v = opaque;

	memset(data, 0, len);
	if (off >= VIRTIO_PCI_MSIX_PBA) {
		msix_pba_read(&v->msix, off - VIRTIO_PCI_MSIX_PBA, data, len);
	} else if (off >= VIRTIO_PCI_MSIX_TABLE) {
		msix_table_read(&v->msix, off - VIRTIO_PCI_MSIX_TABLE, data,
				len);
	} else {
		pthread_mutex_lock(&v->d->lock);
		region_access(v, off, data, len, false);
		pthread_mutex_unlock(&v->d->lock);
	}
}

void virtio_pci_bar_write(void *opaque, uint64_t off, const void *data,
			  unsigned int len)
{
	struct vpci *v = opaque;

	if (off >= VIRTIO_PCI_MSIX_PBA) {
		return; /* read-only */
	} else if (off >= VIRTIO_PCI_MSIX_TABLE) {
		msix_table_write(&v->msix, off - VIRTIO_PCI_MSIX_TABLE, data,
				 len);
	} else {
		pthread_mutex_lock(&v->d->lock);
		region_access(v, off, (void *)data, len, true);
		pthread_mutex_unlock(&v->d->lock);
	}
}

static const struct bus_ops vpci_bar_ops = {
	.read = virtio_pci_bar_read,
	.write = virtio_pci_bar_write,
};

/* --- KVM: ioeventfds on the notification addresses --------------------- */

static int ioeventfd(struct vpci *v, unsigned int q, bool assign)
{
	struct virtio_dev *d = v->d;
	struct kvm_ioeventfd ioe = {
		.datamatch = q,
		.addr = v->notify_base + q * VIRTIO_PCI_NOTIFY_MULT,
		.len = 2,
		.fd = d->kicks[q].fd,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH |
			 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	if (!ioctl(d->vm->fd, KVM_IOEVENTFD, &ioe))
		return 0;
	pr_err("%s: KVM_IOEVENTFD for queue %u at 0x%llx: %s", d->name, q,
	       (unsigned long long)ioe.addr, strerror(errno));
	return -1;
}

static void unregister_notify(struct vpci *v)
{
	if (!v->ioeventfds)
		return;
	for (unsigned int q = 0; q < v->d->nr_queues; q++)
		ioeventfd(v, q, false);
	v->ioeventfds = false;
}

static void bar_moved(struct pci_dev *p, unsigned int n, uint64_t addr, bool on)
{
	struct vpci *v = p->opaque;

	if (n != 0 || v->d->vm->fd < 0)
		return;
	unregister_notify(v);
	if (!on)
		return; /* kicks reach kick() if at all */
	v->notify_base = addr + VIRTIO_PCI_NOTIFY;
	for (unsigned int q = 0; q < v->d->nr_queues; q++) {
		if (ioeventfd(v, q, true)) {
			/* Those set so far go; kicks then exit to kick(). */
			while (q--)
				ioeventfd(v, q, false);
			return;
		}
	}
	v->ioeventfds = true;
}

static void config_written(struct pci_dev *p, unsigned int off,
			   unsigned int len)
{
	struct vpci *v = p->opaque;

	msix_config_written(&v->msix, off, len);
}

static const struct pci_dev_ops vpci_pci_ops = {
	.config_written = config_written,
	.bar_moved = bar_moved,
};

/* --- the transport hooks ------------------------------------------------ */

static bool vpci_interrupt(struct virtio_dev *d, int q)
{
	struct vpci *v = d->tp_priv;
	uint16_t vec = q < 0 ? v->config_vector : v->queue_vector[q];

	if (vec == VIRTIO_MSI_NO_VECTOR)
		return msix_enabled(&v->msix); /* with MSI-X: none */
	return msix_notify(&v->msix, vec);
}

static void vpci_reset(struct virtio_dev *d)
{
	struct vpci *v = d->tp_priv;

	v->config_vector = VIRTIO_MSI_NO_VECTOR;
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		v->queue_vector[q] = VIRTIO_MSI_NO_VECTOR;
}

static void vpci_destroy(struct virtio_dev *d)
{
	struct vpci *v = d->tp_priv;

	/*
	 * Never freed while the bus still holds it, however it goes (a
	 * reap, a hot-add that failed half-way, the VM's end): the bus is
	 * the host's and outlives it (vm->pci is NULL once it is gone).
	 */
	if (d->vm->pci && v->pdev.bus == &d->vm->pci->bus)
		pci_bus_remove(v->pdev.bus, &v->pdev);
	if (d->vm->fd >= 0)
		unregister_notify(v);
	msix_fini(&v->msix);
	free(v->loaded);
	free(v);
}

static void vpci_save(struct virtio_dev *d, struct state_writer *w)
{
	struct vpci *v = d->tp_priv;
	struct pci_bus *bus = v->pdev.bus;
	uint8_t table[sizeof(v->msix.table)];
	uint64_t pba;

	state_put_u16(w, v->config_vector);
	for (unsigned int q = 0; q < d->nr_queues; q++)
		state_put_u16(w, v->queue_vector[q]);
	pthread_mutex_lock(&bus->lock);
	state_put_bytes(w, v->pdev.cfg, PCI_CFG_SIZE);
	pthread_mutex_unlock(&bus->lock);
	pthread_mutex_lock(&v->msix.lock);
	memcpy(table, v->msix.table, sizeof(table));
	pba = v->msix.pba;
	pthread_mutex_unlock(&v->msix.lock);
	state_put_bytes(w, table, v->msix.nr * MSIX_ENTRY_SIZE);
	state_put_u64(w, pba);
}

static bool vector_ok(const struct vpci *v, uint16_t vec)
{
	return vec == VIRTIO_MSI_NO_VECTOR || vec < v->msix.nr;
}

static int vpci_load(struct virtio_dev *d, struct state_reader *r)
{
	struct vpci *v = d->tp_priv;
	struct vpci_state *s = calloc(1, sizeof(*s));
	bool ok;

	if (!s) {
		state_fail(r, "%s: out of memory", d->name);
		return -1;
	}
	s->config_vector = state_get_u16(r, "virtio-pci config vector");
	ok = vector_ok(v, s->config_vector);
	for (unsigned int q = 0; q < d->nr_queues; q++) {
		s->queue_vector[q] =
			state_get_u16(r, "virtio-pci queue vector");
		ok &= vector_ok(v, s->queue_vector[q]);
	}
	state_get_bytes(r, s->cfg, PCI_CFG_SIZE, "PCI configuration space");
	state_get_bytes(r, s->table, v->msix.nr * MSIX_ENTRY_SIZE,
			"MSI-X table");
	s->pba = state_get_u64(r, "MSI-X pending bits");
	if (!state_ok(r) || !state_check(r, ok, "virtio-pci vectors") ||
	    !state_check(r, pci_config_compatible(&v->pdev, s->cfg),
			 "PCI configuration space (another device)") ||
	    !state_check(r, msix_state_valid(&v->msix, s->table, s->pba),
			 "MSI-X table")) {
		free(s);
		return -1;
	}
	free(v->loaded);
	v->loaded = s;
	return 0;
}

static void vpci_loaded(struct virtio_dev *d, bool apply)
{
	struct vpci *v = d->tp_priv;
	struct vpci_state *s = v->loaded;

	v->loaded = NULL;
	if (s && apply) {
		v->config_vector = s->config_vector;
		memcpy(v->queue_vector, s->queue_vector,
		       sizeof(v->queue_vector));
		msix_load(&v->msix, s->table, s->pba);
		pci_config_load(&v->pdev, s->cfg);
	}
	free(s);
}

static const struct virtio_transport vpci_transport = {
	.interrupt = vpci_interrupt,
	.reset = vpci_reset,
	.destroy = vpci_destroy,
	.save = vpci_save,
	.load = vpci_load,
	.loaded = vpci_loaded,
};

/* --- creation ----------------------------------------------------------- */

static int add_vcap(struct pci_dev *p, uint8_t type, uint32_t off, uint32_t len)
{
	unsigned int extra = type == VIRTIO_PCI_CAP_NOTIFY_CFG ? 4 : 0;
	unsigned int c = pci_add_cap(p, PCI_CAP_ID_VNDR, 16 + extra);

	if (!c)
		return -1;
	p->cfg[c + 2] = (uint8_t)(16 + extra); /* cap_len */
	p->cfg[c + 3] = type;
	p->cfg[c + 4] = 0; /* BAR 0 */
	pci_set32(p->cfg, c + 8, off);
	pci_set32(p->cfg, c + 12, len);
	if (extra)
		pci_set32(p->cfg, c + 16, VIRTIO_PCI_NOTIFY_MULT);
	return 0;
}

static uint32_t class_of(uint32_t device_id)
{
	switch (device_id) {
	case 1:
		return 0x020000; /* network controller */
	case 2:
		return 0x018000; /* mass storage, other */
	case 3:
		return 0x078000; /* communication, other */
	default:
		return 0xff0000; /* unassigned */
	}
}

static int setup_function(struct vpci *v, struct vm *vm)
{
	struct virtio_dev *d = v->d;
	struct pci_dev *p = &v->pdev;

	p->cfg[PCI_INTERRUPT_PIN] = 1; /* INTA# */
	p->cfg[PCI_INTERRUPT_LINE] = (uint8_t)d->irq;
	pci_set16(p->cfg, PCI_SUBSYSTEM_VENDOR_ID, VIRTIO_PCI_VENDOR);
	pci_set16(p->cfg, PCI_SUBSYSTEM_ID, 0x1100);
	p->ops = &vpci_pci_ops;
	p->opaque = v;
	if (pci_add_bar(p, 0, VIRTIO_PCI_BAR_SIZE, false, false, &vpci_bar_ops,
			v) ||
	    add_vcap(p, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON,
		     VIRTIO_PCI_COMMON_SIZE) ||
	    add_vcap(p, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR, 1) ||
	    add_vcap(p, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_CFG,
		     VIRTIO_PCI_DEVICE_CFG_SIZE) ||
	    add_vcap(p, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY,
		     d->nr_queues * VIRTIO_PCI_NOTIFY_MULT) ||
	    pci_bus_add(&vm->pci->bus, p, -1))
		return -1;
	d->base = pci_get32(p->cfg, PCI_BASE_ADDRESS_0) & ~0xfULL;
	return virtio_setup_irqfd(d);
}

struct virtio_dev *virtio_pci_create(struct vm *vm, struct iothread *io,
				     unsigned int irq,
				     const struct virtio_dev_ops *ops,
				     unsigned int nr_queues, uint16_t queue_max,
				     uint64_t features, void *priv,
				     const char *name)
{
	struct virtio_dev *d;
	struct vpci *v;

	if (!vm->pci) {
		pr_err("%s: virtio-pci without a PCI host bridge", name);
		if (ops->destroy)
			ops->destroy(priv);
		return NULL;
	}
	d = virtio_dev_new(vm, io, ops, nr_queues, queue_max, features, priv,
			   name);
	v = d ? calloc(1, sizeof(*v)) : NULL;
	if (!v)
		return NULL; /* d, if any, goes with the VM */
	v->d = d;
	d->irq = irq;
	pci_dev_init(&v->pdev, name, VIRTIO_PCI_VENDOR,
		     (uint16_t)(VIRTIO_PCI_DEVICE_BASE + ops->device_id),
		     class_of(ops->device_id), 1);
	d->tp = &vpci_transport; /* from here on, teardown frees v */
	d->tp_priv = v;
	vpci_reset(d);
	/* One vector per queue and one for configuration changes. */
	if (msix_init(&v->msix, &v->pdev, &vm->pci->msi, nr_queues + 1, 0,
		      VIRTIO_PCI_MSIX_TABLE, VIRTIO_PCI_MSIX_PBA))
		return NULL;
	if (setup_function(v, vm))
		return NULL;
	return d;
}

void virtio_pci_unplugged(struct virtio_dev *d)
{
	if (d->tp == &vpci_transport)
		msix_release(&((struct vpci *)d->tp_priv)->msix);
}

bool virtio_pci_on_bus(struct virtio_dev *d)
{
	struct vpci *v = d->tp == &vpci_transport ? d->tp_priv : NULL;
	struct pci_bus *bus = v ? v->pdev.bus : NULL;
	bool on;

	if (!bus)
		return false;
	pthread_mutex_lock(&bus->lock);
	on = v->pdev.slot < PCI_MAX_DEVS && bus->devs[v->pdev.slot] == &v->pdev;
	pthread_mutex_unlock(&bus->lock);
	return on;
}

int virtio_pci_slot(struct virtio_dev *d)
{
	return d->tp == &vpci_transport ?
		       (int)((struct vpci *)d->tp_priv)->pdev.slot :
		       -1;
}

struct msix *virtio_pci_msix(struct virtio_dev *d)
{
	return d->tp == &vpci_transport ? &((struct vpci *)d->tp_priv)->msix :
					  NULL;
}

struct virtio_dev *virtio_dev_create(struct vm *vm, struct iothread *io,
				     uint64_t base, unsigned int irq,
				     const struct virtio_dev_ops *ops,
				     unsigned int nr_queues, uint16_t queue_max,
				     uint64_t features, void *priv,
				     const char *name)
{
	if (vm->cfg && vm->cfg->virtio_pci)
		return virtio_pci_create(vm, io, irq, ops, nr_queues, queue_max,
					 features, priv, name);
	return virtio_mmio_create(vm, io, base, irq, ops, nr_queues, queue_max,
				  features, priv, name);
}
