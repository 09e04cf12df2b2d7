// SPDX-License-Identifier: GPL-2.0-only
/*
 * seccomp_lists.c - the system calls each kind of vmon thread may make,
 * each with the reason it needs it (docs/seccomp.md; `vmon seccomp-print`
 * prints them). Everything else raises SIGSYS (or, at --seccomp-level
 * log, is logged by the kernel). The lists were taken from strace of the
 * guest programs, the probes, the API tests and a Linux boot; a call
 * missing here shows up as a report naming the thread and the call.
 *
 * Threads inherit the filters of the thread that starts them and filters
 * add up (a call must pass all of them): the API thread starts the vCPU,
 * I/O and UART threads on InstanceStart, so its list holds theirs too.
 */
#include "seccomp_lists.h"

#include <linux/kvm.h>
#include <linux/userfaultfd.h>
#include <linux/seccomp.h>
#include <linux/userfaultfd.h>
#include <sys/prctl.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>

#ifndef BLKGETSIZE64
#define BLKGETSIZE64 _IOR(0x12, 114, size_t)
#endif

#define U32 0xffffffffULL
#define ALLOW(c, w)                    \
	{                              \
		.call = #c, .why = (w) \
	}
/* Argument @i equal to @v (an int argument: the low 32 bits). */
#define ALLOW_EQ(c, i, v, w)                                             \
	{                                                                \
		.call = #c, .cond_text = "arg" #i " == " #v, .why = (w), \
		.nconds = 1, .cond = {                                   \
			{ (i), U32, (v) }                                \
		}                                                        \
	}
/* An ioctl with request @req. */
#define IOCTL(req, w)                                                        \
	{                                                                    \
		.call = "ioctl", .cond_text = #req, .why = (w), .nconds = 1, \
		.cond = {                                                    \
			{ 1, U32, (req) }                                    \
		}                                                            \
	}
/* Memory that is never executable: arg @i (the protection) without X. */
#define NO_EXEC(c, i, w)                                             \
	{                                                            \
		.call = #c, .cond_text = "no PROT_EXEC", .why = (w), \
		.nconds = 1, .cond = {                               \
			{ (i), PROT_EXEC, 0 }                        \
		}                                                    \
	}
#define GROUP(n, r)                                    \
	{                                              \
		.name = (n), .rules = (r),             \
		.nr_rules = sizeof(r) / sizeof((r)[0]) \
	}

/* Every thread. */
static const struct sc_rule base_rules[] = {
	ALLOW(futex, "pthread mutexes, condition variables and joins"),
	ALLOW(exit, "the thread ends"),
	ALLOW(exit_group, "vmon exits (also the SIGSYS report's _exit)"),
	ALLOW(rt_sigreturn, "return from a signal handler (the vCPU kick)"),
	ALLOW(rt_sigprocmask, "glibc masks signals while a thread ends"),
	ALLOW(restart_syscall,
	      "the kernel resumes a call a signal interrupted"),
	ALLOW(write, "log lines on stderr, eventfd signals, guest output"),
	ALLOW(clock_gettime, "time stamps (when the vDSO cannot answer)"),
	ALLOW(gettid, "its thread id (the vCPU records it for kicks)"),
	ALLOW(getpid, "pthread_kill() addresses the process"),
	ALLOW(sched_yield, "glibc's locks may yield"),
	ALLOW_EQ(madvise, 2, MADV_DONTNEED,
		 "glibc frees a finished thread's stack and malloc trims"),
};

/* Every thread but the UART writer: malloc and friends. */
static const struct sc_rule alloc_rules[] = {
	ALLOW(brk, "malloc grows the heap"),
	NO_EXEC(mmap, 2, "malloc arenas and large buffers, never executable"),
	NO_EXEC(mprotect, 2, "malloc arena growth, never executable"),
	ALLOW(munmap, "malloc gives memory back"),
};

