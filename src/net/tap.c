// SPDX-License-Identifier: GPL-2.0-only
/*
 * tap.c - the host side of virtio-net: a tap device with virtio-net
 * headers (see tap.h).
 */
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../util/log.h"

static void bring_up(const char *name)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (!ioctl(s, SIOCGIFFLAGS, &ifr)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr))
			pr_warn("net %s: tap: cannot bring it up: %s", name,
				strerror(errno));
	}
	close(s);
}

int tap_open(const char *name, bool *created)
{
	struct ifreq ifr;
	int hdr = TAP_VNET_HDR_LEN;
	int fd;

	*created = if_nametoindex(name) == 0;
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		pr_err("net %s: tap: /dev/net/tun: %s", name, strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		pr_err("net %s: tap: %s%s", name, strerror(errno),
		       *created ?
			       " (it does not exist; creating it needs CAP_NET_ADMIN)" :
			       "");
		close(fd);
		return -1;
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) || tap_set_offload(fd, 0)) {
		pr_err("net %s: tap: virtio-net headers: %s", name,
		       strerror(errno));
		close(fd);
		return -1;
	}
	if (*created)
		bring_up(name);
	return fd;
}

int tap_set_offload(int fd, unsigned int flags)
{
	return ioctl(fd, TUNSETOFFLOAD, flags) ? -1 : 0;
}
