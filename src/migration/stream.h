/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * stream.h - the live-migration stream (docs/migration.md): the address
 * forms (tcp:HOST:PORT, unix:PATH), connecting and listening, and the
 * framing of records on the connection. Each record is a 24-byte head
 * (magic "VMIG", type, flags, payload length, CRC-64 of the payload)
 * and the payload; a PAGES payload may be zstd-compressed. Every read
 * is bounded and checked: a corrupt or foreign stream is an error, never
 * a crash.
 */
#ifndef VMON_MIGRATION_STREAM_H
#define VMON_MIGRATION_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MIG_MAGIC 0x47494d56U /* "VMIG" little-endian */
/*
 * The stream's version, the first u32 of the source's HELLO payload (and
 * of the destination's answer, and of every AUTH). 2: HELLO answered
 * before any page moves; records DISKS, BLOCKS and SYNC. 3: AUTH (the
 * migration token). Version 1 (no version field: its HELLO payload began
 * with the state file) is no longer read.
 */
#define MIG_PROTO_VERSION 3
/* A HELLO payload's head: u32 version, u32 0 (then, from the source, the state). */
#define MIG_HELLO_HEAD 8
#define MIG_HEAD_SIZE 24
/*
 * The largest payload accepted: a state file (HELLO, STATE) or the
 * post-copy page bitmap (DISCARD). Every other type has its own, smaller
 * bound (mig_payload_max()), compressed or not.
 */
#define MIG_PAYLOAD_MAX (256U << 20)
#define MIG_ERR_MAX 512
/* The token exchange (auth.c): a peer silent this long is refused. */
#define MIG_AUTH_TIMEOUT_MS 10000

enum mig_rec {
	/*
	 * src->dst: version, header and configuration (a state file);
	 * dst->src: its version, the VM is built (or ERROR: refused).
	 */
	MIG_HELLO = 1,
	MIG_PAGES = 2, /* src->dst: a batch of guest pages */
	MIG_STATE = 3, /* src->dst: vCPUs, VM and devices (a state file) */
	MIG_DONE = 4, /* dst->src: the VM runs here now (empty payload) */
	MIG_ERROR = 5, /* either way: the other side gives up (a message) */
	MIG_REQ = 6, /* post-copy, dst->src: pages the guest waits for */
	MIG_DISCARD = 7, /* post-copy, src->dst: pages not sent yet (bitmap) */
	MIG_END = 8, /* post-copy, src->dst: every page was sent */
	MIG_DISKS = 9, /* block migration, src->dst: the disks copied */
	MIG_BLOCKS = 10, /* block migration, src->dst: a run of disk data */
	/*
	 * Both ways, before HELLO, when the migration has a token: the
	 * version head, then nonces and proofs (auth.c).
	 */
	MIG_AUTH = 11,
	/*
	 * src->dst: answer SYNC once every record before this one is applied;
	 * dst->src: that answer (both empty). Before the switch-over.
	 */
	MIG_SYNC = 16,
};

/* A record flag: the payload is [u64 raw length][zstd frame]. */
#define MIG_F_ZSTD 1

/*
 * A PAGES payload: u32 count, u32 zero; count u64 entries (the page's
 * index in guest RAM, bit 63 set for a page of zeros, whose data is not
 * sent); then the 4 KiB of each other page, in order.
 */
#define MIG_PAGE 4096U
#define MIG_BATCH_PAGES 256U
#define MIG_PAGE_ZERO (1ULL << 63)
/*
 * A STATE payload: u32 flags, then the state file. RUN: the VM ran on
 * the source, run it; POSTCOPY: pages follow, after a DISCARD record.
 */
#define MIG_STATE_RUN 1U
#define MIG_STATE_POSTCOPY 2U

/* A DISKS record names at most this many disks; a BLOCKS run at most this many bytes. */
#define MIG_DISKS_MAX 16U
#define MIG_BLOCKS_HEAD 24U /* u32 drive, u32 flags, u64 offset, u64 length */
#define MIG_BLOCKS_RUN_MAX (1U << 20)
/* An AUTH payload: the version head, then a 32-byte nonce and/or proof. */
#define MIG_AUTH_NONCE 32U
#define MIG_AUTH_MAX (MIG_HELLO_HEAD + 2 * MIG_AUTH_NONCE)

