// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_config.c - unit tests for the configuration validators
 * (src/config): every object with valid and invalid values, the errors
 * naming the object and the field, never a command-line flag; and the
 * API's JSON layer (src/api/config) on top of them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/vmconfig.h"
#include "config/config.h"

#define MIB (1ULL << 20)

static struct config_err e;
static char text[512];

/* The last error: "object: field: cause", with no flag name in it. */
static const char *err_text(void)
{
	config_err_str(&e, text, sizeof(text));
	assert_null(strstr(text, "--"));
	return text;
}

#define REFUSED(call, field_, needle)                                      \
	do {                                                               \
		memset(&e, 0, sizeof(e));                                  \
		assert_int_equal((call), -1);                              \
		if ((field_) == NULL)                                      \
			assert_null(e.field);                              \
		else                                                       \
			assert_string_equal(e.field, (field_));            \
		if (!strstr(err_text(), (needle)))                         \
			fail_msg("error '%s' lacks '%s'", text, (needle)); \
	} while (0)

static void test_machine(void **state)
{
	(void)state;
	assert_int_equal(config_check_machine(1, 2 * MIB, NULL, &e), 0);
	assert_int_equal(config_check_machine(64, 4097 * 1024, "pvm", &e), 0);
	assert_int_equal(config_check_machine(1, UINT64_MAX - 4095, "", &e), 0);
	REFUSED(config_check_machine(0, 2 * MIB, NULL, &e), "cpus",
		"machine: cpus: a VM needs at least one vCPU");
	REFUSED(config_check_machine(1, 2 * MIB - 1, NULL, &e), "mem_size",
		"machine: mem_size: too small");
	REFUSED(config_check_machine(1, 0, NULL, &e), "mem_size", "too small");
	REFUSED(config_check_machine(1, UINT64_MAX - 4094, NULL, &e),
		"mem_size", "too large");
	REFUSED(config_check_machine(1, 2 * MIB, "fast", &e), "cpu_template",
		"machine: cpu_template: unknown template 'fast'");
}

static void test_cpu_template(void **state)
{
	static const char *const good[] = {
		"host",	      "pvm",	      "host,+avx2", "pvm,-avx,+cx16",
		"+avx2",      "-xsave",	      "host,",	    "",
		"host,+AVX2", "host,+sha-ni", NULL
	};

	(void)state;
	assert_int_equal(config_check_cpu_template(NULL, &e), 0);
	for (const char *const *g = good; *g; g++)
		if (config_check_cpu_template(*g, &e))
			fail_msg("'%s' refused: %s", *g, err_text());
	/* The same words as the CPUID code uses at boot (test_cpuid.c). */
	REFUSED(config_check_cpu_template("foo,+avx", &e), "cpu_template",
		"unknown template 'foo'");
	REFUSED(config_check_cpu_template("Host", &e), "cpu_template",
		"unknown template 'Host'");
	REFUSED(config_check_cpu_template(",+avx", &e), "cpu_template",
		"unknown template ''");
	REFUSED(config_check_cpu_template("host,avx", &e), "cpu_template",
		"'avx' is no edit");
	REFUSED(config_check_cpu_template("host,+", &e), "cpu_template",
		"'+' is no edit");
	REFUSED(config_check_cpu_template("host,,-avx", &e), "cpu_template",
		"'' is no edit");
	REFUSED(config_check_cpu_template("host,pvm", &e), "cpu_template",
		"'pvm' is no edit");
	REFUSED(config_check_cpu_template("host,-warp9", &e), "cpu_template",
		"unknown CPU feature 'warp9'");
	REFUSED(config_check_cpu_template(
			"+aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
			&e),
		"cpu_template", "unknown CPU feature");
}

static void test_boot(void **state)
{
	(void)state;
	assert_int_equal(config_check_boot(NULL, NULL, NULL, &e), 0);
	assert_int_equal(config_check_boot("/k", "/i", "", &e), 0);
	REFUSED(config_check_boot("", NULL, NULL, &e), "kernel",
		"boot source: kernel: an empty path");
	REFUSED(config_check_boot("/k", "", NULL, &e), "initrd",
		"boot source: initrd: an empty path");
}

