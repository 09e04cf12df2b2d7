// SPDX-License-Identifier: GPL-2.0-only
/*
 * log.c - diagnostics on stderr (vmon's format or Firecracker's) and the
 * once-per-key suppression table for messages a guest can trigger.
 */
#include "bounds.h"
#include "log.h"

#include <errno.h> /* program_invocation_short_name */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum log_level log_level = LOG_NOTE;

static const char *const level_prefix[] = {
	[LOG_ERROR] = "", [LOG_WARN] = "warning: ", [LOG_NOTE] = "note: ",
	[LOG_INFO] = "",  [LOG_DEBUG] = "debug: ",
};

/* The calling thread's last error message (API error responses). */
static __thread char last_error[256];

const char *log_last_error(void)
{
	return last_error;
}

void log_clear_last_error(void)
{
	last_error[0] = 0;
}

/* Firecracker's format, once set (log_set_fc_format); under fc_lock. */
static pthread_mutex_t fc_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	bool on, show_level, show_origin;
	char id[80], module[128];
} fc;
/* The thread's name (seccomp_thread_enter()); "" until named. */
static __thread char thread_name[16];

static const char *const fc_level[] = {
	[LOG_ERROR] = "ERROR", [LOG_WARN] = "WARN",   [LOG_NOTE] = "INFO",
	[LOG_INFO] = "INFO",   [LOG_DEBUG] = "DEBUG",
};

void log_set_thread_name(const char *name)
{
	snprintf(thread_name, sizeof(thread_name), "%s", name);
}

void log_set_fc_format(const char *id, bool show_level, bool show_origin,
		       const char *module)
{
	char *p;

	/* Reads the time zone now, not on a thread that may not open it. */
	tzset();
	pthread_mutex_lock(&fc_lock);
	fc.on = id != NULL;
	fc.show_level = show_level;
	fc.show_origin = show_origin;
	snprintf(fc.id, sizeof(fc.id), "%s", id ? id : "");
	snprintf(fc.module, sizeof(fc.module), "%s", module ? module : "");
	while ((p = strstr(fc.module, "::"))) {
		*p = '/';
		memmove(p + 1, p + 2, strlen(p + 2) + 1);
	}
	pthread_mutex_unlock(&fc_lock);
}

/* @file from its "src/" on ("../src/virtio/net.c": "virtio/net.c"). */
static const char *source_path(const char *file)
{
	const char *s = strstr(file, "src/");

	return s ? s + 4 : file;
}

/* Writes @msg in Firecracker's format; false if that format is off. */
static bool fc_line(enum log_level lvl, const char *file, int line,
		    const char *msg)
{
	const char *src = source_path(file);
	char head[256] = "", where[160] = "";
	struct timespec ts;
	struct tm tm;

	pthread_mutex_lock(&fc_lock);
	if (!fc.on) {
		pthread_mutex_unlock(&fc_lock);
		return false;
	}
	if (*fc.module && strncmp(src, fc.module, strlen(fc.module)) != 0) {
		pthread_mutex_unlock(&fc_lock);
		return true;
	}
	if (fc.show_origin)
		snprintf(where, sizeof(where), ":src/%s:%d", src, line);
	/* A thread not yet named has its creator's name: the program's. */
	snprintf(head, sizeof(head), "%s:%s%s%s%s", fc.id,
		 *thread_name ? thread_name : program_invocation_short_name,
		 fc.show_level ? ":" : "", fc.show_level ? fc_level[lvl] : "",
		 where);
	pthread_mutex_unlock(&fc_lock);
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%09ld [%s] %s\n",
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		tm.tm_min, tm.tm_sec, ts.tv_nsec, head, msg);
	return true;
}

void vlog_msg_at(enum log_level lvl, const char *file, int line,
		 const char *fmt, va_list ap)
{
	char buf[1024];

	if (lvl == LOG_ERROR && fmt) {
		va_list aq;

		va_copy(aq, ap);
		vsnprintf(last_error, sizeof(last_error), fmt, aq);
		va_end(aq);
	}
	if (lvl > log_level)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (fc_line(lvl, file, line, buf))
		return;
	/* One write per line so lines of different threads do not mix. */
	fprintf(stderr, "vmon: %s%s\n", level_prefix[lvl], buf);
}

void log_msg_at(enum log_level lvl, const char *file, int line, const char *fmt,
		...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_msg_at(lvl, file, line, fmt, ap);
	va_end(ap);
}

static pthread_mutex_t once_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	unsigned int cls;
	uint64_t key;
} once_seen[LOG_ONCE_MAX];
static unsigned int once_count;
/* The classes, each with the keys it logged and whether it was told full. */
static struct {
	unsigned int cls, keys;
	bool full_noted;
} once_class[LOG_ONCE_CLASSES];
static unsigned int once_nclass;
static bool once_full_noted;

/* @cls's budget entry, added if new; NULL if there is no room. */
static unsigned int *class_keys(unsigned int cls, bool **full_noted)
{
	unsigned int i;

	for (i = 0; i < once_nclass; i++)
		if (once_class[i].cls == cls)
			break;
	if (i == once_nclass) {
		if (once_nclass == LOG_ONCE_CLASSES)
			return NULL;
		once_class[once_nclass++].cls = cls;
	}
	*full_noted = &once_class[i].full_noted;
	return &once_class[i].keys;
}

/* Whether (@cls, @key) is new and may be logged (lock held). */
static bool once_admit(unsigned int cls, uint64_t key)
{
	unsigned int *keys;
	bool *noted = &once_full_noted;

	for (unsigned int i = 0; i < once_count; i++)
		if (once_seen[i].cls == cls && once_seen[i].key == key)
			return false;
	keys = class_keys(cls, &noted);
	if (!keys || *keys == LOG_ONCE_PER_CLASS ||
	    once_count == LOG_ONCE_MAX) {
		bound_hit(BOUND_LOG_ONCE);
		if (!*noted)
			pr_warn("too many distinct guest events of this kind (class 0x%x), further ones are not logged",
				cls);
		*noted = true;
		return false;
	}
	(*keys)++;
	once_seen[once_count].cls = cls;
	once_seen[once_count].key = key;
	once_count++;
	return true;
}

void log_once_at(const char *file, int line, unsigned int cls, uint64_t key,
		 const char *fmt, ...)
{
	bool print;
	va_list ap;

	pthread_mutex_lock(&once_lock);
	print = once_admit(cls, key);
	pthread_mutex_unlock(&once_lock);
	if (!print)
		return;
	va_start(ap, fmt);
	vlog_msg_at(LOG_WARN, file, line, fmt, ap);
	va_end(ap);
}

void log_once_reset(void)
{
	pthread_mutex_lock(&once_lock);
	once_count = 0;
	once_nclass = 0;
	memset(once_class, 0, sizeof(once_class));
	once_full_noted = false;
	pthread_mutex_unlock(&once_lock);
}
