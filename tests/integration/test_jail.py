# SPDX-License-Identifier: GPL-2.0-only
"""The jail (docs/jail.md): `vmon jail` / `vmon-jailer` with Firecracker's
jailer options, run as root.

- A jailed vmon boots guest/probes/virtio_probe.elf with a disk (a hard
  link) and a second one (a bind mount: /dev/shm is another file system),
  an entropy device and a network interface on a tap in the network
  namespace given with --netns, inside a cgroup (pids.max, memory limit)
  and resource limits.
- A jailed vmon in API mode, looked at from outside: its uid and gid,
  CapEff 0, an empty bounding set, NoNewPrivs 1, Seccomp 2 on every
  thread; its root is the chroot and its mount namespace holds nothing
  else; a process that enters its mount namespace as its uid sees only
  the files the jail put there and cannot write to any of them nor leave
  the root; the API socket under the chroot answers from outside and
  boots a guest.
- A memory limit below the guest's RAM: the kernel ends vmon (SIGKILL),
  the host goes on; pids.max 2: vmon cannot start its threads and exits
  with an error.
- --new-pid-ns --daemonize: the jailer returns at once, the pid file
  names vmon, which is init of its PID namespace and stops through its
  socket.
- an exec file another user may write is copied into the jail, not
  hard-linked; vmon-jailer (the same program by that name) and option
  errors.
Every test removes its chroot and cgroups.

`test_jail.py host` (meson test integration/jail_host) runs the parts that
need no /dev/kvm, so they hold on any host: the option errors, the copied
exec file, the refused symbolic link, and the jail seen from inside by
tests/integration/jail_probe.c run as the exec file (as Firecracker's
jailer runs any program): its arguments, ids, no capabilities,
no_new_privs, the files in its root and their owners, no way out of the
root, its resource limits and pids.max, a memory limit (the kernel kills
the probe when it touches more), PID 1 of a new PID namespace;
and --cgroup-version 2 with whichever controller the unified hierarchy
offers (pids, memory, or hugetlb where the others are on version 1): the
probe runs in <parent>/<id> there, the value written, the controller
enabled down the path (the root's subtree_control is put back after).
The plain run needs KVM and runs the rest.
"""
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time

import vmontest
from vmontest import check
import vmon_api

GUEST = os.path.join(vmontest.BUILD_ROOT, "guest")
PROBE = os.path.join(GUEST, "virtio_probe.elf")
COUNTER = os.path.join(GUEST, "api_counter.elf")
VMON = os.path.abspath(vmontest.VMON)
NAME = os.path.basename(VMON)
UID = GID = 60000 + os.getpid() % 5000
PARENT = "vmon-jail-test-%d" % os.getpid()
SECTOR = 512
JAIL_PROBE = os.path.join(vmontest.BUILD_ROOT, "tests", "jail_probe")
HOST_PART = vmontest.HOST_PART

if not HOST_PART:
    vmontest.require_kvm()
if os.geteuid() != 0:
    vmontest.fail("the jail test needs root (namespaces, cgroups, mknod)")
    vmontest.finish()
BASE = tempfile.mkdtemp(prefix="vmon-jail-")
SHM = tempfile.mkdtemp(prefix="vmon-jail-", dir="/dev/shm")


def root_of(jid):
    return os.path.join(BASE, NAME, jid, "root")


def jail_args(jid, vmm, extra=()):
    return [VMON, "jail", "--id", jid, "--exec-file", VMON,
            "--uid", str(UID), "--gid", str(GID),
            "--chroot-base-dir", BASE] + list(extra) + ["--"] + list(vmm)


def cgroups():
    """(version, {controller: mount}) for memory and pids: the unified
    hierarchy if it has both controllers, else the version 1 mounts."""
    with open("/proc/mounts") as f:
        mounts = [line.split() for line in f]
    for m in mounts:
        if m[2] == "cgroup2":
            with open(os.path.join(m[1], "cgroup.controllers")) as f:
                if {"memory", "pids"} <= set(f.read().split()):
                    return 2, {"memory": m[1], "pids": m[1]}
    v1 = {}
    for m in mounts:
        for c in m[3].split(",") if m[2] == "cgroup" else ():
            if c in ("memory", "pids"):
                v1[c] = m[1]
    return 1, v1


CG_VERSION, CG_MOUNTS = cgroups()


def cg_dir(ctl, jid):
    return os.path.join(CG_MOUNTS[ctl], PARENT, jid)


def cg_read(ctl, jid, name):
    """{key: int} of a flat-keyed cgroup file of jail @jid."""
    out = {}
    with open(os.path.join(cg_dir(ctl, jid), name)) as f:
        for line in f:
            k, _, v = line.strip().partition(" ")
            out[k] = int(v) if v.isdigit() else v
    return out


