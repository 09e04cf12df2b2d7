// SPDX-License-Identifier: GPL-2.0-only
/*
 * log.c - diagnostics on stderr and the once-per-key suppression table
 * for messages a guest can trigger.
 */
#include "bounds.h"
#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

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

void vlog_msg(enum log_level lvl, const char *fmt, va_list ap)
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
	/* One write per line so lines of different threads do not mix. */
	fprintf(stderr, "vmon: %s%s\n", level_prefix[lvl], buf);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_msg(lvl, fmt, ap);
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

void log_once(unsigned int cls, uint64_t key, const char *fmt, ...)
{
	bool print;
	va_list ap;

	pthread_mutex_lock(&once_lock);
	print = once_admit(cls, key);
	pthread_mutex_unlock(&once_lock);
	if (!print)
		return;
	va_start(ap, fmt);
	vlog_msg(LOG_WARN, fmt, ap);
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
