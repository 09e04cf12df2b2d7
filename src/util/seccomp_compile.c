// SPDX-License-Identifier: GPL-2.0-only
/*
 * seccomp_compile.c - turns a thread kind's allow-list (seccomp_lists.c)
 * into a classic BPF program with libseccomp. Used at build time only:
 * seccomp_gen.c writes the programs into vmon (seccomp_builtin.h), so a
 * start does not spend milliseconds compiling them (docs/seccomp.md).
 */
#include "seccomp_compile.h"

#include <errno.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* The largest program accepted from libseccomp, in bytes. */
#define PROG_MAX (1 << 20)

static int add_rule(scmp_filter_ctx ctx, const char *kind,
		    const struct sc_rule *r)
{
	struct scmp_arg_cmp a[2];
	int nr = seccomp_syscall_resolve_name(r->call);
	int err;

	if (nr == __NR_SCMP_ERROR) {
		pr_err("seccomp list %s: %s: no such system call here", kind,
		       r->call);
		return -1;
	}
	for (unsigned int i = 0; i < r->nconds && i < 2; i++) {
		const struct sc_cond *c = &r->cond[i];

		a[i] = (struct scmp_arg_cmp){ .arg = c->index,
					      .op = SCMP_CMP_MASKED_EQ,
					      .datum_a = c->mask,
					      .datum_b = c->value };
	}
	err = seccomp_rule_add_exact_array(ctx, SCMP_ACT_ALLOW, nr, r->nconds,
					   a);
	if (err && err != -EEXIST) {
		pr_err("seccomp list %s: %s: %s", kind, r->call,
		       strerror(-err));
		return -1;
	}
	return 0;
}

/* The BPF program libseccomp made of @ctx, into @out (malloc'd). */
static int export_prog(scmp_filter_ctx ctx, struct sock_fprog *out)
{
	int fd = memfd_create("vmon-seccomp", MFD_CLOEXEC);
	struct stat st;
	void *buf = NULL;
	int err = -1;

	if (fd < 0)
		return -1;
	if (seccomp_export_bpf(ctx, fd) || fstat(fd, &st) || !st.st_size ||
	    st.st_size % (off_t)sizeof(struct sock_filter) ||
	    st.st_size > PROG_MAX)
		goto out;
	buf = malloc((size_t)st.st_size);
	if (!buf || pread(fd, buf, (size_t)st.st_size, 0) != st.st_size)
		goto out;
	out->filter = buf;
	out->len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
	buf = NULL;
	err = 0;
out:
	free(buf);
	close(fd);
	return err;
}

int seccomp_compile(enum thread_kind k, bool log, struct sock_fprog *out)
{
	const struct sc_kind *kind = &sc_kinds[k];
	scmp_filter_ctx ctx = seccomp_init(log ? SCMP_ACT_LOG : SCMP_ACT_TRAP);
	int err = -1;

	if (!ctx) {
		pr_err("seccomp list %s: libseccomp cannot start a filter",
		       kind->name);
		return -1;
	}
	for (unsigned int i = 0; kind->hot && kind->hot[i]; i++) {
		int nr = seccomp_syscall_resolve_name(kind->hot[i]);

		if (nr == __NR_SCMP_ERROR ||
		    seccomp_syscall_priority(ctx, nr, (uint8_t)(255 - i))) {
			pr_err("seccomp list %s: %s: cannot test it first",
			       kind->name, kind->hot[i]);
			goto out;
		}
	}
	for (const struct sc_group *const *g = kind->groups; *g; g++)
		for (size_t i = 0; i < (*g)->nr_rules; i++)
			if (add_rule(ctx, kind->name, &(*g)->rules[i]))
				goto out;
	err = export_prog(ctx, out);
	if (err)
		pr_err("seccomp list %s: cannot compile the filter: %s",
		       kind->name, strerror(errno));
out:
	seccomp_release(ctx);
	return err;
}
