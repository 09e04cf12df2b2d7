// SPDX-License-Identifier: GPL-2.0-only
/*
 * seccomp.c - per-thread system call filters (docs/seccomp.md). At
 * start-up, before any thread runs, seccomp_filters_setup() takes each
 * thread kind's allow-list (seccomp_lists.c) as the classic BPF program
 * libseccomp compiled at build time (seccomp_builtin.h, seccomp_gen.c),
 * or reads the programs from a filter file, and installs
 * the SIGSYS handler; each thread then installs its kind's program with
 * one seccomp(2) call as it starts (seccomp_thread_enter()). A call
 * outside a list raises SIGSYS (SECCOMP_RET_TRAP): the handler writes a
 * report naming the thread and the call with write(2) and exits with
 * EXIT_SECCOMP. At the log level the kernel logs the call instead.
 *
 * Owns the filter file format (read and written here) and the test-only
 * fault injection (VMON_TEST_HOOKS builds).
 */
#include "seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "../vmm/exitcode.h"
#include "log.h"
#include "seccomp_builtin.h"

/*
 * The filter file (docs/seccomp.md): a header, then one entry per thread
 * kind; all numbers in the host's byte order.
 */
#define FILE_MAGIC "VMONSCMP"
#define FILE_VERSION 1
#define FILE_MAX (1 << 20)

struct file_header {
	char magic[8];
	uint16_t version;
	uint16_t count; /* entries that follow */
	uint32_t arch; /* AUDIT_ARCH_* the programs are for */
};

struct file_entry {
	char kind[16]; /* sc_kinds[].name, NUL-padded */
	uint32_t len; /* struct sock_filter instructions that follow */
	uint32_t reserved; /* 0 */
};

static bool enabled;
static struct sock_fprog progs[THREAD_KINDS];
static __thread int cur_kind = -1;
static __thread char cur_comm[16];

int seccomp_level_parse(const char *s, enum seccomp_level *level)
{
	if (!strcmp(s, "trap"))
		*level = SECCOMP_LEVEL_TRAP;
	else if (!strcmp(s, "log"))
		*level = SECCOMP_LEVEL_LOG;
	else
		return -1;
	return 0;
}

/* The built-in programs of @level (copies, malloc'd, as a file's are). */
static int compile_all(enum seccomp_level level, struct sock_fprog *out)
{
	int l = level == SECCOMP_LEVEL_LOG;

	for (int k = 0; k < THREAD_KINDS; k++) {
		const struct seccomp_builtin *b = &seccomp_builtin_progs[l][k];
		size_t size = b->len * sizeof(struct sock_filter);

		out[k].filter = malloc(size);
		if (!out[k].filter) {
			pr_err("seccomp: out of memory");
			return -1;
		}
		memcpy(out[k].filter, b->filter, size);
		out[k].len = b->len;
	}
	return 0;
}

static int find_kind(const char *name)
{
	for (int k = 0; k < THREAD_KINDS; k++)
		if (!strcmp(sc_kinds[k].name, name))
			return k;
	return -1;
}

/* Parses a filter file's @len bytes in @buf into @out. */
static int parse_file(const char *path, const char *buf, size_t len,
		      struct sock_fprog *out)
{
	const struct file_header *h = (const void *)buf;
	size_t off = sizeof(*h);

	if (len < sizeof(*h) || memcmp(h->magic, FILE_MAGIC, 8) != 0 ||
	    h->version != FILE_VERSION) {
		pr_err("seccomp filter file %s: not a version %d vmon filter file",
		       path, FILE_VERSION);
		return -1;
	}
	if (h->arch != AUDIT_ARCH_X86_64) {
		pr_err("seccomp filter file %s: made for another architecture (0x%x)",
		       path, h->arch);
		return -1;
	}
	for (unsigned int i = 0; i < h->count; i++) {
		struct file_entry e;
		int k;

		if (len - off < sizeof(e))
			goto truncated;
		memcpy(&e, buf + off, sizeof(e));
		off += sizeof(e);
		e.kind[sizeof(e.kind) - 1] = 0;
		k = find_kind(e.kind);
		if (k < 0 || out[k].filter) {
			pr_err("seccomp filter file %s: entry %u: thread kind '%s' unknown or repeated",
			       path, i, e.kind);
			return -1;
		}
		if (!e.len || e.len > BPF_MAXINSNS ||
		    (len - off) / sizeof(struct sock_filter) < e.len)
			goto truncated;
		out[k].len = (unsigned short)e.len;
		out[k].filter = malloc(e.len * sizeof(struct sock_filter));
		if (!out[k].filter)
			return -1;
		memcpy(out[k].filter, buf + off,
		       e.len * sizeof(struct sock_filter));
		off += e.len * sizeof(struct sock_filter);
	}
	for (int k = 0; k < THREAD_KINDS; k++)
		if (!out[k].filter) {
			pr_err("seccomp filter file %s: no filter for the %s threads",
			       path, sc_kinds[k].name);
			return -1;
		}
	if (off == len)
		return 0;
truncated:
	pr_err("seccomp filter file %s: truncated or trailing bytes (entry sizes do not add up)",
	       path);
	return -1;
}

