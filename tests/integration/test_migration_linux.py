# SPDX-License-Identifier: GPL-2.0-only
"""Live migration of the default Linux guest while it writes to its disk
(docs/migration.md), one Linux boot in all.

Two "hosts": network namespaces A and B joined by a veth pair, each with
a tap (the same host address and MAC on both: the guest's gateway, as
seen from the guest, does not change). The source is `vmon run
--api-sock` in A, configured over the API: the default guest, 1 vCPU, its
shell on the serial console (stdio), a data disk on shared storage (the
destination opens the same path) and a virtio-net device on A's tap.
Once the shell answers, the guest reaches a TCP echo server in A over
virtio-net; then a loop in the guest writes block i of the disk (a
"blk-<i>" line padded to 4 KiB, dd with conv=fsync) and then records i.
The guest is migrated pre-copy with `vmon migrate` (under a bandwidth
limit, so that the copy spans several of the loop's writes) over TCP
across the veth to a `vmon run --incoming tcp:ADDR:PORT --override
net:eth0=TAP` in B, whose own tap replaces A's. Checked on the
destination:
- the shell answers (a command typed there, its output back);
- the guest reaches a TCP echo server in B over virtio-net (only B's tap
  leads there: the source has exited);
- the write loop goes on (its counter passes where it was);
- after it is stopped, the disk is consistent: the guest's MD5 of blocks
  0..n read from the device (page cache dropped first) equals the host's
  MD5 of the image, and equals the MD5 of what the loop wrote.
Every wait follows the guest's progress (vmontest.Interactive.follow):
the boot sets the pace, each step's budget scales with it."""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmontest  # noqa: E402
from vmontest import check  # noqa: E402
import vmon_api  # noqa: E402
import netns  # noqa: E402

PID = os.getpid()
NS_A, NS_B = "vmlx-a-%d" % PID, "vmlx-b-%d" % PID
IP_A, IP_B = "10.214.%d.1" % (PID % 200), "10.214.%d.2" % (PID % 200)
TAP_A, TAP_B = "vmlxa%d" % (PID % 10000), "vmlxb%d" % (PID % 10000)
# Each tap's host side (link-local: nothing leaves the namespace).
HOST_IP, GUEST_IP = "169.254.79.1", "169.254.79.2"
HOST_MAC, GUEST_MAC = "02:00:00:00:79:01", "02:00:00:00:79:02"
BLOCKS = 8192  # 32 MiB of disk: the loop never gets that far
# One fork per block (each costs seconds of emulated kernel work on a busy
# PVM host): the block's line comes from the shell's printf, dd pads it
# with zeros to 4 KiB (conv=sync) and writes it with fsync.
LOOP = ("mkdir -p /tmp; rm -f /tmp/stop /tmp/stopped /tmp/ilog; "
        "echo 0 > /tmp/n; "
        "(i=0; while [ ! -e /tmp/stop ]; do i=$((i+1)); "
        "printf 'blk-%d\\n' $i > /tmp/blk; "
        "dd if=/tmp/blk of=/dev/vda bs=4096 seek=$i conv=sync,fsync "
        "2>/dev/null || break; "
        "echo $i > /tmp/n; echo $i >> /tmp/ilog; done; "
        "echo stopped > /tmp/stopped) >/dev/null 2>&1 & :")
# The loop's own record of every block it wrote, one number a line: after
# the migration it must still count 1, 2, 3... with no step repeated or
# lost (the loop's variable and this file are guest memory that came over).
ILOG = "echo ilog $(cat /tmp/ilog)"


def ilog(g):
    """The loop's record in the guest (a list of ints), or None."""
    out = g.sh(ILOG, 3, "the loop's record") or ""
    m = re.search(r"^ilog ([0-9 ]*)\r?$", out, re.M)
    return [int(x) for x in m.group(1).split()] if m else None
