/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * router.h - the API's request handling, independent of HTTP: one request
 * (method, path, body) in, a status code and a JSON body out. It owns the
 * instance state machine (Not started -> Running <-> Paused) and the
 * pre-boot configuration; what it does to a VM goes through api_ops, so
 * the same router serves vmon and the fuzz target.
 */
#ifndef VMON_API_ROUTER_H
#define VMON_API_ROUTER_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>

#include "../virtio/balloon.h"
#include "api_counters.h"
#include "vmconfig.h"

/*
 * The largest request body accepted by default (bigger ones are refused
 * unread): Firecracker's --http-api-max-payload-size default.
 */
#define API_MAX_BODY 51200

/* The Firecracker API version vmon implements (GET /version, --version). */
#define API_FC_VERSION "1.10.1"

enum api_state { API_NOT_STARTED, API_RUNNING, API_PAUSED, API_STOPPING };

/* What the router asks of the VMM; each returns 0 or -1 with @err set. */
struct api_ops {
	int (*start)(void *opaque, char *err);
	int (*pause)(void *opaque, char *err);
	int (*resume)(void *opaque, char *err);
	int (*stop)(void *opaque, char *err);
	int (*flush_metrics)(void *opaque, char *err);
	/* New reference: the current metrics (GET /vmon/stats). */
	json_t *(*stats)(void *opaque);
	/* Apply a new logger / metrics configuration (PUT /logger, /metrics):
	 * open the files. On error the configuration is rolled back. */
	int (*logger)(void *opaque, char *err);
	int (*metrics)(void *opaque, char *err);
	/* Run time: apply a validated update to the running device. */
	int (*drive_update)(void *opaque, const struct api_drive_update *u,
			    char *err);
	int (*net_update)(void *opaque, const struct api_net_update *u,
			  char *err);
	int (*balloon_target)(void *opaque, uint64_t mib, char *err);
	int (*balloon_interval)(void *opaque, unsigned int seconds, char *err);
	/* Free page hinting: start a run (@ack_on_stop) or stop it. */
	int (*balloon_hint)(void *opaque, bool start, bool ack_on_stop,
			    char *err);
	/* Fills @out from the balloon device; -1 if there is none. */
	int (*balloon_info)(void *opaque, struct balloon_info *out);
	/* Presses Ctrl+Alt+Del on the i8042 keyboard. */
	int (*ctrl_alt_del)(void *opaque, char *err);
	/* Presses the ACPI power button (vmon's PowerButton action). */
	int (*power_button)(void *opaque, char *err);
	/* Snapshots (docs/snapshot.md): of the paused VM; into a fresh
	 * instance, whose configuration becomes the snapshot's. */
	int (*snapshot_create)(void *opaque,
			       const struct api_snapshot_create *req,
			       char *err);
	int (*snapshot_load)(void *opaque, const struct api_snapshot_load *req,
			     char *err);
	/* Live migration (docs/migration.md): start sending the VM, stop
	 * doing so, and the progress (new reference). */
	int (*migrate_send)(void *opaque, const struct mig_params *req,
			    char *err);
	int (*migrate_cancel)(void *opaque, char *err);
	/* Into a fresh instance: wait on req->url for a VM (in the
	 * background: 0 once listening). */
	int (*migrate_receive)(void *opaque,
			       const struct api_migration_receive *req,
			       char *err);
	json_t *(*migrate_info)(void *opaque);
	/* Hotplug (api_hotplug.h, docs/pci.md): whether the VM can (else
	 * @err says why); the device of entry @index of the list of @type
	 * ("disk", "net"), the configuration's last; asking the guest to
	 * eject entry @index's; freeing the devices the guest ejected and
	 * dropping their entries (api_config_drop_device()). */
	int (*hotplug_check)(void *opaque, char *err);
	int (*hotplug)(void *opaque, const char *type, unsigned int index,
		       char *err);
	int (*unplug)(void *opaque, const char *type, unsigned int index,
		      char *err);
	void (*hotplug_reap)(void *opaque);
};

struct api_ctx {
	pthread_mutex_t lock; /* held by api_handle() for each request */
	enum api_state state;
	struct api_config cfg;
	/* Configured beyond logger and metrics: no snapshot load then. */
	bool configured;
	/* An incoming migration is awaited: no configuration requests. */
	bool incoming;
	const char *id;
	size_t max_body; /* the body size limit (API_MAX_BODY by default) */
	const struct api_ops *ops;
	void *opaque;
	struct api_counters requests; /* by Firecracker's metric names */
};

void api_ctx_init(struct api_ctx *ctx, const char *id,
		  const struct api_ops *ops, void *opaque);
void api_ctx_destroy(struct api_ctx *ctx);

/*
 * Handles one request. @body may be NULL when @len is 0. Returns the HTTP
 * status; *resp is the body to send (new reference) or NULL for none.
 * Takes ctx->lock. Never blocks on the guest.
 */
unsigned int api_handle(struct api_ctx *ctx, const char *method,
			const char *path, const char *body, size_t len,
			json_t **resp);
/*
 * Whether the calling thread's last api_handle() succeeded with a field
 * Firecracker deprecates: its response carries "Deprecation: true".
 */
bool api_response_deprecated(void);

/* A {"fault_message": ...} body. */
json_t *api_fault(const char *msg);

const char *api_state_name(enum api_state s);

#endif
