// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_cli.c - unit tests for `vmon run` option parsing (src/app/cli.c):
 * every option, defaults, bad values, and the error messages, which are
 * captured from stderr and must name the offending option.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/log.h"
#include "app/cli.h"

#define MIB (1ULL << 20)

static char errbuf[16384]; /* the whole --help text */

/*
 * Runs cli_parse_run() on {"run", args..., NULL} with stderr and stdout
 * sent to a temporary file; errbuf receives what was printed.
 */
static enum cli_result parse_argv(int argc, char **argv, struct run_opts *o)
{
	FILE *tmp = tmpfile();
	int saved_err, saved_out;
	enum cli_result r;
	size_t n;

	assert_non_null(tmp);
	fflush(stdout);
	saved_err = dup(STDERR_FILENO);
	saved_out = dup(STDOUT_FILENO);
	assert_true(saved_err >= 0 && saved_out >= 0);
	assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
	assert_true(dup2(fileno(tmp), STDOUT_FILENO) >= 0);
	r = cli_parse_run(argc, argv, o);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_err, STDERR_FILENO);
	dup2(saved_out, STDOUT_FILENO);
	close(saved_err);
	close(saved_out);
	rewind(tmp);
	n = fread(errbuf, 1, sizeof(errbuf) - 1, tmp);
	errbuf[n] = '\0';
	fclose(tmp);
	return r;
}

#define ARGS(...) ((char *[]){ "run", __VA_ARGS__, NULL })
#define NARGS(...) ((int)(sizeof(ARGS(__VA_ARGS__)) / sizeof(char *)) - 1)
#define PARSE(o, ...) parse_argv(NARGS(__VA_ARGS__), ARGS(__VA_ARGS__), (o))

/* Asserts an error whose one-line message contains @needle. */
#define ERROR_MENTIONS(needle, ...)                                   \
	do {                                                          \
		struct run_opts o_;                                   \
		assert_int_equal(PARSE(&o_, __VA_ARGS__), CLI_ERROR); \
		assert_non_null(strstr(errbuf, "vmon: "));            \
		assert_non_null(strstr(errbuf, (needle)));            \
	} while (0)

static int reset_log_level(void **state)
{
	(void)state;
	log_level = LOG_NOTE;
	return 0;
}

static void test_defaults(void **state)
{
	char *argv[] = { "run", NULL };
	struct run_opts o;

	(void)state;
	memset(&o, 0xa5, sizeof(o));
	assert_int_equal(parse_argv(1, argv, &o), CLI_OK);
	assert_string_equal(errbuf, "");
	assert_null(o.cfg.kernel);
	assert_null(o.cfg.initrd);
	assert_null(o.cfg.cmdline);
	assert_null(o.append);
	assert_int_equal(o.cfg.cpus, VMON_DEFAULT_CPUS);
	assert_int_equal(o.cfg.mem_size, VMON_DEFAULT_MEM);
	assert_int_equal(o.cfg.mem_size, 256 * MIB);
	assert_null(o.cfg.cpu_template);
	assert_int_equal(o.cfg.serial, SERIAL_STDIO);
	assert_null(o.cfg.serial_path);
	assert_false(o.cfg.test_device);
}

static void test_long_options(void **state)
{
	struct run_opts o;

	(void)state;
	assert_int_equal(PARSE(&o, "--kernel", "/k", "--initrd", "/i",
			       "--cmdline", "console=ttyS0 quiet", "--cpus",
			       "4", "--mem", "1G", "--cpu-template",
			       "pvm,+avx2", "--serial", "none"),
			 CLI_OK);
	assert_string_equal(errbuf, "");
	assert_string_equal(o.cfg.kernel, "/k");
	assert_string_equal(o.cfg.initrd, "/i");
	assert_string_equal(o.cfg.cmdline, "console=ttyS0 quiet");
	assert_null(o.append);
	assert_int_equal(o.cfg.cpus, 4);
	assert_int_equal(o.cfg.mem_size, 1024 * MIB);
	assert_string_equal(o.cfg.cpu_template, "pvm,+avx2");
	assert_int_equal(o.cfg.serial, SERIAL_NONE);
}