# Waits in the guest until the loop has written @k more blocks; prints
# the counter before and after. The counter is read with cat, in one
# read(): busybox's `read` takes a byte at a time, and racing the loop's
# rewrite of /tmp/n (truncate, then write) it once gave "1" for "19" (CI:
# "the write loop goes on on the destination: (1, 21) after (2, 8)"; on
# the host, 46 of 20,000 such reads gave a prefix). A read just after the
# truncation finds the file empty: the first value is read again until
# there is one, as 0 would look like a counter gone back; later, the last
# value read stands.
PROGRESS = ("a=; while [ -z \"$a\" ]; do a=$(cat /tmp/n); done; b=$a; "
            "while [ $b -lt $((a+%d)) ]; "
            "do sleep 3; b=$(cat /tmp/n); b=${b:-$a}; done; "
            "echo progress $a $b")


def block(i):
    line = b"blk-%d\n" % i
    return line + bytes(4096 - len(line))


def progress(g, k, where):
    """Waits for the loop to write @k more blocks: (before, after) or None."""
    out = g.sh(PROGRESS % k, 5 * k, "the write loop progresses " + where) or ""
    m = re.search(r"^progress (\d+) (\d+)\r?$", out, re.M)
    return (int(m.group(1)), int(m.group(2))) if m else None


def tcp_round_trip(g, ns, word):
    """The guest sends @word to a TCP echo server in namespace @ns over
    virtio-net; True if the echo came back and the server got it."""
    tcp = vmontest.tcp_echo_server(ns, HOST_IP, 7777)
    # nc's -w is its connect and final-read timeout: give it the pace too.
    out = g.sh("echo %s | nc -w %d %s 7777" % (word, g.budget(3), HOST_IP),
               5, "TCP round trip in " + ns) or ""
    ok = check("echo:" + word in out,
               "TCP round trip over %s's tap: %r" % (ns, out))
    try:
        served = tcp.communicate(timeout=g.budget(3))[0]
    except subprocess.TimeoutExpired:
        tcp.kill()
        served = tcp.communicate()[0]
    return check("served b'%s\\n'" % word in served,
                 "the TCP server in %s got the guest's line: %r"
                 % (ns, served)) and ok


def migrate(src, dst, env, ident, url, log):
    """vmon migrate, pre-copy, while the guest writes; True once the
    destination runs the guest and the source is gone."""
    with open(log, "w") as f:
        r = subprocess.Popen(["ip", "netns", "exec", NS_A,
                              vmontest.VMON, "migrate", ident, url,
                              "--bandwidth", "16M"], env=env,
                             stdout=f, stderr=f)
    # The source runs the guest (and prints its console) until the end:
    # the wait follows the source's progress.
    code = src.follow_exit("the source migrates and exits")
    try:
        r.wait(timeout=src.budget(10))
    except subprocess.TimeoutExpired:
        r.kill()
        r.wait()
    with open(log) as f:
        err = f.read()
    for line in err.strip().split("\n"):
        # The summary, and what the check against the dirty log found.
        if "migrated in" in line or "did not report" in line:
            print(line.split("\r")[-1], flush=True)
    ok = check(r.returncode == 0 and "downtime" in err,
               "vmon migrate: exit 0 with the downtime (%r, %r)"
               % (r.returncode, err[-400:]))
    return check(code == 0, "the source exits 0 once migrated (%r): %s"
                 % (code, src.err[-400:])) and ok and dst.p.poll() is None


def check_disk(g, disk, n_mig):
    out = g.sh("touch /tmp/stop; while [ ! -e /tmp/stopped ]; do sleep 1; "
               "done; read n < /tmp/n; echo 3 > /proc/sys/vm/drop_caches; "
               "echo n=$n; dd if=/dev/vda bs=4096 count=$((n+1)) 2>/dev/null"
               " | md5sum", 10, "stop the loop, checksum the disk") or ""
    n = re.search(r"^n=(\d+)\r?$", out, re.M)
    sums = re.findall(r"^([0-9a-f]{32})\s", out, re.M)
    if not check(n and sums, "the guest's count and MD5: %r" % out):
        return
    n = int(n.group(1))
    check(n > n_mig, "the loop wrote on after the migration (%d > %d)"
          % (n, n_mig))
    with open(disk, "rb") as f:
        host = hashlib.md5(f.read((n + 1) * 4096)).hexdigest()
    want = hashlib.md5(bytes(4096) + b"".join(block(i)
                                              for i in range(1, n + 1)))
    check(sums[0] == host, "the guest's MD5 of blocks 0..%d is the host's "
          "read of the image (%s, %s)" % (n, sums[0], host))
    check(host == want.hexdigest(), "and the image holds what the loop "
          "wrote, every block 1..%d in place" % n)