static void test_disk(void **state)
{
	char path[] = "/tmp/vmon-test-config-XXXXXX";
	struct disk_config d = { 0 };
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	snprintf(d.path, sizeof(d.path), "%s", path);
	assert_int_equal(config_check_disk(&d, &e), 0);
	snprintf(d.serial, sizeof(d.serial), "%s", "01234567890123456789");
	assert_int_equal(config_check_disk(&d, &e), 0);
	memset(d.serial, 'x', sizeof(d.serial));
	REFUSED(config_check_disk(&d, &e), "serial", "at most 20 characters");
	d.serial[0] = 0;
	/* Read-write needs write permission; read-only does not. */
	assert_int_equal(chmod(path, 0400), 0);
	d.readonly = true;
	assert_int_equal(config_check_disk(&d, &e), 0);
	d.readonly = false;
	if (geteuid() != 0)
		REFUSED(config_check_disk(&d, &e), "path", "Permission denied");
	unlink(path);
	REFUSED(config_check_disk(&d, &e), "path", "No such file or directory");
	assert_non_null(strstr(e.object, "disk /tmp/vmon-test-config-"));
	d.path[0] = 0;
	REFUSED(config_check_disk(&d, &e), "path", "disk: path:");
}

static void test_tap_name(void **state)
{
	static const char *const good[] = { "tap0", "vmtap-1_x", "a",
					    "123456789012345", NULL };
	static const char *const bad[] = {
		"",	"1234567890123456", "a/b", "a:b",
		"a b",	"tab\there",	    ".",   "..",
		"\x7f", "caf\xc3\xa9",	    NULL
	};

	(void)state;
	for (const char *const *g = good; *g; g++)
		assert_true(config_tap_name_valid(*g));
	for (const char *const *b = bad; *b; b++)
		if (config_tap_name_valid(*b))
			fail_msg("'%s' accepted", *b);
	assert_true(config_tap_name_valid("..."));
}

static void test_mac(void **state)
{
	static const char *const bad[] = { "06:00:ac:10:00",
					   "06:00:ac:10:00:02:",
					   " 6:00:ac:10:00:02",
					   "+6:00:ac:10:00:02",
					   "-6:00:ac:10:00:02",
					   "6 :00:ac:10:00:02",
					   "06-00-ac-10-00-02",
					   "06:00:ac:10:00:0g",
					   "0600ac100002xxxxx",
					   "06:00:ac:10:00:0 ",
					   "",
					   NULL };
	uint8_t mac[6], want[6] = { 0x06, 0x00, 0xac, 0x10, 0x00, 0x02 };
	char buf[18];

	(void)state;
	assert_int_equal(config_parse_mac("06:00:AC:10:00:02", 17, mac), 0);
	assert_memory_equal(mac, want, 6);
	config_format_mac(mac, buf);
	assert_string_equal(buf, "06:00:ac:10:00:02");
	/* @len bounds the text: the rest of an option string is not read. */
	assert_int_equal(config_parse_mac("06:00:ac:10:00:02,tap=x", 17, mac),
			 0);
	for (const char *const *b = bad; *b; b++) {
		memcpy(mac, want, 6);
		if (!config_parse_mac(*b, strlen(*b), mac))
			fail_msg("'%s' accepted", *b);
		assert_memory_equal(mac, want, 6);
	}
}

static void test_net(void **state)
{
	struct net_config a = { .tap = "tap0" }, b = { .tap = "tap1" };

	(void)state;
	assert_int_equal(config_check_net(&a, &e), 0);
	a.mac_set = true;
	memcpy(a.mac, (uint8_t[]){ 0x02, 0, 0, 0, 0, 1 }, 6);
	assert_int_equal(config_check_net(&a, &e), 0);
	/* Any six octets, multicast too, as Firecracker takes them. */
	a.mac[0] = 0x01;
	assert_int_equal(config_check_net(&a, &e), 0);
	a.mac[0] = 0x02;
	a.mtu = 67;
	REFUSED(config_check_net(&a, &e), "mtu",
		"net tap0: mtu: 67 is below 68");
	a.mtu = 68;
	assert_int_equal(config_check_net(&a, &e), 0);
	a.mtu = 0;
	snprintf(a.tap, sizeof(a.tap), "a/b");
	REFUSED(config_check_net(&a, &e), "tap", "not a valid interface name");
	snprintf(a.tap, sizeof(a.tap), "tap0");

	/* Two interfaces: neither the tap nor a given MAC twice. */
	assert_int_equal(config_check_net_pair(&a, &b, &e), 0);
	b.mac_set = true;
	memcpy(b.mac, a.mac, 6);
	REFUSED(config_check_net_pair(&a, &b, &e), "mac",
		"02:00:00:00:00:01 is already used");
	b.mac_set = false;
	assert_int_equal(config_check_net_pair(&a, &b, &e), 0);
	snprintf(b.tap, sizeof(b.tap), "tap0");
	REFUSED(config_check_net_pair(&a, &b, &e), "tap",
		"net tap0: tap: tap0 is already used");
}

