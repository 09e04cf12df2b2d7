// SPDX-License-Identifier: GPL-2.0-only
/*
 * vsock_echo.c - a static Linux user program for the Linux boot test of
 * the virtio devices (test_virtio_linux.py), given to the guest on a raw
 * disk because the default guest has no vsock tool:
 *   vsock_echo connect CID PORT MSG   send MSG, print the answer
 *   vsock_echo listen PORT            accept one connection, answer what
 *                                     it reads with "echo:" in front
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

static int addr(struct sockaddr_vm *sa, const char *cid, const char *port)
{
	memset(sa, 0, sizeof(*sa));
	sa->svm_family = AF_VSOCK;
	sa->svm_cid = cid ? (unsigned int)strtoul(cid, NULL, 0) :
			    VMADDR_CID_ANY;
	sa->svm_port = (unsigned int)strtoul(port, NULL, 0);
	return socket(AF_VSOCK, SOCK_STREAM, 0);
}

int main(int argc, char **argv)
{
	struct sockaddr_vm sa;
	char buf[256];
	ssize_t n;
	int s, c;

	if (argc == 5 && !strcmp(argv[1], "connect")) {
		s = addr(&sa, argv[2], argv[3]);
		if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa))) {
			perror("vsock connect");
			return 1;
		}
		if (write(s, argv[4], strlen(argv[4])) < 0)
			return 1;
		n = read(s, buf, sizeof(buf) - 1);
		if (n <= 0)
			return 1;
		buf[n] = 0;
		printf("vsock answer: %s\n", buf);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "listen")) {
		s = addr(&sa, NULL, argv[2]);
		if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) ||
		    listen(s, 1)) {
			perror("vsock listen");
			return 1;
		}
		printf("vsock listening\n");
		fflush(stdout);
		c = accept(s, NULL, NULL);
		if (c < 0)
			return 1;
		memcpy(buf, "echo:", 5);
		n = read(c, buf + 5, sizeof(buf) - 5);
		if (n <= 0 || write(c, buf, (size_t)n + 5) < 0)
			return 1;
		close(c);
		return 0;
	}
	fprintf(stderr,
		"usage: vsock_echo connect CID PORT MSG | listen PORT\n");
	return 2;
}
