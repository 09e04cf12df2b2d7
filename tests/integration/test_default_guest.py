# SPDX-License-Identifier: GPL-2.0-only
"""`vmon run` without --kernel (src/app/default_guest.c), on a stand-in
default guest in a private $VMON_CACHE whose "vmlinux" is the bare
debug-exit guest (guest/bare/exitcode.S: exits with the number that starts
its command line), so no Linux boot is needed. `vmon run -v` prints the
command line it boots:
- with rootfs.ext4 in the cache: the root words (root=/dev/vda ro ...)
  on the command line, and one virtio-mmio device, the read-only root disk;
  a --disk of the user's comes after it (vdb: a second device);
- --initrd PATH without --kernel: the default kernel with that initramfs,
  no root disk and no root words;
- no rootfs.ext4 (a guest built before the root disk): initramfs.cpio;
- neither, or no vmlinux: an error naming the directory, exit 2."""
import os
import shutil
import tempfile

import vmontest as t

EXITCODE = os.path.join(t.BUILD_ROOT, "guest", "exitcode.elf")
ROOT_WORDS = "root=/dev/vda ro rootfstype=ext4 init=/init"


def boot(env, *args, cmdline="3"):
    """(exit code, the command line vmon booted or None, stderr); @cmdline
    None: vmon's default command line."""
    given = ["--cmdline", cmdline] if cmdline is not None else []
    r = t.run(["run", "-v", "--serial", "none"] + given + list(args),
              timeout=60, env=env)
    line = [l for l in r.err.splitlines() if l.startswith("vmon: booting ")]
    return r.code, (line[0].split(": ", 2)[2] if line else None), r.err


def main():
    t.require_kvm()
    tmp = tempfile.mkdtemp(prefix="vmon-test-defguest-%d-" % os.getpid())
    try:
        guest = os.path.join(tmp, "guest", "k")
        os.makedirs(guest)
        os.symlink("k", os.path.join(tmp, "guest", "default"))
        env = dict(os.environ, VMON_CACHE=tmp)
        shutil.copyfile(EXITCODE, os.path.join(guest, "vmlinux"))
        with open(os.path.join(guest, "rootfs.ext4"), "wb") as f:
            f.truncate(1 << 20)
        cpio = os.path.join(guest, "initramfs.cpio")
        with open(cpio, "wb") as f:
            f.write(b"070701" + b"0" * 4090)
        data = os.path.join(tmp, "data.img")
        with open(data, "wb") as f:
            f.truncate(1 << 20)

        code, cmd, err = boot(env)
        t.check(code == 7 and cmd is not None, "default guest boots (exit 7): %r" % err)
        cmd = cmd or ""
        t.check((" " + ROOT_WORDS + " ") in (" " + cmd + " "),
                "root words on the command line: %r" % cmd)
        t.check(cmd.count("virtio_mmio.device=") == 1, "one virtio device: the root disk")

        code, cmd, err = boot(env, "--disk", data)
        t.check(code == 7 and cmd is not None and ROOT_WORDS in cmd and
                cmd.count("virtio_mmio.device=") == 2,
                "a --disk comes after the root disk: %r" % cmd)

        # The default command line says what the VM lacks, so that a kernel
        # with ACPI and PCI built in (the default guest's) skips them.
        code, cmd, err = boot(env, cmdline=None)
        words = (cmd or "").split()
        t.check(cmd is not None and "acpi=off" in words and "pci=off" in words,
                "default command line without ACPI and PCI: acpi=off pci=off: %r" % cmd)
        code, cmd, err = boot(env, "--acpi", "--transport", "pci", cmdline=None)
        words = (cmd or "").split()
        t.check(cmd is not None and "acpi=off" not in words and
                "pci=off" not in words,
                "--acpi --transport pci: neither acpi=off nor pci=off: %r" % cmd)

        code, cmd, err = boot(env, "--initrd", cpio)
        t.check(code == 7 and cmd is not None and "root=" not in cmd and
                "virtio_mmio" not in cmd,
                "--initrd without --kernel: default kernel, that initramfs, no root "
                "disk: %r" % cmd)

        os.unlink(os.path.join(guest, "rootfs.ext4"))
        code, cmd, err = boot(env)
        t.check(code == 7 and cmd is not None and "root=" not in cmd and
                "virtio_mmio" not in cmd,
                "no rootfs.ext4: the initramfs: %r" % cmd)

        os.unlink(cpio)
        code, cmd, err = boot(env)
        t.check(code == 2 and "no rootfs.ext4 or initramfs.cpio" in err and
                guest.replace("/k", "/default") in err,
                "no root file system: exit 2 naming the directory: %r" % err)
        os.unlink(os.path.join(guest, "vmlinux"))
        code, cmd, err = boot(env)
        t.check(code == 2 and "not built yet" in err,
                "no vmlinux: exit 2, not built yet: %r" % err)
    finally:
        shutil.rmtree(tmp)
    t.finish()


main()
