// SPDX-License-Identifier: GPL-2.0-only
/*
 * mhd.c - loads libmicrohttpd when the first API server starts, instead of
 * at every exec. Debian's libmicrohttpd brings GnuTLS and its libraries
 * (nettle, hogweed, gmp, tasn1, p11-kit, idn2, unistring, ffi), whose
 * constructors cost about 3.5 ms of CPU per process here (GnuTLS builds
 * its ASN.1 trees); `vmon run` without an API never pays that now. The
 * jailer loads it before it lists its libraries (jail_root.c), so a
 * jailed vmon finds it. Owns mhd_fn.
 */
#include "mhd.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>

#include "../util/log.h"

/* The run-time name of Debian 12's libmicrohttpd (package libmicrohttpd12). */
#ifndef MHD_SONAME
#define MHD_SONAME "libmicrohttpd.so.12"
#endif

struct mhd_fns mhd_fn;

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static bool loaded;

struct sym {
	const char *name;
	void **slot;
};

#define SYM(field, fn)                      \
	{                                   \
#fn, (void **)&mhd_fn.field \
	}

static int resolve(void *h)
{
	const struct sym syms[] = {
		SYM(start_daemon, MHD_start_daemon),
		SYM(stop_daemon, MHD_stop_daemon),
		SYM(quiesce_daemon, MHD_quiesce_daemon),
		SYM(get_daemon_info, MHD_get_daemon_info),
		SYM(create_response_from_buffer,
		    MHD_create_response_from_buffer),
		SYM(add_response_header, MHD_add_response_header),
		SYM(set_response_options, MHD_set_response_options),
		SYM(queue_response, MHD_queue_response),
		SYM(destroy_response, MHD_destroy_response),
		SYM(lookup_connection_value, MHD_lookup_connection_value),
		SYM(set_connection_option, MHD_set_connection_option),
	};

	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		*syms[i].slot = dlsym(h, syms[i].name);
		if (!*syms[i].slot) {
			pr_err("%s: no %s in it: %s", MHD_SONAME, syms[i].name,
			       dlerror());
			return -1;
		}
	}
	return 0;
}

int mhd_load(void)
{
	void *h;
	int ret = 0;

	pthread_mutex_lock(&load_lock);
	if (loaded)
		goto out;
	/* Kept loaded for the process's life: never dlclose()d. */
	h = dlopen(MHD_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		pr_err("%s (the HTTP library of the API): %s", MHD_SONAME,
		       dlerror());
		ret = -1;
		goto out;
	}
	ret = resolve(h);
	loaded = !ret;
out:
	pthread_mutex_unlock(&load_lock);
	return ret;
}
