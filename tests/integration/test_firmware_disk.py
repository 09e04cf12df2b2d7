#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Firmware boot of a real boot disk (docs/firmware.md).

The test makes a disk image without mounting anything: an MBR partition
table (sfdisk) with a FAT16 partition (mtools: mformat, mmd, mcopy)
holding the default guest's bzImage (scripts/build-guest) and GRUB's
modules, and a second partition holding the default guest's root file
system (rootfs.ext4); GRUB (Debian's grub-pc-bin) is installed by hand as
grub-install would on a BIOS disk: boot.img's code in the MBR, core.img
(grub-mkimage: the disk, partition table and FAT modules, and an embedded
configuration that loads the Linux loader and boots the kernel) in the gap
after it, from sector 1. Then `vmon run --firmware bios-256k.bin --acpi
--disk IMG`: SeaBIOS from the reset vector finds the virtio-mmio disk
through the ACPI tables, runs the MBR, GRUB loads its modules and the
kernel through INT 13h and starts the kernel (its 32-bit entry), the
decompressor runs, the kernel mounts the second partition and the guest's
/init prints its marker on the serial console.

SYSLINUX is not used: it stops on this PVM host at its first 32-bit IRET
(docs/firmware.md).

With --firmware the kernel's command line is the boot loader's: vmon
gives the firmware none. So the test first asks vmon for the words it
would give a Linux guest of this VM (`vmon run -v` logs them: the console,
and on a PVM host the CPU template's noxsave/clearcpuid words without
which the guest kernel stops on an instruction KVM cannot emulate) and
writes them into GRUB's configuration.

Every step runs kernel-mode code that a PVM host emulates: the wait
follows the guest's output (vmontest), the times are printed.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmontest as vt  # noqa: E402

SEABIOS = "/usr/share/seabios/bios-256k.bin"
GRUB_DIR = "/usr/lib/grub/i386-pc"
MARKER = b"VMON-GUEST-OK"
MIB = 1 << 20
BOOT_START = 1 * MIB  # sector 2048, as partitioning tools align it
BOOT_SIZE = 15 * MIB  # FAT16: GRUB's modules and the kernel
ROOT_START = BOOT_START + BOOT_SIZE
# The default guest's root file system on the second partition, as
# `vmon run` mounts it from its own disk (src/app/default_guest.c).
ROOT_WORDS = "root=/dev/vda2 ro rootfstype=ext4 init=/init"
VM_ARGS = ["--acpi", "--firmware", SEABIOS, "--mem", "128M"]
# core.img holds what GRUB needs to read its partition (BIOS disks, MBR
# partitions, FAT); the rest it loads from /grub/i386-pc on the partition,
# as a grub-install'd disk does: core.img is LZMA-compressed, and its
# decompression is emulated here (~0.6 s per KiB: the Linux loader and its
# dependencies in core.img made GRUB start 80 s later).
GRUB_CORE_MODULES = ["biosdisk", "part_msdos", "fat"]
GRUB_MODULES = ["linux"]


def tool(name):
    """The path of @name (sbin too: sfdisk), or fail the test."""
    path = shutil.which(name, path=os.environ.get("PATH", "") +
                        ":/usr/sbin:/sbin")
    if not vt.check(path is not None,
                    "%s is installed (scripts/setup)" % name):
        vt.finish()
    return path


def sh(argv, what):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if not vt.check(r.returncode == 0, "%s (%s)" % (
            what, r.stderr.decode(errors="replace").strip() or "ok")):
        vt.finish()
    return r.stdout.decode(errors="replace")


def guest_words(disk):
    """The command line vmon would give a Linux guest of this VM, from its
    log (-v: "booting ... with N vCPU(s), M MiB: WORDS")."""
    vm = vt.Interactive(["run", "-v"] + VM_ARGS + ["--disk", disk])
    vm.follow_err(" MiB: ", 1, "vmon logs the command line", idle_s=5)
    vm.p.terminate()
    vm.wait(30)
    words = None
    for line in vm.err.splitlines():
        if "booting " in line and " MiB: " in line:
            words = line.split(" MiB: ", 1)[1].strip()
    vt.check(words is not None and "console=ttyS0" in words,
             "vmon names the guest's command line words (%r)" % (words,))
    return words or "console=ttyS0"


def grub_cfg(words):
    # Straight to the kernel: no menu, no normal mode. GRUB prints through
    # the BIOS (SeaBIOS's serial console).
    return ("set root=(hd0,msdos1)\nset prefix=(hd0,msdos1)/grub\n"
            "insmod linux\nlinux /bzImage %s %s\nboot\n" % (words, ROOT_WORDS))


def grub_module_files():
    """GRUB_MODULES and what they depend on (GRUB's moddep.lst)."""
    deps = {}
    with open(os.path.join(GRUB_DIR, "moddep.lst")) as f:
        for line in f:
            name, _, rest = line.partition(":")
            deps[name] = rest.split()
    need, todo = set(), list(GRUB_MODULES)
    while todo:
        m = todo.pop()
        if m not in need:
            need.add(m)
            todo += deps.get(m, [])
    return [os.path.join(GRUB_DIR, m + ".mod") for m in sorted(need)]


def partition(path, root_size):
    """A bootable FAT16 (LBA) partition at BOOT_START, the root file
    system's (Linux) after it."""
    table = ("label: dos\nstart=%d, size=%d, type=e, bootable\n"
             "start=%d, size=%d, type=83\n" %
             (BOOT_START // 512, BOOT_SIZE // 512, ROOT_START // 512,
              root_size // 512))
    r = subprocess.run([tool("sfdisk"), "-q", "--no-reread",
                        "--no-tell-kernel", path], input=table.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if not vt.check(r.returncode == 0, "sfdisk writes the partition table (%s)"
                    % (r.stderr.decode(errors="replace").strip() or "ok")):
        vt.finish()


def install_grub(path, words, tmp):
    """boot.img's code in the MBR (bytes 0-439: the partition table stays),
    core.img from sector 1: boot.img loads sector 1 (its default), which
    is diskboot.img, whose block list (grub-mkimage's default: from sector
    2, the image's length) loads the rest."""
    cfg = os.path.join(tmp, "early.cfg")
    core = os.path.join(tmp, "core.img")
    with open(cfg, "w") as f:
        f.write(grub_cfg(words))
    sh([tool("grub-mkimage"), "-O", "i386-pc", "-d", GRUB_DIR, "-o", core,
        "-p", "(hd0,msdos1)/grub", "-c", cfg] + GRUB_CORE_MODULES,
       "grub-mkimage builds core.img")
    with open(os.path.join(GRUB_DIR, "boot.img"), "rb") as f:
        boot = f.read()
    with open(core, "rb") as f:
        core_img = f.read()
    vt.check(len(core_img) <= BOOT_START - 512,
             "core.img (%d bytes) fits before the partition" % len(core_img))
    with open(path, "r+b") as f:
        f.write(boot[:440])
        f.seek(512)
        f.write(core_img)


def make_disk(path, guest, words):
    mformat, mcopy = tool("mformat"), tool("mcopy")
    with open(os.path.join(guest, "rootfs.ext4"), "rb") as f:
        rootfs = f.read()
    root_size = (len(rootfs) + MIB - 1) // MIB * MIB
    with open(path, "wb") as f:
        f.truncate(ROOT_START + root_size)
    partition(path, root_size)
    img = "%s@@%d" % (path, BOOT_START)
    # 16 heads x 63 sectors, hidden sectors = the partition's start.
    sh([mformat, "-i", img, "-T", str(BOOT_SIZE // 512), "-h", "16", "-s",
        "63", "-H", str(BOOT_START // 512), "-v", "VMONBOOT", "::"],
       "mformat makes the FAT file system")
    sh([mcopy, "-i", img, os.path.join(guest, "bzImage"), "::bzImage"],
       "mcopy bzImage")
    sh([tool("mmd"), "-i", img, "::grub", "::grub/i386-pc"],
       "mmd makes /grub/i386-pc")
    sh([mcopy, "-i", img] + grub_module_files() + ["::grub/i386-pc/"],
       "mcopy GRUB's modules")
    install_grub(path, words, os.path.dirname(path))
    with open(path, "r+b") as f:
        f.seek(ROOT_START)
        f.write(rootfs)


def guest_with_bzimage():
    """The default guest (scripts/build-guest) with its bzImage, or fail."""
    vt.require_kvm()
    d = vt.default_guest_dir()
    ok = d is not None and os.path.exists(os.path.join(d, "bzImage")) and \
        os.path.exists(os.path.join(d, "rootfs.ext4"))
    if not vt.check(ok, "default guest with bzImage built (scripts/build-guest"
                    "; found %s)" % d):
        vt.finish()
    return d


def main():
    guest = guest_with_bzimage()
    if not vt.check(os.path.exists(SEABIOS) and os.path.isdir(GRUB_DIR),
                    "%s and %s installed (scripts/setup)" % (SEABIOS,
                                                            GRUB_DIR)):
        vt.finish()
    d = tempfile.mkdtemp(prefix="vmon-fwdisk-")
    disk = os.path.join(d, "boot.img")
    with open(disk, "wb") as f:
        f.truncate(BOOT_START)
    words = guest_words(disk)
    make_disk(disk, guest, words)

    t0 = time.monotonic()
    vm = vt.Interactive(["run"] + VM_ARGS + ["--disk", disk])
    steps = ((b"SeaBIOS (version", "SeaBIOS's banner"),
             (b"Booting from Hard Disk", "SeaBIOS boots the disk"),
             (b"GRUB", "GRUB starts"),
             (b"Linux version", "the kernel's first message"),
             (MARKER, "the guest's /init marker"))
    for pattern, step in steps:
        ok = vm.follow(pattern, step)
        vt.check(ok, "%s (%.1f s)" % (step, time.monotonic() - t0))
        if not ok:
            break
    if ok:
        print("firmware disk boot: marker after %.1f s" %
              (time.monotonic() - t0), flush=True)
        m = vm.expect_re(r"VMON-GUEST-OK nproc=(\d+) kernel=(\S+)\s", 30)
        vt.check(m is not None and m.group(2).startswith("6.1."),
                 "the default guest's kernel (%s)" % (m and m.group(2)))
        vt.check(b"Mounted root (ext4 filesystem) readonly" in vm.out,
                 "the root file system is the disk's ext4 partition")
        # /init reboots (reboot=k: the i8042 reset ends vmon, exit 0).
        code = vm.follow_exit("the guest reboots")
        vt.check(code == 0, "the guest's reboot ends vmon with 0 (%r)" % code)
    if vm.p.poll() is None:
        vm.p.terminate()
    vm.wait(30)
    shutil.rmtree(d)
    vt.finish()


if __name__ == "__main__":
    main()