static const struct sc_rule vcpu_rules[] = {
	IOCTL(KVM_RUN, "run the guest until its next exit"),
	IOCTL(KVM_GET_REGS, "hypercall arguments, the crash report"),
	IOCTL(KVM_SET_REGS, "hypercall results"),
	IOCTL(KVM_GET_SREGS, "the crash report (CPU mode, segments)"),
	IOCTL(KVM_SET_SREGS, "a resume from ACPI S3 restarts the vCPU"),
	IOCTL(KVM_SET_MP_STATE,
	      "a resume from ACPI S3: runnable, or waiting for a SIPI"),
	IOCTL(KVM_TRANSLATE, "the crash report reads the bytes at RIP"),
	IOCTL(KVM_IRQ_LINE, "legacy devices (UART, RTC) raise their IRQ"),
	IOCTL(KVM_RESET_DIRTY_RINGS,
	      "a full dirty ring (KVM_EXIT_DIRTY_RING_FULL), harvested"),
	IOCTL(TUNSETOFFLOAD,
	      "virtio-net: the driver's offload features reach the tap"),
	IOCTL(KVM_SET_GSI_ROUTING,
	      "PCI: the driver programs or unmasks an MSI-X vector"),
	IOCTL(KVM_IOEVENTFD,
	      "virtio-pci: notify eventfds follow the BAR the driver places"),
	ALLOW(epoll_ctl,
	      "a virtio device the guest starts or resets (un)watches its fds"),
	ALLOW(read, "eventfd counters of a device the guest resets"),
	ALLOW(tgkill, "kick the other vCPUs (pause, stop)"),
	/*
	 * A guest's virtio-blk reset (status 0) waits on its vCPU thread for
	 * the requests in flight (blk_reset(), block_drain()); a qcow2
	 * allocation finishing then writes its tables.
	 */
	ALLOW(io_uring_enter,
	      "virtio-blk: a device reset waits for its requests in flight"),
	ALLOW(poll, "virtio-blk: a device reset waits for its requests"),
	ALLOW(pread64, "qcow2: an allocation finishing in a reset's drain"),
	ALLOW(pwrite64, "qcow2: an allocation finishing in a reset's drain"),
	ALLOW(fdatasync, "qcow2: an allocation finishing in a reset's drain"),
	ALLOW(timerfd_settime, "the guest sets the RTC alarm"),
	ALLOW(close,
	      "virtio-vsock: a device reset (the guest's status write) closes its host connections"),
};

static const struct sc_rule io_rules[] = {
	ALLOW(epoll_wait, "wait for device events"),
	ALLOW(epoll_ctl, "watch or unwatch a device's fds"),
	ALLOW(read, "eventfds, tap frames, vsock streams"),
	ALLOW(readv, "tap frames into guest buffers"),
	ALLOW(writev, "tap frames and vsock data from guest buffers"),
	ALLOW(io_uring_enter, "virtio-blk requests"),
	ALLOW(timerfd_settime,
	      "rate limiters and the balloon statistics timer"),
	ALLOW(timerfd_gettime, "rate limiters"),
	ALLOW(getrandom, "virtio-rng entropy"),
	ALLOW_EQ(socket, 0, AF_UNIX,
		 "vsock: guest connections to host sockets"),
	ALLOW(connect, "vsock: guest connections to host sockets"),
	ALLOW(accept4, "vsock: host programs connecting to the guest"),
	ALLOW(shutdown, "vsock: a half-closed connection"),
	ALLOW(close, "vsock: a closed connection"),
	ALLOW(madvise, "virtio-balloon gives guest pages back to the host"),
	ALLOW(poll, "virtio-blk waits for requests in flight on a reset"),
	ALLOW(fdatasync, "virtio-blk flush without io_uring"),
	ALLOW(fsync, "virtio-blk flush without io_uring"),
	ALLOW(pread64, "virtio-blk without io_uring"),
	ALLOW(pwrite64, "virtio-blk without io_uring"),
	ALLOW(preadv, "virtio-blk without io_uring"),
	ALLOW(pwritev, "virtio-blk without io_uring"),
};

