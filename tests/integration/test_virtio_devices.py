# SPDX-License-Identifier: GPL-2.0-only
"""Virtio devices on real KVM, driven by a guest program (no Linux boot).

guest/probes/virtio_probe.c is a guest program with the runtime's polling
virtio-mmio driver, booted through the 64-bit Linux entry. It finds the
devices from the virtio_mmio.device= entries vmon put on its command line;
notifications reach vmon through KVM ioeventfds. Checked here:
- virtio-blk: the guest reads the pattern the host wrote into sectors 0-7
  and the serial; it writes sectors 8-15, which the host then reads back;
  a flush that fails on the host (injected: VMON_TEST_FLUSH_FAIL) fails
  the guest's write-through write and its later flush request, and vmon
  names the disk once;
- virtio-rng: 64 random bytes;
- virtio-console (--console virtio): hvc0 output on stdout, stdin as input;
- virtio-vsock: echo both ways through the Unix sockets (Firecracker's
  "CONNECT <port>" / PATH_<port> convention);
- virtio-balloon: inflating 32 MiB lowers the resident memory of vmon's
  guest RAM by at least 32 MiB,
  reporting 8 MiB free by at least 8 MiB; statistics reach vmon;
- virtio-net: a UDP round trip with an echo server over a tap inside a
  network namespace of its own (needs root), and a tap vmon creates;
- a hostile ring (a buffer in the MMIO hole) puts the device in
  DEVICE_NEEDS_RESET with a config interrupt, vmon logs it once and keeps
  running, and a reset recovers the device;
- --disk option errors.
"""
import os
import re
import select
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmontest  # noqa: E402

PROBE = os.path.join(vmontest.BUILD_ROOT, "guest", "virtio_probe.elf")
SECTOR = 512


def host_pattern(n):
    return bytes((s * 7 + i + 1) & 0xff for s in range(n) for i in range(SECTOR))


def guest_pattern(first, n):
    return bytes(((((s * 13) + i) & 0xff) ^ 0x5a)
                 for s in range(first, first + n) for i in range(SECTOR))


NET_SERVER = r"""
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("169.254.77.1", 7777))
s.settimeout(60)
print("listening", flush=True)
d, a = s.recvfrom(2048)
s.sendto(b"pong:" + d, a)
print("answered %r from %s:%d" % (d, a[0], a[1]), flush=True)
"""


def ns(name, *cmd):
    return subprocess.run(["ip", "netns", "exec", name] + list(cmd),
                          capture_output=True, text=True, timeout=30)


