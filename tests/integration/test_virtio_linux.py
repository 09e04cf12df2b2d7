# SPDX-License-Identifier: GPL-2.0-only
"""One Linux boot (the default guest) that exercises every virtio device.

The guest's shell runs on hvc0 (--console virtio), driven line by line.
vmon runs inside a network namespace of the test's own, holding only the
tap (link-local addresses: nothing leaves it). Checked:
- virtio-blk: the guest reads a pattern the host wrote (md5), writes one
  with conv=fsync that the host then reads back from the image;
- virtio-net: a TCP round trip with an echo server on the host side;
- virtio-vsock: echo both ways (guest -> host PATH_5000, host -> guest
  port 6000 through "CONNECT 6000"), with a static helper the guest reads
  from a second, read-only disk;
- virtio-rng: /dev/hwrng is virtio_rng and gives bytes;
- virtio-balloon: all guest RAM is resident from the start
  (--mem-prealloc), so when the guest inflates the balloon to its initial
  32 MiB target during the boot, vmon gives those pages back to the host:
  the resident size of its guest-RAM mapping drops from all of RAM by at
  least 32 MiB; unbinding the driver deflates the balloon and binding it
  again reaches the target a second time (free page reporting, which would
  blur this, is tested with the guest program in test_virtio_devices.py);
- virtio-console: everything above went through hvc0;
- AVX: glibc does not use the AVX state a guest kernel without XSAVE loses
  between processes (tests/integration/guest/avx_state.c).
Needs root (network namespace) and the default guest (scripts/build-guest).
Every wait follows the guest's progress: the boot sets the pace, and each
shell command gets a budget scaled by it (vmontest.Interactive.follow).
"""
import glob
import hashlib
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmontest  # noqa: E402

VSOCK_ECHO = os.path.join(vmontest.BUILD_ROOT, "tests", "vsock_echo")
AVX_STATE = os.path.join(vmontest.BUILD_ROOT, "tests", "avx_state")
NS = "vmon-vlinux-%d" % os.getpid()
HOST_IP, GUEST_IP = "169.254.78.1", "169.254.78.2"
MEM = 128 << 20


def ns(*cmd):
    r = subprocess.run(["ip", "netns", "exec", NS] + list(cmd), capture_output=True,
                       text=True, timeout=30)
    vmontest.check(r.returncode == 0, " ".join(cmd) + " " + r.stderr.strip())