static const struct sc_rule uart_rules[] = {
	ALLOW(brk, "malloc in an error message"),
	IOCTL(KVM_IRQ_LINE,
	      "the UART's THR-empty interrupt once its buffer has room again"),
};

/* The main thread once the VM runs: console, signals, stop, teardown. */
static const struct sc_rule main_rules[] = {
	ALLOW(poll, "the main loop waits for input, signals, stop requests"),
	ALLOW(read, "console input, signalfd, eventfds, timerfd"),
	IOCTL(TCGETS, "the console's terminal mode"),
	IOCTL(TCSETS, "the console's terminal mode"),
	IOCTL(TCSETSW, "the console's terminal mode"),
	IOCTL(TCSETSF, "restore the terminal mode at exit"),
	IOCTL(KVM_IRQ_LINE,
	      "console input raises the UART's receive interrupt"),
	ALLOW(tgkill, "kick the vCPUs out of KVM_RUN (pause, stop)"),
	ALLOW(timerfd_settime, "the RTC alarm's next match"),
	ALLOW(openat, "the metrics file on a flush (API mode)"),
	ALLOW(pread64, "KVM statistics for the metrics"),
	ALLOW(newfstatat, "stdio's first write to the metrics or log file"),
	ALLOW(fstat, "stdio's first write to the metrics or log file"),
	ALLOW(lseek, "stdio on the metrics file"),
	IOCTL(KVM_GET_STATS_FD, "KVM statistics for the metrics"),
};

/* Ending the VM: the main thread, or the API thread when a start fails. */
static const struct sc_rule teardown_rules[] = {
	ALLOW(close, "device, KVM and socket fds"),
	IOCTL(KVM_IOEVENTFD, "virtio devices unregister their notify eventfds"),
	IOCTL(KVM_IRQFD, "virtio devices unregister their interrupt eventfds"),
	ALLOW(epoll_ctl, "devices unwatch their fds"),
	ALLOW(io_uring_enter, "virtio-blk drains its requests"),
	ALLOW(fsync, "virtio-blk flushes a disk"),
	ALLOW(fdatasync, "virtio-blk flushes a disk"),
	ALLOW(pwrite64, "qcow2: a closing disk's dirty tables written"),
	ALLOW(pread64,
	      "qcow2: refcount blocks of clusters freed since the last flush"),
	ALLOW(unlink, "the vsock socket, the instance registry entry"),
	ALLOW(shutdown, "the API socket's connections"),
	ALLOW(madvise, "guest memory given back"),
	ALLOW(munmap, "guest memory, vCPU run areas, io_uring rings"),
	IOCTL(KVM_GET_CLOCK, "pause: the guest clock stops"),
	IOCTL(KVM_SET_CLOCK, "resume: the guest clock goes on"),
	ALLOW(clock_nanosleep, "the API server waits for requests to end"),
	ALLOW(nanosleep, "the API server waits for requests to end"),
};

/* The API thread (libmicrohttpd): HTTP over the API socket. */
static const struct sc_rule api_rules[] = {
	ALLOW(poll, "libmicrohttpd waits for connections and data"),
	ALLOW(accept4, "a client connects to the API socket"),
	ALLOW(recvfrom, "requests"),
	ALLOW(sendto, "responses"),
	ALLOW(sendmsg, "responses"),
	ALLOW(shutdown, "a connection ends"),
	ALLOW(close, "a connection ends; files opened for a request"),
	ALLOW(read, "libmicrohttpd's wake-up eventfd; files"),
	ALLOW(tgkill, "kick the vCPUs (pause)"),
	IOCTL(KVM_GET_STATS_FD, "KVM statistics for the metrics"),
	ALLOW(pread64, "KVM statistics for the metrics; kernel files"),
};

