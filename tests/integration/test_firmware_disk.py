#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Firmware boot of a real boot disk (docs/firmware.md).

The test makes a disk image without mounting anything: an MBR partition
table (sfdisk), one FAT16 partition (mtools: mformat, mcopy) holding the
default guest's bzImage and initramfs.cpio (scripts/build-guest), and GRUB
(Debian's grub-pc-bin) installed by hand as grub-install would on a BIOS
disk: boot.img's code in the MBR, core.img (grub-mkimage: the disk, the
partition table, FAT, serial console and Linux loader modules, and an
embedded configuration that boots the kernel) in the gap after it, from
sector 1. Then `vmon run --firmware bios-256k.bin --acpi --disk IMG`:
SeaBIOS from the reset vector finds the virtio-mmio disk through the ACPI
tables, runs the MBR, GRUB loads the kernel and the initramfs through INT
13h and starts the kernel (its 32-bit entry), the decompressor runs, and
the guest's /init prints its marker on the serial console.

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
PART_START = 1 * MIB  # sector 2048, as partitioning tools align it
DISK_SIZE = 32 * MIB
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
    if not vt.check(path is not None, "%s is installed (scripts/setup)" % name):
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
            "insmod linux\nlinux /bzImage %s\ninitrd /initramfs.cpio\n"
            "boot\n" % words)


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


def partition(path):
    """One bootable FAT16 (LBA) partition from PART_START to the end."""
    r = subprocess.run([tool("sfdisk"), "-q", "--no-reread",
                        "--no-tell-kernel", path],
                       input=b"label: dos\nstart=%d, type=e, bootable\n"
                       % (PART_START // 512), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
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
    vt.check(len(core_img) <= PART_START - 512,
             "core.img (%d bytes) fits before the partition" % len(core_img))
    with open(path, "r+b") as f:
        f.write(boot[:440])
        f.seek(512)
        f.write(core_img)


def make_disk(path, guest, words):
    mformat, mcopy = tool("mformat"), tool("mcopy")
    with open(path, "wb") as f:
        f.truncate(DISK_SIZE)
    partition(path)
    img = "%s@@%d" % (path, PART_START)
    sectors = (DISK_SIZE - PART_START) // 512
    # 16 heads x 63 sectors, hidden sectors = the partition's start.
    sh([mformat, "-i", img, "-T", str(sectors), "-h", "16", "-s", "63",
        "-H", str(PART_START // 512), "-v", "VMONBOOT", "::"],
       "mformat makes the FAT file system")
    for name in ("bzImage", "initramfs.cpio"):
        sh([mcopy, "-i", img, os.path.join(guest, name), "::" + name],
           "mcopy %s" % name)
    sh([tool("mmd"), "-i", img, "::grub", "::grub/i386-pc"],
       "mmd makes /grub/i386-pc")
    sh([mcopy, "-i", img] + grub_module_files() + ["::grub/i386-pc/"],
       "mcopy GRUB's modules")
    install_grub(path, words, os.path.dirname(path))


def guest_with_bzimage():
    """The default guest (scripts/build-guest) with its bzImage, or fail."""
    vt.require_kvm()
    d = vt.default_guest_dir()
    ok = d is not None and os.path.exists(os.path.join(d, "bzImage"))
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
        f.truncate(DISK_SIZE)
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
    vm.p.terminate()
    vm.wait(30)
    shutil.rmtree(d)
    vt.finish()


if __name__ == "__main__":
    main()
