// SPDX-License-Identifier: GPL-2.0-only
/*
 * api_fuzz_main.c - runs the api_fuzz target without libFuzzer: each
 * file named on the command line once, then as many pseudo-random
 * mutations of it as VMON_FUZZ_ITERATIONS says (default 20000), so that
 * `meson test` exercises the target on every build.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static const char *const tokens[] = {
	"{",
	"}",
	"[",
	"]",
	",",
	":",
	"\"",
	"null",
	"true",
	"1e999",
	"-1",
	"\"vcpu_count\"",
	"\"mem_size_mib\"",
	"\"kernel_image_path\"",
	"\"action_type\"",
	"\"InstanceStart\"",
	"\"state\"",
	"\"Paused\"",
	"\"\\u0000\"",
	"18446744073709551616",
	"\"boot-source\"",
};

static void mutate(uint8_t *buf, size_t *len, size_t cap)
{
	size_t n = 1 + next() % 4;

	while (n--) {
		size_t pos = *len ? next() % *len : 0;

		switch (next() % 4) {
		case 0: /* flip a byte */
			if (*len)
				buf[pos] ^= (uint8_t)(1 + next() % 255);
			break;
		case 1: /* delete a span */
			if (*len) {
				size_t l = 1 + next() % 8;

				if (l > *len - pos)
					l = *len - pos;
				memmove(buf + pos, buf + pos + l,
					*len - pos - l);
				*len -= l;
			}
			break;
		default: { /* insert a JSON token */
			const char *t = tokens[next() % (sizeof(tokens) /
							 sizeof(*tokens))];
			size_t l = strlen(t);

			if (*len + l > cap)
				break;
			memmove(buf + pos + l, buf + pos, *len - pos);
			memcpy(buf + pos, t, l);
			*len += l;
		}
		}
	}
}

int main(int argc, char **argv)
{
	const char *it = getenv("VMON_FUZZ_ITERATIONS");
	long iters = it ? atol(it) : 20000;
	enum { CAP = 1 << 16 };
	static uint8_t seed[CAP], buf[CAP];

	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		size_t len;

		if (!f) {
			perror(argv[i]);
			return 1;
		}
		len = fread(seed, 1, CAP / 2, f);
		fclose(f);
		LLVMFuzzerTestOneInput(seed, len);
		for (long k = 0; k < iters; k++) {
			size_t l = len;

			memcpy(buf, seed, len);
			mutate(buf, &l, CAP);
			LLVMFuzzerTestOneInput(buf, l);
		}
	}
	printf("api_fuzz: %d inputs, %ld mutations each: no violation\n",
	       argc - 1, iters);
	return 0;
}
