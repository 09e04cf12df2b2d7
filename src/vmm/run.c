// SPDX-License-Identifier: GPL-2.0-only
/*
 * run.c - `vmon run`: checks the options against the host, builds the VM
 * (CPUID template, memory, vCPUs, legacy devices, kernel), runs the main
 * loop (console input, signals, stop requests) and tears everything down.
 */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "../arch/x86/boot.h"
#include "../arch/x86/cpu.h"
#include "../arch/x86/cpuid.h"
#include "../arch/x86/layout.h"
#include "../devices/devices.h"
#include "../devices/serial.h"
#include "../util/log.h"
#include "cli.h"
#include "console.h"
#include "exitcode.h"
#include "kvm.h"
#include "vcpu.h"
#include "vm.h"

#define DEFAULT_CMDLINE "console=ttyS0 reboot=k panic=-1"

/* The default guest's directory: $VMON_CACHE or $XDG_CACHE_HOME/vmon. */
static int default_guest(char *kernel, char *initrd, size_t len)
{
	const char *cache = getenv("VMON_CACHE");
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	char dir[PATH_MAX];

	if (cache && *cache)
		snprintf(dir, sizeof(dir), "%s/guest/default", cache);
	else if (xdg && *xdg)
		snprintf(dir, sizeof(dir), "%s/vmon/guest/default", xdg);
	else
		snprintf(dir, sizeof(dir), "%s/.cache/vmon/guest/default",
			 home ? home : "");
	if (snprintf(kernel, len, "%.*s/vmlinux", PATH_MAX - 32, dir) < 0 ||
	    snprintf(initrd, len, "%.*s/initramfs.cpio", PATH_MAX - 32, dir) <
		    0 ||
	    access(kernel, R_OK) || access(initrd, R_OK)) {
		pr_err("default guest %s: not built yet: run scripts/build-guest, or give --kernel",
		       dir);
		return -1;
	}
	return 0;
}

