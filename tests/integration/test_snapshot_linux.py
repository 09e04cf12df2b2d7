# SPDX-License-Identifier: GPL-2.0-only
"""Snapshot and restore of the default Linux guest with every device kind
(docs/snapshot.md), one Linux boot in all.

The source is `vmon run --api-sock`, configured over the API: the default
guest, 1 vCPU, its shell on the serial console (stdio), a data disk, a
read-only disk with the vsock helper (tests/integration/guest/vsock_echo.c),
a tap (in a network namespace of the test's own, link-local addresses),
vsock, a balloon (32 MiB target, statistics every second) and an entropy
device. Once the shell answers, the guest:
- writes a file to a tmpfs (guest RAM only);
- makes an ext2 file system on the data disk, writes a file to it and
  unmounts it;
- configures eth0, and starts two vsock listeners: port 6000 (left
  waiting for a connection) and port 6001, to which the host connects and
  then stays silent, so that the guest reads from a live connection when
  the snapshot is taken.
`vmon snapshot` pauses it and writes the snapshot; the source is stopped.

Restore A (`vmon run --restore DIR --resume`, the same tap, its own vsock
socket through --override vsock=) checks: the shell answers; the tmpfs
file is there; the connection on port 6001 was reset (vmon sends
VIRTIO_VSOCK_EVENT_TRANSPORT_RESET; Linux's driver resets every connected
socket, the listener's read fails and it exits 1); the page cache dropped,
the disk mounts and the file reads back with its MD5; /dev/hwrng gives
bytes; a TCP round trip over the tap; new vsock connections both ways
(host -> the guest's port 6000 listener, which survives the reset, and
guest -> host); the balloon follows a new target (PATCH /balloon).
Then a clone B from the same snapshot while A runs, in a second namespace,
with its own tap (--override net:), vsock socket and disk copy
(--override drive:): the same checks but the balloon's; A still answers
after B is up, and neither disk sees the other's writes. Both are rebooted
from their shells and exit 0.
Needs root (network namespaces) and the default guest (scripts/build-guest).
Every wait follows the guest's progress (vmontest.Interactive.follow): the
boot sets the pace, each step's budget scales with it.
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmontest  # noqa: E402
from vmontest import check  # noqa: E402
import vmon_api  # noqa: E402

PID = os.getpid()
VSOCK_ECHO = os.path.join(vmontest.BUILD_ROOT, "tests", "vsock_echo")
HOST_IP, GUEST_IP = "169.254.79.1", "169.254.79.2"
HOST_MAC, GUEST_MAC = "02:00:00:00:01:01", "02:00:00:00:01:02"
CID = 42
# What the guest writes to its disk (the host computes the same MD5).
DISK_LINES = 4096
DISK_TEXT = (b"snapshot-linux-%d\n" % PID) * DISK_LINES
RAM_TEXT = "in-guest-ram-%d" % PID


def ns_run(ns, *cmd):
    r = subprocess.run(["ip", "netns", "exec", ns] + list(cmd),
                       capture_output=True, text=True, timeout=30)
    return check(r.returncode == 0, "%s: %s %s" % (ns, " ".join(cmd),
                                                   r.stderr.strip()))


def make_ns(ns, tap):
    """A network namespace holding tap @tap with the host's address (and
    the same MAC in every namespace: a clone's ARP cache stays right)."""
    subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    r = subprocess.run(["ip", "netns", "add", ns], capture_output=True,
                       text=True)
    if not check(r.returncode == 0, "network namespace %s (needs root) %s"
                 % (ns, r.stderr)):
        return False
    return (ns_run(ns, "ip", "link", "set", "lo", "up") and
            ns_run(ns, "ip", "tuntap", "add", "dev", tap, "mode", "tap") and
            ns_run(ns, "ip", "link", "set", tap, "address", HOST_MAC) and
            ns_run(ns, "ip", "addr", "add", HOST_IP + "/24", "dev", tap) and
            ns_run(ns, "ip", "link", "set", tap, "up"))


def devices(tmp):
    """The source's devices (API requests): disks, tap, vsock, balloon, rng."""
    return [("PUT", "/drives/data", {"drive_id": "data",
                                     "path_on_host": tmp + "/data.img",
                                     "is_root_device": False,
                                     "is_read_only": False}),
            ("PUT", "/drives/tools", {"drive_id": "tools",
                                      "path_on_host": tmp + "/tools.img",
                                      "is_root_device": False,
                                      "is_read_only": True}),
            ("PUT", "/network-interfaces/eth0",
             {"iface_id": "eth0", "host_dev_name": "vmtap0",
              "guest_mac": GUEST_MAC}),
            ("PUT", "/vsock", {"guest_cid": CID, "uds_path": tmp + "/v0"}),
            ("PUT", "/balloon", {"amount_mib": 32, "deflate_on_oom": False,
                                 "stats_polling_interval_s": 1}),
            ("PUT", "/entropy", {})]


