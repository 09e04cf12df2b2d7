# SPDX-License-Identifier: GPL-2.0-only
"""Virtio devices on real KVM, driven by a guest program (no Linux boot).

tests/integration/guest/virtio_probe.c is a freestanding 64-bit guest with
a polling virtio-mmio driver. It finds the devices from the
virtio_mmio.device= entries vmon put on its command line; notifications
reach vmon through KVM ioeventfds. Checked here:
- virtio-blk: the guest reads the pattern the host wrote into sectors 0-7
  and the serial; it writes sectors 8-15, which the host then reads back;
- virtio-rng: 64 random bytes;
- virtio-console (--console virtio): hvc0 output on stdout, stdin as input;
- a hostile ring (a buffer in the MMIO hole) puts the device in
  DEVICE_NEEDS_RESET with a config interrupt, vmon logs it once and keeps
  running, and a reset recovers the device;
- --disk option errors.
"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmontest  # noqa: E402

PROBE = os.path.join(vmontest.BUILD_ROOT, "tests", "virtio_probe.elf")
SECTOR = 512


def host_pattern(n):
    return bytes((s * 7 + i + 1) & 0xff for s in range(n) for i in range(SECTOR))


def guest_pattern(first, n):
    return bytes(((((s * 13) + i) & 0xff) ^ 0x5a)
                 for s in range(first, first + n) for i in range(SECTOR))


def main():
    vmontest.require_kvm()
    vmontest.check(os.path.exists(PROBE), "guest program built: " + PROBE)
    with tempfile.TemporaryDirectory() as tmp:
        disk = os.path.join(tmp, "disk.img")
        with open(disk, "wb") as f:
            f.write(host_pattern(8))
            f.truncate(1 << 20)

        r = vmontest.run(["run", "-k", PROBE, "-m", "64M",
                          "--disk", disk + ",serial=vmon-probe-disk", "--rng",
                          "--append", "probe.serial=vmon-probe-disk"], timeout=60)
        vmontest.check(not r.timed_out and r.code == 1,
                       "probe passes: exit 1 (debug-exit 0), got %r" % r.code)
        vmontest.check("virtio_mmio.device=512@0xd0000000:5 "
                       "virtio_mmio.device=512@0xd0001000:6" in r.out,
                       "devices announced on the command line")
        for what in ("blk: read the host's pattern", "blk: serial matches",
                     "blk: write request", "blk: flush request",
                     "rng: bytes look random"):
            vmontest.check("ok: " + what in r.out, what)
        vmontest.check("FAIL" not in r.out, "no failed guest check")
        with open(disk, "rb") as f:
            f.seek(8 * SECTOR)
            vmontest.check(f.read(8 * SECTOR) == guest_pattern(8, 8),
                           "host reads back what the guest wrote")
            f.seek(0)
            vmontest.check(f.read(8 * SECTOR) == host_pattern(8),
                           "sectors the guest only read are unchanged")
            vmontest.check(os.fstat(f.fileno()).st_size == 1 << 20,
                           "image size unchanged")

        r = vmontest.run(["run", "-k", PROBE, "-m", "64M", "--console", "virtio"],
                         timeout=60, stdin_data=b"ping")
        vmontest.check(not r.timed_out and r.code == 1,
                       "console probe passes: exit 1, got %r" % r.code)
        vmontest.check("console=hvc0 " in r.out,
                       "--console virtio: console=hvc0 on the command line")
        vmontest.check("\nhello from hvc0\n" in r.out,
                       "what the guest wrote to hvc0 is on stdout")
        vmontest.check("ok: console: input is what the host sent" in r.out,
                       "stdin reaches the guest through hvc0")

        r = vmontest.run(["run", "-k", PROBE, "-m", "64M", "--disk", disk,
                          "--append", "probe.hostile"], timeout=60)
        vmontest.check(not r.timed_out and r.code == 1,
                       "hostile probe ends normally: exit 1, got %r" % r.code)
        for what in ("device needs reset", "config interrupt raised",
                     "device usable after reset"):
            vmontest.check("ok: hostile: " + what in r.out, what)
        vmontest.check(r.err.count("buffer outside guest RAM") == 1,
                       "the violation is logged once")

        r = vmontest.run(["run", "-k", PROBE, "--disk",
                          os.path.join(tmp, "missing.img")], timeout=30)
        vmontest.check(r.code == 2 and "missing.img: No such file" in r.err,
                       "missing disk image: exit 2 with the path")
        r = vmontest.run(["run", "-k", PROBE, "--disk", disk + ",bogus"], timeout=30)
        vmontest.check(r.code == 2 and "bad option 'bogus'" in r.err,
                       "unknown --disk option: exit 2")
        r = vmontest.run(["run", "-k", PROBE, "--disk",
                          disk + ",serial=" + "x" * 21], timeout=30)
        vmontest.check(r.code == 2, "serial longer than 20 characters: exit 2")
        r = vmontest.run(["run", "-k", PROBE, "--console", "usb"], timeout=30)
        vmontest.check(r.code == 2 and "--console usb" in r.err,
                       "unknown --console: exit 2")
    vmontest.finish()


if __name__ == "__main__":
    main()