static int check_input_file(const char *what, const char *path)
{
	if (access(path, R_OK)) {
		pr_err("%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * --initrd: one file, or for a multiboot kernel QEMU's module list
 * "PATH [ARGS][,PATH [ARGS]...]": checks each PATH that is not a file.
 */
static int check_initrd(const char *list)
{
	char path[PATH_MAX];

	if (!access(list, R_OK))
		return 0;
	for (const char *p = list; p;
	     p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
		size_t len = strcspn(p, " ,");

		snprintf(path, sizeof(path), "%.*s", (int)len, p);
		if (check_input_file("initrd", path))
			return -1;
	}
	return 0;
}

static int check_host_limits(const struct kvm *kvm, const struct vm_config *cfg)
{
	struct kvm_cpuid_entry2 *e =
		cpuid_find(kvm->supported_cpuid, 0x80000008, 0);
	unsigned int bits = e && (e->eax & 0xff) ? e->eax & 0xff : 36;
	uint64_t top = cfg->mem_size > MMIO_HOLE_START ?
			       cfg->mem_size + (1ULL << 30) :
			       cfg->mem_size;

	if (cfg->cpus > kvm->max_vcpus) {
		pr_err("--cpus %u: this host allows at most %u vCPUs",
		       cfg->cpus, kvm->max_vcpus);
		return -1;
	}
	if (bits < 64 && top > (1ULL << bits)) {
		pr_err("--mem %lluM: more than this host can map (guest physical addresses have %u bits)",
		       (unsigned long long)(cfg->mem_size >> 20), bits);
		return -1;
	}
	return 0;
}

static char *build_cmdline(const struct run_opts *o, const char *extra)
{
	const char *base = o->cfg.cmdline ? o->cfg.cmdline : DEFAULT_CMDLINE;
	size_t len = strlen(base) + strlen(extra) +
		     (o->append ? strlen(o->append) : 0) + 3;
	char *s = malloc(len);

	if (!s)
		return NULL;
	snprintf(s, len, "%s%s%s%s%s", base, o->append ? " " : "",
		 o->append ? o->append : "", *extra ? " " : "", extra);
	return s;
}

static int setup_cpuid(struct vm *vm, const char *spec, char *extra,
		       size_t extra_len)
{
	const char *def = vm->kvm->pvm ? "pvm" : "host";
	char err[256];

	vm->cpuid = cpuid_dup(vm->kvm->supported_cpuid);
	if (!vm->cpuid)
		return -1;
	/* On a PVM host the guest executes CPUID natively: hide by cmdline. */
	if (cpuid_apply_template(vm->cpuid, spec, def, vm->kvm->pvm, extra,
				 extra_len, err, sizeof(err))) {
		pr_err("%s", err);
		return -1;
	}
	return 0;
}

static int open_serial_out(const struct vm_config *cfg)
{
	int fd;

	switch (cfg->serial) {
	case SERIAL_STDIO:
		return STDOUT_FILENO;
	case SERIAL_FILE:
		fd = open(cfg->serial_path,
			  O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			pr_err("--serial file:%s: %s", cfg->serial_path,
			       strerror(errno));
		return fd;
	default:
		return -1;
	}
}

static int create_devices(struct vm *vm, int serial_fd)
{
	vm->serial =
		serial_create(vm, SERIAL_COM1_BASE, SERIAL_COM1_IRQ, serial_fd);
	if (!vm->serial || i8042_create(vm) || rtc_create(vm) ||
	    debug_exit_create(vm) || post_port_create(vm) || rom_create(vm) ||
	    hypercall_create(vm))
		return -1;
	if (vm->cfg->test_device && testdev_create(vm))
		return -1;
	return 0;
}

static int main_loop(struct vm *vm, struct console *con, int sig_fd)
{
	while (!vm_stopping(vm)) {
		struct pollfd p[4];
		int n = 0, in_idx = -1, wake_idx;

		p[n++] =
			(struct pollfd){ .fd = vm->stop_efd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = sig_fd, .events = POLLIN };
		wake_idx = n;
		p[n++] = (struct pollfd){ .fd = serial_rx_wake_fd(vm->serial),
					  .events = POLLIN };
		if (console_wants_input(con)) {
			in_idx = n;
			p[n++] = (struct pollfd){ .fd = con->in_fd,
						  .events = POLLIN };
		}
		if (poll(p, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			pr_err("poll: %s", strerror(errno));
			vm_request_stop(vm, EXIT_UNEXPECTED, NULL);
			break;
		}
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
				char why[64];

				snprintf(why, sizeof(why),
					 "stopping on signal %u (%s)",
					 si.ssi_signo,
					 strsignal((int)si.ssi_signo));
				vm_request_stop(vm, EXIT_OK, why);
			}
		}
		if (p[wake_idx].revents & POLLIN) {
			uint64_t v;

			if (read(p[wake_idx].fd, &v, sizeof(v)) < 0) {
				/* spurious wakeup: nothing to drain */
			}
		}
		if (in_idx >= 0 && (p[in_idx].revents & (POLLIN | POLLHUP)))
			console_read_input(con);
		else if (in_idx >= 0 &&
			 (p[in_idx].revents & (POLLERR | POLLNVAL)))
			con->eof = true;
	}
	return vm->exit_code;
}

static int run_vm(struct run_opts *o, struct kvm *kvm)
{
	struct vm_config *cfg = &o->cfg;
	char extra[320];
	struct boot_entry entry;
	struct console con;
	struct vm vm;
	sigset_t sigs;
	int serial_fd = -1, sig_fd = -1, ret = EXIT_HOST;

	memset(&con, 0, sizeof(con));
	con.in_fd = -1;
	if (vm_create(&vm, kvm, cfg))
		goto out;
	if (setup_cpuid(&vm, cfg->cpu_template, extra, sizeof(extra))) {
		ret = EXIT_USAGE;
		goto out;
	}
	vm.cmdline = build_cmdline(o, extra);
	if (!vm.cmdline)
		goto out;
	for (unsigned int i = 0; i < vm.nr_vcpus; i++)
		if (x86_vcpu_init(&vm.vcpus[i]))
			goto out;
	serial_fd = open_serial_out(cfg);
	if (cfg->serial == SERIAL_FILE && serial_fd < 0) {
		ret = EXIT_USAGE;
		goto out;
	}
	if (create_devices(&vm, serial_fd))
		goto out;
	if (x86_load_kernel(&vm, cfg->kernel, cfg->initrd, vm.cmdline,
			    &entry)) {
		ret = EXIT_USAGE;
		goto out;
	}
	/* After the loader: it may have settled the command line. */
	if (fw_cfg_create(&vm))
		goto out;
	if (x86_vcpu_boot_regs(&vm.vcpus[0], &entry)) {
		pr_err("vcpu0: cannot set the boot registers: %s",
		       strerror(errno));
		goto out;
	}
	pr_info("booting %s with %u vCPU(s), %llu MiB: %s", cfg->kernel,
		vm.nr_vcpus, (unsigned long long)(cfg->mem_size >> 20),
		vm.cmdline);

	/* Signals go to the main loop only; vCPU threads inherit the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	sig_fd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sig_fd < 0) {
		pr_err("signalfd: %s", strerror(errno));
		goto out;
	}
	console_init(&con, &vm, vm.serial,
		     cfg->serial == SERIAL_STDIO ? STDIN_FILENO : -1);
	if (vm_start(&vm)) {
		vm_request_stop(&vm, EXIT_HOST, NULL);
		goto out;
	}
	ret = main_loop(&vm, &con, sig_fd);
out:
	if (vm_stopping(&vm) && ret != EXIT_USAGE)
		ret = vm.exit_code;
	console_restore(&con);
	vm_destroy(&vm);
	if (sig_fd >= 0)
		close(sig_fd);
	if (cfg->serial == SERIAL_FILE && serial_fd >= 0)
		close(serial_fd);
	return ret;
}

int cmd_run(int argc, char **argv)
{
	static char kernel[PATH_MAX], initrd[PATH_MAX];
	struct run_opts o;
	struct kvm kvm;
	int ret;

	switch (cli_parse_run(argc, argv, &o)) {
	case CLI_EXIT_OK:
		return EXIT_OK;
	case CLI_ERROR:
		return EXIT_USAGE;
	case CLI_OK:
		break;
	}
	if (!o.cfg.kernel) {
		if (o.cfg.initrd) {
			pr_err("--initrd: needs --kernel (the default guest has its own)");
			return EXIT_USAGE;
		}
		if (default_guest(kernel, initrd, sizeof(kernel)))
			return EXIT_USAGE;
		o.cfg.kernel = kernel;
		o.cfg.initrd = initrd;
	}
	if (check_input_file("kernel", o.cfg.kernel) ||
	    (o.cfg.initrd && check_initrd(o.cfg.initrd)))
		return EXIT_USAGE;
	if (kvm_open(&kvm, NULL))
		return EXIT_HOST;
	if (check_host_limits(&kvm, &o.cfg)) {
		kvm_close(&kvm);
		return EXIT_USAGE;
	}
	if (kvm.pvm && !o.cfg.cpu_template)
		pr_note("this host's KVM uses the PVM backend (software virtualization): guest kernel code is emulated; using CPU template 'pvm'");
	else if (kvm.pvm)
		pr_note("this host's KVM uses the PVM backend (software virtualization): guest kernel code is emulated");
	if (vcpu_signals_init()) {
		pr_err("sigaction: %s", strerror(errno));
		kvm_close(&kvm);
		return EXIT_HOST;
	}
	signal(SIGPIPE, SIG_IGN);
	ret = run_vm(&o, &kvm);
	kvm_close(&kvm);
	return ret;
}
