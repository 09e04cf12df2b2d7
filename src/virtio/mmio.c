// SPDX-License-Identifier: GPL-2.0-only
/*
 * mmio.c - the virtio-mmio version 2 transport: the register file a driver
 * programs, feature negotiation and the status state machine, queue setup
 * with validation, ioeventfd kicks and irqfd interrupts (see mmio.h); the
 * device interface of every virtio device (device.h): reset, pause and
 * resume, and the transport's saved state around the model's.
 */
#include "mmio.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../util/log.h"
#include "../vmm/iothread.h"
#include "../vmm/state.h"
#include "../vmm/vm.h"

/* log_once() classes: one message per device base and kind of problem. */
enum { ONCE_VIRTIO_REG = 0x7601, ONCE_VIRTIO_BROKEN };

#define TRANSPORT_FEATURES                                                 \
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_INDIRECT_DESC) | \
	 (1ULL << VIRTIO_F_EVENT_IDX))

/* Interrupts the driver for queue @q (-1: configuration change). */
static void raise_irq(struct virtio_dev *d, unsigned int bits, int q)
{
	uint64_t one = 1;

	atomic_fetch_or(&d->isr, bits);
	if (d->tp && d->tp->interrupt(d, q))
		return; /* e.g. by MSI-X */
	if (d->irqfd || d->vm->fd < 0) {
		if (write(d->call_fd, &one, sizeof(one)) < 0)
			log_once(ONCE_VIRTIO_REG, d->base, "%s: interrupt: %s",
				 d->name, strerror(errno));
		return;
	}
	/* No irqfd: pulse the edge-triggered line ourselves. */
	vm_irq_line(d->vm, d->irq, 1);
	vm_irq_line(d->vm, d->irq, 0);
}