/* Whether the kernel takes @prog: tried in a child that then exits. */
static int kernel_accepts(const struct sock_fprog *prog)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (!pid) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
		    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog))
			_exit(errno & 0x7f);
		_exit(0); /* a filter that forbids exit_group kills us: fine */
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) ? -WEXITSTATUS(status) : 0;
}

static int read_filter_file(const char *path, struct sock_fprog *out)
{
	struct stat st;
	char *buf = NULL;
	int err = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0 || fstat(fd, &st)) {
		pr_err("seccomp filter file %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > FILE_MAX) {
		pr_err("seccomp filter file %s: not a regular file of at most %d bytes",
		       path, FILE_MAX);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf || read(fd, buf, (size_t)st.st_size) != st.st_size) {
		pr_err("seccomp filter file %s: cannot read it", path);
		goto out;
	}
	if (parse_file(path, buf, (size_t)st.st_size, out))
		goto out;
	for (int k = 0; k < THREAD_KINDS; k++) {
		int r = kernel_accepts(&out[k]);

		if (r) {
			pr_err("seccomp filter file %s: the kernel refuses the %s program: %s",
			       path, sc_kinds[k].name, strerror(-r));
			goto out;
		}
	}
	err = 0;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return err;
}

int seccomp_filters_export(enum seccomp_level level, const char *path)
{
	struct sock_fprog p[THREAD_KINDS] = { 0 };
	struct file_header h = { .magic = FILE_MAGIC,
				 .version = FILE_VERSION,
				 .count = THREAD_KINDS,
				 .arch = AUDIT_ARCH_X86_64 };
	FILE *f = NULL;
	int err = -1;

	if (compile_all(level, p))
		goto out;
	f = fopen(path, "we");
	if (!f || fwrite(&h, sizeof(h), 1, f) != 1)
		goto io_error;
	for (int k = 0; k < THREAD_KINDS; k++) {
		struct file_entry e = { .len = p[k].len };

		strncpy(e.kind, sc_kinds[k].name, sizeof(e.kind) - 1);
		if (fwrite(&e, sizeof(e), 1, f) != 1 ||
		    fwrite(p[k].filter, sizeof(struct sock_filter), p[k].len,
			   f) != p[k].len)
			goto io_error;
	}
	if (fclose(f) == 0) {
		f = NULL;
		err = 0;
		goto out;
	}
	f = NULL;
io_error:
	pr_err("seccomp filter file %s: %s", path, strerror(errno));
out:
	if (f)
		fclose(f);
	for (int k = 0; k < THREAD_KINDS; k++)
		free(p[k].filter);
	return err;
}

/* Async-signal-safe formatting for the SIGSYS report. */
static void put_str(char *buf, size_t *n, size_t size, const char *s)
{
	while (*s && *n + 1 < size)
		buf[(*n)++] = *s++;
}