/* Building the VM (InstanceStart, drive and net updates): the API thread. */
static const struct sc_rule build_rules[] = {
	ALLOW(openat,
	      "/dev/kvm, /dev/net/tun, kernel, initrd, disks, log, metrics and serial files"),
	ALLOW(newfstatat, "size and type of those files"),
	ALLOW(fstat, "size and type of those files"),
	ALLOW(lstat, "the vsock socket path"),
	ALLOW(access, "the kernel and initrd exist"),
	ALLOW(lseek, "kernel and initrd loaders"),
	ALLOW(fcntl, "non-blocking fds"),
	ALLOW(eventfd2, "device notifications"),
	ALLOW(epoll_create1, "the I/O thread's epoll set"),
	ALLOW(timerfd_create, "rate limiters, the balloon statistics timer"),
	ALLOW(timerfd_settime, "rate limiters, the balloon statistics timer"),
	ALLOW(io_uring_setup, "virtio-blk's ring"),
	ALLOW(io_uring_register, "virtio-blk's completion eventfd"),
	ALLOW(clone3, "start the vCPU, I/O and UART threads"),
	ALLOW(clone, "start threads (glibc's fallback)"),
	ALLOW(rt_sigaction, "the vCPU kick handler"),
	ALLOW(prlimit64, "thread stack size"),
	ALLOW(madvise, "guest memory: MADV_HUGEPAGE; thread stacks"),
	ALLOW_EQ(socket, 0, AF_UNIX, "the vsock listening socket"),
	ALLOW_EQ(socket, 0, AF_INET,
		 "tap: the interface's flags (SIOCSIFFLAGS)"),
	ALLOW(bind, "the vsock listening socket"),
	ALLOW(listen, "the vsock listening socket"),
	ALLOW(getsockname, "libmicrohttpd and vsock socket checks"),
	ALLOW(getsockopt, "libmicrohttpd socket checks"),
	ALLOW(setsockopt, "libmicrohttpd socket options"),
	ALLOW(connect, "vsock: is a live listener on the path"),
	ALLOW(getrandom, "glibc's malloc and hash seeds"),
	ALLOW(dup2, "libmicrohttpd"),
	ALLOW(dup, "libmicrohttpd"),
	IOCTL(KVM_GET_API_VERSION, "check the KVM version"),
	IOCTL(KVM_CHECK_EXTENSION, "check KVM capabilities"),
	IOCTL(KVM_GET_VCPU_MMAP_SIZE, "map the vCPU run areas"),
	IOCTL(KVM_GET_SUPPORTED_CPUID, "the CPU model"),
	IOCTL(KVM_X86_GET_MCE_CAP_SUPPORTED, "the machine-check banks"),
	IOCTL(KVM_CREATE_VM, "create the VM"),
	IOCTL(KVM_ENABLE_CAP, "the VM's dirty ring, before its vCPUs"),
	IOCTL(KVM_SET_TSS_ADDR, "x86 set-up"),
	IOCTL(KVM_SET_IDENTITY_MAP_ADDR, "x86 set-up"),
	IOCTL(KVM_CREATE_IRQCHIP, "the in-kernel PIC, IOAPIC and local APICs"),
	IOCTL(KVM_CREATE_PIT2, "the in-kernel PIT"),
	IOCTL(KVM_SET_GSI_ROUTING, "ACPI: ISA IRQ 0 to IOAPIC pin 2"),
	IOCTL(KVM_SET_USER_MEMORY_REGION, "guest memory"),
	IOCTL(KVM_CREATE_VCPU, "the vCPUs"),
	IOCTL(KVM_SET_CPUID2, "the vCPUs' CPU model"),
	IOCTL(KVM_X86_SETUP_MCE, "the vCPUs' machine-check banks"),
	IOCTL(KVM_GET_LAPIC, "the vCPUs' local APIC set-up"),
	IOCTL(KVM_SET_LAPIC, "the vCPUs' local APIC set-up"),
	IOCTL(KVM_SET_MSRS, "the vCPUs' MSRs"),
	IOCTL(KVM_GET_SREGS, "the boot vCPU's registers"),
	IOCTL(KVM_SET_SREGS, "the boot vCPU's registers"),
	IOCTL(KVM_SET_REGS, "the boot vCPU's registers"),
	IOCTL(KVM_IOEVENTFD, "virtio notify eventfds"),
	IOCTL(KVM_IRQFD, "virtio interrupt eventfds"),
	IOCTL(TUNSETIFF, "tap: attach to the interface"),
	IOCTL(TUNSETVNETHDRSZ, "tap: virtio-net header size"),
	IOCTL(TUNSETOFFLOAD, "tap: offloads"),
	IOCTL(SIOCGIFFLAGS, "tap: bring the interface up"),
	IOCTL(SIOCSIFFLAGS, "tap: bring the interface up"),
	IOCTL(SIOCGIFINDEX, "tap: the interface exists (if_nametoindex)"),
	IOCTL(BLKGETSIZE64, "a block device disk's size"),
	IOCTL(TCGETS, "the console's terminal mode"),
	IOCTL(TCSETSF, "the console's raw mode"),
	ALLOW(pread64, "qcow2: a disk's format, header and tables"),
	ALLOW(pwrite64,
	      "qcow2: autoclear bits cleared, a dirty image repaired at open"),
	ALLOW(fdatasync, "qcow2: a dirty image repaired at open"),
};

