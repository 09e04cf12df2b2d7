// SPDX-License-Identifier: GPL-2.0-only
/*
 * server.c - libmicrohttpd glue: the Unix listening socket, per-request
 * body accumulation with the size limit, and JSON responses. The library
 * is loaded by the first api_server_start() (mhd.c).
 */
#include "../util/bounds.h"
#include "server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../util/log.h"
#include "api_thread.h"
#include "mhd.h"

#ifndef VMON_VERSION
#define VMON_VERSION "unknown"
#endif

struct api_server {
	struct MHD_Daemon *daemon;
	struct api_ctx *ctx;
	int fd;
	char *path;
	unsigned int connections; /* open now (the API thread's) */
};

/* One request in progress. */
struct request {
	char *body;
	size_t len;
	bool too_big;
};

#define MAX_CONNECTIONS 64
/* Bodies up to this size are read (and dropped) before the 400. */
#define API_DISCARD_MAX (16 << 20)
/*
 * A connection with no request in progress (a client that connected and
 * says nothing, or an idle keep-alive one) is closed after IDLE_TIMEOUT_S
 * without traffic: stalled clients hold one of the MAX_CONNECTIONS slots
 * that long at most. Once a request's headers are in, REQUEST_TIMEOUT_S
 * (its body may be large). docs/limits.md.
 */
#define IDLE_TIMEOUT_S 2
#define REQUEST_TIMEOUT_S 10

static enum MHD_Result send_json(struct MHD_Connection *conn,
				 unsigned int status, json_t *body,
				 bool deprecated)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *text = NULL;

	if (body)
		text = json_dumps(body, JSON_COMPACT);
	if (body && !text)
		status = 500;
	r = mhd_fn.create_response_from_buffer(
		text ? strlen(text) : 0, text ? text : (void *)"",
		text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	if (text)
		mhd_fn.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
					   "application/json");
	/* Firecracker's Server header, saying it is vmon's. */
	mhd_fn.add_response_header(r, MHD_HTTP_HEADER_SERVER,
				   "Firecracker API (vmon " VMON_VERSION ")");
	/* Firecracker sends both on every response (with the deprecation
	 * only for a deprecated field). */
	mhd_fn.set_response_options(r, MHD_RF_SEND_KEEP_ALIVE_HEADER,
				    MHD_RO_END);
	if (deprecated)
		mhd_fn.add_response_header(r, "Deprecation", "true");
	ret = mhd_fn.queue_response(conn, status, r);
	mhd_fn.destroy_response(r);
	return ret;
}