/*
 * The largest payload a record of @type may carry, uncompressed: what
 * this version's sender can produce, so that a hostile peer cannot make
 * the receiver allocate more (0 for an unknown type).
 */
uint64_t mig_payload_max(uint32_t type);

struct mig_conn {
	int fd;
	uint64_t bytes_out, bytes_in; /* on the wire, heads included */
	uint64_t rate; /* bytes per second at most, 0: no limit */
	uint64_t rl_start_ns, rl_bytes; /* the rate limit's window */
	void *zctx; /* ZSTD_CCtx when compressing */
	uint32_t peer_version; /* the other side's stream version, 0: not yet */
};

/* A parsed address: tcp (host, port) or unix (path). */
struct mig_addr {
	bool unix_sock;
	char host[256];
	char port[16];
	char path[108];
};

/* Parses "tcp:HOST:PORT" (HOST may be [v6]) or "unix:PATH"; 0 or -1, @err. */
int mig_addr_parse(const char *url, struct mig_addr *a, char *err,
		   size_t errlen);
/* True if @a's host is a numeric address (nothing to resolve). */
bool mig_addr_numeric(const struct mig_addr *a);
/*
 * Rewrites @url ("tcp:NAME:PORT") into @out with NAME resolved to a
 * numeric address (the migration thread's filter has no name service);
 * other forms are copied. 0, or -1 with @err.
 */
int mig_url_resolve(const char *url, char *out, size_t outlen, char *err,
		    size_t errlen);
/* Connects (numeric hosts only) within @timeout_ms; the fd or -1 with @err. */
int mig_connect(const struct mig_addr *a, int timeout_ms, char *err,
		size_t errlen);
/* A listening socket on @a; the fd or -1 with @err. */
int mig_listen(const struct mig_addr *a, char *err, size_t errlen);

/* A send that makes no progress for this long fails (SO_SNDTIMEO). */
#define MIG_SEND_TIMEOUT_MS 600000
void mig_conn_init(struct mig_conn *c, int fd);
/* Another send time limit than MIG_SEND_TIMEOUT_MS (tests). */
void mig_conn_send_timeout(struct mig_conn *c, int ms);
/* Closes the connection and frees the compressor. */
void mig_conn_close(struct mig_conn *c);
/* Turns on zstd compression of PAGES records; 0 or -1 with @err. */
int mig_conn_compress(struct mig_conn *c, char *err, size_t errlen);

/* Writes a HELLO payload's head (this vmon's version) into @out. */
void mig_hello_head(uint8_t out[MIG_HELLO_HEAD]);
/*
 * Checks the version a HELLO payload (@p, @len bytes) announces and keeps
 * it in @c->peer_version: 0 if this vmon speaks it, or -1 with @err naming
 * both versions. @who names the sender ("the source").
 */
int mig_hello_check(struct mig_conn *c, const uint8_t *p, size_t len,
		    const char *who, char *err, size_t errlen);

/* Sends one record (compressing PAGES if asked); 0 or -1 with @err. */
int mig_send(struct mig_conn *c, enum mig_rec type, const void *payload,
	     size_t len, char *err, size_t errlen);
/* True if a record (or the end of the stream) is ready to receive. */
bool mig_readable(struct mig_conn *c, int timeout_ms);
/*
 * Receives one record within @timeout_ms (-1: no limit): *@type and a
 * malloc'ed, checked and decompressed payload of *@len bytes (NULL when
 * empty). 0, or -1 with @err (closed, timed out, corrupt, too large).
 */
int mig_recv(struct mig_conn *c, uint32_t *type, uint8_t **payload, size_t *len,
	     int timeout_ms, char *err, size_t errlen);
/*
 * mig_recv() refusing a payload over @max bytes (and the type's own
 * bound) before reading it; *@type is set once the head was read.
 */
int mig_recv_max(struct mig_conn *c, uint32_t *type, uint8_t **payload,
		 size_t *len, int timeout_ms, uint64_t max, char *err,
		 size_t errlen);

#endif