void virtio_set_broken(struct virtio_dev *d, const char *why)
{
	if (d->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	log_once(ONCE_VIRTIO_BROKEN, d->base, "%s: %s: device needs reset",
		 d->name, why);
	d->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (d->status & VIRTIO_STATUS_DRIVER_OK)
		raise_irq(d, VIRTIO_INT_CONFIG, -1);
}

bool virtio_check_queue(struct virtio_dev *d, unsigned int q)
{
	char why[96];

	if (q >= d->nr_queues || !d->vqs[q].error)
		return false;
	snprintf(why, sizeof(why), "queue %u: %s", q,
		 virtq_strerror(d->vqs[q].error));
	virtio_set_broken(d, why);
	return true;
}

bool virtio_queue_usable(const struct virtio_dev *d, unsigned int q)
{
	return q < d->nr_queues && d->vqs[q].enabled && !d->vqs[q].error &&
	       (d->status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(d->status & VIRTIO_STATUS_NEEDS_RESET);
}

void virtio_notify_queue(struct virtio_dev *d, unsigned int q)
{
	if (q < d->nr_queues && virtq_should_notify(&d->vqs[q]))
		raise_irq(d, VIRTIO_INT_USED, (int)q);
}

void virtio_requeue(struct virtio_dev *d, unsigned int q)
{
	uint64_t one = 1;

	if (q < d->nr_queues && write(d->kicks[q].fd, &one, sizeof(one)) < 0)
		log_once(ONCE_VIRTIO_REG, d->base, "%s: kick: %s", d->name,
			 strerror(errno));
}

void virtio_config_changed(struct virtio_dev *d)
{
	d->config_generation++;
	if (d->status & VIRTIO_STATUS_DRIVER_OK)
		raise_irq(d, VIRTIO_INT_CONFIG, -1);
}

static void device_reset(struct virtio_dev *d)
{
	if (d->ops->reset)
		d->ops->reset(d);
	for (unsigned int q = 0; q < d->nr_queues; q++)
		virtq_reset(&d->vqs[q]);
	d->driver_features = 0;
	d->dev_feat_sel = d->drv_feat_sel = d->queue_sel = d->shm_sel = 0;
	d->status = 0;
	atomic_store(&d->isr, 0);
	if (d->tp && d->tp->reset)
		d->tp->reset(d);
}

static struct virtq *sel_queue(struct virtio_dev *d)
{
	return d->queue_sel < d->nr_queues ? &d->vqs[d->queue_sel] : NULL;
}

static uint32_t reg_read(struct virtio_dev *d, uint64_t off)
{
	struct virtq *vq = sel_queue(d);

	switch (off) {
	case VIRTIO_MMIO_MAGIC:
		return VIRTIO_MMIO_MAGIC_VALUE;
	case VIRTIO_MMIO_VERSION:
		return 2;
	case VIRTIO_MMIO_DEVICE_ID:
		return d->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (d->dev_feat_sel > 1)
			return 0;
		return (uint32_t)(d->host_features >> (32 * d->dev_feat_sel));
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return vq ? d->queue_max : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return vq ? vq->enabled : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return atomic_load(&d->isr);
	case VIRTIO_MMIO_STATUS:
		return d->status;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		return 0xffffffff; /* no shared memory regions */
	case VIRTIO_MMIO_QUEUE_RESET:
		return 0;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return d->config_generation;
	default:
		log_once(ONCE_VIRTIO_REG, d->base + off,
			 "%s: read of write-only or unknown register 0x%llx",
			 d->name, (unsigned long long)off);
		return 0;
	}
}

void virtio_write_driver_features(struct virtio_dev *d, uint32_t v)
{
	unsigned int shift;

	if (d->drv_feat_sel > 1 || !(d->status & VIRTIO_STATUS_DRIVER) ||
	    (d->status & VIRTIO_STATUS_FEATURES_OK)) {
		log_once(ONCE_VIRTIO_REG, d->base + VIRTIO_MMIO_DRIVER_FEATURES,
			 "%s: driver features written out of order: ignored",
			 d->name);
		return;
	}
	shift = 32 * d->drv_feat_sel;
	d->driver_features &= ~(0xffffffffULL << shift);
	d->driver_features |= (uint64_t)v << shift;
}

void virtio_write_status(struct virtio_dev *d, uint32_t v)
{
	uint32_t old = d->status & ~(uint32_t)VIRTIO_STATUS_NEEDS_RESET;
	uint32_t added;

	if (v == 0) {
		device_reset(d);
		return;
	}
	v &= 0xff & ~(uint32_t)VIRTIO_STATUS_NEEDS_RESET;
	if ((v & old) != old) {
		log_once(
			ONCE_VIRTIO_REG, d->base + VIRTIO_MMIO_STATUS,
			"%s: status 0x%x clears bits of 0x%x without reset: ignored",
			d->name, v, old);
		return;
	}
	added = v & ~old;
	if (added & VIRTIO_STATUS_FEATURES_OK) {
		/* Only what we offered, and only modern (virtio 1.x) drivers. */
		if ((d->driver_features & ~d->host_features) ||
		    !virtio_has_feature(d, VIRTIO_F_VERSION_1) ||
		    !(v & VIRTIO_STATUS_DRIVER)) {
			log_once(ONCE_VIRTIO_REG, d->base + 0x1000,
				 "%s: driver features 0x%llx not acceptable",
				 d->name,
				 (unsigned long long)d->driver_features);
			v &= ~(uint32_t)VIRTIO_STATUS_FEATURES_OK;
			added &= ~(uint32_t)VIRTIO_STATUS_FEATURES_OK;
		}
	}
	if ((added & VIRTIO_STATUS_DRIVER_OK) &&
	    !(v & VIRTIO_STATUS_FEATURES_OK)) {
		log_once(ONCE_VIRTIO_REG, d->base + 0x1001,
			 "%s: DRIVER_OK without FEATURES_OK: ignored", d->name);
		return;
	}
	d->status = v | (d->status & VIRTIO_STATUS_NEEDS_RESET);
	if ((added & VIRTIO_STATUS_DRIVER_OK) && d->ops->activate &&
	    d->ops->activate(d))
		virtio_set_broken(d, "cannot activate");
}

void virtio_write_queue_ready(struct virtio_dev *d, struct virtq *vq,
			      uint32_t v)
{
	enum virtq_error e;

	if (!v) {
		vq->enabled = false;
		return;
	}
	if (vq->enabled)
		return;
	e = virtq_enable(vq, &d->vm->mem, d->queue_max,
			 virtio_has_feature(d, VIRTIO_F_INDIRECT_DESC),
			 virtio_has_feature(d, VIRTIO_F_EVENT_IDX));
	if (e) {
		char why[96];

		snprintf(why, sizeof(why), "queue %u: %s",
			 (unsigned int)(vq - d->vqs), virtq_strerror(e));
		virtio_set_broken(d, why);
	}
}

static void set_addr(uint64_t *a, bool high, uint32_t v)
{
	if (high)
		*a = (*a & 0xffffffffULL) | ((uint64_t)v << 32);
	else
		*a = (*a & ~0xffffffffULL) | v;
}

static void queue_reg_write(struct virtio_dev *d, uint64_t off, uint32_t v)
{
	struct virtq *vq = sel_queue(d);

	if (!vq || (vq->enabled && off != VIRTIO_MMIO_QUEUE_READY)) {
		log_once(
			ONCE_VIRTIO_REG, d->base + off,
			"%s: queue register 0x%llx written for %s queue %u: ignored",
			d->name, (unsigned long long)off,
			vq ? "enabled" : "nonexistent", d->queue_sel);
		return;
	}
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM:
		vq->size = v > 0xffff ? 0 : (uint16_t)v;
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		virtio_write_queue_ready(d, vq, v);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		set_addr(&vq->desc_gpa, off == VIRTIO_MMIO_QUEUE_DESC_HIGH, v);
		break;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
		set_addr(&vq->avail_gpa, off == VIRTIO_MMIO_QUEUE_DRIVER_HIGH,
			 v);
		break;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		set_addr(&vq->used_gpa, off == VIRTIO_MMIO_QUEUE_DEVICE_HIGH,
			 v);
		break;
	}
}

static void reg_write(struct virtio_dev *d, uint64_t off, uint32_t v)
{
	uint64_t one = 1;

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		d->dev_feat_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		virtio_write_driver_features(d, v);
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		d->drv_feat_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		d->queue_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_READY:
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		queue_reg_write(d, off, v);
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/* Reached only when KVM's ioeventfd did not take it. */
		if (v < d->nr_queues) {
			if (write(d->kicks[v].fd, &one, sizeof(one)) < 0)
				log_once(ONCE_VIRTIO_REG, d->base + off,
					 "%s: kick: %s", d->name,
					 strerror(errno));
		} else {
			log_once(ONCE_VIRTIO_REG, d->base + off,
				 "%s: notify of nonexistent queue %u", d->name,
				 v);
		}
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		atomic_fetch_and(&d->isr, ~v);
		break;
	case VIRTIO_MMIO_STATUS:
		virtio_write_status(d, v);
		break;
	case VIRTIO_MMIO_SHM_SEL:
		d->shm_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_RESET:
		break; /* VIRTIO_F_RING_RESET is not offered */
	default:
		log_once(ONCE_VIRTIO_REG, d->base + off,
			 "%s: write of read-only or unknown register 0x%llx",
			 d->name, (unsigned long long)off);
		break;
	}
}

