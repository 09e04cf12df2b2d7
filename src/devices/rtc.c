// SPDX-License-Identifier: GPL-2.0-only
/*
 * rtc.c - MC146818 CMOS real-time clock and NVRAM at ports 0x70/0x71. The
 * clock is the host's (UTC) plus an offset the guest may set; BCD or
 * binary and 12/24-hour formats follow register B; the update-in-progress
 * flag is raised in the last 244 us of each second, as on the chip. The
 * NVRAM carries the memory sizes PC firmware would store. The alarm
 * (registers 1, 3, 5; "don't care" values 0xc0-0xff) sets AF in register
 * C when the clock reaches it, and with AIE in register B also IRQF and
 * IRQ 8 (until register C is read) and the ACPI PM device's RTC event,
 * which wakes a VM in S3 (acpi_pm_rtc_alarm()); its host timer
 * (rtc_alarm.c) is polled by the main loop (rtc_alarm_fire()) and armed
 * only with AIE. No periodic or update interrupts. Saved state: the
 * index, the NVRAM and the offset (a restored alarm is armed again by the
 * guest's next write to an alarm, time or B register).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../arch/x86/layout.h"
#include "../vmm/vm.h"
#include "acpi_pm.h"
#include "devices.h"
#include "rtc_alarm.h"

#define RTC_SECONDS 0x00
#define RTC_SECONDS_ALARM 0x01
#define RTC_MINUTES 0x02
#define RTC_MINUTES_ALARM 0x03
#define RTC_HOURS 0x04
#define RTC_HOURS_ALARM 0x05
#define RTC_WEEKDAY 0x06
#define RTC_DAY 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define RTC_REG_C 0x0c
#define RTC_REG_D 0x0d
#define RTC_CENTURY 0x32

#define REG_A_UIP 0x80
#define REG_B_24H 0x02
#define REG_B_BINARY 0x04
#define REG_B_AIE 0x20
#define REG_C_AF 0x20
#define REG_C_IRQF 0x80
#define REG_D_VRT 0x80
#define RTC_IRQ 8

struct rtc {
	struct vm *vm;
	pthread_mutex_t lock;
	struct rtc_alarm alarm;
	bool irq; /* IRQ 8 is up (until register C is read) */
	uint8_t index;
	uint8_t nvram[128];
	time_t offset; /* guest time minus host time, seconds */
};

