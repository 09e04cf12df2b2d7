/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vsock_uds.h - the host side of virtio-vsock: the Unix-socket multiplexer
 * of Firecracker's convention. Host programs connect to the socket PATH
 * and send "CONNECT <port>\n"; the multiplexer accepts them, reads that
 * line and hands the connection to the device. Guest connections to host
 * port P are dialled to the Unix socket "PATH_P".
 *
 * Its handlers run on the I/O thread. It has its own lock (for the
 * connections still sending their line) and never calls the device with
 * it held; the device may call into it with its own lock held. Lock
 * order: device, then multiplexer.
 */
#ifndef VMON_NET_VSOCK_UDS_H
#define VMON_NET_VSOCK_UDS_H

#include <stddef.h>
#include <stdint.h>

struct iothread;
struct vsock_uds;

/*
 * A host program asked for guest port @port on connection @fd (non-
 * blocking, not watched by anyone): return 0 if the device takes @fd
 * (and closes it later), -1 to refuse (the multiplexer closes it).
 */
typedef int (*vsock_uds_connect_fn)(void *opaque, int fd, uint32_t port);

/*
 * Listens on @path (a socket left over by an earlier run is replaced).
 * Returns NULL with @err filled ("PATH: cause") on failure.
 */
struct vsock_uds *vsock_uds_open(struct iothread *io, const char *path,
				 vsock_uds_connect_fn connect, void *opaque,
				 char *err, size_t errlen);
/* Connects to "PATH_@port" for the guest: a non-blocking fd, or -1. */
int vsock_uds_dial(const struct vsock_uds *u, uint32_t port);
/* Closes the connections that have not sent their line yet. */
void vsock_uds_drop_pending(struct vsock_uds *u);
/*
 * How many pending connections were closed after UDS_PENDING_IDLE_MS
 * without their line, to give their slot to a new one.
 */
uint64_t vsock_uds_evicted(struct vsock_uds *u);
/* Closes everything and removes the socket file (I/O thread stopped). */
void vsock_uds_close(struct vsock_uds *u);

#endif