def listen(g, port):
    """Starts the guest's vsock listener on @port in the background; its
    exit code goes to /tmp/rcPORT when it ends."""
    start = len(g.out)
    g.send("(/tmp/ve listen %d; echo $? > /tmp/rc%d) &\n" % (port, port))
    return check(g.follow("vsock listening", "vsock listen %d" % port,
                          idle_s=3, start=start),
                 "the guest listens on vsock port %d" % port)


def vsock_connect(g, uds, port):
    """Connects to the guest's @port through vmon's socket @uds; the
    socket once vmon answered OK, or None."""
    try:
        s, line = vmontest.vsock_connect(uds, port, g.budget(20))
        if check(line.startswith(b"OK "), "CONNECT %d on %s: %r"
                 % (port, uds, line)):
            return s
        s.close()
    except OSError as e:
        vmontest.fail("vsock CONNECT %d on %s: %r" % (port, uds, e))
    return None


def prepare(g):
    """The source guest's state before the snapshot."""
    out = g.sh("mkdir -p /run/r; mount -t tmpfs ram /run/r; "
               "echo %s > /run/r/f; grep /run/r /proc/mounts" % RAM_TEXT, 5,
               "a file on a tmpfs") or ""
    check("ram /run/r tmpfs" in out, "the tmpfs is mounted: %r" % out)
    out = g.sh("mke2fs -q /dev/vda >/dev/null && mount /dev/vda /mnt && "
               "yes snapshot-linux-%d | head -n %d > /mnt/file && umount /mnt"
               " && echo disk-$((40+2))" % (PID, DISK_LINES), 10,
               "an ext2 file system with a file on the data disk") or ""
    check("disk-42" in out, "the guest wrote its disk: %r" % out)
    g.sh("ip addr add %s/24 dev eth0; ip link set eth0 up" % GUEST_IP, 5)
    g.sh("cat /dev/vdb > /tmp/ve; chmod +x /tmp/ve", 5, "copy the vsock helper")
    return listen(g, 6000) and listen(g, 6001)


def check_restored(g, name, ns, uds):
    """What every restored VM must do; @name tells them apart."""
    out = g.sh("echo %s-$((6*7))" % name, 5, "the shell of " + name)
    check(out is not None and "%s-42" % name in out,
          "%s: the shell answers: %r" % (name, out))
    out = g.sh("cat /run/r/f", 5) or ""
    check(RAM_TEXT in out, "%s: the tmpfs file is there: %r" % (name, out))
    # The connection open at the snapshot: the transport reset ends it.
    out = g.sh("i=0; while [ ! -s /tmp/rc6001 ] && [ $i -lt 60 ]; do "
               "sleep 1; i=$((i+1)); done; read rc < /tmp/rc6001 && "
               "echo reset-rc=$rc", 30,
               "the connection on vsock port 6001 ends") or ""
    check("reset-rc=1" in out, "%s: the vsock connection open at the "
          "snapshot was reset (its reader failed): %r" % (name, out))
    want = hashlib.md5(DISK_TEXT).hexdigest()
    out = g.sh("echo 3 > /proc/sys/vm/drop_caches; mount /dev/vda /mnt && "
               "md5sum /mnt/file; ls /mnt", 10, "mount the data disk") or ""
    check(want in out, "%s: the disk mounts, its file's MD5 is %s: %r"
          % (name, want, out))
    out = g.sh("cat /sys/class/misc/hw_random/rng_current; "
               "dd if=/dev/hwrng bs=32 count=1 2>/dev/null | od -An -tx1",
               5) or ""
    check("virtio_rng" in out and
          len([w for w in out.split() if len(w) == 2]) >= 32,
          "%s: 32 bytes from virtio_rng: %r" % (name, out))
    tcp = vmontest.tcp_echo_server(ns, HOST_IP, 7777)
    out = g.sh("echo %s-tcp | nc -w %d %s 7777" % (name, g.budget(3),
                                                 HOST_IP), 5,
               "TCP round trip") or ""
    check("echo:%s-tcp" % name in out, "%s: TCP round trip over the tap: %r"
          % (name, out))
    try:
        tcp.wait(timeout=30)
    except subprocess.TimeoutExpired:
        tcp.kill()
        tcp.wait()
    # New vsock connections after the reset, both ways.
    s = vsock_connect(g, uds, 6000)
    if s:
        try:
            s.sendall(name.encode())
            check(s.recv(100) == b"echo:" + name.encode(),
                  "%s: host -> guest vsock echo on port 6000" % name)
        except OSError as e:
            vmontest.fail("%s: host -> guest vsock: %r" % (name, e))
        s.close()
    got = vmontest.unix_echo_once(uds + "_5000", vmontest.CEILING_S)
    out = g.sh("/tmp/ve connect 2 5000 %s-vsock" % name, 5,
               "guest -> host vsock") or ""
    check("vsock answer: echo:%s-vsock" % name in out and
          got.get("data") == b"%s-vsock" % name.encode(),
          "%s: guest -> host vsock echo via %s_5000: %r" % (name, uds, out))