static uint8_t to_bcd(struct rtc *r, unsigned int v)
{
	if (r->nvram[RTC_REG_B] & REG_B_BINARY)
		return (uint8_t)v;
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static unsigned int from_bcd(struct rtc *r, uint8_t v)
{
	if (r->nvram[RTC_REG_B] & REG_B_BINARY)
		return v;
	return (v >> 4) * 10 + (v & 0xf);
}

static void guest_tm(struct rtc *r, struct tm *tm, long *nsec)
{
	struct timespec ts;
	time_t t;

	clock_gettime(CLOCK_REALTIME, &ts);
	t = ts.tv_sec + r->offset;
	gmtime_r(&t, tm);
	*nsec = ts.tv_nsec;
}

static uint8_t hours_out(struct rtc *r, int hour)
{
	bool pm = hour >= 12;

	if (r->nvram[RTC_REG_B] & REG_B_24H)
		return to_bcd(r, (unsigned int)hour);
	hour %= 12;
	return to_bcd(r, hour ? (unsigned int)hour : 12) | (pm ? 0x80 : 0);
}

static int hours_in(struct rtc *r, uint8_t v)
{
	int h;

	if (r->nvram[RTC_REG_B] & REG_B_24H)
		return (int)from_bcd(r, v);
	h = (int)from_bcd(r, v & 0x7f) % 12;
	return (v & 0x80) ? h + 12 : h;
}

static uint8_t rtc_get(struct rtc *r, uint8_t idx)
{
	struct tm tm;
	long nsec;

	guest_tm(r, &tm, &nsec);
	switch (idx) {
	case RTC_SECONDS:
		return to_bcd(r, (unsigned int)tm.tm_sec);
	case RTC_MINUTES:
		return to_bcd(r, (unsigned int)tm.tm_min);
	case RTC_HOURS:
		return hours_out(r, tm.tm_hour);
	case RTC_WEEKDAY:
		return to_bcd(r, (unsigned int)tm.tm_wday + 1);
	case RTC_DAY:
		return to_bcd(r, (unsigned int)tm.tm_mday);
	case RTC_MONTH:
		return to_bcd(r, (unsigned int)tm.tm_mon + 1);
	case RTC_YEAR:
		return to_bcd(r, (unsigned int)tm.tm_year % 100);
	case RTC_CENTURY:
		return to_bcd(r, (unsigned int)(tm.tm_year + 1900) / 100);
	case RTC_REG_A:
		/* UIP: the 244 us before the seconds register changes. */
		return (r->nvram[RTC_REG_A] & 0x7f) |
		       (nsec >= 1000000000L - 244000L ? REG_A_UIP : 0);
	case RTC_REG_C: {
		uint8_t v = r->nvram[RTC_REG_C];

		r->nvram[RTC_REG_C] = 0;
		if (r->irq)
			vm_irq_line(r->vm, RTC_IRQ, 0);
		r->irq = false;
		return v;
	}
	case RTC_REG_D:
		return REG_D_VRT;
	default:
		return r->nvram[idx];
	}
}

/* A write to a clock field moves the guest's clock by the difference. */
static void rtc_set_time_field(struct rtc *r, uint8_t idx, uint8_t v)
{
	struct tm tm;
	long nsec;
	time_t now, want;

	guest_tm(r, &tm, &nsec);
	now = timegm(&tm);
	switch (idx) {
	case RTC_SECONDS:
		tm.tm_sec = (int)from_bcd(r, v);
		break;
	case RTC_MINUTES:
		tm.tm_min = (int)from_bcd(r, v);
		break;
	case RTC_HOURS:
		tm.tm_hour = hours_in(r, v);
		break;
	case RTC_DAY:
		tm.tm_mday = (int)from_bcd(r, v);
		break;
	case RTC_MONTH:
		tm.tm_mon = (int)from_bcd(r, v) - 1;
		break;
	case RTC_YEAR:
		tm.tm_year = (tm.tm_year / 100) * 100 + (int)from_bcd(r, v);
		break;
	case RTC_CENTURY:
		tm.tm_year =
			((int)from_bcd(r, v) - 19) * 100 + tm.tm_year % 100;
		break;
	default:
		return;
	}
	want = timegm(&tm);
	if (want != (time_t)-1)
		r->offset += want - now;
}

/* An alarm register: its value, or RTC_ALARM_ANY for 0xc0-0xff. */
static int alarm_field(struct rtc *r, uint8_t idx)
{
	uint8_t v = r->nvram[idx];

	if (v >= 0xc0)
		return RTC_ALARM_ANY;
	return idx == RTC_HOURS_ALARM ? hours_in(r, v) : (int)from_bcd(r, v);
}

/* The clock guest_tm() reads (time() may lag it by a tick). */
static time_t guest_now(struct rtc *r)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + r->offset;
}

/* Under the lock: the host timer follows the alarm registers and AIE. */
static void rearm(struct rtc *r)
{
	time_t t = -1;

	if (r->nvram[RTC_REG_B] & REG_B_AIE)
		t = rtc_alarm_next(guest_now(r),
				   alarm_field(r, RTC_SECONDS_ALARM),
				   alarm_field(r, RTC_MINUTES_ALARM),
				   alarm_field(r, RTC_HOURS_ALARM));
	rtc_alarm_arm(&r->alarm, t, r->offset);
}

static void rtc_read(void *opaque, uint64_t off, void *data, unsigned int len)
{
	struct rtc *r = opaque;
	uint8_t v = 0xff;

	pthread_mutex_lock(&r->lock);
	if (off == 1)
		v = rtc_get(r, r->index);
	pthread_mutex_unlock(&r->lock);
	bus_put(data, len, v);
}