def run(d, tmp, env):
    disk = os.path.join(tmp, "data.img")
    with open(disk, "wb") as f:
        f.truncate(BLOCKS * 4096)
    src_id, dst_id = "mlx-src-%d" % PID, "mlx-dst-%d" % PID
    url = "tcp:%s:%d" % (IP_B, 40000 + PID % 20000)
    src_sock, dst_sock = (os.path.join(tmp, n) for n in ("src.sock", "dst.sock"))
    src = vmontest.Shell(["ip", "netns", "exec", NS_A, vmontest.VMON, "run",
                          "--api-sock", src_sock, "--id", src_id], env=env)
    dst = None
    try:
        data = ("PUT", "/drives/data", {"drive_id": "data",
                                        "path_on_host": disk,
                                        "is_root_device": False,
                                        "is_read_only": False})
        net = ("PUT", "/network-interfaces/eth0", {"iface_id": "eth0",
                                                   "host_dev_name": TAP_A,
                                                   "guest_mac": GUEST_MAC})
        if not vmon_api.boot_linux(src, src_sock, d, [data, net]):
            return
        src.sh("ip addr add %s/24 dev eth0; ip link set eth0 up" % GUEST_IP,
               3, "configure eth0")
        if not tcp_round_trip(src, NS_A, "hello-from-a"):
            return
        src.sh(LOOP, 5, "start the write loop")
        p = progress(src, 1, "on the source")
        if not check(p is not None, "the write loop runs on the source"):
            return
        dst = vmontest.Shell(["ip", "netns", "exec", NS_B, vmontest.VMON,
                              "run", "--incoming", url, "--override",
                              "net:eth0=" + TAP_B, "--api-sock", dst_sock,
                              "--id", dst_id], env=env)
        if not check(vmon_api.wait_socket(dst_sock, dst.p),
                     "the destination's API answers"):
            return
        dst.pace, dst.boot_s = src.pace, src.boot_s
        if not migrate(src, dst, env, src_id, url,
                       os.path.join(tmp, "migrate.log")):
            return
        out = dst.sh("echo on-dst-$((6*7))", 5, "the shell on the destination")
        check(out is not None and "on-dst-42" in out,
              "the shell answers on the destination: %r" % (out,))
        st, info = vmon_api.request(dst_sock, "GET", "/")
        check(info and info.get("state") == "Running",
              "the destination runs the guest: %r" % (info,))
        tcp_round_trip(dst, NS_B, "hello-from-b")
        q = progress(dst, 2, "on the destination")
        rec = ilog(dst)
        check(rec is not None and len(rec) >= p[1] and
              rec == list(range(1, len(rec) + 1)),
              "the loop's record runs 1..N without a step repeated or lost "
              "across the migration: %s" % (rec if rec is None or
                                            len(rec) < 80 else rec[-80:]))
        if not check(q is not None and q[0] >= p[1],
                     "the write loop goes on on the destination: %r after %r"
                     % (q, p)):
            return
        check_disk(dst, disk, q[0])
    finally:
        vmontest.stop_all(src, dst)


def main():
    d = vmontest.linux_guest_dir()
    tmp = tempfile.mkdtemp(prefix="vmon-miglinux-")
    env = dict(os.environ, VMON_RUNTIME_DIR=os.path.join(tmp, "run"))
    try:
        if check(netns.pair_up(NS_A, NS_B, IP_A, IP_B, PID % 10000),
                 "two network namespaces joined by a veth pair (needs root)")\
                and check(netns.tap_up(NS_A, TAP_A, HOST_IP, HOST_MAC) and
                          netns.tap_up(NS_B, TAP_B, HOST_IP, HOST_MAC),
                          "a tap in each namespace"):
            run(d, tmp, env)
    finally:
        netns.down(NS_A, NS_B)
        shutil.rmtree(tmp, ignore_errors=True)
    vmontest.finish()


main()
