/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * log.h - vmon's diagnostics: one line per message on stderr, prefixed
 * "vmon: ", or in Firecracker's format once its logger is configured
 * (log_set_fc_format). Owns the global verbosity and the once-per-key
 * suppression used for guest-triggered messages (a hostile guest must not
 * flood logs).
 */
#ifndef VMON_UTIL_LOG_H
#define VMON_UTIL_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_NOTE, LOG_INFO, LOG_DEBUG };

extern enum log_level log_level;

/* @file and @line: the message's origin (__FILE__, __LINE__). */
void vlog_msg_at(enum log_level lvl, const char *file, int line,
		 const char *fmt, va_list ap);
__attribute__((format(printf, 4, 5))) void log_msg_at(enum log_level lvl,
						      const char *file,
						      int line, const char *fmt,
						      ...);
#define log_msg(lvl, ...) log_msg_at(lvl, __FILE__, __LINE__, __VA_ARGS__)

/*
 * Firecracker's line format from now on: "TIME [ID:THREAD(:LEVEL)
 * (:FILE:LINE)] message", the level with @show_level, the source file and
 * line with @show_origin; with @module, only the messages of source files
 * whose path under src/ without ".c" starts with it ("virtio",
 * "api/router"; "::" counts as "/"). @id NULL: back to vmon's format.
 */
void log_set_fc_format(const char *id, bool show_level, bool show_origin,
		       const char *module);
/* The calling thread's name in Firecracker's format (at most 15 chars). */
void log_set_thread_name(const char *name);

#define pr_err(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define pr_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define pr_note(...) log_msg(LOG_NOTE, __VA_ARGS__)
#define pr_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...)                                    \
	do {                                             \
		if (log_level >= LOG_DEBUG)              \
			log_msg(LOG_DEBUG, __VA_ARGS__); \
	} while (0)

/*
 * Guest-triggered messages: log_once() prints the message the first time
 * @key (e.g. a port or MMIO address within a class) is seen and stays quiet
 * afterwards. Each class has its own budget of LOG_ONCE_PER_CLASS keys, so
 * that guest-chosen addresses of one class cannot silence another (a
 * device going bad); once a class used its budget, one notice says its
 * further messages are suppressed. Thread-safe.
 */
#define LOG_ONCE_PER_CLASS 16
#define LOG_ONCE_CLASSES 32
#define LOG_ONCE_MAX (LOG_ONCE_PER_CLASS * LOG_ONCE_CLASSES)
__attribute__((format(printf, 5, 6))) void
log_once_at(const char *file, int line, unsigned int cls, uint64_t key,
	    const char *fmt, ...);
#define log_once(cls, key, ...) \
	log_once_at(__FILE__, __LINE__, cls, key, __VA_ARGS__)

/*
 * The last error message logged by the calling thread ("" if none since
 * log_clear_last_error()): lets the API return what went wrong.
 */
const char *log_last_error(void);
void log_clear_last_error(void);

/* Resets the once-table (tests). */
void log_once_reset(void);

#endif