static void rtc_write(void *opaque, uint64_t off, const void *data,
		      unsigned int len)
{
	struct rtc *r = opaque;
	uint8_t v = (uint8_t)bus_get(data, len);

	pthread_mutex_lock(&r->lock);
	if (off == 0) {
		r->index = v & 0x7f; /* bit 7 masks NMIs: nothing to mask */
	} else {
		switch (r->index) {
		case RTC_REG_C:
		case RTC_REG_D:
			break; /* read-only */
		case RTC_REG_A:
			r->nvram[RTC_REG_A] = v & 0x7f;
			break;
		case RTC_SECONDS:
		case RTC_MINUTES:
		case RTC_HOURS:
		case RTC_DAY:
		case RTC_MONTH:
		case RTC_YEAR:
		case RTC_CENTURY:
			rtc_set_time_field(r, r->index, v);
			break;
		default:
			r->nvram[r->index] = v;
			break;
		}
		if (r->index <= RTC_REG_B)
			rearm(r); /* an alarm, time or B register */
	}
	pthread_mutex_unlock(&r->lock);
}

static struct rtc *vm_rtc(struct vm *vm)
{
	struct device *dev = vm_device(vm, DEVICE_RTC, 0);

	return dev ? dev->opaque : NULL;
}

int rtc_alarm_fd(struct vm *vm)
{
	struct rtc *r = vm_rtc(vm);

	return r ? r->alarm.fd : -1;
}

void rtc_alarm_fire(struct vm *vm)
{
	struct rtc *r = vm_rtc(vm);
	struct acpi_pm *pm = vm_acpi_pm(vm);
	bool interrupt = false;

	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	if (rtc_alarm_due(&r->alarm, guest_now(r))) {
		r->nvram[RTC_REG_C] |= REG_C_AF;
		interrupt = r->nvram[RTC_REG_B] & REG_B_AIE;
	}
	if (interrupt) {
		r->nvram[RTC_REG_C] |= REG_C_IRQF;
		if (!r->irq)
			vm_irq_line(vm, RTC_IRQ, 1);
		r->irq = true;
	}
	rearm(r); /* the next match, or the same one if the timer was early */
	pthread_mutex_unlock(&r->lock);
	if (interrupt && pm)
		acpi_pm_rtc_alarm(pm);
}

static const struct bus_ops rtc_ops = {
	.read = rtc_read,
	.write = rtc_write,
};

static void set_nvram_memory(struct rtc *r, uint64_t ram)
{
	uint64_t ext_kb, above16m, above4g;

	/* 0x15/0x16: base memory in KiB. */
	r->nvram[0x15] = 640 & 0xff;
	r->nvram[0x16] = 640 >> 8;
	/* 0x17/0x18 and 0x30/0x31: KiB above 1 MiB, at most 0xffff. */
	ext_kb = ram > (1 << 20) ? (ram - (1 << 20)) >> 10 : 0;
	if (ext_kb > 0xffff)
		ext_kb = 0xffff;
	r->nvram[0x17] = r->nvram[0x30] = ext_kb & 0xff;
	r->nvram[0x18] = r->nvram[0x31] = ext_kb >> 8;
	/* 0x34/0x35: 64 KiB blocks between 16 MiB and the 32-bit hole. */
	above16m = ram > (16 << 20) ? (ram - (16 << 20)) >> 16 : 0;
	if (above16m > 0xffff)
		above16m = 0xffff;
	r->nvram[0x34] = above16m & 0xff;
	r->nvram[0x35] = above16m >> 8;
	/* 0x5b-0x5d: 64 KiB blocks above 4 GiB. */
	above4g = ram > MMIO_HOLE_START ? (ram - MMIO_HOLE_START) >> 16 : 0;
	r->nvram[0x5b] = above4g & 0xff;
	r->nvram[0x5c] = (above4g >> 8) & 0xff;
	r->nvram[0x5d] = (above4g >> 16) & 0xff;
}