def main():
    vmontest.require_kvm()
    d = vmontest.default_guest_dir()
    if not vmontest.check(d is not None, "default guest built (scripts/build-guest)"):
        vmontest.finish()
    vmontest.check(os.path.exists(VSOCK_ECHO), "vsock helper built: " + VSOCK_ECHO)
    vmontest.check(os.path.exists(AVX_STATE), "AVX helper built: " + AVX_STATE)
    tmp = tempfile.mkdtemp(prefix="vmon-vlinux-")
    data = os.path.join(tmp, "data.img")
    tools = os.path.join(tmp, "tools.img")
    uds = os.path.join(tmp, "v.sock")
    pattern = bytes((i * 7 + 3) & 0xff for i in range(64 * 1024))
    with open(data, "wb") as f:
        f.write(pattern)
        f.truncate(8 << 20)
    # tools.img: vsock_echo, then avx_state at the next 4 KiB block.
    with open(VSOCK_ECHO, "rb") as src, open(tools, "wb") as f:
        f.write(src.read())
        avx_block = (f.tell() + 4095) // 4096
        f.seek(avx_block * 4096)
        with open(AVX_STATE, "rb") as src2:
            f.write(src2.read())
        f.truncate((f.tell() + 511) // 512 * 512)
    subprocess.run(["ip", "netns", "del", NS], capture_output=True)
    r = subprocess.run(["ip", "netns", "add", NS], capture_output=True, text=True)
    if not vmontest.check(r.returncode == 0, "network namespace (needs root) " + r.stderr):
        vmontest.finish()
    g = None
    try:
        ns("ip", "link", "set", "lo", "up")
        ns("ip", "tuntap", "add", "dev", "vmtap0", "mode", "tap")
        ns("ip", "addr", "add", HOST_IP + "/24", "dev", "vmtap0")
        ns("ip", "link", "set", "vmtap0", "up")
        got = vmontest.unix_echo_once(uds + "_5000", vmontest.CEILING_S)

        g = vmontest.Shell(["ip", "netns", "exec", NS, vmontest.VMON, "run", "-v",
                            "--kernel", os.path.join(d, "vmlinux"),
                            "--initrd", os.path.join(d, "initramfs.cpio"),
                            "--mem", "%dM" % (MEM >> 20), "--mem-prealloc", "--console", "virtio",
                            "--append", "vmon.shell",
                            "--disk", data + ",serial=vmon-data",
                            "--disk", tools + ",ro",
                            "--net", "tap=vmtap0,mac=02:00:00:00:00:02",
                            "--vsock", "cid=42,uds=" + uds,
                            "--balloon", "32M,stats=2",
                            "--rng"])
        # Guest RAM is all resident once vmon has built the VM; the balloon
        # driver inflates much later in the boot.
        ram_start = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and ram_start < MEM and g.p.poll() is None:
            ram_start = max(ram_start, vmontest.ram_rss(g.p.pid, MEM))
            time.sleep(0.2)
        vmontest.check(ram_start == MEM, "--mem-prealloc: all %d MiB of guest RAM "
                       "resident before the boot (%.1f MiB)" % (MEM >> 20, ram_start / 2**20))
        if not vmontest.check(g.boot("VMON-GUEST-OK"),
                              "guest booted with its console on hvc0"):
            return
        vmontest.check(g.sh("true", 5) is not None, "shell on hvc0 answers")
        out = g.sh("cat /proc/cmdline") or ""
        vmontest.check(out.count("virtio_mmio.device=") == 7 and "console=hvc0" in out,
                       "seven virtio devices on the command line, console=hvc0")
        out = g.sh("ls -d /sys/bus/virtio/devices/*/driver | wc -l") or ""
        vmontest.check("7" in out.split(), "seven virtio devices bound to drivers: %r" % out)

        # Block: read what the host wrote, write what the host reads.
        want = hashlib.md5(pattern).hexdigest()
        out = g.sh("dd if=/dev/vda bs=4096 count=16 2>/dev/null | md5sum") or ""
        vmontest.check(want in out, "guest reads the host's pattern (md5 %s): %r" % (want, out))
        out = g.sh("cat /sys/block/vda/serial; echo; cat /sys/block/vdb/ro") or ""
        vmontest.check("vmon-data" in out.split() and "1" in out.split(),
                       "serial and read-only flag seen by the guest: %r" % out)
        g.sh("yes vmon-guest-wrote-this | head -c 65536 | "
             "dd of=/dev/vda bs=4096 seek=64 conv=fsync 2>/dev/null", 10,
             "write 64 KiB to the disk with fsync")
        with open(data, "rb") as f:
            f.seek(64 * 4096)
            back = f.read(65536)
        vmontest.check(back == (b"vmon-guest-wrote-this\n" * 3000)[:65536],
                       "host reads back what the guest wrote (after fsync)")

        # RNG.
        out = g.sh("cat /sys/class/misc/hw_random/rng_current; "
                   "dd if=/dev/hwrng bs=32 count=1 2>/dev/null | od -An -tx1") or ""
        vmontest.check("virtio_rng" in out, "hwrng is virtio_rng")
        vmontest.check(len([w for w in out.split() if len(w) == 2]) >= 32,
                       "32 bytes from /dev/hwrng")

        # Net: TCP round trip.
        tcp = vmontest.tcp_echo_server(NS, HOST_IP, 7777)
        g.sh("ip addr add %s/24 dev eth0; ip link set eth0 up" % GUEST_IP)
        # nc's -w is its connect and final-read timeout: give it the pace too.
        out = g.sh("echo hello-tcp | nc -w %d %s 7777" % (g.budget(3), HOST_IP), 5,
                   "TCP round trip") or ""
        vmontest.check("echo:hello-tcp" in out, "TCP round trip over the tap: %r" % out)
        try:
            served = tcp.communicate(timeout=30)[0]
            vmontest.check("served b'hello-tcp\\n'" in served,
                           "the host's TCP server got the guest's line: %r" % served)
        except subprocess.TimeoutExpired:
            tcp.kill()
            vmontest.fail("TCP server did not finish")

        # vsock: guest -> host, then host -> guest.
        g.sh("cat /dev/vdb > /tmp/ve; chmod +x /tmp/ve")
        out = g.sh("/tmp/ve connect 2 5000 hello-vsock", 3) or ""
        vmontest.check("vsock answer: echo:hello-vsock" in out and
                       got.get("data") == b"hello-vsock",
                       "guest -> host vsock echo via %s_5000: %r" % (uds, out))
        g.send("/tmp/ve listen 6000 & echo @@listen@@\n")
        vmontest.check(g.follow("vsock listening", "vsock listen", idle_s=3),
                       "guest listens on vsock port 6000")
        try:
            s, line = vmontest.vsock_connect(uds, 6000, g.budget(20))
            vmontest.check(line.startswith(b"OK "), "CONNECT 6000 -> %r" % line)
            s.sendall(b"hello-from-host")
            vmontest.check(s.recv(100) == b"echo:hello-from-host",
                           "host -> guest vsock echo")
            s.close()
        except OSError as e:
            vmontest.fail("host -> guest vsock: %r" % e)

        # AVX: where the guest kernel does not keep the upper halves of
        # the YMM registers (noxsave: a PVM host's emulator cannot run
        # xsave) but user mode still sees AVX (a PVM host runs CPUID
        # natively), glibc must not use AVX: vmon's GLIBC_TUNABLES on the
        # command line. Else glibc's 32-byte copies lose their second half
        # (the md5sum line above once did, to 16 NULs).
        out = g.sh("dd if=/dev/vdb of=/tmp/as bs=4096 skip=%d 2>/dev/null; "
                   "chmod +x /tmp/as; /tmp/as" % avx_block, 5) or ""
        print(out.strip().splitlines()[-3:])
        vmontest.check("glibc avx: " in out, "the AVX helper ran: %r" % out)
        if "cpu avx: yes" in out and "ymm kept: no" in out:
            vmontest.check("glibc avx: no" in out,
                           "the guest kernel loses YMM state between processes "
                           "and glibc does not use AVX: %r" % out)

        # Balloon: the boot's inflation to the 32 MiB target gave resident
        # pages back to the host (nothing else in this VM drops guest RAM
        # from vmon's RSS: no free page reporting, no swap).
        target = "virtio-balloon: the guest reached the balloon target of 32 MiB"
        vmontest.check(g.err.count(target) == 1,
                       "the guest inflated the balloon to its 32 MiB target")
        ram_now = vmontest.ram_rss(g.p.pid, MEM)
        print("guest RAM resident: %.1f MiB at start, %.1f MiB after the inflation" %
              (ram_start / 2**20, ram_now / 2**20))
        vmontest.check(ram_start - ram_now >= 32 << 20,
                       "inflating the balloon by 32 MiB lowered vmon's RSS by %.1f MiB" %
                       ((ram_start - ram_now) / 2**20))
        # Unbinding the driver deflates; binding it again inflates again.
        out = g.sh("cd /sys/bus/virtio/drivers/virtio_balloon; for d in virtio*; do "
                   "echo $d > /tmp/bdev; echo $d > unbind; done; cd /; "
                   "grep MemFree /proc/meminfo", 5, "unbind the balloon driver") or ""
        vmontest.check("MemFree:" in out, "balloon driver unbound: %r" % out.strip())
        g.sh("read -r d < /tmp/bdev; echo $d > /sys/bus/virtio/drivers/virtio_balloon/bind",
             5, "bind the balloon driver again")
        vmontest.check(g.follow_err(target, 2, "second inflation to the target", 10),
                       "rebinding the driver inflates the balloon to its target again")
        out = g.sh("ls /sys/bus/virtio/drivers/virtio_balloon/") or ""
        vmontest.check("virtio" in out.replace("virtio_balloon", ""),
                       "the balloon driver is bound again")

        g.send("reboot -f\n")
        code = g.wait(120)
        vmontest.check(code == 0, "guest rebooted: vmon exit 0, got %r" % code)
        vmontest.check("needs reset" not in g.err, "no device was put in NEEDS_RESET")
    finally:
        if g and g.p.poll() is None:
            g.p.kill()
            g.p.communicate()
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)
        for f in glob.glob(os.path.join(tmp, "*")):
            os.unlink(f)
        os.rmdir(tmp)
    vmontest.finish()


if __name__ == "__main__":
    main()
