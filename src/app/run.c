// SPDX-License-Identifier: GPL-2.0-only
/*
 * run.c - `vmon run`: checks the options against the host, builds the VM
 * (memory and vCPUs from the core, the CPU model, boot vCPU and kernel
 * loader from the architecture (src/arch/arch.h), the legacy and virtio
 * devices), runs the main loop (console input, signals, stop requests) and
 * tears everything down. The build, start, loop and teardown steps are
 * shared with the API's InstanceStart and --config-file (api_main.c).
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

#include "../arch/arch.h"
#include "../devices/acpi_pm.h"
#include "../devices/devices.h"
#include "../devices/serial.h"
#include "../pci/hotplug.h"
#include "../util/log.h"
#include "../util/seccomp.h"
#include "../virtio/devices.h"
#include "../vmm/exitcode.h"
#include "../vmm/kvm.h"
#include "../vmm/vcpu.h"
#include "../vmm/vm.h"
#include "api_main.h"
#include "cli.h"
#include "console.h"
#include "default_guest.h"

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
	if (cfg->cpus > kvm->max_vcpus) {
		pr_err("--cpus %u: this host allows at most %u vCPUs",
		       cfg->cpus, kvm->max_vcpus);
		return -1;
	}
	return arch_check_host(kvm, cfg);
}

/*
 * The default command line. A kernel built with ACPI or PCI (the default
 * guest's) would otherwise look for an RSDP and probe PCI configuration
 * space on a VM that has neither, in ring-0 code that a PVM host emulates:
 * acpi=off and pci=off say they are absent (docs/guest.md).
 */
static void default_cmdline(const struct vm_config *cfg, char *buf, size_t len)
{
	snprintf(buf, len, "console=%s reboot=k panic=-1%s%s",
		 cfg->console == CONSOLE_VIRTIO ? "hvc0" : "ttyS0",
		 cfg->acpi ? "" : " acpi=off",
		 cfg->virtio_pci ? "" : " pci=off");
}

static char *build_cmdline(const struct vm_config *cfg, const char *append,
			   const char *extra)
{
	char def[128];
	const char *base = cfg->cmdline;
	size_t len;
	char *s;

	if (!base) {
		default_cmdline(cfg, def, sizeof(def));
		base = def;
	}
	len = strlen(base) + strlen(extra) + (append ? strlen(append) : 0) + 3;
	s = malloc(len);
	if (!s)
		return NULL;
	/* The user's own parameters last: they win, and "--" stays theirs. */
	snprintf(s, len, "%s%s%s%s%s", base, *extra ? " " : "", extra,
		 append ? " " : "", append ? append : "");
	return s;
}

static int open_serial_out(const struct vm_config *cfg)
{
	int fd;

	switch (cfg->serial) {
	case SERIAL_STDIO:
		return STDOUT_FILENO;
	case SERIAL_FILE:
		/*
		 * Non-blocking open: a FIFO without a reader fails (ENXIO)
		 * instead of hanging; then blocking again for the writer.
		 */
		fd = open(cfg->serial_path,
			  O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NONBLOCK,
			  0644);
		if (fd < 0 || fcntl(fd, F_SETFL, 0))
			pr_err("--serial file:%s: %s", cfg->serial_path,
			       errno == ENXIO ? "a FIFO nobody reads" :
						strerror(errno));
		return fd;
	default:
		return -1;
	}
}

static int create_devices(struct vm *vm, int serial_fd)
{
	/* Each registers itself in vm->devices under its kind. */
	if (!serial_create(vm, SERIAL_COM1_BASE, SERIAL_COM1_IRQ, serial_fd) ||
	    i8042_create(vm) || rtc_create(vm) || debug_exit_create(vm) ||
	    post_port_create(vm) || rom_create(vm) || hypercall_create(vm))
		return -1;
	if (vm->cfg->test_device && testdev_create(vm))
		return -1;
	if (vm->cfg->acpi && acpi_pm_create(vm))
		return -1;
	if (vm->cfg->boot_timer && boot_timer_create(vm))
		return -1;
	return 0;
}

/* Creates the virtio devices and announces them on the command line. */
static int create_virtio_devices(struct vm *vm, int con_in, int con_out)
{
	char *entries, *s;
	size_t len;

	if (virtio_devices_create(vm, con_in, con_out, &entries))
		return -1;
	/* PCI with ACPI: hotplug through the API (docs/pci.md). */
	if (vm->pci && vm->cfg->acpi && pci_hotplug_create(vm)) {
		free(entries);
		return -1;
	}
	/* With ACPI the DSDT describes them (docs/acpi.md). */
	if (!*entries || vm->cfg->acpi) {
		free(entries);
		return 0;
	}
	len = strlen(vm->cmdline) + strlen(entries) + 2;
	s = malloc(len);
	if (s)
		snprintf(s, len, "%s %s", vm->cmdline, entries);
	free(entries);
	if (!s)
		return -1;
	free(vm->cmdline);
	vm->cmdline = s;
	return 0;
}