static const struct device_ops rtc_device_ops;

int rtc_create(struct vm *vm)
{
	struct rtc *r = calloc(1, sizeof(*r));

	if (!r)
		return -1;
	/*
	 * glibc's first gmtime_r() reads the time zone (/etc/localtime): do
	 * it now, on the building thread, not on a vCPU thread whose seccomp
	 * filter has no openat.
	 */
	tzset();
	r->vm = vm;
	if (rtc_alarm_init(&r->alarm)) {
		free(r);
		return -1;
	}
	pthread_mutex_init(&r->lock, NULL);
	r->nvram[RTC_REG_A] = 0x26; /* 32.768 kHz time base, 1024 Hz */
	r->nvram[RTC_REG_B] = REG_B_24H; /* BCD, 24-hour */
	set_nvram_memory(r, vm->mem.ram_size);
	if (!vm_add_device(vm, DEVICE_RTC, &rtc_device_ops, r)) {
		rtc_alarm_close(&r->alarm);
		pthread_mutex_destroy(&r->lock);
		free(r);
		return -1;
	}
	return vm_register_pio(vm, 0x70, 2, &rtc_ops, r, "rtc");
}

/* --- the device interface: reset, state, teardown ------------------------ */

/* The CMOS is battery-backed: a reset keeps the clock and the NVRAM. */
static void rtc_reset(struct device *dev)
{
	struct rtc *r = dev->opaque;

	pthread_mutex_lock(&r->lock);
	r->index = 0;
	r->nvram[RTC_REG_C] = 0;
	r->nvram[RTC_REG_B] &= (uint8_t)~REG_B_AIE;
	if (r->irq)
		vm_irq_line(r->vm, RTC_IRQ, 0);
	r->irq = false;
	rearm(r);
	pthread_mutex_unlock(&r->lock);
}

/* The guest's clock is saved as its offset from the host's (UTC). */
static int rtc_save(struct device *dev, struct state_writer *w)
{
	struct rtc *r = dev->opaque;

	pthread_mutex_lock(&r->lock);
	state_put_u8(w, r->index);
	state_put_bytes(w, r->nvram, sizeof(r->nvram));
	state_put_u64(w, (uint64_t)(int64_t)r->offset);
	pthread_mutex_unlock(&r->lock);
	return 0;
}

/* Some ten thousand years either way: timegm() and gmtime_r() cope. */
#define RTC_MAX_OFFSET (1LL << 38)

static int rtc_restore(struct device *dev, struct state_reader *rd)
{
	struct rtc *r = dev->opaque;
	uint8_t nvram[sizeof(r->nvram)];
	uint8_t index = state_get_u8(rd, "rtc index");
	int64_t offset;

	state_get_bytes(rd, nvram, sizeof(nvram), "rtc NVRAM");
	offset = (int64_t)state_get_u64(rd, "rtc clock offset");
	state_check(rd, index < 0x80, "rtc index");
	state_check(rd, offset >= -RTC_MAX_OFFSET && offset <= RTC_MAX_OFFSET,
		    "rtc clock offset");
	state_check(rd, !(nvram[RTC_REG_A] & REG_A_UIP), "rtc register A");
	state_expect_end(rd, "rtc");
	if (!state_ok(rd))
		return -1;
	pthread_mutex_lock(&r->lock);
	r->index = index;
	memcpy(r->nvram, nvram, sizeof(nvram));
	r->offset = (time_t)offset;
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static void rtc_destroy(struct device *dev)
{
	struct rtc *r = dev->opaque;

	rtc_alarm_close(&r->alarm);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static const struct device_ops rtc_device_ops = {
	.state_version = 1,
	.reset = rtc_reset,
	.save = rtc_save,
	.restore = rtc_restore,
	.destroy = rtc_destroy,
};