static void put_num(char *buf, size_t *n, size_t size, uint64_t v,
		    unsigned int base)
{
	char tmp[24];
	int i = 0;

	if (base == 16)
		put_str(buf, n, size, "0x");
	do {
		tmp[i++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v && i < (int)sizeof(tmp));
	while (i > 0 && *n + 1 < size)
		buf[(*n)++] = tmp[--i];
}

static void on_sigsys(int sig, siginfo_t *si, void *ucv)
{
	const ucontext_t *uc = ucv;
	int nr = si->si_syscall;
	char buf[320];
	size_t n = 0;

	(void)sig;
	put_str(buf, &n, sizeof(buf), "vmon: seccomp: the ");
	put_str(buf, &n, sizeof(buf),
		cur_kind >= 0 ? sc_kinds[cur_kind].name : "unfiltered");
	put_str(buf, &n, sizeof(buf), " thread (");
	put_str(buf, &n, sizeof(buf), cur_comm);
	put_str(buf, &n, sizeof(buf),
		") made a system call outside its list: ");
	put_str(buf, &n, sizeof(buf),
		nr >= 0 && nr < SECCOMP_NAMES_MAX && seccomp_builtin_names[nr] ?
			seccomp_builtin_names[nr] :
			"?");
	put_str(buf, &n, sizeof(buf), " (");
	put_num(buf, &n, sizeof(buf), (uint64_t)nr, 10);
	put_str(buf, &n, sizeof(buf), ") with arguments ");
#ifdef __x86_64__
	put_num(buf, &n, sizeof(buf), (uint64_t)uc->uc_mcontext.gregs[REG_RDI],
		16);
	put_str(buf, &n, sizeof(buf), ", ");
	put_num(buf, &n, sizeof(buf), (uint64_t)uc->uc_mcontext.gregs[REG_RSI],
		16);
	put_str(buf, &n, sizeof(buf), ", ");
	put_num(buf, &n, sizeof(buf), (uint64_t)uc->uc_mcontext.gregs[REG_RDX],
		16);
#else
	(void)uc;
	put_str(buf, &n, sizeof(buf), "(not shown on this architecture)");
#endif
	put_str(buf, &n, sizeof(buf), "; stopping\n");
	if (write(STDERR_FILENO, buf, n) < 0) {
		/* nowhere else to report it */
	}
	_exit(EXIT_SECCOMP);
}

/*
 * The sanitizer build: its runtime makes system calls of its own in every
 * thread (alternate signal stacks, shadow memory, LeakSanitizer's
 * stop-the-world at exit, which ptraces every thread and deadlocks on a
 * trap), so there the filters log instead of stopping vmon. The lists are
 * tested in the normal build (docs/seccomp.md, docs/testing.md).
 */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED_BUILD 1
#endif
#endif

/*
 * What glibc would otherwise open from a filtered thread, done now:
 * - a thread arena's heap that shrinks reads /proc/sys/vm/overcommit_memory
 *   once (check_may_shrink_heap()): with one arena only, no thread has a
 *   heap of its own (found with MALLOC_PERTURB_=74, when the I/O thread's
 *   qcow2 writes freed enough to shrink its arena: openat, SIGSYS);
 * - the time zone and the messages' catalog, for log lines and strerror().
 * Small allocations stay per thread (glibc's tcache).
 */
static void prepare_libc(void)
{
	mallopt(M_ARENA_MAX, 1);
	tzset();
	(void)strerror(EIO);
}

int seccomp_filters_setup(enum seccomp_level level, const char *file)
{
	struct sigaction sa = { .sa_sigaction = on_sigsys,
				.sa_flags = SA_SIGINFO };

	if (level == SECCOMP_LEVEL_OFF) {
		pr_note("seccomp: off (--no-seccomp): no thread filters its system calls");
		return 0;
	}
#ifdef SANITIZED_BUILD
	if (level == SECCOMP_LEVEL_TRAP && !file) {
		pr_note("seccomp: sanitizer build: calls outside a thread's list are logged, not trapped");
		level = SECCOMP_LEVEL_LOG;
	}
#endif
	if (file ? read_filter_file(file, progs) : compile_all(level, progs))
		return -1;
	prepare_libc();
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		pr_err("seccomp: cannot prepare the process: %s",
		       strerror(errno));
		return -1;
	}
	if (file)
		pr_info("seccomp: the filters of %s", file);
	else if (level == SECCOMP_LEVEL_LOG)
		pr_note("seccomp: level log: a system call outside a thread's list is logged by the kernel (audit log, dmesg) and goes on");
	enabled = true;
	return 0;
}

#ifdef VMON_TEST_HOOKS
/* Test builds: VMON_TEST_SECCOMP_FAULT=KIND makes KIND's threads misbehave. */
static void test_forbidden_call(enum thread_kind kind)
{
	const char *want = getenv("VMON_TEST_SECCOMP_FAULT");
	const char *name = sc_kinds[kind].name;

	if (!want || strcmp(want, name) != 0)
		return;
	pr_note("test hook: the %s thread calls personality(0xffffffff), which no list allows",
		name);
	syscall(SYS_personality, 0xffffffffUL);
	pr_note("test hook: the %s thread went on after its forbidden call",
		name);
}
#endif

void seccomp_thread_enter(enum thread_kind kind)
{
	sigset_t sys;

	if (cur_kind == (int)kind)
		return;
	if (sc_kinds[kind].comm)
		prctl(PR_SET_NAME, sc_kinds[kind].comm, 0, 0, 0);
	prctl(PR_GET_NAME, cur_comm, 0, 0, 0);
	log_set_thread_name(cur_comm);
	cur_kind = (int)kind;
	if (!enabled)
		return;
	/* A blocked SIGSYS would kill without the report (the kernel resets it). */
	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &sys, NULL);
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &progs[kind])) {
		pr_err("seccomp: the %s thread cannot install its filter: %s",
		       sc_kinds[kind].name, strerror(errno));
		_exit(EXIT_HOST);
	}
#ifdef VMON_TEST_HOOKS
	test_forbidden_call(kind);
#endif
}

void seccomp_lists_print(FILE *f)
{
	for (int k = 0; k < THREAD_KINDS; k++) {
		const struct sc_kind *kind = &sc_kinds[k];

		fprintf(f, "%s%s: %s\n", k ? "\n" : "", kind->name, kind->what);
		for (int i = 0; kind->hot && kind->hot[i]; i++)
			fprintf(f, "%s%s%s",
				i ? ", " : "  tested first: ", kind->hot[i],
				kind->hot[i + 1] ? "" : "\n");
		for (const struct sc_group *const *g = kind->groups; *g; g++) {
			fprintf(f, "  [%s]\n", (*g)->name);
			for (size_t i = 0; i < (*g)->nr_rules; i++) {
				const struct sc_rule *r = &(*g)->rules[i];

				fprintf(f, "    %-17s %-26s %s\n", r->call,
					r->cond_text ? r->cond_text : "",
					r->why);
			}
		}
	}
}
