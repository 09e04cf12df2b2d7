/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mhd.h - libmicrohttpd, loaded when an API server starts (mhd.c says
 * why): the functions server.c calls, through mhd_fn.
 */
#ifndef VMON_API_MHD_H
#define VMON_API_MHD_H

#include <microhttpd.h>

struct mhd_fns {
	struct MHD_Daemon *(*start_daemon)(unsigned int flags, uint16_t port,
					   MHD_AcceptPolicyCallback apc,
					   void *apc_cls,
					   MHD_AccessHandlerCallback dh,
					   void *dh_cls, ...);
	void (*stop_daemon)(struct MHD_Daemon *daemon);
	MHD_socket (*quiesce_daemon)(struct MHD_Daemon *daemon);
	const union MHD_DaemonInfo *(*get_daemon_info)(
		struct MHD_Daemon *daemon, enum MHD_DaemonInfoType info, ...);
	struct MHD_Response *(*create_response_from_buffer)(
		size_t size, void *buffer, enum MHD_ResponseMemoryMode mode);
	enum MHD_Result (*add_response_header)(struct MHD_Response *response,
					       const char *header,
					       const char *content);
	enum MHD_Result (*set_response_options)(struct MHD_Response *response,
						enum MHD_ResponseFlags flags,
						...);
	enum MHD_Result (*queue_response)(struct MHD_Connection *connection,
					  unsigned int status_code,
					  struct MHD_Response *response);
	void (*destroy_response)(struct MHD_Response *response);
	const char *(*lookup_connection_value)(struct MHD_Connection *connection,
					       enum MHD_ValueKind kind,
					       const char *key);
	enum MHD_Result (*set_connection_option)(
		struct MHD_Connection *connection,
		enum MHD_CONNECTION_OPTION option, ...);
};

/* Filled by mhd_load(). */
extern struct mhd_fns mhd_fn;

/*
 * Loads libmicrohttpd and resolves mhd_fn, once (safe to call again). 0,
 * or -1 with a message naming the library and the cause.
 */
int mhd_load(void);

#endif
