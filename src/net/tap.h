/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tap.h - opening a Linux tap device for virtio-net: the IFF_VNET_HDR
 * header (12 bytes, the virtio 1.x virtio_net_hdr), non-blocking I/O,
 * and the receive offloads the guest negotiated.
 */
#ifndef VMON_NET_TAP_H
#define VMON_NET_TAP_H

#include <stdbool.h>

#define TAP_VNET_HDR_LEN 12

/*
 * Opens tap @name (creating it, and bringing it up, if it does not exist
 * and vmon may: CAP_NET_ADMIN). Returns the fd or -1 (logged). *@created
 * says whether vmon created it (it goes away when the fd is closed).
 */
int tap_open(const char *name, bool *created);

/* TUN_F_* offloads the guest can receive (TUNSETOFFLOAD). Returns 0/-1. */
int tap_set_offload(int fd, unsigned int flags);

#endif