static void test_short_options(void **state)
{
	struct run_opts o;

	(void)state;
	assert_int_equal(PARSE(&o, "-k", "/k", "-i", "/i", "-a", "debug", "-p",
			       "2", "-m", "512", "-t", "host", "-s",
			       "file:/tmp/serial.log"),
			 CLI_OK);
	assert_string_equal(o.cfg.kernel, "/k");
	assert_string_equal(o.cfg.initrd, "/i");
	assert_null(o.cfg.cmdline);
	assert_string_equal(o.append, "debug");
	assert_int_equal(o.cfg.cpus, 2);
	assert_int_equal(o.cfg.mem_size, 512 * MIB);
	assert_string_equal(o.cfg.cpu_template, "host");
	assert_int_equal(o.cfg.serial, SERIAL_FILE);
	assert_string_equal(o.cfg.serial_path, "/tmp/serial.log");

	/* --opt=value and -kVALUE forms. */
	assert_int_equal(PARSE(&o, "--kernel=/a", "-p3", "--mem=64M"), CLI_OK);
	assert_string_equal(o.cfg.kernel, "/a");
	assert_int_equal(o.cfg.cpus, 3);
	assert_int_equal(o.cfg.mem_size, 64 * MIB);
}

static void test_last_value_wins(void **state)
{
	struct run_opts o;

	(void)state;
	assert_int_equal(PARSE(&o, "--cpus", "2", "--cpus", "8", "--serial",
			       "file:/x", "--serial", "stdio"),
			 CLI_OK);
	assert_int_equal(o.cfg.cpus, 8);
	assert_int_equal(o.cfg.serial, SERIAL_STDIO);
}

static void test_cpus(void **state)
{
	struct run_opts o;

	(void)state;
	assert_int_equal(PARSE(&o, "--cpus", "1"), CLI_OK);
	assert_int_equal(o.cfg.cpus, 1);
	assert_int_equal(PARSE(&o, "--cpus", "64"), CLI_OK);
	assert_int_equal(o.cfg.cpus, 64);
	ERROR_MENTIONS("--cpus 0: a VM needs at least one vCPU", "--cpus", "0");
	ERROR_MENTIONS("--cpus 00", "--cpus", "00");
	ERROR_MENTIONS("--cpus two: not a number", "--cpus", "two");
	ERROR_MENTIONS("--cpus -1", "--cpus", "-1");
	ERROR_MENTIONS("--cpus 2x", "--cpus", "2x");
	ERROR_MENTIONS("--cpus : not a number", "--cpus", "");
	ERROR_MENTIONS("--cpus 99999999999999999999", "--cpus",
		       "99999999999999999999");
	/* Must not wrap into a small unsigned int. */
	ERROR_MENTIONS("--cpus 4294967297", "--cpus", "4294967297");
}

static void test_mem(void **state)
{
	struct run_opts o;

	(void)state;
	/* A bare number is MiB. */
	assert_int_equal(PARSE(&o, "--mem", "300"), CLI_OK);
	assert_int_equal(o.cfg.mem_size, 300 * MIB);
	assert_int_equal(PARSE(&o, "--mem", "2G"), CLI_OK);
	assert_int_equal(o.cfg.mem_size, 2048 * MIB);
	assert_int_equal(PARSE(&o, "--mem", "2MiB"), CLI_OK);
	assert_int_equal(o.cfg.mem_size, 2 * MIB);
	assert_int_equal(PARSE(&o, "--mem", "2048K"), CLI_OK);
	assert_int_equal(o.cfg.mem_size, 2 * MIB);
	/* Rounded up to whole 4 KiB pages. */
	assert_int_equal(PARSE(&o, "--mem", "4097K"), CLI_OK);
	assert_int_equal(o.cfg.mem_size, 4100 * 1024);
	assert_int_equal(PARSE(&o, "--mem", "2097153B"), CLI_OK);
	assert_int_equal(o.cfg.mem_size, 2 * MIB + 4096);
	assert_int_equal(o.cfg.mem_size % 4096, 0);

	ERROR_MENTIONS("--mem 1M: too small", "--mem", "1M");
	ERROR_MENTIONS("--mem 2047K: too small", "--mem", "2047K");
	ERROR_MENTIONS("--mem 0: too small", "--mem", "0");
	ERROR_MENTIONS("--mem 12Q: not a size", "--mem", "12Q");
	ERROR_MENTIONS("--mem 1.5G: not a size", "--mem", "1.5G");
	ERROR_MENTIONS("--mem -1G: not a size", "--mem", "-1G");
	ERROR_MENTIONS("--mem : not a size", "--mem", "");
	ERROR_MENTIONS("--mem 16384P: not a size", "--mem", "16384P");
	ERROR_MENTIONS("--mem 17592186044416: not a size", "--mem",
		       "17592186044416");
}