void virtio_mmio_read(void *opaque, uint64_t off, void *data, unsigned int len)
{
	struct virtio_dev *d = opaque;

	memset(data, 0, len);
	pthread_mutex_lock(&d->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		if (d->ops->config_read && len <= 8)
			d->ops->config_read(d, off - VIRTIO_MMIO_CONFIG, data,
					    len);
	} else if (len == 4 && off % 4 == 0) {
		bus_put(data, 4, reg_read(d, off));
	} else {
		log_once(ONCE_VIRTIO_REG, d->base + off,
			 "%s: %u-byte register read at 0x%llx: ignored",
			 d->name, len, (unsigned long long)off);
	}
	pthread_mutex_unlock(&d->lock);
}

void virtio_mmio_write(void *opaque, uint64_t off, const void *data,
		       unsigned int len)
{
	struct virtio_dev *d = opaque;

	pthread_mutex_lock(&d->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		if (d->ops->config_write && len <= 8)
			d->ops->config_write(d, off - VIRTIO_MMIO_CONFIG, data,
					     len);
	} else if (len == 4 && off % 4 == 0) {
		reg_write(d, off, (uint32_t)bus_get(data, 4));
	} else {
		log_once(ONCE_VIRTIO_REG, d->base + off,
			 "%s: %u-byte register write at 0x%llx: ignored",
			 d->name, len, (unsigned long long)off);
	}
	pthread_mutex_unlock(&d->lock);
}