/* Snapshot create and load (API thread: /snapshot/create, /snapshot/load). */
static const struct sc_rule snapshot_rules[] = {
	IOCTL(KVM_GET_MSR_INDEX_LIST, "create: which MSRs a vCPU has"),
	IOCTL(KVM_GET_MSRS,
	      "create: the vCPUs' MSRs; cpu-config: an MSR modifier's value"),
	IOCTL(KVM_GET_REGS, "create: the vCPUs' registers"),
	IOCTL(KVM_GET_FPU, "create: the FPU state (no XSAVE)"),
	IOCTL(KVM_SET_FPU, "load: the FPU state (no XSAVE)"),
	IOCTL(KVM_GET_XSAVE, "create: the XSAVE area"),
	IOCTL(KVM_GET_XSAVE2, "create: the XSAVE area (AMX-sized)"),
	IOCTL(KVM_SET_XSAVE, "load: the XSAVE area"),
	IOCTL(KVM_GET_XCRS, "create: the extended control registers"),
	IOCTL(KVM_SET_XCRS, "load: the extended control registers"),
	IOCTL(KVM_GET_VCPU_EVENTS, "create: pending exceptions and interrupts"),
	IOCTL(KVM_SET_VCPU_EVENTS, "load: pending exceptions and interrupts"),
	IOCTL(KVM_GET_DEBUGREGS, "create: the debug registers"),
	IOCTL(KVM_SET_DEBUGREGS, "load: the debug registers"),
	IOCTL(KVM_GET_MP_STATE, "create: runnable, halted, waiting for SIPI"),
	IOCTL(KVM_SET_MP_STATE, "load: runnable, halted, waiting for SIPI"),
	IOCTL(KVM_GET_CPUID2, "create: the CPUID each vCPU was given"),
	IOCTL(KVM_GET_IRQCHIP, "create: PIC and IOAPIC"),
	IOCTL(KVM_SET_IRQCHIP, "load: PIC and IOAPIC"),
	IOCTL(KVM_GET_PIT2, "create: the PIT"),
	IOCTL(KVM_SET_PIT2, "load: the PIT"),
	IOCTL(KVM_GET_CLOCK, "create: the KVM clock"),
	IOCTL(KVM_SET_CLOCK, "load: the KVM clock"),
	IOCTL(KVM_GET_DIRTY_LOG,
	      "create: the pages the vCPUs wrote (Diff snapshots)"),
	IOCTL(KVM_RESET_DIRTY_RINGS,
	      "create: the pages the vCPUs wrote, with dirty rings"),
	ALLOW(userfaultfd, "load, Uffd back-end: guest RAM's missing pages"),
	IOCTL(UFFDIO_API, "load, Uffd back-end: the userfaultfd's API"),
	IOCTL(UFFDIO_REGISTER, "load, Uffd back-end: register guest RAM"),
	ALLOW(fsync, "create: the files reach the disk before the rename"),
	ALLOW(fdatasync, "create: the files reach the disk before the rename"),
	ALLOW(rename, "create: the finished file takes its name at once"),
	ALLOW(renameat, "create: the finished file takes its name at once"),
	ALLOW(renameat2, "create: the finished file takes its name at once"),
	ALLOW(unlink, "create: a half-written temporary file goes"),
	ALLOW(unlinkat, "create: a half-written temporary file goes"),
	ALLOW(ftruncate, "create: the memory file's size"),
	ALLOW(pwrite64, "create: the memory file, page by page"),
	ALLOW(pread64, "load: the state file"),
	ALLOW(lseek, "create, load: the memory file's holes"),
	ALLOW(fchmod, "create: the files are the user's alone (0600)"),
};