def run_in_ns(name, args, timeout):
    """vmontest.run(), but vmon runs inside network namespace @name."""
    t0 = time.monotonic()
    p = subprocess.Popen(["ip", "netns", "exec", name, vmontest.VMON] + list(args),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    timed_out = False
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        p.kill()
        out, err = p.communicate()
    return vmontest.Result(p.returncode, out.decode(errors="replace"),
                           err.decode(errors="replace"), time.monotonic() - t0,
                           timed_out)


def test_net():
    """UDP round trip over a tap inside a private network namespace.

    The namespace holds only the tap (169.254.77.1/24, link-local) with a
    static neighbour entry for the guest: no traffic can leave it.
    """
    name = "vmon-virtio-%d" % os.getpid()
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    r = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if not vmontest.check(r.returncode == 0, "network namespace (needs root): %s" % r.stderr.strip()):
        return
    try:
        for cmd in (["ip", "link", "set", "lo", "up"],
                    ["ip", "tuntap", "add", "dev", "vmtap0", "mode", "tap"],
                    ["ip", "link", "set", "vmtap0", "address", "02:00:00:00:00:01"],
                    ["ip", "addr", "add", "169.254.77.1/24", "dev", "vmtap0"],
                    ["ip", "link", "set", "vmtap0", "up"],
                    ["ip", "neigh", "add", "169.254.77.2", "lladdr",
                     "02:00:00:00:00:02", "dev", "vmtap0", "nud", "permanent"]):
            r = ns(name, *cmd)
            vmontest.check(r.returncode == 0, " ".join(cmd) + " " + r.stderr.strip())
        server = subprocess.Popen(["ip", "netns", "exec", name, sys.executable,
                                   "-c", NET_SERVER], stdout=subprocess.PIPE, text=True)
        vmontest.check(server.stdout.readline().strip() == "listening", "UDP echo server up")
        r = run_in_ns(name, ["run", "-k", PROBE, "-m", "64M",
                             "--net", "tap=vmtap0,mac=02:00:00:00:00:02"], timeout=90)
        out, _ = server.communicate(timeout=30)
        vmontest.check(not r.timed_out and r.code == 1,
                       "net probe passes: exit 1, got %r" % r.code)
        vmontest.check("ok: net: MAC from the command line" in r.out, "MAC in config space")
        vmontest.check("answered b'vmon-net-ping' from 169.254.77.2:7000" in out,
                       "the host received the guest's datagram")
        vmontest.check("ok: net: UDP answer from the host received" in r.out,
                       "the guest received the host's answer")

        # A tap that does not exist is created (root may), and goes away.
        r = run_in_ns(name, ["run", "-v", "-k", PROBE, "-m", "64M", "--net", "tap=vmnew0",
                             "--rng", "--append", "probe.nonet"], timeout=60)
        vmontest.check(r.code == 1 and "created tap vmnew0" in r.err,
                       "a missing tap is created: %r" % r.code)
        vmontest.check(ns(name, "ip", "link", "show", "vmnew0").returncode != 0,
                       "the tap vmon created is gone after exit")
        r = vmontest.run(["run", "-k", PROBE, "--net", "tap=vmtap0,mac=01:00:00:00:00:01"],
                         timeout=30)
        vmontest.check(r.code == 2 and "bad option 'mac=01" in r.err,
                       "multicast MAC refused: exit 2")
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def test_vsock(tmp):
    """Echo both ways over virtio-vsock, with Firecracker's conventions."""
    path = os.path.join(tmp, "v.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path + "_5000")
    srv.listen(1)
    srv.settimeout(60)
    p = subprocess.Popen([vmontest.VMON, "run", "-k", PROBE, "-m", "64M",
                          "--vsock", "cid=42,uds=" + path],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = b""
    try:
        conn, _ = srv.accept()
        conn.settimeout(30)
        data = conn.recv(100)
        vmontest.check(data == b"hello-from-guest",
                       "guest connection to port 5000 reaches %s_5000" % path)
        conn.sendall(b"echo:" + data)
        deadline = time.monotonic() + 60
        while b"vsock: waiting for host" not in out and time.monotonic() < deadline:
            r, _, _ = select.select([p.stdout], [], [], 1)
            if r:
                chunk = os.read(p.stdout.fileno(), 4096)
                if not chunk:
                    break
                out += chunk
        s, line = vmontest.vsock_connect(path, 6000, 30)
        vmontest.check(line.startswith(b"OK ") and int(line[3:]) >= 1 << 30,
                       "CONNECT 6000 answered with OK <host port>: %r" % line)
        s.sendall(b"hello-from-host")
        vmontest.check(s.recv(100) == b"echo:hello-from-host",
                       "host connection to guest port 6000: echo back")
        s.close()
        conn.close()
        rest, err = p.communicate(timeout=60)
        out += rest
        vmontest.check(p.returncode == 1, "vsock probe passes: exit 1, got %r" % p.returncode)
        for what in ("echo from the host", "host closed the connection",
                     "guest CID 42 in config space"):
            vmontest.check(b"ok: vsock: " + what.encode() in out, what)
        vmontest.check(not os.path.exists(path), "the listening socket is removed at exit")
    except (OSError, subprocess.TimeoutExpired) as e:
        vmontest.fail("vsock: %r; output so far: %r" % (e, out[-2000:]))
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
        srv.close()
    r = vmontest.run(["run", "-k", PROBE, "--vsock", "cid=2,uds=" + path], timeout=30)
    vmontest.check(r.code == 2 and "cid=2" in r.err, "reserved CID refused: exit 2")
    r = vmontest.run(["run", "-k", PROBE, "--vsock", "cid=5"], timeout=30)
    vmontest.check(r.code == 2, "--vsock without uds=: exit 2")


def test_balloon():
    """Inflation and free page reporting really return memory to the host.

    The guest touches 32 MiB, then inflates the balloon by exactly those
    pages: the resident memory of vmon's guest-RAM mapping must drop by at
    least 32 MiB. Then it touches 8 MiB more and reports them free: it
    must drop by at least 8 MiB again. (The mapping's, not the process's
    RSS, which a thread's stack or an allocation may grow meanwhile.)
    """
    # Not -vv here: debug logging allocates, which would blur the numbers.
    v = vmontest.Interactive(["run", "-k", PROBE, "-m", "64M",
                              "--balloon", "32M,reporting,stats=1"])
    sizes = {}
    for stage in ("touched\n", "inflated", "touched again", "reported"):
        if not vmontest.check(v.expect("balloon: " + stage, 60), "guest: " + stage.strip()):
            break
        time.sleep(0.2)
        sizes[stage.strip()] = vmontest.ram_rss(v.p.pid, 64 << 20)
        v.send("g")
    code = v.wait(60)
    vmontest.check(code == 1, "balloon probe passes: exit 1, got %r" % code)
    if len(sizes) == 4:
        inflated = sizes["touched"] - sizes["inflated"]
        reported = sizes["touched again"] - sizes["reported"]
        print("RSS: %s" % ", ".join("%s %.1f MiB" % (k, x / 2**20) for k, x in sizes.items()))
        vmontest.check(inflated >= 32 << 20,
                       "inflating 32 MiB lowers guest RAM's RSS by %d KiB"
                       % (inflated >> 10))
        vmontest.check(reported >= 8 << 20,
                       "reporting 8 MiB free lowers guest RAM's RSS by %.1f MiB"
                       % (reported / 2**20))
    for what in ("returned pages read as zero", "deflated page usable",
                 "target of 32 MiB (8192 pages)", "actual reads back"):
        vmontest.check("ok: balloon: " + what in v.text(), what)
    r = vmontest.run(["run", "-vv", "-k", PROBE, "-m", "64M", "--balloon",
                      "32M,reporting,stats=1"], timeout=60, stdin_data=b"gggg")
    vmontest.check(r.code == 1 and
                   "statistics update 1: free 50565120, total 62914560" in r.err,
                   "the guest's statistics reach vmon")
    r = vmontest.run(["run", "-k", PROBE, "-m", "64M", "--balloon", "128M"], timeout=30)
    vmontest.check(r.code == 2 and "--balloon" in r.err, "balloon larger than RAM: exit 2")
    r = vmontest.run(["run", "-k", PROBE, "--balloon", "16M,wobble"], timeout=30)
    vmontest.check(r.code == 2, "unknown --balloon option: exit 2")


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

        # A failed flush (injected: test builds) reaches the guest as an
        # I/O error, named once on stderr with the disk. The probe does not
        # negotiate VIRTIO_BLK_F_FLUSH, so its write is write-through and
        # its flush is the first one, which fails; its own flush request
        # later fails too, though the host's fdatasync then succeeds.
        env = dict(os.environ, VMON_TEST_FLUSH_FAIL="1")
        r = vmontest.run(["run", "-k", PROBE, "-m", "64M",
                          "--disk", disk + ",serial=vmon-probe-disk",
                          "--append", "probe.serial=vmon-probe-disk"],
                         timeout=60, env=env)
        vmontest.check(not r.timed_out and "FAIL: blk: write request" in r.out and
                       "FAIL: blk: flush request" in r.out and
                       len(re.findall(r"disk \S*disk\.img: a flush failed", r.err)) == 1,
                       "a failed flush: the write-through write and every later "
                       "flush fail in the guest, stderr names the disk once\n%s" % r)

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
        test_vsock(tmp)
    test_balloon()
    test_net()
    vmontest.finish()


if __name__ == "__main__":
    main()
