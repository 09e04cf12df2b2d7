#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Firmware boot (--firmware, docs/firmware.md).

SeaBIOS (Debian's seabios package) from the reset vector prints its banner
on the serial console (fw_cfg "etc/sercon-port"); the time to the banner is
printed; with --acpi it finds a virtio-blk disk through the DSDT (the
tables served by fw_cfg's table loader) and boots the test's own disk
image, an MBR boot sector that prints a marker through INT 10h (SeaBIOS's
serial console), timed too. A file that is not a BIOS image is refused with a clear error; with
--kernel the firmware is not used at all.
"""
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmontest as vt  # noqa: E402

SEABIOS = "/usr/share/seabios/bios-256k.bin"
BANNER = b"SeaBIOS (version"


def test_banner(image):
    t0 = time.monotonic()
    vm = vt.Interactive(["run", "--firmware", image, "--mem", "128M"])
    ok = vm.follow(BANNER, "SeaBIOS's banner on the serial port", idle_s=60)
    vt.check(ok, "%s: SeaBIOS prints its banner on COM1" % image)
    if ok:
        print("%s: banner after %.2f s" % (os.path.basename(image),
                                           time.monotonic() - t0))
    vm.p.terminate()
    vm.wait(30)


# A boot sector: prints MARKER with INT 10h AH=0Eh, then cli; hlt.
BOOT_CODE = bytes.fromhex("31C08ED8BE197CAC84C07409B40EBB0700CD10EBF2FAF4EBFD")
MARKER = b"VMON-DISK-BOOT-OK"


def make_disk(path):
    img = bytearray(1 << 20)
    img[:len(BOOT_CODE)] = BOOT_CODE
    msg = MARKER + b"\r\n\0"
    img[len(BOOT_CODE):len(BOOT_CODE) + len(msg)] = msg
    img[510:512] = b"\x55\xaa"
    with open(path, "wb") as f:
        f.write(img)


def test_disk_boot(image):
    d = tempfile.mkdtemp(prefix="vmon-fw-")
    disk = os.path.join(d, "boot.img")
    make_disk(disk)
    t0 = time.monotonic()
    vm = vt.Interactive(["run", "--acpi", "--firmware", image, "--mem",
                         "128M", "--disk", disk])
    # SeaBIOS's screen emulation may hold the last character back.
    ok = vm.follow(MARKER[:-1], "the disk's boot sector", idle_s=60)
    vt.check(ok, "%s: SeaBIOS boots the virtio-mmio disk to its marker"
             % image)
    if ok:
        print("%s: disk's marker after %.2f s" % (os.path.basename(image),
                                                   time.monotonic() - t0))
    vm.p.terminate()
    vm.wait(30)
    os.unlink(disk)
    os.rmdir(d)


def test_bad_images():
    d = tempfile.mkdtemp(prefix="vmon-fw-")
    for name, size in (("small.bin", 1000), ("odd.bin", 0x18000),
                       ("big.bin", 0x80000), ("empty.bin", 0)):
        p = os.path.join(d, name)
        with open(p, "wb") as f:
            f.write(b"\xff" * size)
        r = vt.run(["run", "--firmware", p], timeout=30)
        vt.check(r.code == 2 and "is not a BIOS image" in r.err
                 and name in r.err,
                 "%s (%d bytes) refused with exit 2 (%r)" % (name, size, r))
        os.unlink(p)
    r = vt.run(["run", "--firmware", os.path.join(d, "none.bin")], timeout=30)
    vt.check(r.code == 2 and "none.bin" in r.err,
             "a missing firmware file: exit 2 (%r)" % (r,))
    os.rmdir(d)


def test_kernel_wins():
    # With --kernel the firmware is skipped: the guest program runs as
    # always (hello.elf exits (0x2a << 1) | 1), the bogus image unread.
    hello = os.path.join(vt.BUILD_ROOT, "guest", "hello.elf")
    r = vt.run(["run", "--kernel", hello, "--firmware", "/nonexistent"],
               timeout=30)
    vt.check(r.code == (0x2a << 1) | 1 and "bye" in r.out,
             "--kernel skips the firmware (%r)" % (r.code,))


if __name__ == "__main__":
    vt.require_kvm()
    test_bad_images()
    test_kernel_wins()
    if os.path.exists(SEABIOS):
        test_banner(SEABIOS)
        test_banner("/usr/share/seabios/bios-microvm.bin")
        test_disk_boot(SEABIOS)
    else:
        print("skip: %s missing (scripts/setup installs seabios)" % SEABIOS)
    vt.finish()