def cg_opts(memory=None, pids=None):
    """The --cgroup options of a memory limit and a pids.max."""
    opts = ["--cgroup-version", str(CG_VERSION), "--parent-cgroup", PARENT]
    if memory is not None:
        if CG_VERSION == 2:
            opts += ["--cgroup", "memory.max=%d" % memory,
                     "--cgroup", "memory.swap.max=0"]
        else:
            opts += ["--cgroup", "memory.limit_in_bytes=%d" % memory]
            if os.path.exists(os.path.join(CG_MOUNTS["memory"],
                                           "memory.memsw.limit_in_bytes")):
                opts += ["--cgroup", "memory.memsw.limit_in_bytes=%d" % memory]
    if pids is not None:
        opts += ["--cgroup", "pids.max=%d" % pids]
    return opts


def cleanup(jid, exec_name=NAME):
    """The chroot and the cgroups of jail @jid (its processes gone)."""
    shutil.rmtree(os.path.join(BASE, exec_name, jid), ignore_errors=True)
    for mnt in set(CG_MOUNTS.values()):
        for d in (os.path.join(mnt, PARENT, jid), os.path.join(mnt, PARENT)):
            try:
                os.rmdir(d)
            except FileNotFoundError:
                pass
            except OSError as e:
                vmontest.fail("cgroup %s not removable: %s" % (d, e))


def run(args, timeout=90):
    t0 = time.monotonic()
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        timed_out = True
    return vmontest.Result(p.returncode, out.decode(errors="replace"),
                           err.decode(errors="replace"),
                           time.monotonic() - t0, timed_out)


def status(pid, tid=None):
    path = "/proc/%d/task/%s/status" % (pid, tid) if tid else \
        "/proc/%d/status" % pid
    with open(path) as f:
        return {k: v.strip() for k, _, v in (line.partition(":") for line in f)}


def make_file(path, data, size):
    with open(path, "wb") as f:
        f.write(data)
        f.truncate(size)
    os.chown(path, UID, GID)


def test_boot():
    """The probe with two disks, rng and net, jailed in a netns."""
    jid = "boot-%d" % os.getpid()
    ns = "vmon-jail-%d" % os.getpid()
    pattern = bytes((s * 7 + i + 1) & 0xff for s in range(8) for i in range(SECTOR))
    disk = os.path.join(BASE, "disk-%d.img" % os.getpid())
    disk2 = os.path.join(SHM, "shm.img")
    make_file(disk, pattern, 1 << 20)
    make_file(disk2, pattern, 1 << 20)
    subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    r = subprocess.run(["ip", "netns", "add", ns], capture_output=True, text=True)
    check(r.returncode == 0, "network namespace %s: %s" % (ns, r.stderr.strip()))
    r = subprocess.run(["ip", "netns", "exec", ns, "ip", "tuntap", "add", "dev",
                        "vmjail0", "mode", "tap", "user", str(UID), "group",
                        str(GID)], capture_output=True, text=True)
    check(r.returncode == 0, "a tap owned by the jail's uid: %s" % r.stderr.strip())
    try:
        r = run(jail_args(jid, ["-k", "/virtio_probe.elf", "-m", "64M",
                                "--disk", "/" + os.path.basename(disk)
                                + ",serial=jailed",
                                "--disk", "/shm.img,serial=jailed", "--rng",
                                "--net", "tap=vmjail0",
                                "--append", "probe.serial=jailed probe.nonet"],
                          ["--link", PROBE, "--link", disk, "--link", disk2,
                           "--netns", "/var/run/netns/" + ns,
                           "--resource-limit", "no-file=256",
                           "--resource-limit", "fsize=%d" % (4 << 20)]
                          + cg_opts(memory=512 << 20, pids=64)))
        check(not r.timed_out and r.code == 1,
              "jailed probe passes: exit 1 (debug-exit 0), got %r\n%s"
              % (r.code, r.err[-2000:]))
        # The jail's root has no /sys: the jailer tells vmon the backend.
        check(("KVM uses the PVM backend" in r.err) == vmontest.PVM_HOST,
              "jailed vmon knows the host's KVM backend (PVM host: %s): %s"
              % (vmontest.PVM_HOST, r.err[:300]))
        for what in ("blk: read the host's pattern", "blk: serial matches",
                     "blk: write request", "rng: bytes look random"):
            check("ok: " + what in r.out, "jailed: " + what)
        check("net: skipped" in r.out and "FAIL" not in r.out,
              "jailed: the tap in --netns opened, no failed guest check")
        with open(disk, "rb") as f:
            f.seek(8 * SECTOR)
            check(f.read(8 * SECTOR) != bytes(8 * SECTOR),
                  "the hard-linked disk holds the guest's writes")
        root = root_of(jid)
        check(os.stat(os.path.join(root, os.path.basename(disk))).st_ino
              == os.stat(disk).st_ino, "--link on one file system: a hard link")
        check(os.stat(os.path.join(root, "shm.img")).st_size == 0 and
              r.out.count("ok: blk: read the host's pattern") == 2,
              "--link from another file system: a bind mount in the jail only")
        st = os.stat(os.path.join(root, "dev", "kvm"))
        check(st.st_rdev == os.stat("/dev/kvm").st_rdev and st.st_uid == UID
              and st.st_mode & 0o777 == 0o600, "/dev/kvm node: the uid's, 0600")
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        os.unlink(disk)
        cleanup(jid)