static void test_vsock(void **state)
{
	struct vsock_config v = { .cid = 3, .uds = "/tmp/v.sock" };

	(void)state;
	assert_true(config_cid_valid(3));
	assert_true(config_cid_valid(0xfffffffe));
	assert_false(config_cid_valid(0));
	assert_false(config_cid_valid(2));
	assert_false(config_cid_valid(0xffffffff));
	assert_false(config_cid_valid(1ULL << 32));
	assert_int_equal(config_check_vsock(&v, &e), 0);
	v.cid = 2;
	REFUSED(config_check_vsock(&v, &e), "cid", "vsock: cid: 2: expected 3");
	v.cid = 42;
	v.uds[0] = 0;
	REFUSED(config_check_vsock(&v, &e), "uds", "vsock: uds:");
}

static void test_balloon(void **state)
{
	struct balloon_config b = { .enabled = true, .size = 64 * MIB };

	(void)state;
	assert_int_equal(config_check_balloon(&b, 64 * MIB, &e), 0);
	b.stats_interval = VMON_MAX_STATS_INTERVAL;
	assert_int_equal(config_check_balloon(&b, 64 * MIB, &e), 0);
	assert_int_equal(config_check_stats_interval(0, &e), 0);
	REFUSED(config_check_stats_interval(3601, &e), "stats_interval",
		"balloon: stats_interval: 3601 seconds: at most 3600");
	b.stats_interval = 86400;
	REFUSED(config_check_balloon(&b, 64 * MIB, &e), "stats_interval",
		"at most 3600");
	b.stats_interval = 0;
	REFUSED(config_check_balloon(&b, 63 * MIB, &e), "size",
		"balloon: size: 64M is more than the guest's 63M of RAM");
}

static void test_serial(void **state)
{
	(void)state;
	assert_int_equal(
		config_check_serial(SERIAL_STDIO, NULL, CONSOLE_SERIAL, &e), 0);
	assert_int_equal(config_check_serial(SERIAL_FILE, "/tmp/x",
					     CONSOLE_VIRTIO, &e),
			 0);
	REFUSED(config_check_serial(SERIAL_FILE, "", CONSOLE_SERIAL, &e),
		"path", "serial: path:");
	REFUSED(config_check_serial(SERIAL_FILE, NULL, CONSOLE_SERIAL, &e),
		"path", "serial: path:");
	REFUSED(config_check_serial((enum serial_mode)7, NULL, CONSOLE_SERIAL,
				    &e),
		"mode", "unknown mode");
	REFUSED(config_check_serial(SERIAL_NONE, NULL, (enum console_mode)9,
				    &e),
		NULL, "console: unknown device");
}

static void test_vm(void **state)
{
	static struct vm_config c;

	(void)state;
	vm_config_init(&c);
	assert_int_equal(c.cpus, VMON_DEFAULT_CPUS);
	assert_int_equal(c.mem_size, VMON_DEFAULT_MEM);
	assert_int_equal(c.serial, SERIAL_STDIO);
	assert_int_equal(config_check_vm(&c, &e), 0);
	c.nr_nets = 2;
	snprintf(c.nets[0].tap, sizeof(c.nets[0].tap), "t0");
	snprintf(c.nets[1].tap, sizeof(c.nets[1].tap), "t1");
	c.vsock.cid = 3;
	snprintf(c.vsock.uds, sizeof(c.vsock.uds), "/tmp/v");
	c.balloon.enabled = true;
	c.balloon.size = c.mem_size;
	assert_int_equal(config_check_vm(&c, &e), 0);
	/* Checks between objects. */
	snprintf(c.nets[1].tap, sizeof(c.nets[1].tap), "t0");
	REFUSED(config_check_vm(&c, &e), "tap", "t0 is already used");
	snprintf(c.nets[1].tap, sizeof(c.nets[1].tap), "t1");
	c.balloon.size = c.mem_size + MIB;
	REFUSED(config_check_vm(&c, &e), "size", "is more than the guest's");
	c.balloon.size = 0;
	c.vsock.cid = 1;
	REFUSED(config_check_vm(&c, &e), "cid", "0-2 are reserved");
	c.vsock.cid = 3;
	c.cpus = 0;
	REFUSED(config_check_vm(&c, &e), "cpus", "at least one vCPU");
	c.cpus = 1;
	c.nr_disks = 1;
	snprintf(c.disks[0].path, sizeof(c.disks[0].path), "/nonexistent/x");
	REFUSED(config_check_vm(&c, &e), "path", "No such file");
}