/* Rounding to pages must not wrap a huge size around to zero. */
static void test_mem_round_overflow(void **state)
{
	struct run_opts o;

	(void)state;
	ERROR_MENTIONS("--mem 18446744073709551615B", "--mem",
		       "18446744073709551615B");
	ERROR_MENTIONS("--mem 18446744073709547521B", "--mem",
		       "18446744073709547521B");
	/* The largest size that still rounds: not an error here. */
	assert_int_equal(PARSE(&o, "--mem", "18446744073709547520B"), CLI_OK);
	assert_int_equal(o.cfg.mem_size, 18446744073709547520ULL);
}

static void test_serial(void **state)
{
	struct run_opts o;

	(void)state;
	assert_int_equal(PARSE(&o, "--serial", "stdio"), CLI_OK);
	assert_int_equal(o.cfg.serial, SERIAL_STDIO);
	assert_null(o.cfg.serial_path);
	assert_int_equal(PARSE(&o, "--serial", "none"), CLI_OK);
	assert_int_equal(o.cfg.serial, SERIAL_NONE);
	assert_int_equal(PARSE(&o, "--serial", "file:out.txt"), CLI_OK);
	assert_int_equal(o.cfg.serial, SERIAL_FILE);
	assert_string_equal(o.cfg.serial_path, "out.txt");
	/* Everything after "file:" is the path, colons included. */
	assert_int_equal(PARSE(&o, "-s", "file:a:b"), CLI_OK);
	assert_string_equal(o.cfg.serial_path, "a:b");

	ERROR_MENTIONS("--serial file:: expected stdio, file:PATH or none",
		       "--serial", "file:");
	ERROR_MENTIONS("--serial pty: expected", "--serial", "pty");
	ERROR_MENTIONS("--serial STDIO: expected", "--serial", "STDIO");
	ERROR_MENTIONS("--serial file: expected", "--serial", "file");
	ERROR_MENTIONS("--serial : expected", "--serial", "");
}

static void test_cmdline_and_append(void **state)
{
	struct run_opts o;

	(void)state;
	assert_int_equal(PARSE(&o, "--append", "a=1"), CLI_OK);
	assert_string_equal(o.append, "a=1");
	assert_null(o.cfg.cmdline);
	/* An empty --cmdline is a valid (empty) command line. */
	assert_int_equal(PARSE(&o, "--cmdline", ""), CLI_OK);
	assert_string_equal(o.cfg.cmdline, "");
	ERROR_MENTIONS("--append: cannot be combined with --cmdline",
		       "--cmdline", "x", "--append", "y");
	ERROR_MENTIONS("--append: cannot be combined with --cmdline", "-a", "y",
		       "-c", "x");
}

static void test_unknown_and_missing(void **state)
{
	(void)state;
	ERROR_MENTIONS("--bogus: unknown option", "--bogus");
	ERROR_MENTIONS("--bogus=1: unknown option", "--bogus=1");
	ERROR_MENTIONS("-x: unknown option", "-x");
	/* A flag that takes no value, given one. */
	ERROR_MENTIONS("--verbose=2", "--verbose=2");
	ERROR_MENTIONS("extra: unexpected argument", "--kernel", "/k", "extra");
	ERROR_MENTIONS("--kernel: needs a value", "--kernel");
	ERROR_MENTIONS("--cpus: needs a value", "--mem", "1G", "--cpus");
	ERROR_MENTIONS("-k: needs a value", "-k");
	/* The message names the option even inside a group of flags. */
	ERROR_MENTIONS("-x: unknown option", "-vx");
	ERROR_MENTIONS("-x: unknown option", "-xv");
	ERROR_MENTIONS("-x: unknown option", "--kernel", "/k", "-qxv");
}

/* An error in the middle of a flag group must not leak into the next call. */
static void test_reparse_after_error(void **state)
{
	struct run_opts o;

	(void)state;
	assert_int_equal(PARSE(&o, "-xk/stale"), CLI_ERROR);
	assert_int_equal(PARSE(&o, "--kernel", "/fresh"), CLI_OK);
	assert_string_equal(errbuf, "");
	assert_string_equal(o.cfg.kernel, "/fresh");
	assert_int_equal(PARSE(&o, "-qz"), CLI_ERROR);
	assert_int_equal(parse_argv(1, (char *[]){ "run", NULL }, &o), CLI_OK);
	assert_null(o.cfg.kernel);
}