static bool session_wants_input(struct vmm_session *s)
{
	/* Paused: the UART is quiesced too, input waits in the pipe. */
	return s->console_on && !vm_paused(&s->vm) &&
	       console_wants_input(&s->con);
}

int vmm_main_loop(struct vmm_session *s, int sig_fd,
		  const struct loop_extra *ex, unsigned int nex)
{
	struct vm *vm = &s->vm;

	/* The VM is built and running: from here on the main thread's list. */
	seccomp_thread_enter(THREAD_MAIN);
	while (!vm_stopping(vm)) {
		struct pollfd p[5 + VMM_LOOP_MAX_EXTRA];
		int n = 0, in_idx = -1, wake_idx, alarm_idx, ex_idx;

		p[n++] =
			(struct pollfd){ .fd = vm->stop_efd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = sig_fd, .events = POLLIN };
		wake_idx = n;
		p[n++] =
			(struct pollfd){ .fd = serial_rx_wake_fd(vm_serial(vm)),
					 .events = POLLIN };
		alarm_idx = n;
		p[n++] = (struct pollfd){ .fd = rtc_alarm_fd(vm),
					  .events = POLLIN };
		if (session_wants_input(s)) {
			in_idx = n;
			p[n++] = (struct pollfd){ .fd = s->con.in_fd,
						  .events = POLLIN };
		}
		ex_idx = n;
		for (unsigned int i = 0; i < nex && i < VMM_LOOP_MAX_EXTRA; i++)
			p[n++] = (struct pollfd){ .fd = ex[i].fd,
						  .events = POLLIN };
		/* Paused input is rechecked on resume: poll at most 100 ms. */
		if (poll(p, (nfds_t)n,
			 s->console_on && vm_paused(vm) ? 100 : -1) < 0) {
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
		if (p[alarm_idx].revents & POLLIN)
			rtc_alarm_fire(vm);
		if (in_idx >= 0 && (p[in_idx].revents & (POLLIN | POLLHUP)))
			console_read_input(&s->con);
		else if (in_idx >= 0 &&
			 (p[in_idx].revents & (POLLERR | POLLNVAL)))
			s->con.eof = true;
		for (int i = ex_idx; i < n; i++)
			if (p[i].revents)
				ex[i - ex_idx].fn(ex[i - ex_idx].opaque);
	}
	return vm->exit_code;
}

/*
 * Builds the VM of @cfg; with @restore nothing is loaded nor any register
 * set (the snapshot's state comes next) and guest RAM is the snapshot's
 * memory file @mem_fd, or with -1 (the Uffd back-end) anonymous.
 */
static int session_build(struct vmm_session *s, struct kvm *kvm,
			 const struct vm_config *cfg, const char *append,
			 bool restore, int mem_fd)
{
	char extra[768];
	struct boot_entry entry;
	struct vm *vm = &s->vm;
	int con_in = cfg->serial == SERIAL_STDIO ? STDIN_FILENO : -1;

	memset(s, 0, sizeof(*s));
	s->serial_fd = -1;
	s->con.in_fd = -1;
	s->cfg = cfg;
	s->vm_created = true;
	if (vm_create_from(vm, kvm, cfg, mem_fd))
		return EXIT_HOST;
	if (arch_cpu_setup(vm, extra, sizeof(extra)))
		return EXIT_USAGE;
	vm->cmdline = build_cmdline(cfg, append, extra);
	if (!vm->cmdline)
		return EXIT_HOST;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		if (arch_vcpu_init(&vm->vcpus[i]))
			return EXIT_HOST;
	s->serial_fd = open_serial_out(cfg);
	if (cfg->serial == SERIAL_FILE && s->serial_fd < 0)
		return EXIT_USAGE;
	if (create_devices(vm, s->serial_fd))
		return EXIT_HOST;
	if (create_virtio_devices(vm, con_in, s->serial_fd))
		return EXIT_USAGE;
	if (!restore && !cfg->kernel) /* --firmware: rom.c loaded it */
		arch_firmware_entry(&entry);
	else if (!restore && arch_load_kernel(vm, cfg->kernel, cfg->initrd,
					      vm->cmdline, &entry))
		return EXIT_USAGE;
	/*
	 * After the loader: it may have settled the command line (multiboot
	 * replaces vm->cmdline; vmm_session_destroy() frees whichever is
	 * there, which the analyzer cannot follow across files).
	 */
	// NOLINTNEXTLINE(clang-analyzer-unix.Malloc)
	if (fw_cfg_create(vm))
		return EXIT_HOST;
	if (restore)
		return 0;
	if (arch_setup_boot_cpu(&vm->vcpus[0], &entry)) {
		pr_err("vcpu0: cannot set the boot registers: %s",
		       strerror(errno));
		return EXIT_HOST;
	}
	pr_info("booting %s with %u vCPU(s), %llu MiB: %s",
		cfg->kernel ? cfg->kernel : cfg->firmware, vm->nr_vcpus,
		(unsigned long long)(cfg->mem_size >> 20), vm->cmdline);
	return 0;
}

int vmm_session_build(struct vmm_session *s, struct kvm *kvm,
		      const struct vm_config *cfg, const char *append)
{
	return session_build(s, kvm, cfg, append, false, -1);
}

int vmm_session_build_restore(struct vmm_session *s, struct kvm *kvm,
			      const struct vm_config *cfg, int mem_fd)
{
	return session_build(s, kvm, cfg, NULL, true, mem_fd);
}

int vmm_session_start(struct vmm_session *s)
{
	const struct vm_config *cfg = s->cfg;

	/* With --console virtio, hvc0 reads the input (raw mode still). */
	console_init(&s->con, &s->vm,
		     cfg->console == CONSOLE_VIRTIO ? NULL : vm_serial(&s->vm),
		     cfg->serial == SERIAL_STDIO ? STDIN_FILENO : -1);
	s->console_on = true;
	if (vm_start(&s->vm)) {
		vm_request_stop(&s->vm, EXIT_HOST, NULL);
		return EXIT_HOST;
	}
	return 0;
}

int vmm_session_destroy(struct vmm_session *s, int ret)
{
	/*
	 * The command line was built here (build_cmdline); free it first:
	 * vmm_session_build() zeroes the session, so it is NULL or ours.
	 */
	free(s->vm.cmdline);
	s->vm.cmdline = NULL;
	if (!s->vm_created)
		return ret;
	if (vm_stopping(&s->vm) && ret != EXIT_USAGE)
		ret = s->vm.exit_code;
	if (s->console_on)
		console_restore(&s->con);
	s->console_on = false;
	vm_destroy(&s->vm);
	if (s->cfg->serial == SERIAL_FILE && s->serial_fd >= 0)
		close(s->serial_fd);
	s->serial_fd = -1;
	s->vm_created = false;
	return ret;
}

int vmm_signals_fd(void)
{
	sigset_t sigs;
	int fd;

	/* Signals go to the main loop only; other threads inherit the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	fd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (fd < 0)
		pr_err("signalfd: %s", strerror(errno));
	return fd;
}

static int run_vm(struct run_opts *o, struct kvm *kvm)
{
	struct vmm_session s;
	int sig_fd = -1, ret;

	ret = vmm_session_build(&s, kvm, &o->cfg, o->append);
	if (ret) {
		if (ret != EXIT_USAGE)
			ret = EXIT_HOST;
		goto out;
	}
	ret = EXIT_HOST;
	sig_fd = vmm_signals_fd();
	if (sig_fd < 0)
		goto out;
	if (vmm_session_start(&s))
		goto out;
	ret = vmm_main_loop(&s, sig_fd, NULL, 0);
out:
	ret = vmm_session_destroy(&s, ret);
	if (sig_fd >= 0)
		close(sig_fd);
	return ret;
}

int vmm_host_check(struct kvm *kvm, const struct vm_config *cfg)
{
	if (check_host_limits(kvm, cfg))
		return EXIT_USAGE;
	if (kvm->pvm && !cfg->cpu_template)
		pr_note("this host's KVM uses the PVM backend (software virtualization): guest kernel code is emulated; using CPU template 'pvm'");
	else if (kvm->pvm)
		pr_note("this host's KVM uses the PVM backend (software virtualization): guest kernel code is emulated");
	if (vcpu_signals_init()) {
		pr_err("sigaction: %s", strerror(errno));
		return EXIT_HOST;
	}
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int vmm_host_open(struct kvm *kvm, const struct vm_config *cfg)
{
	int ret;

	if (kvm_open(kvm, NULL))
		return EXIT_HOST;
	ret = vmm_host_check(kvm, cfg);
	if (ret)
		kvm_close(kvm);
	return ret;
}

int cmd_run(int argc, char **argv)
{
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
	if (seccomp_filters_setup(o.seccomp_level, o.seccomp_filter))
		return o.seccomp_filter ? EXIT_USAGE : EXIT_HOST;
	if (o.api_sock || o.config_file || o.restore || o.incoming)
		return api_main(&o);
	if (!o.cfg.kernel && o.cfg.firmware) {
		if (o.cfg.initrd || rom_check_firmware(o.cfg.firmware)) {
			if (o.cfg.initrd)
				pr_err("--initrd: needs --kernel (the firmware loads its own)");
			return EXIT_USAGE;
		}
	} else if (!o.cfg.kernel && default_guest_setup(&o)) {
		return EXIT_USAGE;
	}
	if ((o.cfg.kernel && check_input_file("kernel", o.cfg.kernel)) ||
	    (o.cfg.initrd && check_initrd(o.cfg.initrd)))
		return EXIT_USAGE;
	ret = vmm_host_open(&kvm, &o.cfg);
	if (ret)
		return ret;
	ret = run_vm(&o, &kvm);
	kvm_close(&kvm);
	return ret;
}