static enum MHD_Result refuse_size(struct MHD_Connection *conn,
				   unsigned long long size, size_t max)
{
	char msg[160];
	json_t *j;
	enum MHD_Result ret;

	bound_hit(BOUND_API_BODY);
	snprintf(
		msg, sizeof(msg),
		"Request payload with size %llu is larger than the limit of %zu allowed by server.",
		size, max);
	j = api_fault(msg);
	ret = send_json(conn, 400, j, false);
	json_decref(j);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **state)
{
	struct api_server *s = cls;
	struct request *rq = *state;
	enum MHD_Result ret;
	unsigned int status;
	json_t *resp = NULL;

	(void)version;
	if (!rq) {
		const char *cl = mhd_fn.lookup_connection_value(
			conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*state = rq;
		mhd_fn.set_connection_option(conn,
					     MHD_CONNECTION_OPTION_TIMEOUT,
					     (unsigned int)REQUEST_TIMEOUT_S);
		/*
		 * An oversized body is read and dropped, so that the client
		 * (still sending) gets the 400; an absurd one is refused at
		 * once and the connection closed.
		 */
		if (cl && strtoull(cl, NULL, 10) > s->ctx->max_body) {
			rq->too_big = true;
			if (strtoull(cl, NULL, 10) > API_DISCARD_MAX)
				return refuse_size(conn, strtoull(cl, NULL, 10),
						   s->ctx->max_body);
		}
		return MHD_YES;
	}
	if (*upload_size) {
		if (!rq->too_big &&
		    rq->len + *upload_size <= s->ctx->max_body) {
			char *n = realloc(rq->body, rq->len + *upload_size + 1);

			if (!n)
				return MHD_NO;
			rq->body = n;
			memcpy(rq->body + rq->len, upload, *upload_size);
			rq->len += *upload_size;
			rq->body[rq->len] = 0;
		} else {
			rq->too_big = true;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->too_big)
		return refuse_size(conn,
				   (unsigned long long)s->ctx->max_body + 1,
				   s->ctx->max_body);
	status = api_handle(s->ctx, method, url, rq->body, rq->len, &resp);
	ret = send_json(conn, status, resp, api_response_deprecated());
	json_decref(resp);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **state,
			 enum MHD_RequestTerminationCode why)
{
	struct request *rq = *state;

	(void)cls;
	if (why == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED)
		bound_hit(BOUND_API_TIMEOUT);
	/* Idle again (keep-alive): the short timeout. */
	if (conn)
		mhd_fn.set_connection_option(conn,
					     MHD_CONNECTION_OPTION_TIMEOUT,
					     (unsigned int)IDLE_TIMEOUT_S);
	if (rq) {
		free(rq->body);
		free(rq);
	}
	*state = NULL;
}

/* Counts the open connections: all slots in use is a bound hit. */
static void on_connection(void *cls, struct MHD_Connection *conn,
			  void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct api_server *s = cls;

	if (code == MHD_CONNECTION_NOTIFY_STARTED &&
	    ++s->connections >= MAX_CONNECTIONS)
		bound_hit(BOUND_API_CONNECTIONS);
	if (code == MHD_CONNECTION_NOTIFY_CLOSED && s->connections)
		s->connections--;
	api_thread_on_connection(NULL, conn, socket_context, code);
}

int api_server_share(const char *path, gid_t gid)
{
	if (chown(path, (uid_t)-1, gid) || chmod(path, 0660)) {
		pr_err("API socket %s: group %u: %s", path, (unsigned int)gid,
		       strerror(errno));
		return -1;
	}
	return 0;
}

struct api_server *api_server_start(const char *path, struct api_ctx *ctx)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct api_server *s;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		pr_err("API socket %s: path too long (at most %zu bytes)", path,
		       sizeof(sa.sun_path) - 1);
		return NULL;
	}
	if (mhd_load())
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->ctx = ctx;
	s->path = strdup(path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || !s->path) {
		pr_err("API socket %s: socket: %s", sa.sun_path,
		       strerror(errno));
		goto fail;
	}
	if (bind(s->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		pr_err("API socket %s: %s", sa.sun_path, strerror(errno));
		goto fail;
	}
	/*
	 * Owner only, whatever the umask: nobody can connect before
	 * listen(), so the window between bind() and chmod() is harmless.
	 */
	if (chmod(path, 0600)) {
		pr_err("API socket %s: chmod: %s", sa.sun_path,
		       strerror(errno));
		unlink(path);
		goto fail;
	}
	if (listen(s->fd, 64)) {
		pr_err("API socket %s: listen: %s", sa.sun_path,
		       strerror(errno));
		unlink(path);
		goto fail;
	}
	s->daemon = mhd_fn.start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC, 0,
		NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, s->fd,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MAX_CONNECTIONS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)IDLE_TIMEOUT_S,
		MHD_OPTION_END);
	if (!s->daemon) {
		pr_err("API socket %s: cannot start the HTTP server",
		       sa.sun_path);
		unlink(path);
		goto fail;
	}
	return s;
fail:
	if (s->fd >= 0)
		close(s->fd);
	free(s->path);
	free(s);
	return NULL;
}

void api_server_stop(struct api_server *s)
{
	if (!s)
		return;
	/*
	 * Answers in flight (the reply to a Stop action, say) still go out:
	 * stop accepting, then give open connections up to 250 ms.
	 */
	mhd_fn.quiesce_daemon(s->daemon);
	for (int i = 0; i < 50; i++) {
		const union MHD_DaemonInfo *di = mhd_fn.get_daemon_info(
			s->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

		if (!di || di->num_connections == 0)
			break;
		usleep(5000);
	}
	mhd_fn.stop_daemon(s->daemon);
	close(s->fd);
	unlink(s->path);
	free(s->path);
	free(s);
}
