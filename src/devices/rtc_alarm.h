/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * rtc_alarm.h - the MC146818's alarm (rtc_alarm.c): when the guest's
 * clock next matches the alarm registers, and the host timer (a timerfd
 * on CLOCK_REALTIME that the main loop polls, rtc_alarm_fd()) that fires
 * then. The RTC (rtc.c) owns one and decodes its registers.
 */
#ifndef VMON_DEVICES_RTC_ALARM_H
#define VMON_DEVICES_RTC_ALARM_H

#include <stdbool.h>
#include <time.h>

/* An alarm field that matches every value ("don't care", 0xc0-0xff). */
#define RTC_ALARM_ANY (-1)

/*
 * The first second after @now (a guest time, seconds since the epoch,
 * UTC) whose seconds, minutes and hours match @sec, @min and @hour (each a
 * value or RTC_ALARM_ANY); -1 if none within a day (a field out of range).
 */
time_t rtc_alarm_next(time_t now, int sec, int min, int hour);

struct rtc_alarm {
	int fd; /* timerfd, -1 if none */
	time_t target; /* the guest second it fires for; -1: disarmed */
};

/* Creates the timer (disarmed); 0 or -1 (errno set). */
int rtc_alarm_init(struct rtc_alarm *a);
void rtc_alarm_close(struct rtc_alarm *a);
/*
 * Arms the timer for guest second @target (-1: disarms), the guest's
 * clock being the host's plus @offset seconds.
 */
void rtc_alarm_arm(struct rtc_alarm *a, time_t target, time_t offset);
/*
 * Reads the expired timer: true if the target second has come (the guest
 * time @now reached it), which disarms it.
 */
bool rtc_alarm_due(struct rtc_alarm *a, time_t now);

#endif
