/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * migration.h - live migration of a running VM (docs/migration.md).
 * The source (mig_source_*) runs on a thread of its own: it connects,
 * sends the configuration, copies guest RAM while the guest runs
 * (pre-copy rounds over the dirty log, dirty.h) until what is left fits
 * the downtime budget, then pauses the VM, sends the rest and the VM's
 * state (the snapshot format), and waits for the destination to say the
 * VM runs there. Any failure before that resumes the source. The
 * destination (mig_receive) builds the VM from the configuration, fills
 * its RAM, restores the state and starts it.
 */
#ifndef VMON_MIGRATION_MIGRATION_H
#define VMON_MIGRATION_MIGRATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stream.h"

struct vm;
struct snapshot;

enum mig_mode { MIG_MODE_PRECOPY, MIG_MODE_POSTCOPY, MIG_MODE_AUTO };
enum mig_state {
	MIG_NONE,
	MIG_ACTIVE,
	MIG_COMPLETED,
	MIG_FAILED,
	MIG_CANCELLED,
};

#define MIG_DEFAULT_DOWNTIME_MS 300
#define MIG_MAX_ROUNDS 30

/*
 * A migration token (auth.c): both sides given the same one prove it to
 * each other before the VM's configuration or memory moves. @key is
 * SHA-256 of the token file's content.
 */
struct mig_token {
	bool set;
	uint8_t key[32];
};

/*
 * Reads the token file @path (a regular file only its owner may read, 16
 * bytes to 4 KiB; whitespace at the end is not part of it) into @t; 0 or
 * -1 with @err naming the file.
 */
int mig_token_load(const char *path, struct mig_token *t, char *err,
		   size_t errlen);
/*
 * The token exchange on a new connection, before the source's HELLO: the
 * source's side; the destination's, given the first record the source
 * sent (@type, @first, @len: an AUTH, or a HELLO when the source has no
 * token; @t NULL or unset when the destination has none). 0 once the
 * peer proved it holds the same token, or -1 with @err.
 */
int mig_auth_source(struct mig_conn *c, const struct mig_token *t, char *err,
		    size_t errlen);
int mig_auth_dest(struct mig_conn *c, const struct mig_token *t, uint32_t type,
		  const uint8_t *first, size_t len, char *err, size_t errlen);

/*
 * Whether the source checks guest RAM against the dirty log at the
 * switch-over (verify.c): auto is on where the host's KVM is the PVM
 * backend, which does not report every page it writes.
 */
enum mig_verify_mode { MIG_VERIFY_AUTO, MIG_VERIFY_ON, MIG_VERIFY_OFF };
int mig_verify_mode_parse(const char *s, enum mig_verify_mode *v);
const char *mig_verify_mode_name(enum mig_verify_mode v);

struct mig_params {
	char url[512];
	enum mig_mode mode;
	uint64_t downtime_ms; /* the pause the guest may see */
	uint64_t bandwidth; /* bytes per second, 0: no limit */
	bool compress; /* zstd on page batches */
	bool with_disks; /* block migration: copy the writable disks */
	struct mig_token token; /* unset: no token exchange */
	enum mig_verify_mode verify;
};

struct mig_progress {
	enum mig_state state;
	enum mig_mode mode;
	unsigned int rounds;
	uint64_t ram_pages, pages_sent, zero_pages, bytes_sent;
	uint64_t dirty_pages; /* left after the last round */
	uint64_t dirty_rate; /* pages per second, last round */
	uint64_t expected_downtime_ms, downtime_ms, total_ms;
	bool postcopy; /* switched over to post-copy */
	uint64_t disk_bytes_sent; /* block migration: disk data sent */
	uint64_t disk_dirty_bytes; /* left after the last round */
	const char *dirty_log; /* KVM's "ring" or "bitmap" (dirty.h) */
	bool verify; /* RAM checked against the dirty log (verify.c) */
	/* Pages the check found changed without a dirty report: sent again */
	uint64_t unreported_pages;
	char error[MIG_ERR_MAX];
};

/*
 * The check of verify.c: mig_verify_sent() records page @pg as sent with
 * the content at @page (NULL: zeros); mig_verify_check(), with the VM
 * paused and the last dirty log collected into @bitmap, sets in @bitmap
 * every page not set there whose content differs from what was sent, and
 * returns how many.
 */
struct guest_mem;
struct mig_verify;
struct mig_verify *mig_verify_new(uint64_t pages);
void mig_verify_free(struct mig_verify *v);
void mig_verify_sent(struct mig_verify *v, uint64_t pg, const uint8_t *page);
int64_t mig_verify_check(struct mig_verify *v, const struct guest_mem *mem,
			 uint64_t *bitmap);

/* What the source asks of the instance that owns the VM. */
struct mig_hooks {
	/* Pauses the VM (the API's state follows); 0 or -1. */
	int (*pause)(void *opaque);
	void (*resume)(void *opaque);
	/* The destination runs the VM: the source stops (exit 0). */
	void (*completed)(void *opaque);
	void *opaque;
};

struct mig_source;