/*
 * Live migration's sending side (PUT /migration/send): the migration
 * thread starts from the API thread and runs under its list.
 */
static const struct sc_rule migration_rules[] = {
	ALLOW_EQ(socket, 0, AF_INET, "the connection to the destination"),
	ALLOW_EQ(socket, 0, AF_INET6, "the connection to the destination"),
	ALLOW_EQ(socket, 0, AF_UNIX, "a unix: destination"),
	ALLOW(connect, "the connection to the destination"),
	ALLOW(getsockopt, "the outcome of a non-blocking connect"),
	ALLOW(setsockopt, "TCP_NODELAY on the connection"),
	ALLOW(fcntl, "the connection blocks once connected"),
	ALLOW(poll, "connect and receive time-outs"),
	ALLOW(sendto, "the stream"),
	ALLOW(recvfrom, "the destination's answer"),
	ALLOW(close, "the connection"),
	ALLOW(clock_nanosleep, "the bandwidth limit"),
	ALLOW(nanosleep, "the bandwidth limit"),
	IOCTL(KVM_GET_DIRTY_LOG, "pre-copy rounds: the pages the guest wrote"),
	IOCTL(KVM_RESET_DIRTY_RINGS,
	      "pre-copy rounds with dirty rings: harvested entries back"),
	IOCTL(KVM_SET_USER_MEMORY_REGION,
	      "dirty logging on and off on the RAM slots"),
	ALLOW(openat, "/proc/self/pagemap: the pages never populated"),
	ALLOW(pread64, "/proc/self/pagemap: the pages never populated"),
	ALLOW(getrandom,
	      "the migration token: each side's nonce (also the receiving side's)"),
	ALLOW(clone3, "start the migration thread"),
	ALLOW(clone, "start the migration thread (glibc's fallback)"),
};

/*
 * The destination's post-copy threads (vmon-mig): page faults in, page
 * requests out, pages installed with userfaultfd.
 */
static const struct sc_rule postcopy_rules[] = {
	ALLOW(poll, "wait for page faults and for the source"),
	ALLOW(read, "page fault messages from the userfaultfd"),
	ALLOW(recvfrom, "pages from the source"),
	ALLOW(sendto, "page requests to the source"),
	ALLOW(shutdown, "the connection, at teardown"),
	IOCTL(UFFDIO_COPY, "install a page that arrived"),
	IOCTL(UFFDIO_ZEROPAGE, "install a page of zeros"),
	IOCTL(UFFDIO_UNREGISTER, "every page is here: RAM is ordinary again"),
};

