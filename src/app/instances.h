/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * instances.h - the vmon instances of this host: each instance with an
 * API socket registers itself as RUNDIR/ID.json ({"id", "pid",
 * "api_sock"}); `vmon list` reads the directory and asks each instance for
 * its state; `vmon pause|resume|stop|stat ID` talk to one through its
 * socket. RUNDIR is $VMON_RUNTIME_DIR, else $XDG_RUNTIME_DIR/vmon, else
 * /run/vmon for root and /tmp/vmon-UID for others; created 0700 and used
 * only if it is the caller's private directory (not a symlink, owned by
 * the effective uid, no group or other access).
 */
#ifndef VMON_APP_INSTANCES_H
#define VMON_APP_INSTANCES_H

#include <jansson.h>
#include <stddef.h>

/*
 * Registers instance @id with socket @sock (made absolute); fills @entry
 * with the registry file to remove at exit. Returns 0 or -1 (logged; also
 * when a live instance has the same id).
 */
int instance_register(const char *id, const char *sock, char *entry,
		      size_t len);
void instance_unregister(const char *entry);

/* True if @id is a usable instance id: [A-Za-z0-9_.-], 1..64 chars. */
int instance_id_valid(const char *id);

/* The API socket of instance @id (or @id itself if a socket); 0 or -1. */
int instance_socket(const char *id, char *sock, size_t len);

/*
 * Calls @fn for each live registered instance (entries of dead ones are
 * removed) until it returns non-zero; returns that, 0, or -1 (logged) if
 * the runtime directory is unusable.
 */
int instance_foreach(int (*fn)(const char *id, const char *sock, long pid,
			       void *arg),
		     void *arg);
/* GET @path of the instance at @sock, parsed; NULL on any error. */
json_t *instance_get_json(const char *sock, const char *path);

int cmd_list(int argc, char **argv);
/* pause, resume, stop, stat: argv[0] is the command. */
int cmd_instance(int argc, char **argv);

#endif
