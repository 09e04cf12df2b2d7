// SPDX-License-Identifier: GPL-2.0-only
/*
 * log.c - diagnostics on stderr and the once-per-key suppression table
 * for messages a guest can trigger.
 */
#include "log.h"

#include <pthread.h>
#include <stdio.h>

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
static bool once_full_noted;

void log_once(unsigned int cls, uint64_t key, const char *fmt, ...)
{
	bool print = true;
	va_list ap;

	pthread_mutex_lock(&once_lock);
	for (unsigned int i = 0; i < once_count; i++) {
		if (once_seen[i].cls == cls && once_seen[i].key == key) {
			print = false;
			break;
		}
	}
	if (print) {
		if (once_count < LOG_ONCE_MAX) {
			once_seen[once_count].cls = cls;
			once_seen[once_count].key = key;
			once_count++;
		} else {
			if (!once_full_noted)
				pr_warn("too many distinct guest events, further ones are not logged");
			once_full_noted = true;
			print = false;
		}
	}
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
	once_full_noted = false;
	pthread_mutex_unlock(&once_lock);
}