/* --- the API's JSON layer on top of the validators ---------------------- */

static char err[API_ERR_MAX];

static int put(int (*fn)(struct api_config *, json_t *, char *),
	       struct api_config *c, const char *body)
{
	json_t *j = api_parse_body(body, strlen(body), err);
	int r;

	assert_non_null(j);
	r = fn(c, j, err);
	json_decref(j);
	return r;
}

static int put_machine(struct api_config *c, json_t *j, char *e_)
{
	return api_config_machine(c, j, false, e_);
}

static int put_net(struct api_config *c, const char *id, const char *body)
{
	json_t *j = api_parse_body(body, strlen(body), err);
	int r;

	assert_non_null(j);
	r = api_config_net(c, id, j, err);
	json_decref(j);
	return r;
}

#define API_REFUSED(call, needle)                                         \
	do {                                                              \
		assert_int_equal((call), -1);                             \
		if (!strstr(err, (needle)))                               \
			fail_msg("error '%s' lacks '%s'", err, (needle)); \
		assert_null(strstr(err, "--"));                           \
	} while (0)

static void test_api_machine(void **state)
{
	struct api_config c;

	(void)state;
	api_config_init(&c);
	assert_int_equal(put(put_machine, &c,
			     "{\"vcpu_count\": 2, \"mem_size_mib\": 64,"
			     " \"cpu_template\": \"host,+avx2\"}"),
			 0);
	assert_string_equal(c.cpu_template, "host,+avx2");
	API_REFUSED(
		put(put_machine, &c,
		    "{\"vcpu_count\": 0, \"mem_size_mib\": 64}"),
		"machine-config: field `vcpu_count`: a VM needs at least one vCPU");
	API_REFUSED(put(put_machine, &c,
			"{\"vcpu_count\": 1, \"mem_size_mib\": 1}"),
		    "machine-config: field `mem_size_mib`: too small");
	/* Feature edits are checked at PUT time, as the names. */
	API_REFUSED(put(put_machine, &c,
			"{\"vcpu_count\": 1, \"mem_size_mib\": 64,"
			" \"cpu_template\": \"pvm,-warp9\"}"),
		    "field `cpu_template`: unknown CPU feature 'warp9'");
	/* Firecracker's names: whether the host fits is known at build. */
	assert_int_equal(put(put_machine, &c,
			     "{\"vcpu_count\": 1, \"mem_size_mib\": 64,"
			     " \"cpu_template\": \"T2\"}"),
			 0);
	assert_string_equal(c.cpu_template, "T2");
	assert_int_equal(put(put_machine, &c,
			     "{\"vcpu_count\": 1, \"mem_size_mib\": 64,"
			     " \"cpu_template\": \"None\"}"),
			 0);
	/* Refused requests changed nothing. */
	assert_int_equal(c.vcpu_count, 1);
	assert_int_equal(c.mem_size_mib, 64);
	api_config_free(&c);
}