def files_under(root):
    out = set()
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            out.add(os.path.relpath(os.path.join(d, n), root))
    return out


ESCAPE = r"""
import ctypes, errno, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open("/proc/%d/ns/mnt" % int(sys.argv[1]), os.O_RDONLY)
if libc.setns(fd, 0x00020000):
    print(json.dumps({"setns": ctypes.get_errno()})); sys.exit(0)
os.setgroups([]); os.setgid(int(sys.argv[2])); os.setuid(int(sys.argv[2]))
res = {"ls": sorted(os.listdir("/")), "cwd": os.getcwd()}
for p in ("/vmon", "/lib64/" + os.listdir("/lib64")[0], "/dev/kvm-x",
          "/../../../../etc/vmon-jail-escape", "/proc/1/root/tmp/x"):
    try:
        os.close(os.open(p, os.O_WRONLY | os.O_CREAT, 0o600))
        res[p] = "written"
    except OSError as e:
        res[p] = errno.errorcode[e.errno]
try:
    os.chroot("/")
    res["chroot"] = "done"
except OSError as e:
    res["chroot"] = errno.errorcode[e.errno]
print(json.dumps(res))
"""


def check_inside(pid, root):
    """What a process of the jail's uid in its mount namespace can do."""
    r = subprocess.run(["python3", "-c", ESCAPE, str(pid), str(UID)],
                       capture_output=True, text=True, timeout=60)
    try:
        res = json.loads(r.stdout)
    except ValueError:
        res = {}
    check("ls" in res, "entered the jail's mount namespace: %s %s"
          % (r.stdout.strip(), r.stderr.strip()[-500:]))
    if "ls" not in res:
        return
    check(set(res["ls"]) == {"api.sock", "api_counter.elf", "dev", "lib",
                             "lib64", "run", NAME} and res["cwd"] == "/",
          "inside: only the jail's files at / (%r)" % res["ls"])
    check(res["/vmon" if NAME == "vmon" else "/" + NAME] in ("EACCES", "ETXTBSY")
          and res["/dev/kvm-x"] == "EACCES",
          "inside: the exec file and /dev are not writable (%r)" % res)
    check(all(v in ("EACCES", "EROFS") for k, v in res.items()
              if k.startswith("/lib64/")), "inside: the libraries are not writable")
    check(res["/proc/1/root/tmp/x"] == "ENOENT",
          "inside: no /proc, no way to the host's root")
    check(res["/../../../../etc/vmon-jail-escape"] == "ENOENT"
          and not os.path.exists("/etc/vmon-jail-escape"),
          "inside: '..' stops at the jail's root")
    check(res["chroot"] == "EPERM", "inside: no chroot (no capability)")