/*
 * Starts migrating @vm (running or paused) to @p->url; @config_json is
 * the VM's configuration (copied). NULL with @err if it cannot start.
 */
struct mig_source *mig_source_start(struct vm *vm, const char *config_json,
				    const struct mig_params *p,
				    const struct mig_hooks *hooks, char *err,
				    size_t errlen);
void mig_source_progress(struct mig_source *m, struct mig_progress *out);
/* Asks the migration to stop; the source runs on. */
void mig_source_cancel(struct mig_source *m);
/* Cancels if still active, joins the thread, frees. NULL is fine. */
void mig_source_free(struct mig_source *m);

const char *mig_state_name(enum mig_state s);
const char *mig_mode_name(enum mig_mode m);
int mig_mode_parse(const char *s, enum mig_mode *m);

/*
 * The destination side, in three steps so the instance builds the VM in
 * between: mig_listen_url() opens the address, mig_accept() waits for
 * the source and receives the prelude
 * (a state file: header and configuration) into @s; the caller parses
 * it into a VM built but not started; mig_receive_memory() fills that
 * VM's RAM and receives the state, which replaces @s's (then restored by
 * the caller); mig_finish() tells the source the VM is ready here (or,
 * with @fail, why not); only then does the caller run it.
 */
struct mig_postcopy;
struct mig_disks_dst;

struct mig_dest {
	struct mig_conn conn;
	int listen_fd;
	struct mig_addr addr;
	char url[512];
	bool run; /* the VM ran on the source: resume it here */
	/*
	 * Pages a PAGES record wrote into RAM (fresh anonymous memory): a
	 * page of zeros for one never written needs no clearing.
	 */
	uint64_t *written;
	struct mig_postcopy *post; /* post-copy: pages still to come */
	bool post_started; /* its threads run */
	struct mig_disks_dst *disks; /* block migration: the images written */
	/* Set: only a source that proves it holds it is accepted. */
	struct mig_token token;
	unsigned int refused; /* connections refused for their token */
};

/* Listens on @url (before anything tells a source to come). 0 or -1. */
int mig_listen_url(struct mig_dest *d, const char *url, char *err,
		   size_t errlen);
int mig_accept(struct mig_dest *d, struct snapshot *s, char *err,
	       size_t errlen);
/*
 * On a connection mig_accept() took (@d->conn): with @d->token, the
 * token exchange, reading no more than an AUTH record before the proof.
 * 0 when the source may go on (its HELLO next), -1 with @err.
 */
int mig_greet(struct mig_dest *d, char *err, size_t errlen);
int mig_receive_memory(struct mig_dest *d, struct vm *vm, struct snapshot *s,
		       char *err, size_t errlen);
/* 0, or -1 if the source could not be told (logged). */
int mig_finish(struct mig_dest *d, const char *fail);
/*
 * Ends the destination's side: post-copy threads stopped (any page fault
 * still waiting is let go), the connection closed. Before the VM's
 * memory goes.
 */
void mig_dest_free(struct mig_dest *d);

/* Post-copy, inside mig_receive_memory() (postcopy.c). */
int mig_postcopy_prepare(struct mig_dest *d, struct vm *vm,
			 const uint8_t *bitmap, size_t len, char *err,
			 size_t errlen);
int mig_postcopy_start(struct mig_dest *d, char *err, size_t errlen);
int mig_postcopy_send(struct mig_dest *d, enum mig_rec type,
		      const void *payload, size_t len);
void mig_postcopy_free(struct mig_dest *d);

/*
 * Block migration (disks.c). The source: mig_disks_open() finds the VM's
 * writable disks (raw or qcow2 images), starts their dirty tracking and
 * marks every chunk to send; mig_disks_hello() sends the list; each
 * round mig_disks_send() sends what is marked and mig_disks_collect()
 * marks what the guest wrote since (returning the bytes now marked);
 * mig_disks_close() stops tracking. NULL (no disks asked for) is fine
 * everywhere. The destination: mig_disks_accept() opens its image of
 * each listed drive (its configured path, raw, or its drive's qcow2
 * engine: it must exist, of the same size as the guest sees it), mig_disks_put() writes a run, mig_disks_sync() syncs them
 * before the answer, mig_disks_dst_free() closes them.
 */
struct mig_disks;
struct mig_disks *mig_disks_open(struct vm *vm, char *err);
void mig_disks_close(struct mig_disks *ds);
int mig_disks_hello(struct mig_disks *ds, struct mig_conn *c, char *err);
int mig_disks_send(struct mig_disks *ds, struct mig_conn *conn,
		   const _Atomic(bool) *cancel, char *err);
uint64_t mig_disks_collect(struct mig_disks *ds);
uint64_t mig_disks_bytes_sent(const struct mig_disks *ds);
int mig_disks_accept(struct mig_dest *d, struct vm *vm, const uint8_t *p,
		     size_t len, char *err, size_t errlen);
int mig_disks_put(struct mig_dest *d, const uint8_t *p, size_t len, char *err,
		  size_t errlen);
int mig_disks_sync(struct mig_dest *d, char *err, size_t errlen);
void mig_disks_dst_free(struct mig_dest *d);

#endif