def restore(tmp, ns, name, overrides, pace):
    sock = os.path.join(tmp, name + ".sock")
    argv = ["ip", "netns", "exec", ns, vmontest.VMON, "run", "-v",
            "--restore", os.path.join(tmp, "snap"), "--resume",
            "--api-sock", sock, "--id", "slx-%s-%d" % (name, PID)]
    for o in overrides:
        argv += ["--override", o]
    g = vmontest.Shell(argv)
    g.pace, g.boot_s = pace, 1.0
    check(vmon_api.wait_socket(sock, g.p, timeout=g.budget(5)),
          "%s: the restored VM's API answers" % name)
    return g, sock


def balloon_follows(g, sock):
    st, b = vmon_api.request(sock, "PATCH", "/balloon", {"amount_mib": 48})
    check(st == 204, "A: PATCH /balloon to 48 MiB: %s %r" % (st, b))
    target = "reached the balloon target of 48 MiB"
    check(g.follow_err(target, 1, "the balloon inflates to 48 MiB", 10),
          "A: the restored guest's balloon driver reaches a new target")
    st, b = vmon_api.request(sock, "GET", "/balloon/statistics")
    check(st == 200 and b and b.get("target_mib") == 48,
          "A: balloon statistics after the restore: %s %r" % (st, b))


def stop(g, name):
    g.send("reboot -f\n")
    code = g.wait(g.budget(30))
    check(code == 0, "%s: the guest reboots, vmon exits 0 (%r): %s"
          % (name, code, g.err[-300:]))
    check("needs reset" not in g.err,
          "%s: no device was put in NEEDS_RESET" % name)


def run(d, tmp, nsa, nsb):
    src_sock = tmp + "/src.sock"
    src = vmontest.Shell(["ip", "netns", "exec", nsa, vmontest.VMON, "run",
                          "-v", "--api-sock", src_sock,
                          "--id", "slx-src-%d" % PID])
    a = b = None
    try:
        if not (vmon_api.boot_linux(src, src_sock, d, devices(tmp)) and
                prepare(src)):
            return
        hold = vsock_connect(src, tmp + "/v0", 6001)
        if not check(hold is not None, "a vsock connection is open"):
            return
        out = src.sh("[ -e /tmp/rc6001 ] || echo reader-$((1+1))", 3) or ""
        check("reader-2" in out, "the guest's end of it waits in read() "
              "at the snapshot: %r" % out)
        check(src.follow_err("reached the balloon target of 32 MiB", 1,
                             "the balloon inflates at boot", 10),
              "the source's balloon reached its 32 MiB target")
        r = vmontest.run(["snapshot", src_sock, tmp + "/snap"],
                         timeout=src.budget(20))
        if not check(r.code == 0, "vmon snapshot: %r" % (r,)):
            return
        src.p.terminate()
        check(src.wait(src.budget(3)) is not None, "the source stops")
        hold.close()
        shutil.copyfile(tmp + "/data.img", tmp + "/data-b.img")

        a, a_sock = restore(tmp, nsa, "A", ["vsock=" + tmp + "/va"],
                            src.pace)
        check_restored(a, "A", nsa, tmp + "/va")
        balloon_follows(a, a_sock)
        a.sh("echo written-by-A > /mnt/a.txt; umount /mnt", 5)

        b, _ = restore(tmp, nsb, "B", ["vsock=" + tmp + "/vb",
                                       "net:eth0=vmtap1",
                                       "drive:data=" + tmp + "/data-b.img"],
                       src.pace)
        check_restored(b, "B", nsb, tmp + "/vb")
        out = b.sh("ls /mnt; umount /mnt", 5) or ""
        check("file" in out and "a.txt" not in out,
              "B: its disk copy has the snapshot's file, not A's: %r" % out)
        out = a.sh("mount /dev/vda /mnt && cat /mnt/a.txt; umount /mnt", 5)
        check(out is not None and "written-by-A" in out,
              "A still answers with B running, its disk has its file: %r"
              % (out,))
        for g, name in ((a, "A"), (b, "B")):
            stop(g, name)
    finally:
        vmontest.stop_all(src, a, b)


def main():
    d = vmontest.linux_guest_dir()
    check(os.path.exists(VSOCK_ECHO), "vsock helper built: " + VSOCK_ECHO)
    # Short: vsock socket paths are at most 95 bytes.
    tmp = tempfile.mkdtemp(prefix="vmon-slx-")
    with open(tmp + "/data.img", "wb") as f:
        f.truncate(8 << 20)
    with open(VSOCK_ECHO, "rb") as src, open(tmp + "/tools.img", "wb") as f:
        f.write(src.read())
        f.truncate((f.tell() + 511) // 512 * 512)
    os.environ["VMON_RUNTIME_DIR"] = tmp + "/run"
    nsa, nsb = "vmon-slxa-%d" % PID, "vmon-slxb-%d" % PID
    try:
        if make_ns(nsa, "vmtap0") and make_ns(nsb, "vmtap1"):
            run(d, tmp, nsa, nsb)
    finally:
        for ns in (nsa, nsb):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    vmontest.finish()


if __name__ == "__main__":
    main()