def test_api_mode():
    """The jailed vmon seen from outside; its API socket in the chroot."""
    jid = "api-%d" % os.getpid()
    root = root_of(jid)
    sock = os.path.join(root, "api.sock")
    p = subprocess.Popen(jail_args(jid, ["--api-sock", "/api.sock"],
                                   ["--link", COUNTER]),
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(sock) and p.poll() is None and \
                time.monotonic() < deadline:
            time.sleep(0.02)
        if not check(os.path.exists(sock), "API socket under the chroot: %s"
                     % sock):
            return
        st, body = vmon_api.request(sock, "GET", "/")
        check(st == 200 and body.get("id") == jid,
              "GET / from outside through the jail's socket: %r %r" % (st, body))
        s = status(p.pid)
        check(s["Uid"].split() == [str(UID)] * 4 and s["Gid"].split() == [str(GID)] * 4,
              "runs as the given uid and gid: %s / %s" % (s["Uid"], s["Gid"]))
        check(s["Groups"] == "", "no supplementary groups")
        check(int(s["CapEff"], 16) == 0 and int(s["CapPrm"], 16) == 0
              and int(s["CapBnd"], 16) == 0 and int(s["CapAmb"], 16) == 0,
              "no capabilities (effective, permitted, bounding, ambient)")
        # The main thread installs its filter just after opening the socket.
        deadline = time.monotonic() + 20
        while status(p.pid)["Seccomp"] != "2" and time.monotonic() < deadline:
            time.sleep(0.01)
        s = status(p.pid)
        check(s["NoNewPrivs"] == "1" and s["Seccomp"] == "2",
              "NoNewPrivs 1, Seccomp 2: %s, %s" % (s["NoNewPrivs"], s["Seccomp"]))
        rs, js = os.stat("/proc/%d/root" % p.pid), os.stat(root)
        check((rs.st_dev, rs.st_ino) == (js.st_dev, js.st_ino),
              "/proc/PID/root is the chroot")
        with open("/proc/%d/mountinfo" % p.pid) as f:
            mi = [line.split() for line in f]
        # The linked file is a hard link, or on another file system than
        # the chroot (a build on 9p, /tmp a tmpfs) a bind mount.
        binds = [] if os.stat(COUNTER).st_dev == os.stat(BASE).st_dev \
            else ["/api_counter.elf"]
        # (mountinfo's root field is relative to its file system's root:
        # the chroot's path from /tmp's mount where /tmp is a tmpfs.)
        check(mi and mi[0][4] == "/" and root.endswith(mi[0][3]) and
              [m[4] for m in mi[1:]] == binds,
              "its mount namespace holds the chroot at / and nothing else "
              "(but %s): %r" % (binds, mi))
        check(files_under(root) >= {"dev/kvm", "dev/net/tun", NAME}
              and all(f.split("/")[0] in ("dev", "lib", "lib64", "run",
                                          "usr", NAME, "api.sock",
                                          "api_counter.elf")
                      for f in files_under(root)),
              "the chroot holds vmon, its libraries, the nodes, the linked file")
        for pth in ("/proc/%d/ns/ipc", "/proc/%d/ns/uts", "/proc/%d/ns/mnt"):
            check(os.readlink(pth % p.pid) != os.readlink(pth % os.getpid()),
                  "own namespace: " + pth.split("/")[-1])
        check_inside(p.pid, root)
        ok = [vmon_api.request(sock, "PUT", "/boot-source",
                               {"kernel_image_path": "/api_counter.elf"})[0],
              vmon_api.request(sock, "PUT", "/machine-config",
                               {"vcpu_count": 2, "mem_size_mib": 32})[0],
              vmon_api.request(sock, "PUT", "/actions",
                               {"action_type": "InstanceStart"})[0]]
        check(ok == [204, 204, 204], "the guest boots through the jail's socket: %r" % ok)
        time.sleep(0.5)
        st, body = vmon_api.request(sock, "GET", "/")
        check(st == 200 and body.get("state") == "Running", "state Running: %r" % body)
        tasks = os.listdir("/proc/%d/task" % p.pid)
        bad = []
        for t in tasks:
            ts = status(p.pid, t)
            if ts["Name"].startswith(("iou-", "kvm-")):
                continue
            if ts["Seccomp"] != "2" or int(ts["CapEff"], 16) or ts["NoNewPrivs"] != "1":
                bad.append(ts["Name"])
        check(len(tasks) >= 4 and not bad,
              "every thread (%d) filtered, without capabilities: bad %r"
              % (len(tasks), bad))
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        cleanup(jid)


def test_memory_limit():
    """memory below the guest's RAM: the kernel's OOM killer ends vmon."""
    jid = "oom-%d" % os.getpid()
    try:
        r = run(jail_args(jid, ["-k", "/hello.elf", "-m", "512M",
                                "--mem-prealloc"],
                          ["--link", os.path.join(GUEST, "hello.elf")]
                          + cg_opts(memory=64 << 20)), timeout=120)
        check(r.code == -signal.SIGKILL,
              "memory limit 64 MiB, guest 512 MiB preallocated: vmon killed "
              "(SIGKILL), got %r %s" % (r.code, r.err[-500:]))
        if CG_VERSION == 2:
            ev = cg_read("memory", jid, "memory.events")
            check(ev.get("oom_kill", 0) >= 1, "memory.events oom_kill: %r" % ev)
        else:
            ev = cg_read("memory", jid, "memory.oom_control")
            check(ev.get("oom_kill", 1) >= 1 and
                  cg_read("memory", jid, "memory.failcnt"), "memory.failcnt, oom_kill: %r" % ev)
    finally:
        cleanup(jid)


def test_pids_limit():
    """pids.max 2: vmon cannot start its vCPU and I/O threads."""
    jid = "pids-%d" % os.getpid()
    try:
        r = run(jail_args(jid, ["-k", "/hello.elf", "-p", "2"],
                          ["--link", os.path.join(GUEST, "hello.elf")]
                          + cg_opts(pids=2)), timeout=60)
        check(not r.timed_out and r.code not in (0, 85) and r.code > 0
              and "Resource temporarily unavailable" in r.err,
              "pids.max 2: vmon fails to start its threads, with an error: "
              "%r %s" % (r.code, r.err[-500:]))
        ev = cg_read("pids", jid, "pids.events")
        check(ev.get("max", 0) >= 1, "pids.events max: %r" % ev)
    finally:
        cleanup(jid)


def test_pid_ns_daemon():
    """--new-pid-ns --daemonize: a pid file; vmon is init of its PID ns."""
    jid = "pidns-%d" % os.getpid()
    root = root_of(jid)
    sock = os.path.join(root, "api.sock")
    pid = None
    try:
        r = run(jail_args(jid, ["--api-sock", "/api.sock"],
                          ["--new-pid-ns", "--daemonize"]), timeout=30)
        check(r.code == 0 and r.out == "" and r.err == "",
              "the jailer returns 0 at once: %r %r" % (r.code, r.err))
        with open(os.path.join(root, NAME + ".pid")) as f:
            pid = int(f.read())
        deadline = time.monotonic() + 30
        while not os.path.exists(sock) and time.monotonic() < deadline:
            time.sleep(0.02)
        s = status(pid)
        check(s["NSpid"].split()[-1] == "1" and s["Name"] == NAME[:15],
              "the pid file names vmon, pid 1 of its namespace: %s" % s["NSpid"])
        check(os.getsid(pid) != os.getsid(0), "--daemonize: out of the caller's session")
        st, body = vmon_api.request(sock, "GET", "/")
        check(st == 200 and body.get("id") == jid, "its socket answers: %r" % body)
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while os.path.exists("/proc/%d" % pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        check(not os.path.exists("/proc/%d" % pid),
              "SIGTERM from outside ends it (init of its namespace)")
    finally:
        if pid and os.path.exists("/proc/%d" % pid):
            os.kill(pid, signal.SIGKILL)
        cleanup(jid)


AS_USER = r"""
import os, socket, subprocess, sys
uid, groups = int(sys.argv[1]), [int(g) for g in sys.argv[2].split(",") if g]
os.setgroups(groups); os.setgid(groups[0] if groups else uid); os.setuid(uid)
if sys.argv[3] == "connect":
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(sys.argv[4]); print("connected")
    except OSError as e:
        print(e.strerror)
else:
    os.environ["VMON_RUNTIME_DIR"] = sys.argv[4]
    sys.stdout.write(subprocess.run([sys.argv[5], "list"], capture_output=True,
                                    text=True).stdout)
"""


def as_user(groups, *args):
    r = subprocess.run(["python3", "-c", AS_USER, str(UID),
                        ",".join(str(g) for g in groups)] + list(args),
                       capture_output=True, text=True, timeout=60)
    return r.stdout.strip() + r.stderr.strip()


def test_sock_group():
    """--api-sock-group: mode 0660 and that group; vmon list shows an
    instance only to a user its socket accepts."""
    tmp = tempfile.mkdtemp(prefix="vmon-sockgroup-")
    os.chmod(tmp, 0o755)
    group = UID + 1
    insts = []
    try:
        for name, extra in (("shared", ["--api-sock-group", str(group)]),
                            ("private", [])):
            os.mkdir(os.path.join(tmp, name), 0o755)
            insts.append(vmon_api.Instance(
                extra, id="sg-%s-%d" % (name, os.getpid()),
                env=dict(os.environ, VMON_RUNTIME_DIR=os.path.join(tmp, name, "reg"))))
        shared, private = insts
        for inst in insts:
            os.chmod(inst.dir, 0o755)  # the socket's mode decides
        st = os.stat(shared.sock)
        check(st.st_mode & 0o777 == 0o660 and st.st_gid == group,
              "--api-sock-group: mode 0660, the group (%o %d)"
              % (st.st_mode & 0o777, st.st_gid))
        check(os.stat(private.sock).st_mode & 0o777 == 0o600,
              "without it: mode 0600")
        check(as_user([group], "connect", shared.sock) == "connected",
              "a member of the group connects")
        check(as_user([UID], "connect", shared.sock) == "Permission denied"
              and as_user([group], "connect", private.sock) == "Permission denied",
              "others do not")
        # A registry of the user's own naming both instances.
        reg = os.path.join(tmp, "userreg")
        os.mkdir(reg, 0o700)
        for inst in insts:
            with open(os.path.join(reg, os.path.basename(inst.dir) + ".json"), "w") as f:
                json.dump({"id": "x", "pid": inst.p.pid, "api_sock": inst.sock}, f)
        os.chown(reg, UID, UID)
        out = as_user([group], "list", reg, VMON)
        check(shared.sock in out and private.sock not in out,
              "vmon list: only the instance whose socket accepts the user: %r" % out)
        check(len(os.listdir(reg)) == 2, "the refused one's entry is kept (it lives)")
        out = as_user([UID], "list", reg, VMON)
        check(shared.sock not in out, "without the group: not listed")
    finally:
        for inst in insts:
            inst.stop()
            shutil.rmtree(inst.dir, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


def test_exec_copy():
    """An exec file another user may write is copied, never linked; the
    copy is not bound by --resource-limit fsize (the exec file's limit),
    smaller here than the file."""
    jid = "copy-%d" % os.getpid()
    own_dir = tempfile.mkdtemp(prefix="vmon-jail-own-")
    own = os.path.join(own_dir, "vmon-own")
    shutil.copy(VMON, own)
    os.chown(own, UID, GID)
    try:
        r = run([VMON, "jail", "--id", jid, "--exec-file", own, "--uid",
                 str(UID), "--gid", str(GID), "--chroot-base-dir", BASE,
                 "--resource-limit", "fsize=65536", "--", "--help"],
                timeout=60)
        check(r.code == 0 and "--kernel" in r.out,
              "the jailed copy runs: %r %s" % (r.code, r.err[-300:]))
        st = os.stat(os.path.join(BASE, "vmon-own", jid, "root", "vmon-own"))
        check(st.st_ino != os.stat(own).st_ino and st.st_uid == 0
              and st.st_mode & 0o777 == 0o755,
              "an exec file of the jail's user: a copy of root's, 0755")
    finally:
        shutil.rmtree(os.path.join(BASE, "vmon-own"), ignore_errors=True)
        shutil.rmtree(own_dir)


def test_reuse_symlink():
    """A chroot reused after a jailed user left a symbolic link in it:
    the jailer refuses instead of following it out of the jail."""
    jid = "reuse-%d" % os.getpid()
    root = root_of(jid)
    victim = tempfile.mkdtemp(prefix="vmon-jail-victim-")
    try:
        os.makedirs(root)
        os.symlink(victim, os.path.join(root, "run"))
        r = run(jail_args(jid, ["--help"]), timeout=60)
        st = os.stat(victim)
        check(r.code == 4 and "not a directory (a symbolic link?): refused"
              in r.err and st.st_uid == 0 and os.listdir(victim) == [],
              "a symbolic link left in the chroot is refused, its target "
              "untouched: %r %s" % (r.code, r.err.strip()[-300:]))
    finally:
        shutil.rmtree(victim)
        cleanup(jid)


def probe_jail(jid, extra, vmm_args):
    """Runs jail_probe as jail @jid's exec file; {key: [values]} of what
    it printed, and the result."""
    r = run([VMON, "jail", "--id", jid, "--exec-file", JAIL_PROBE,
             "--uid", str(UID), "--gid", str(GID), "--chroot-base-dir", BASE]
            + extra + ["--"] + vmm_args, timeout=60)
    found = {}
    for line in r.out.splitlines():
        key, _, value = line.partition("=")
        found.setdefault(key, []).append(value)
    return found, r


def host_node(path):
    """[@path] if the host has that character device (the jail makes a
    node only of those), else []."""
    try:
        if stat.S_ISCHR(os.stat(path).st_mode):
            return [path]
    except FileNotFoundError:
        pass
    return []


def test_inside():
    """The jail seen from inside, with no /dev/kvm needed: the exec file
    gets the jail's arguments, runs as the given ids with no capability
    and no_new_privs, sees only the files the jail put in its root (the
    exec file and the linked file root's and read-only to it), cannot
    leave the root, and has the resource limits and pids.max given."""
    jid = "inside-%d" % os.getpid()
    src = tempfile.mkdtemp(prefix="vmon-jail-src-")
    disk = os.path.join(src, "disk.img")
    with open(disk, "wb") as f:
        f.write(b"x" * SECTOR)
    os.chmod(disk, 0o644)
    try:
        t0 = time.monotonic()
        found, r = probe_jail(
            jid, ["--link", disk, "--resource-limit", "no-file=100",
                  "--resource-limit", "fsize=1048576"] + cg_opts(pids=5),
            ["--api-sock", "/api.sock"])
        t1 = time.monotonic()
        check(r.code == 0 and "forks" in found,
              "jail_probe ran jailed: %r %s" % (r.code, r.err[-500:]))
        one = {k: v[0] for k, v in found.items()}
        m = re.fullmatch(r"--id (\S+) --start-time-us (\d+) "
                         r"--start-time-cpu-us (\d+) --api-sock /api.sock",
                         one.get("args", ""))
        check(m is not None and m.group(1) == jid,
              "its arguments: --id, the start times (as Firecracker's "
              "jailer passes them), then those after --: %r"
              % one.get("args"))
        if m:
            start, cpu = int(m.group(2)), int(m.group(3))
            check(t0 * 1e6 - 1000 <= start <= t1 * 1e6 and cpu < 10 ** 6,
                  "--start-time-us is the jailer's start on CLOCK_MONOTONIC "
                  "(%d us in [%d, %d]), --start-time-cpu-us its CPU time "
                  "then (%d us)" % (start, t0 * 1e6, t1 * 1e6, cpu))
        check(one.get("ids") == "%d %d %d %d %d %d 0" % ((UID,) * 3 + (GID,) * 3),
              "real, effective, saved uid and gid; no supplementary group: %r"
              % one.get("ids"))
        check(one.get("caps") == "000000000 000000000 000000000 0",
              "no capability (effective, permitted, inheritable, bounding "
              "set): %r" % one.get("caps"))
        check(one.get("nnp") == "1", "no_new_privs: %r" % one.get("nnp"))
        files = {}
        for v in found.get("files", []):
            path, kind, owner, w = v.split(" ")
            files[path] = (kind, int(owner), w)
        want = {"/disk.img": ("file", 0, "-"), "/jail_probe": ("file", 0, "-"),
                "/dev": ("dir", 0, "-"), "/dev/urandom": ("chr", 0, "-"),
                "/run": ("dir", 0, "-"), "/run/vmon": ("dir", UID, "w")}
        for node in host_node("/dev/kvm"):
            want[node] = ("chr", UID, "w")
        for node in host_node("/dev/net/tun"):
            want["/dev/net"] = ("dir", 0, "-")
            want[node] = ("chr", UID, "w")
        check(files == want, "only the jail's files, their owners and "
              "access: %r, expected %r" % (files, want))
        check(one.get("dotdot") == "root", "/.. is / (no way out of the root)")
        check(one.get("write_root") == "created",
              "the root is the jail user's (its socket and snapshots go "
              "there): %r" % one.get("write_root"))
        check(one.get("nofile") == "100 100" and
              one.get("fsize") == "1048576 1048576",
              "--resource-limit no-file and fsize, soft and hard: %r %r"
              % (one.get("nofile"), one.get("fsize")))
        check(one.get("forks") == "4 EAGAIN",
              "pids.max 5: four children, then EAGAIN: %r" % one.get("forks"))
        ev = cg_read("pids", jid, "pids.events")
        check(ev.get("max", 0) >= 1, "pids.events max: %r" % ev)
        check(os.stat(disk).st_nlink == 2, "the linked file: a hard link")
    finally:
        cleanup(jid, "jail_probe")
        shutil.rmtree(src)


def test_inside_memory():
    """A memory limit holds the exec file: the probe, jailed with 32 MiB,
    touches memory until the kernel's OOM killer ends it (SIGKILL) short
    of the 256 MiB it asked for, and the jail's cgroup counts the kill."""
    jid = "inside-oom-%d" % os.getpid()
    try:
        found, r = probe_jail(jid, cg_opts(memory=32 << 20), ["--eat", "256"])
        ate = [int(v.split()[0]) for v in found.get("ate", [])]
        check(r.code == -signal.SIGKILL and ate and max(ate) < 32,
              "memory limit 32 MiB: the probe killed (SIGKILL) before 32 MiB: "
              "%r, ate %s MiB %s" % (r.code, max(ate or [0]), r.err[-300:]))
        if CG_VERSION == 2:
            ev = cg_read("memory", jid, "memory.events")
            check(ev.get("oom_kill", 0) >= 1, "memory.events oom_kill: %r" % ev)
        else:
            ev = cg_read("memory", jid, "memory.oom_control")
            check(ev.get("oom_kill", 0) >= 1,
                  "memory.oom_control oom_kill: %r" % ev)
    finally:
        cleanup(jid, "jail_probe")


def v2_setting():
    """(mount, FILE=VALUE) for a controller of the unified hierarchy the
    jailer uses (the first cgroup2 mount), or None if it offers none of
    pids, memory and hugetlb (2 MiB pages)."""
    with open("/proc/mounts") as f:
        mnt = next((m[1] for m in (line.split() for line in f)
                    if m[2] == "cgroup2"), None)
    if not mnt:
        return None
    with open(os.path.join(mnt, "cgroup.controllers")) as f:
        ctls = f.read().split()
    for ctl, setting in (("pids", "pids.max=64"),
                         ("memory", "memory.max=%d" % (1 << 30)),
                         ("hugetlb", "hugetlb.2MB.max=0")):
        if ctl in ctls and (ctl != "hugetlb" or os.path.isdir(
                "/sys/kernel/mm/hugepages/hugepages-2048kB")):
            return mnt, setting
    return None


def test_inside_cgroup_v2():
    """--cgroup-version 2: the jailer makes its cgroup on the unified
    hierarchy with the controller enabled down the path, writes the
    value, and the exec file runs in it (seen from outside while the
    probe waits). Run with whichever v2 controller the host offers (a
    host with memory and pids on v1 may still have hugetlb on v2)."""
    found = v2_setting()
    if not found:
        print("note: the unified cgroup hierarchy offers no pids, memory "
              "or hugetlb controller here: --cgroup-version 2 not tried")
        return
    mnt, setting = found
    name, _, value = setting.partition("=")
    ctl = name.partition(".")[0]
    jid = "v2-%d" % os.getpid()
    cg = os.path.join(mnt, PARENT, jid)
    root_ctl = os.path.join(mnt, "cgroup.subtree_control")
    with open(root_ctl) as f:
        enabled_before = ctl in f.read().split()
    p = subprocess.Popen(
        [VMON, "jail", "--id", jid, "--exec-file", JAIL_PROBE, "--uid",
         str(UID), "--gid", str(GID), "--chroot-base-dir", BASE,
         "--cgroup-version", "2", "--parent-cgroup", PARENT, "--cgroup",
         setting, "--", "--hold"], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    watchdog = threading.Timer(60, p.kill)
    watchdog.start()
    try:
        one = {}
        for line in p.stdout:
            key, _, v = line.decode(errors="replace").strip().partition("=")
            one.setdefault(key, v)
            if key == "held":
                break
        check(one.get("held") == "1", "the probe runs in a v2 jail (%s): %s"
              % (setting, p.stderr.read().decode()[-300:] if "held" not in one
                 else "waiting"))
        if "held" in one:
            with open("/proc/%s/cgroup" % one["pid"]) as f:
                v2 = [l.strip() for l in f if l.startswith("0::")]
            check(v2 == ["0::/%s/%s" % (PARENT, jid)],
                  "the exec file is in <parent>/<id> of the v2 hierarchy: %r"
                  % v2)
            with open(os.path.join(cg, name)) as f:
                got = f.read().strip()
            check(got == value, "%s reads back %r" % (setting, got))
            with open(os.path.join(mnt, PARENT, "cgroup.subtree_control")) as f:
                check(ctl in f.read().split(),
                      "%s enabled in the parent's cgroup.subtree_control" % ctl)
    finally:
        p.stdin.close()
        p.wait(30)
        watchdog.cancel()
        shutil.rmtree(os.path.join(BASE, "jail_probe", jid),
                      ignore_errors=True)
        for d in (cg, os.path.join(mnt, PARENT)):
            try:
                os.rmdir(d)
            except FileNotFoundError:
                pass
        if not enabled_before:
            # The jailer enabled the controller for the root's children:
            # leave the host as it was (if nothing else uses it by now).
            try:
                with open(root_ctl, "w") as f:
                    f.write("-" + ctl)
            except OSError:
                pass


def test_inside_pid_ns():
    """--new-pid-ns: the exec file is PID 1 of its namespace."""
    jid = "pidns-inside-%d" % os.getpid()
    try:
        found, r = probe_jail(jid, ["--new-pid-ns"], [])
        check(r.code == 0 and found.get("pid") == ["1"],
              "--new-pid-ns: the exec file is PID 1: %r %r %s"
              % (r.code, found.get("pid"), r.err[-300:]))
        args = (found.get("args") or [""])[0]
        m = re.fullmatch(r"--id \S+ --start-time-us \d+ --start-time-cpu-us "
                         r"0 --parent-cpu-time-us (\d+)", args)
        check(m is not None and 0 < int(m.group(1)) < 10 ** 6,
              "a new process: its CPU time from 0, the jailer's CPU time "
              "as --parent-cpu-time-us: %r" % args)
    finally:
        cleanup(jid, "jail_probe")


def test_options():
    """vmon-jailer by its name; option errors exit 2 before any change."""
    tmp = tempfile.mkdtemp(prefix="vmon-jailer-")
    try:
        jailer = os.path.join(tmp, "vmon-jailer")
        os.symlink(VMON, jailer)
        r = run([jailer, "--help"], timeout=30)
        check(r.code == 0 and "--exec-file" in r.out and "--new-pid-ns" in r.out,
              "vmon-jailer --help: %r" % r.code)
        base = ["--id", "x-%d" % os.getpid(), "--exec-file", VMON,
                "--uid", str(UID), "--gid", str(GID), "--chroot-base-dir", BASE]
        for args, msg in (
                (base[:6], "--id, --exec-file, --uid and --gid are required"),
                (base + ["--cgroup-version", "3"], "expected 1 or 2"),
                (base + ["--resource-limit", "cpu=1"], "expected fsize="),
                (base + ["--parent-cgroup", "a/../b"], "without '..'"),
                (["--id", "../x"] + base[2:], "--id ../x"),
                (base[:2] + ["--exec-file", "vmon"] + base[4:], "absolute path"),
                (base + ["--bogus"], "unknown option")):
            r = run([jailer] + args, timeout=30)
            check(r.code == 2 and msg in r.err, "%s: exit 2, %r" % (msg, r.err.strip()))
        check(not os.path.exists(os.path.join(BASE, NAME, "x-%d" % os.getpid())),
              "nothing created by a refused command line")
    finally:
        shutil.rmtree(tmp)


try:
    if HOST_PART:
        test_options()
        test_exec_copy()
        test_reuse_symlink()
        test_inside()
        test_inside_memory()
        test_inside_cgroup_v2()
        test_inside_pid_ns()
    else:
        for path in (PROBE, COUNTER):
            check(os.path.exists(path), "guest program built: " + path)
        test_sock_group()
        test_boot()
        test_api_mode()
        test_memory_limit()
        test_pids_limit()
        test_pid_ns_daemon()
finally:
    shutil.rmtree(BASE, ignore_errors=True)
    shutil.rmtree(SHM, ignore_errors=True)
vmontest.finish()