static void test_verbosity(void **state)
{
	struct run_opts o;

	(void)state;
	assert_int_equal(PARSE(&o, "-v"), CLI_OK);
	assert_int_equal(log_level, LOG_INFO);
	log_level = LOG_NOTE;
	assert_int_equal(PARSE(&o, "--verbose", "-v"), CLI_OK);
	assert_int_equal(log_level, LOG_DEBUG);
	/* Saturates at debug. */
	assert_int_equal(PARSE(&o, "-vvvv"), CLI_OK);
	assert_int_equal(log_level, LOG_DEBUG);
	log_level = LOG_NOTE;
	assert_int_equal(PARSE(&o, "--quiet"), CLI_OK);
	assert_int_equal(log_level, LOG_WARN);
	log_level = LOG_NOTE;
	assert_int_equal(PARSE(&o, "-q"), CLI_OK);
	assert_int_equal(log_level, LOG_WARN);
}

/* Device options: the validators' rules, told with the option. */
static void test_device_rules(void **state)
{
	struct run_opts o;

	(void)state;
	assert_int_equal(PARSE(&o, "--net", "tap=t0,mac=06:00:AC:10:00:02",
			       "--net", "tap=t1"),
			 CLI_OK);
	assert_int_equal(o.cfg.nr_nets, 2);
	assert_int_equal(o.cfg.nets[0].mac[2], 0xac);
	ERROR_MENTIONS("--net tap=t0: bad option 'tap=t0': t0 is already used",
		       "--net", "tap=t0", "--net", "tap=t0");
	ERROR_MENTIONS(
		"bad option 'mac=02:00:00:00:00:01': 02:00:00:00:00:01 is already used",
		"--net", "tap=t0,mac=02:00:00:00:00:01", "--net",
		"tap=t1,mac=02:00:00:00:00:01");
	ERROR_MENTIONS("bad option 'mac= 2:00:00:00:00:01'", "--net",
		       "tap=t0,mac= 2:00:00:00:00:01");
	ERROR_MENTIONS("bad option 'mac=+2:00:00:00:00:01'", "--net",
		       "tap=t0,mac=+2:00:00:00:00:01");
	ERROR_MENTIONS("bad option 'tap=a:b': not a valid interface name",
		       "--net", "tap=a:b");
	ERROR_MENTIONS("--balloon 16M,stats=3601: bad option 'stats=3601'",
		       "--balloon", "16M,stats=3601");
	assert_int_equal(PARSE(&o, "--balloon", "16M,stats=3600"), CLI_OK);
	assert_int_equal(o.cfg.balloon.stats_interval, 3600);
	ERROR_MENTIONS(
		"--vsock cid=4294967295,uds=/s: bad option 'cid=4294967295'",
		"--vsock", "cid=4294967295,uds=/s");
	/* Template edits are checked when parsed, not when the VM is built. */
	ERROR_MENTIONS(
		"--cpu-template host,-warp9: unknown CPU feature 'warp9'",
		"--cpu-template", "host,-warp9");
	ERROR_MENTIONS("--kernel : an empty path", "--kernel", "");
}

static void test_help(void **state)
{
	struct run_opts o;

	(void)state;
	assert_int_equal(PARSE(&o, "--help"), CLI_EXIT_OK);
	assert_non_null(strstr(errbuf, "Usage: vmon run"));
	assert_int_equal(PARSE(&o, "-h", "--bogus"), CLI_EXIT_OK);
	/* Every option is documented in the help text. */
	assert_int_equal(PARSE(&o, "-h"), CLI_EXIT_OK);
	for (const char *const *opt =
		     (const char *const[]){
			     "--kernel", "--initrd", "--cmdline", "--append",
			     "--cpus", "--mem", "--cpu-template", "--serial",
			     "--verbose", "--quiet", "--help", NULL };
	     *opt; opt++)
		assert_non_null(strstr(errbuf, *opt));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_long_options),
		cmocka_unit_test(test_short_options),
		cmocka_unit_test(test_last_value_wins),
		cmocka_unit_test(test_cpus),
		cmocka_unit_test(test_mem),
		cmocka_unit_test(test_mem_round_overflow),
		cmocka_unit_test(test_serial),
		cmocka_unit_test(test_cmdline_and_append),
		cmocka_unit_test(test_unknown_and_missing),
		cmocka_unit_test(test_reparse_after_error),
		cmocka_unit_test_setup_teardown(test_verbosity, reset_log_level,
						reset_log_level),
		cmocka_unit_test(test_device_rules),
		cmocka_unit_test(test_help),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
