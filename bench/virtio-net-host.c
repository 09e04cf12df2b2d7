// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-net-host.c - the host side of bench/virtio-net on the tap IFNAME:
 * counts the guest's data frames (EtherType 0x88b5, kind 'T'), echoes its
 * requests ('R' back as 'r', same length) and answers a burst request ('B'
 * with a count N) with N frames of 1514 bytes ('b') and an end marker
 * ('E'). The guest side is guest/bench/virtio-net-guest.c. On SIGTERM or
 * SIGINT it prints "host: T=... R=... b=..." (frames counted, echoed, sent)
 * and exits. Built by bench/virtio-net with the host's cc.
 */
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ETHERTYPE 0x88b5

static volatile sig_atomic_t done;

static void on_signal(int sig)
{
	(void)sig;
	done = 1;
}

static int open_tap(const char *ifname)
{
	struct sockaddr_ll sa = { .sll_family = AF_PACKET,
				  .sll_protocol = htons(ETHERTYPE) };
	int fd = socket(AF_PACKET, SOCK_RAW, htons(ETHERTYPE));
	int one = 1;

	if (fd < 0)
		return -1;
	sa.sll_ifindex = (int)if_nametoindex(ifname);
	if (!sa.sll_ifindex || bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return -1;
	/* Not our own frames back (what we send to the guest). */
	setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	return fd;
}

static void burst(int fd, const unsigned char *req, unsigned long *sent)
{
	unsigned char f[1514];
	unsigned int n, i;

	memcpy(&n, req + 15, 4);
	memset(f, 0xa5, sizeof(f));
	memset(f, 0xff, 6); /* broadcast: each VMM's device takes it */
	memcpy(f + 6, req + 6, 6);
	f[12] = ETHERTYPE >> 8;
	f[13] = ETHERTYPE & 0xff;
	f[14] = 'b';
	for (i = 0; i < n && !done; i++) {
		memcpy(f + 15, &i, 4);
		if (send(fd, f, sizeof(f), 0) == (ssize_t)sizeof(f))
			(*sent)++;
	}
	f[14] = 'E';
	send(fd, f, 64, 0);
}

int main(int argc, char **argv)
{
	unsigned long t = 0, r = 0, b = 0;
	struct sigaction sa = { .sa_handler = on_signal };
	unsigned char f[2048];
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: virtio-net-host IFNAME\n");
		return 2;
	}
	fd = open_tap(argv[1]);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	printf("ready\n");
	fflush(stdout);
	while (!done) {
		ssize_t n = recv(fd, f, sizeof(f), 0);

		if (n < 19)
			continue;
		if (f[14] == 'T') {
			t++;
		} else if (f[14] == 'R') {
			f[14] = 'r'; /* broadcast back, as it came */
			r += send(fd, f, (size_t)n, 0) == n;
		} else if (f[14] == 'B') {
			burst(fd, f, &b);
		}
	}
	printf("host: T=%lu R=%lu b=%lu\n", t, r, b);
	return 0;
}
