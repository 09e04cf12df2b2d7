// SPDX-License-Identifier: GPL-2.0-only
/*
 * rtc_alarm.c - the RTC alarm's timing (rtc_alarm.h): the next guest
 * second matching the alarm registers, and the timerfd that fires at it.
 * The timer is absolute on the host's CLOCK_REALTIME, which the guest's
 * RTC follows, so a late or early wake-up is judged against the guest
 * clock (rtc_alarm_due()). No lock: the RTC's lock guards it.
 */
#include "rtc_alarm.h"

#include <stdint.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define DAY 86400

static bool field_ok(int v, int max)
{
	return v == RTC_ALARM_ANY || (v >= 0 && v < max);
}

time_t rtc_alarm_next(time_t now, int sec, int min, int hour)
{
	if (!field_ok(sec, 60) || !field_ok(min, 60) || !field_ok(hour, 24))
		return -1;
	for (time_t t = now + 1; t <= now + DAY; t++) {
		long sod = (long)(((t % DAY) + DAY) % DAY);

		if ((sec == RTC_ALARM_ANY || sod % 60 == sec) &&
		    (min == RTC_ALARM_ANY || sod / 60 % 60 == min) &&
		    (hour == RTC_ALARM_ANY || sod / 3600 == hour))
			return t;
	}
	return -1;
}

int rtc_alarm_init(struct rtc_alarm *a)
{
	a->target = -1;
	a->fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	return a->fd < 0 ? -1 : 0;
}

void rtc_alarm_close(struct rtc_alarm *a)
{
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
}

void rtc_alarm_arm(struct rtc_alarm *a, time_t target, time_t offset)
{
	struct itimerspec its = { 0 };

	if (a->fd < 0 || (target < 0 && a->target < 0))
		return; /* no system call when nothing changes (a reset) */
	a->target = target;
	if (target >= 0)
		its.it_value.tv_sec = target - offset;
	if (target >= 0 && its.it_value.tv_sec <= 0)
		its.it_value.tv_nsec = 1; /* before the epoch: at once */
	timerfd_settime(a->fd, TFD_TIMER_ABSTIME, &its, NULL);
}

bool rtc_alarm_due(struct rtc_alarm *a, time_t now)
{
	uint64_t n;

	if (a->fd >= 0 && read(a->fd, &n, sizeof(n)) < 0) {
		/* not expired (EAGAIN): the target decides */
	}
	if (a->target < 0 || now < a->target)
		return false;
	a->target = -1;
	return true;
}