static const struct bus_ops virtio_mmio_ops = {
	.read = virtio_mmio_read,
	.write = virtio_mmio_write,
};

static void kick_handler(void *opaque, uint32_t events)
{
	struct virtio_kick *k = opaque;
	struct virtio_dev *d = k->dev;
	uint64_t v;

	(void)events;
	if (read(k->fd, &v, sizeof(v)) < 0)
		return; /* spurious: nothing pending */
	pthread_mutex_lock(&d->lock);
	if (virtio_queue_usable(d, k->q) && d->ops->queue_notify) {
		d->ops->queue_notify(d, k->q);
		virtio_check_queue(d, k->q);
	}
	pthread_mutex_unlock(&d->lock);
}

static void virtio_free(struct virtio_dev *d)
{
	/* The transport's KVM eventfds go before the fds they name. */
	if (d->tp && d->tp->destroy)
		d->tp->destroy(d);
	for (unsigned int q = 0; q < d->nr_queues; q++) {
		struct virtio_kick *k = &d->kicks[q];

		if (k->ioeventfd) {
			struct kvm_ioeventfd ioe = {
				.datamatch = q,
				.addr = d->base + VIRTIO_MMIO_QUEUE_NOTIFY,
				.len = 4,
				.fd = k->fd,
				.flags = KVM_IOEVENTFD_FLAG_DATAMATCH |
					 KVM_IOEVENTFD_FLAG_DEASSIGN,
			};

			ioctl(d->vm->fd, KVM_IOEVENTFD, &ioe);
		}
		if (k->fd >= 0)
			close(k->fd);
	}
	if (d->irqfd) {
		struct kvm_irqfd irqfd = { .fd = (uint32_t)d->call_fd,
					   .gsi = d->irq,
					   .flags = KVM_IRQFD_FLAG_DEASSIGN };

		ioctl(d->vm->fd, KVM_IRQFD, &irqfd);
	}
	if (d->ops->destroy)
		d->ops->destroy(d->priv);
	if (d->call_fd >= 0)
		close(d->call_fd);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

int virtio_setup_irqfd(struct virtio_dev *d)
{
	struct kvm_irqfd irqfd = { .fd = (uint32_t)d->call_fd, .gsi = d->irq };

	if (d->vm->fd < 0)
		return 0;
	if (ioctl(d->vm->fd, KVM_IRQFD, &irqfd)) {
		pr_err("%s: KVM_IRQFD: %s", d->name, strerror(errno));
		return -1;
	}
	d->irqfd = true;
	return 0;
}

static int setup_kvm(struct virtio_dev *d)
{
	if (d->vm->fd < 0)
		return 0;
	for (unsigned int q = 0; q < d->nr_queues; q++) {
		struct kvm_ioeventfd ioe = {
			.datamatch = q,
			.addr = d->base + VIRTIO_MMIO_QUEUE_NOTIFY,
			.len = 4,
			.fd = d->kicks[q].fd,
			.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
		};

		if (ioctl(d->vm->fd, KVM_IOEVENTFD, &ioe)) {
			pr_err("%s: KVM_IOEVENTFD: %s", d->name,
			       strerror(errno));
			return -1;
		}
		d->kicks[q].ioeventfd = true;
	}
	return virtio_setup_irqfd(d);
}

/* The registry's kind of a device id: DEVICE_VIRTIO(id), derived. */
static enum device_kind device_kind(uint32_t device_id)
{
	if (device_id == 0 || device_id > DEVICE_VIRTIO_ID_MAX)
		return DEVICE_NR_KINDS; /* refused by the registry */
	return DEVICE_VIRTIO(device_id);
}

static const struct device_ops virtio_device_ops;

struct virtio_dev *virtio_dev_new(struct vm *vm, struct iothread *io,
				  const struct virtio_dev_ops *ops,
				  unsigned int nr_queues, uint16_t queue_max,
				  uint64_t features, void *priv,
				  const char *name)
{
	struct virtio_dev *d;

	d = calloc(1, sizeof(*d));
	if (!d || nr_queues > VIRTIO_MAX_QUEUES || queue_max > VIRTQ_MAX_SIZE) {
		free(d);
		if (ops->destroy)
			ops->destroy(priv);
		return NULL;
	}
	d->vm = vm;
	d->io = io;
	d->ops = ops;
	d->priv = priv;
	snprintf(d->name, sizeof(d->name), "%s", name);
	pthread_mutex_init(&d->lock, NULL);
	d->host_features = features | TRANSPORT_FEATURES;
	d->nr_queues = nr_queues;
	d->queue_max = queue_max;
	d->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	for (unsigned int q = 0; q < nr_queues; q++) {
		d->kicks[q].dev = d;
		d->kicks[q].q = q;
		d->kicks[q].fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	}
	d->device = vm_add_device(vm, device_kind(ops->device_id),
				  &virtio_device_ops, d);
	if (!d->device) {
		virtio_free(d);
		return NULL;
	}
	/* From here on, the VM's teardown frees d. */
	if (d->call_fd < 0) {
		pr_err("%s: eventfd: %s", d->name, strerror(errno));
		return NULL;
	}
	for (unsigned int q = 0; q < nr_queues; q++) {
		if (d->kicks[q].fd < 0) {
			pr_err("%s: eventfd: %s", d->name, strerror(errno));
			return NULL;
		}
		if (iothread_add(io, d->kicks[q].fd, EPOLLIN, kick_handler,
				 &d->kicks[q]))
			return NULL;
	}
	return d;
}

struct virtio_dev *virtio_mmio_create(struct vm *vm, struct iothread *io,
				      uint64_t base, unsigned int irq,
				      const struct virtio_dev_ops *ops,
				      unsigned int nr_queues,
				      uint16_t queue_max, uint64_t features,
				      void *priv, const char *name)
{
	struct virtio_dev *d;

	d = virtio_dev_new(vm, io, ops, nr_queues, queue_max, features, priv,
			   name);
	if (!d)
		return NULL;
	d->base = base;
	d->irq = irq;
	if (setup_kvm(d) || vm_register_mmio(vm, base, VIRTIO_MMIO_SIZE,
					     &virtio_mmio_ops, d, d->name))
		return NULL;
	return d;
}

int virtio_mmio_cmdline(const struct virtio_dev *d, char *buf, size_t len)
{
	int n = snprintf(buf, len, "virtio_mmio.device=%u@0x%llx:%u",
			 VIRTIO_MMIO_SIZE, (unsigned long long)d->base, d->irq);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

struct virtio_dev *virtio_find(struct vm *vm, enum device_kind kind,
			       unsigned int nth)
{
	if (!device_kind_is_virtio(kind))
		return NULL;
	return device_model(vm_device(vm, kind, nth), kind);
}

/* --- the device interface ------------------------------------------------ */

static void virtio_dev_reset(struct device *dev)
{
	struct virtio_dev *d = dev->opaque;

	pthread_mutex_lock(&d->lock);
	device_reset(d);
	pthread_mutex_unlock(&d->lock);
}

static void virtio_dev_pause(struct device *dev)
{
	struct virtio_dev *d = dev->opaque;

	pthread_mutex_lock(&d->lock);
	if (d->ops->pause)
		d->ops->pause(d);
	pthread_mutex_unlock(&d->lock);
}

static void virtio_dev_resume(struct device *dev)
{
	struct virtio_dev *d = dev->opaque;

	pthread_mutex_lock(&d->lock);
	if (d->ops->resume)
		d->ops->resume(d);
	if (d->requeue_on_resume) {
		d->requeue_on_resume = false;
		for (unsigned int q = 0; q < d->nr_queues; q++)
			if (d->vqs[q].enabled)
				virtio_requeue(d, q);
	}
	pthread_mutex_unlock(&d->lock);
}

static void virtio_dev_destroy(struct device *dev)
{
	virtio_free(dev->opaque);
}

/* The transport's registers, then each queue, then the model's section. */
static int virtio_dev_save(struct device *dev, struct state_writer *w)
{
	struct virtio_dev *d = dev->opaque;
	size_t model;
	int ret = 0;

	pthread_mutex_lock(&d->lock);
	state_put_u32(w, d->ops->device_id);
	state_put_u32(w, d->nr_queues);
	state_put_u16(w, d->queue_max);
	state_put_u64(w, d->host_features);
	state_put_u64(w, d->driver_features);
	state_put_u32(w, d->dev_feat_sel);
	state_put_u32(w, d->drv_feat_sel);
	state_put_u32(w, d->queue_sel);
	state_put_u32(w, d->shm_sel);
	state_put_u32(w, d->status);
	state_put_u32(w, d->config_generation);
	state_put_u32(w, atomic_load(&d->isr));
	for (unsigned int q = 0; q < d->nr_queues; q++)
		virtq_save(&d->vqs[q], w);
	model = state_begin(w, d->ops->device_id, d->ops->state_version);
	if (d->ops->save)
		ret = d->ops->save(d, w);
	state_end(w, model);
	if (d->tp && d->tp->save)
		d->tp->save(d, w);
	pthread_mutex_unlock(&d->lock);
	return ret;
}

struct transport_state {
	uint64_t driver_features;
	uint32_t dev_feat_sel, drv_feat_sel, queue_sel, shm_sel;
	uint32_t status, config_generation, isr;
	struct virtq vqs[VIRTIO_MAX_QUEUES];
};

#define STATUS_BITS                                            \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |    \
	 VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FEATURES_OK | \
	 VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED)

/* The saved configuration must be this device's. */
static bool same_device(struct virtio_dev *d, struct state_reader *r)
{
	uint32_t id = state_get_u32(r, "virtio device id");
	uint32_t nq = state_get_u32(r, "virtio queue count");
	uint16_t qmax = state_get_u16(r, "virtio queue size");
	uint64_t features = state_get_u64(r, "virtio device features");

	return state_ok(r) &&
	       state_check(r, id == d->ops->device_id, "virtio device id") &&
	       state_check(r, nq == d->nr_queues, "virtio queue count") &&
	       state_check(r, qmax == d->queue_max, "virtio queue size") &&
	       state_check(r, features == d->host_features,
			   "virtio device features");
}

static int read_transport(struct virtio_dev *d, struct state_reader *r,
			  struct transport_state *t)
{
	bool indirect, event_idx;

	if (!same_device(d, r))
		return -1;
	t->driver_features = state_get_u64(r, "virtio driver features");
	t->dev_feat_sel = state_get_u32(r, "virtio feature select");
	t->drv_feat_sel = state_get_u32(r, "virtio driver feature select");
	t->queue_sel = state_get_u32(r, "virtio queue select");
	t->shm_sel = state_get_u32(r, "virtio shm select");
	t->status = state_get_u32(r, "virtio status");
	t->config_generation = state_get_u32(r, "virtio config generation");
	t->isr = state_get_u32(r, "virtio interrupt status");
	if (!state_ok(r) ||
	    !state_check(r, !(t->driver_features & ~d->host_features),
			 "virtio driver features") ||
	    !state_check(r,
			 !(t->status & ~(uint32_t)STATUS_BITS) &&
				 (!(t->status & VIRTIO_STATUS_DRIVER_OK) ||
				  (t->status & VIRTIO_STATUS_FEATURES_OK)),
			 "virtio status") ||
	    !state_check(r, t->isr <= (VIRTIO_INT_USED | VIRTIO_INT_CONFIG),
			 "virtio interrupt status"))
		return -1;
	indirect = t->driver_features & (1ULL << VIRTIO_F_INDIRECT_DESC);
	event_idx = t->driver_features & (1ULL << VIRTIO_F_EVENT_IDX);
	for (unsigned int q = 0; q < d->nr_queues; q++)
		if (virtq_load(&t->vqs[q], r, &d->vm->mem, d->queue_max,
			       indirect, event_idx))
			return -1;
	return 0;
}

static void apply_transport(struct virtio_dev *d,
			    const struct transport_state *t)
{
	d->driver_features = t->driver_features;
	d->dev_feat_sel = t->dev_feat_sel;
	d->drv_feat_sel = t->drv_feat_sel;
	d->queue_sel = t->queue_sel;
	d->shm_sel = t->shm_sel;
	d->status = t->status;
	d->config_generation = t->config_generation;
	atomic_store(&d->isr, t->isr);
	memcpy(d->vqs, t->vqs, sizeof(d->vqs[0]) * d->nr_queues);
}

static int virtio_dev_restore(struct device *dev, struct state_reader *r)
{
	struct virtio_dev *d = dev->opaque;
	struct transport_state t;
	struct state_reader model;

	memset(&t, 0, sizeof(t));
	pthread_mutex_lock(&d->lock);
	if (read_transport(d, r, &t) ||
	    state_enter(r, d->ops->device_id, d->ops->state_version, &model,
			"virtio device state") ||
	    (d->tp && d->tp->load && d->tp->load(d, r))) {
		pthread_mutex_unlock(&d->lock);
		return -1;
	}
	/* From a clean slate: the model forgets what it had in flight. */
	device_reset(d);
	apply_transport(d, &t);
	if (d->ops->restore && d->ops->restore(d, &model) && state_ok(&model))
		state_fail(&model, "virtio device state: cannot restore");
	state_expect_end(&model, "virtio device state");
	if (d->tp && d->tp->loaded)
		d->tp->loaded(d, state_ok(&model));
	if (!state_ok(&model)) {
		state_fail(r, "%s", model.err);
		device_reset(d);
	} else if ((d->status & VIRTIO_STATUS_DRIVER_OK) &&
		   !(d->status & VIRTIO_STATUS_NEEDS_RESET) &&
		   d->ops->activate && d->ops->activate(d)) {
		virtio_set_broken(d, "cannot activate");
	} else {
		d->requeue_on_resume = true;
	}
	pthread_mutex_unlock(&d->lock);
	return state_ok(r) ? 0 : -1;
}

static const struct device_ops virtio_device_ops = {
	.state_version = 1,
	.reset = virtio_dev_reset,
	.pause = virtio_dev_pause,
	.resume = virtio_dev_resume,
	.save = virtio_dev_save,
	.restore = virtio_dev_restore,
	.destroy = virtio_dev_destroy,
};