/* What a new thread does before it installs its own filter. */
static const struct sc_rule start_rules[] = {
	ALLOW(set_robust_list, "glibc: a new thread's robust futex list"),
	ALLOW(rseq, "glibc: a new thread's restartable sequences"),
	ALLOW_EQ(prctl, 0, PR_SET_NAME, "a new thread takes its name"),
	ALLOW_EQ(prctl, 0, PR_GET_NAME, "a new thread's name for reports"),
	ALLOW_EQ(seccomp, 0, SECCOMP_SET_MODE_FILTER,
		 "a new thread installs its own filter"),
};

static const struct sc_group start = GROUP("thread start", start_rules);
static const struct sc_group base = GROUP("every thread", base_rules);
static const struct sc_group alloc = GROUP("memory (malloc)", alloc_rules);
static const struct sc_group vcpu = GROUP("vCPU", vcpu_rules);
static const struct sc_group io = GROUP("I/O thread", io_rules);
static const struct sc_group uart = GROUP("UART writer", uart_rules);
static const struct sc_group main_loop = GROUP("main loop", main_rules);
static const struct sc_group teardown = GROUP("teardown", teardown_rules);
static const struct sc_group api = GROUP("API", api_rules);
static const struct sc_group build = GROUP("VM build", build_rules);
static const struct sc_group snapshot = GROUP("snapshot", snapshot_rules);
static const struct sc_group migration = GROUP("migration", migration_rules);
static const struct sc_group postcopy = GROUP("post-copy", postcopy_rules);

static const struct sc_group *const main_groups[] = { &base, &alloc, &main_loop,
						      &teardown, NULL };
static const struct sc_group *const vcpu_groups[] = { &base, &alloc, &vcpu,
						      NULL };
static const struct sc_group *const io_groups[] = { &base, &alloc, &io, NULL };
static const struct sc_group *const uart_groups[] = { &base, &uart, NULL };
static const struct sc_group *const migrate_groups[] = { &base, &alloc,
							 &postcopy, NULL };
/*
 * The API thread starts the others: their lists are in its own (the
 * post-copy threads: started by PUT /migration/receive's thread).
 */
static const struct sc_group *const api_groups[] = {
	&base,	   &alloc, &api, &build, &snapshot, &migration, &start,
	&teardown, &vcpu,  &io,	 &uart,	 &postcopy, NULL
};

/*
 * A vCPU thread makes ioctl(KVM_RUN) on every exit: ioctl is tested first
 * (bench/all seccomp: 48 instructions of the vCPU program to allow it
 * otherwise, 22 so). In API mode the vCPU threads also run the API
 * thread's program, hence its ioctl first as well. The I/O thread waits,
 * reads eventfds and writes irqfds on every event.
 */
static const char *const vcpu_hot[] = { "ioctl", NULL };
static const char *const io_hot[] = { "epoll_wait", "read", "write",
				      "io_uring_enter", NULL };

const struct sc_kind sc_kinds[THREAD_KINDS] = {
	[THREAD_MAIN] = { "main", NULL,
			  "the main thread (vmon) once the VM runs: console, signals, stop, teardown",
			  main_groups },
	[THREAD_VCPU] = { "vcpu", NULL,
			  "the vCPU threads (vcpuN): KVM_RUN and device emulation",
			  vcpu_groups, vcpu_hot },
	[THREAD_IO] = { "io", "vmon-io",
			"the virtio I/O thread (vmon-io): block, net, vsock, rng, balloon",
			io_groups, io_hot },
	[THREAD_API] = { "api", "vmon-api",
			 "the API thread (vmon-api, libmicrohttpd's): requests, InstanceStart builds the VM",
			 api_groups, vcpu_hot },
	[THREAD_MIGRATE] = { "migrate", "vmon-mig",
			     "the post-copy threads of a migration's destination (vmon-mig): page faults, requests, pages",
			     migrate_groups },
	[THREAD_UART] = { "uart", "vmon-uart",
			  "the serial port's writer (vmon-uart): guest output to stdout or a file",
			  uart_groups },
};