static void test_api_balloon(void **state)
{
	struct api_config c;

	(void)state;
	api_config_init(&c);
	assert_int_equal(put(put_machine, &c,
			     "{\"vcpu_count\": 1, \"mem_size_mib\": 64}"),
			 0);
	API_REFUSED(
		put(api_config_balloon, &c,
		    "{\"amount_mib\": 65, \"deflate_on_oom\": true}"),
		"balloon: field `amount_mib`: 65M is more than the guest's 64M");
	API_REFUSED(
		put(api_config_balloon, &c,
		    "{\"amount_mib\": 1, \"deflate_on_oom\": true,"
		    " \"stats_polling_interval_s\": 3601}"),
		"field `stats_polling_interval_s`: 3601 seconds: at most 3600");
	assert_false(c.balloon_set);
	assert_int_equal(put(api_config_balloon, &c,
			     "{\"amount_mib\": 32, \"deflate_on_oom\": true,"
			     " \"stats_polling_interval_s\": 3600}"),
			 0);
	/* The memory cannot shrink below the balloon's target. */
	API_REFUSED(
		put(put_machine, &c,
		    "{\"vcpu_count\": 1, \"mem_size_mib\": 31}"),
		"field `mem_size_mib`: 31 MiB is less than the balloon's target of 32 MiB");
	assert_int_equal(c.mem_size_mib, 64);
	api_config_free(&c);
}

static void test_api_net(void **state)
{
	struct api_config c;

	(void)state;
	api_config_init(&c);
	assert_int_equal(
		put_net(&c, "eth0",
			"{\"iface_id\": \"eth0\", \"host_dev_name\":"
			" \"t0\", \"guest_mac\": \"06:00:ac:10:00:02\"}"),
		0);
	API_REFUSED(
		put_net(&c, "eth1",
			"{\"iface_id\": \"eth1\", \"host_dev_name\": \"t0\"}"),
		"network-interfaces/eth1: field `host_dev_name`: t0 is already used by eth0");
	API_REFUSED(
		put_net(&c, "eth1",
			"{\"iface_id\": \"eth1\", \"host_dev_name\": \"t1\","
			" \"guest_mac\": \"06:00:AC:10:00:02\"}"),
		"field `guest_mac`: 06:00:ac:10:00:02 is already used by eth0");
	API_REFUSED(
		put_net(&c, "eth1",
			"{\"iface_id\": \"eth1\", \"host_dev_name\": \"t1\","
			" \"guest_mac\": \" 6:00:ac:10:00:02\"}"),
		"field `guest_mac`: expected six hexadecimal bytes");
	API_REFUSED(
		put_net(&c, "eth1",
			"{\"iface_id\": \"eth1\", \"host_dev_name\": \"..\"}"),
		"field `host_dev_name`: not a valid interface name");
	/* Replacing eth0 by itself is no conflict. */
	assert_int_equal(
		put_net(&c, "eth0",
			"{\"iface_id\": \"eth0\", \"host_dev_name\":"
			" \"t0\", \"guest_mac\": \"06:00:ac:10:00:02\"}"),
		0);
	assert_int_equal(c.nr_nets, 1);
	api_config_free(&c);
}

static void test_api_vsock_boot(void **state)
{
	struct api_config c;

	(void)state;
	api_config_init(&c);
	API_REFUSED(put(api_config_vsock, &c,
			"{\"guest_cid\": 2, \"uds_path\": \"/tmp/v\"}"),
		    "vsock: field `guest_cid`: 2: expected 3 to 4294967294");
	API_REFUSED(
		put(api_config_vsock, &c,
		    "{\"guest_cid\": 4294967295, \"uds_path\": \"/tmp/v\"}"),
		"field `guest_cid`");
	assert_int_equal(put(api_config_vsock, &c,
			     "{\"guest_cid\": 3, \"uds_path\": \"/tmp/v\"}"),
			 0);
	API_REFUSED(put(api_config_boot_source, &c,
			"{\"kernel_image_path\": \"\"}"),
		    "boot-source: field `kernel_image_path`: an empty path");
	API_REFUSED(
		put(api_config_boot_source, &c,
		    "{\"kernel_image_path\": \"/k\", \"initrd_path\": \"\"}"),
		"boot-source: field `initrd_path`: an empty path");
	api_config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_machine),
		cmocka_unit_test(test_cpu_template),
		cmocka_unit_test(test_boot),
		cmocka_unit_test(test_disk),
		cmocka_unit_test(test_tap_name),
		cmocka_unit_test(test_mac),
		cmocka_unit_test(test_net),
		cmocka_unit_test(test_vsock),
		cmocka_unit_test(test_balloon),
		cmocka_unit_test(test_serial),
		cmocka_unit_test(test_vm),
		cmocka_unit_test(test_api_machine),
		cmocka_unit_test(test_api_balloon),
		cmocka_unit_test(test_api_net),
		cmocka_unit_test(test_api_vsock_boot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
