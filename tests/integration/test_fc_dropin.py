# SPDX-License-Identifier: GPL-2.0-only
"""vmon as a Firecracker drop-in: the command lines and request sequences
of the tools that drive Firecracker, replayed against a `firecracker` link
to vmon, with the status codes and bodies Firecracker gives them:
firecracker-go-sdk's default machine start (with --no-seccomp), firectl's,
Kata Containers' (version check, config file with 9 drives, hybrid vsock,
FIFOs for logs and metrics, PATCH /drives) and the getting-started guide's
(API sequence and its example configuration file, full of nulls). Then the
--config-file round trip of GET /vm/config, and Firecracker's limits and
request checks. The guest is the counting guest program (no Linux)."""
import json
import os
import re
import subprocess
import tempfile
import time

import vmontest
from vmontest import check
import vmon_api
from vmon_api import schema_errors

vmontest.require_kvm()
TMP = tempfile.mkdtemp(prefix="vmon-fc-")
FC = os.path.join(TMP, "firecracker")
os.symlink(os.path.abspath(vmontest.VMON), FC)
KERNEL = vmon_api.GUEST_COUNTER
PID = os.getpid()
HEADER_ERRORS = []


def image(name, size=1 << 20):
    path = os.path.join(TMP, name)
    with open(path, "wb") as f:
        f.truncate(size)
    return path


class Fc:
    """A vmon started with Firecracker's command line @args."""

    def __init__(self, name, args, api=True):
        self.sock = os.path.join(TMP, name + ".sock")
        self.err = open(os.path.join(TMP, name + ".err"), "wb")
        self.p = subprocess.Popen([FC] + args, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=self.err)
        deadline = time.monotonic() + 30
        while api and time.monotonic() < deadline and self.p.poll() is None:
            if os.path.exists(self.sock):
                try:
                    self.req("GET", "/")
                    break
                except OSError:
                    pass
            time.sleep(0.02)

    def req(self, method, path, body=None):
        """One request; its headers are checked as Firecracker sends them
        (bad ones go to HEADER_ERRORS)."""
        out = vmon_api.raw(self.sock, vmon_api.encode_request(method, path, body))
        st, parsed, raw_body = vmon_api.parse_response(out)
        hdrs = out.partition(b"\r\n\r\n")[0].decode(errors="replace")
        want = ["\r\nServer: Firecracker API (vmon "]
        if raw_body:
            want.append("\r\nContent-Type: application/json\r\n")
        for w in want:
            if w not in hdrs + "\r\n":
                HEADER_ERRORS.append("%s %s: no %r in %r" % (method, path,
                                                              w.strip(), hdrs))
        return st, parsed

    def expect(self, method, path, body, status, fault=None, schema=None):
        st, b = self.req(method, path, body)
        ok = st == status
        if fault is not None:
            ok = ok and b is not None and fault in b.get("fault_message", "")
        if schema:
            errs = schema_errors(schema, b)
            ok = ok and not errs
        check(ok, "%s %s %s -> %d (got %d %r)" % (
            method, path, json.dumps(body)[:70] if body is not None else "",
            status, st, b))
        return b

    def stderr(self):
        self.err.flush()
        with open(self.err.name, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
        try:
            code = self.p.wait(30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            code = None
        self.err.close()
        return code


def raw_config(sock):
    """The bytes of GET /vm/config's body."""
    return vmon_api.parse_response(vmon_api.raw(
        sock, b"GET /vm/config HTTP/1.1\r\nHost: x\r\n"
        b"Connection: close\r\n\r\n"))[2]


def vm_id(name):
    return "%s_%d" % (name, PID)


# --- versions: Kata reads the second field of --version's first line -------
out = subprocess.run([FC, "--version"], capture_output=True, text=True)
fields = out.stdout.split("\n")[0].split(" ")
version = fields[1].lstrip("v") if len(fields) > 1 else ""
check(out.returncode == 0 and "vmon" in out.stdout and
      re.fullmatch(r"\d+\.\d+\.\d+", version) and
      tuple(map(int, version.split("."))) >= (0, 21, 1),
      "--version: Kata's parse gives %r (>= 0.21.1), and it says vmon: %r"
      % (version, out.stdout))
out = subprocess.run([FC, "--snapshot-version"], capture_output=True, text=True)
check(out.returncode == 0 and re.fullmatch(r"v\d+\.\d+\.\d+\n", out.stdout),
      "--snapshot-version: %r" % out.stdout)
out = subprocess.run([FC, "--no-api"], capture_output=True, text=True)
check(out.returncode == 2 and "--config-file" in out.stderr,
      "--no-api without --config-file: exit 2 (%r)" % out.stderr)
out = subprocess.run([FC, "--metadata", "/dev/null", "--api-sock",
                      os.path.join(TMP, "md.sock")], capture_output=True,
                     text=True)
check(out.returncode == 2 and "--metadata /dev/null: not a JSON object"
      in out.stderr,
      "--metadata: a file that is not a JSON object refused (%r)" % out.stderr)

# --- without --api-sock, Firecracker's default socket: in a mount namespace
# of its own with a private /run (root only), reached through /proc/PID/root.
if os.geteuid() == 0:
    dp = subprocess.Popen(["unshare", "-m", "sh", "-c",
                           "mount -t tmpfs tmpfs /run && exec %s --id %s"
                           % (FC, vm_id("dflt"))],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    dsock = "/proc/%d/root/run/firecracker.socket" % dp.pid
    deadline = time.monotonic() + 30
    st, info = None, None
    while time.monotonic() < deadline and dp.poll() is None and st is None:
        try:
            st, info = vmon_api.request(dsock, "GET", "/")
        except OSError:
            time.sleep(0.05)
    check(st == 200 and info["id"] == vm_id("dflt"),
          "no --api-sock: /run/firecracker.socket serves the API (%r %r)"
          % (st, info))
    dp.terminate()
    check(dp.wait(30) == 0, "default socket: vmon stops on SIGTERM with 0")

# --- firecracker-go-sdk: its default start (seccomp off) -------------------
sdk = Fc("sdk", ["--api-sock", os.path.join(TMP, "sdk.sock"),
                 "--id", vm_id("sdk"), "--no-seccomp"])
v = sdk.expect("GET", "/version", None, 200, schema="FirecrackerVersion")
check(v and v["firecracker_version"] == version,
      "GET /version: the version --version gives")
info = sdk.expect("GET", "/", None, 200, schema="InstanceInfo")
check(info and info["id"] == vm_id("sdk") and info["app_name"] == "vmon",
      "GET /: the --id, and it says vmon")
fifo_log = os.path.join(TMP, "sdk.log.fifo")
os.mkfifo(fifo_log)
log_reader = os.open(fifo_log, os.O_RDONLY | os.O_NONBLOCK)
sdk.expect("PUT", "/logger", {"log_path": fifo_log, "level": "Debug",
                              "show_level": True, "show_log_origin": False}, 204)
sdk.expect("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 32,
                                      "smt": False}, 204)
mc = sdk.expect("GET", "/machine-config", None, 200,
                schema="MachineConfiguration")
sdk.expect("PUT", "/boot-source", {
    "kernel_image_path": KERNEL,
    "boot_args": "ro console=ttyS0 noapic reboot=k panic=1 pci=off nomodules"},
    204)
sdk.expect("PUT", "/drives/1", {"drive_id": "1", "path_on_host": image("sdk.img"),
                                "is_root_device": True, "is_read_only": False},
           204)
sdk.expect("PUT", "/vsock", {"guest_cid": 3,
                             "uds_path": os.path.join(TMP, "sdk.vsock")}, 204)
# Firecracker's default body limit, 51200 bytes: at the limit taken, past it 400.
for n, status in ((51200, 204), (51201, 400)):
    st, b = sdk.req("PUT", "/mmds", '{"k":"%s"}' % ("x" * (n - 8)))
    check(st == status and (status == 204 or "larger than the limit of 51200"
                            in b["fault_message"]),
          "a body of %d bytes with the default limit: %d (%d %r)"
          % (n, status, st, b))
sdk.expect("PUT", "/actions", {"action_type": "InstanceStart"}, 204)
info = sdk.expect("GET", "/", None, 200, schema="InstanceInfo")
check(info and info["state"] == "Running", "SDK: Running after InstanceStart")
sdk.expect("PUT", "/actions", {"action_type": "FlushMetrics"}, 204)
check(sdk.stop() == 0, "SDK: vmon stops on SIGTERM with 0")
os.close(log_reader)

# --- firectl: the same SDK, its flags' defaults, a read-only root ----------
ctl = Fc("firectl", ["--api-sock", os.path.join(TMP, "firectl.sock"),
                     "--id", vm_id("firectl"), "--no-seccomp"])
ctl.expect("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 32,
                                      "smt": False, "cpu_template": None,
                                      "track_dirty_pages": False}, 204)
ctl.expect("PUT", "/boot-source", {"kernel_image_path": KERNEL,
                                   "boot_args": "ro console=ttyS0 noapic reboot=k panic=1 pci=off nomodules",
                                   "initrd_path": None}, 204)
ctl.expect("PUT", "/drives/1", {"drive_id": "1", "path_on_host": image("ctl.img"),
                                "is_root_device": True, "is_read_only": True,
                                "partuuid": None, "rate_limiter": None,
                                "io_engine": None, "cache_type": None}, 204)
ctl.expect("PUT", "/actions", {"action_type": "InstanceStart"}, 204)
ctl.expect("PUT", "/actions", {"action_type": "SendCtrlAltDel"}, 204)
check(ctl.stop() == 0, "firectl: vmon stops on SIGTERM with 0")

# --- Kata: config file with 9 drives, hybrid vsock, FIFOs, PATCH /drives ----
kfifo_log = os.path.join(TMP, "kata.log.fifo")
kfifo_met = os.path.join(TMP, "kata.metrics.fifo")
os.mkfifo(kfifo_log)
os.mkfifo(kfifo_met)
klog = os.open(kfifo_log, os.O_RDONLY | os.O_NONBLOCK)
kmet = os.open(kfifo_met, os.O_RDONLY | os.O_NONBLOCK)
kata_cfg = {
    "boot-source": {"kernel_image_path": KERNEL,
                    "boot_args": "console=ttyS0 reboot=k panic=1 pci=off"},
    "machine-config": {"vcpu_count": 1, "mem_size_mib": 32, "smt": False},
    "drives": [{"drive_id": "rootfs", "path_on_host": image("kata-root.img"),
                "is_root_device": True, "is_read_only": True}] +
              [{"drive_id": "drive_%d" % i,
                "path_on_host": image("kata-pool%d.img" % i, 4096),
                "is_root_device": False, "is_read_only": False}
               for i in range(8)],
    "vsock": {"vsock_id": "root", "guest_cid": 3,
              "uds_path": os.path.join(TMP, "kata.hvsock")},
    "logger": {"log_path": kfifo_log, "level": "Debug"},
    "metrics": {"metrics_path": kfifo_met},
    "network-interfaces": [],
}
kata_file = os.path.join(TMP, "kata.json")
with open(kata_file, "w") as f:
    json.dump(kata_cfg, f)
kata = Fc("kata", ["--api-sock", os.path.join(TMP, "kata.sock"),
                   "--config-file", kata_file])
full = kata.expect("GET", "/vm/config", None, 200, schema="FullVmConfiguration")
check(full and [d["drive_id"] for d in full["drives"]] ==
      ["rootfs"] + ["drive_%d" % i for i in range(8)],
      "Kata: the 9 drives of its config file, in order")
info = kata.expect("GET", "/", None, 200, schema="InstanceInfo")
check(info and info["state"] == "Running", "Kata: Running from the config file")
new = image("kata-new.img", 8192)
kata.expect("PATCH", "/drives/drive_3", {"drive_id": "drive_3",
                                         "path_on_host": new}, 204)
full = kata.expect("GET", "/vm/config", None, 200, schema="FullVmConfiguration")
check(full and full["drives"][4]["path_on_host"] == new,
      "Kata: PATCH /drives swapped drive_3's backing file")
kata.expect("PATCH", "/drives/drive_3", {"drive_id": "drive_3"}, 400,
            fault="Empty PATCH request.")
kata.expect("PUT", "/actions", {"action_type": "FlushMetrics"}, 204)
time.sleep(0.1)
try:
    met = os.read(kmet, 1 << 20).decode()
except BlockingIOError:
    met = ""
check(met.strip() and json.loads(met.strip().split("\n")[-1])["state"] == "Running",
      "Kata: FlushMetrics wrote a line to the metrics FIFO")
check(kata.stop() == 0, "Kata: vmon stops on SIGTERM with 0")
os.close(klog)
os.close(kmet)

# --- the getting-started guide: API sequence, then its config file --------
gs = Fc("guide", ["--api-sock", os.path.join(TMP, "guide.sock"),
                  "--id", vm_id("guide")])
gs.expect("PUT", "/logger", {"log_path": os.path.join(TMP, "firecracker.log"),
                             "level": "debug", "show_level": True,
                             "show_log_origin": True}, 204)
gs.expect("PUT", "/boot-source", {"kernel_image_path": KERNEL,
                                  "boot_args": "console=ttyS0 reboot=k panic=1 pci=off"},
          204)
gs.expect("PUT", "/drives/rootfs", {"drive_id": "rootfs",
                                    "path_on_host": image("guide.ext4"),
                                    "is_root_device": True,
                                    "is_read_only": False}, 204)
gs.expect("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 32}, 204)
gs.expect("PUT", "/balloon", {"amount_mib": 4, "deflate_on_oom": True,
                              "stats_polling_interval_s": 1}, 204)
gs.expect("PUT", "/actions", {"action_type": "InstanceStart"}, 204)
saved = gs.expect("GET", "/vm/config", None, 200, schema="FullVmConfiguration")
keys = {"boot-source", "machine-config", "logger", "metrics", "drives",
        "network-interfaces", "vsock", "balloon", "entropy", "cpu-config",
        "mmds-config"}
check(saved and keys <= set(saved) and saved["vsock"] is None and
      saved["metrics"] is None and saved["logger"]["level"] == "Debug" and
      saved["boot-source"]["initrd_path"] is None and
      saved["drives"][0]["partuuid"] is None and
      saved["drives"][0]["rate_limiter"] is None and
      "cpu_template" in saved["machine-config"],
      "GET /vm/config: every section and key, null where unset, "
      "'Debug' spelled as Firecracker does: %r" % saved)
saved_raw = raw_config(gs.sock)
check(gs.stop() == 0, "guide: vmon stops on SIGTERM with 0")

# The --config-file round trip: the saved configuration, replayed.
saved_file = os.path.join(TMP, "saved.json")
with open(saved_file, "w") as f:
    json.dump(saved, f)
rt = Fc("roundtrip", ["--api-sock", os.path.join(TMP, "roundtrip.sock"),
                      "--config-file", saved_file])
again = rt.expect("GET", "/vm/config", None, 200, schema="FullVmConfiguration")
check(again == saved, "--config-file of a saved GET /vm/config: the same "
      "configuration (%r)" % again)
again_raw = raw_config(rt.sock)
check(again_raw == saved_raw, "the replayed GET /vm/config: byte for byte "
      "(%d and %d bytes)" % (len(again_raw), len(saved_raw)))
check(rt.stop() == 0, "round trip: vmon stops on SIGTERM with 0")

# The guide's example configuration file (vm_config.json), nulls and all.
example = {
    "boot-source": {"kernel_image_path": KERNEL,
                    "boot_args": "console=ttyS0 reboot=k panic=1 pci=off",
                    "initrd_path": None},
    "drives": [{"drive_id": "rootfs", "partuuid": None, "is_root_device": True,
                "cache_type": "Unsafe", "is_read_only": False,
                "path_on_host": image("example.ext4"), "io_engine": "Sync",
                "rate_limiter": None, "socket": None}],
    "machine-config": {"vcpu_count": 2, "mem_size_mib": 32, "smt": False,
                       "track_dirty_pages": False, "huge_pages": "None"},
    "cpu-config": None, "balloon": None, "network-interfaces": [],
    "vsock": None, "logger": None, "metrics": None, "mmds-config": None,
    "entropy": None,
}
ex_file = os.path.join(TMP, "vm_config.json")
with open(ex_file, "w") as f:
    json.dump(example, f)
ex = Fc("example", ["--api-sock", os.path.join(TMP, "example.sock"),
                    "--config-file", ex_file])
info = ex.expect("GET", "/", None, 200, schema="InstanceInfo")
check(info and info["state"] == "Running",
      "the getting-started guide's vm_config.json boots")
check(ex.stop() == 0, "example: vmon stops on SIGTERM with 0")

# --- the other flags: --no-api with the logger, metrics and start-time flags,
# then --describe-snapshot of a state file ------------------------------------
flog = os.path.join(TMP, "flags.log")
fmet = os.path.join(TMP, "flags.metrics")
start_us = time.monotonic_ns() // 1000 - 2000000    # 2 s ago
fl = Fc("flags", ["--no-api", "--config-file", ex_file, "--log-path", flog,
                  "--level", "Info", "--show-log-origin", "--metrics-path",
                  fmet, "--start-time-us", str(start_us),
                  "--start-time-cpu-us", "0", "--parent-cpu-time-us", "5000"],
        api=False)
deadline = time.monotonic() + 60
text = ""
while time.monotonic() < deadline and fl.p.poll() is None and "booting" not in text:
    time.sleep(0.05)
    text = open(flog).read() if os.path.exists(flog) else ""


def listening_paths(pid):
    """The paths of the Unix sockets process @pid has open."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    with open("/proc/net/unix") as f:
        rows = [line.split() for line in f.readlines()[1:]]
    return [r[7] for r in rows if len(r) > 7 and r[6] in inodes]


paths = listening_paths(fl.p.pid) if fl.p.poll() is None else None
check(paths == [], "--no-api: no API socket (bound Unix sockets: %r)" % paths)
check("booting" in text and fl.p.poll() is None,
      "--no-api --config-file: the VM runs (%r)" % text)
check(fl.stop() == 0, "--no-api: vmon stops on SIGTERM with 0")
text = open(flog).read()
check(re.search(r"\[vmon-\d+:firecracker:src/[a-z_/]+\.c:\d+\] booting ", text),
      "--log-path, --show-log-origin: Firecracker's lines with file:line, "
      "the main thread named as the program (%r)" % text)
with open(fmet) as f:
    lines = [json.loads(x) for x in f.read().split("\n") if x.strip()]
api = lines[-1]["api_server"] if lines else {}
check(lines and 2000000 <= api["process_startup_time_us"] < 2000000 + 120000000
      and api["process_startup_time_cpu_us"] >= 5000,
      "--metrics-path, --start-time-us 2 s ago, --start-time-cpu-us 0, "
      "--parent-cpu-time-us 5000: the start-up times (%r)" % api)
ds = Fc("describe", ["--api-sock", os.path.join(TMP, "describe.sock"),
                     "--config-file", ex_file])
ds.expect("PATCH", "/vm", {"state": "Paused"}, 204)
ds.expect("PUT", "/snapshot/create", {"snapshot_path": os.path.join(TMP, "st"),
                                      "mem_file_path": os.path.join(TMP, "mem")},
          204)
check(ds.stop() == 0, "describe: vmon stops on SIGTERM with 0")
out = subprocess.run([FC, "--snapshot-version"], capture_output=True, text=True)
d = subprocess.run([FC, "--describe-snapshot", os.path.join(TMP, "st")],
                   capture_output=True, text=True)
check(d.returncode == 0 and d.stdout == out.stdout,
      "--describe-snapshot: the state file's version, --snapshot-version's "
      "(%r %r)" % (d.stdout, out.stdout))
d = subprocess.run([FC, "--describe-snapshot", ex_file], capture_output=True,
                   text=True)
check(d.returncode == 2 and "not a vmon snapshot" in d.stderr,
      "--describe-snapshot of another file: exit 2 (%r)" % d.stderr)

# --boot-timer: the guest program writes 123 to 0xd0000000 as Firecracker's
# init does, then reads its disk through the virtio-blk device, which the
# boot timer moved to the second slot; vmon logs the boot time.
bt_log = os.path.join(TMP, "boottimer.log")
bt_cfg = os.path.join(TMP, "boottimer.json")
with open(bt_cfg, "w") as f:
    json.dump({"boot-source": {
        "kernel_image_path": os.path.join(vmontest.BUILD_ROOT, "guest",
                                          "api_probe.elf"),
        "boot_args": "console=ttyS0 probe.boottimer probe.blkrate"},
        "machine-config": {"vcpu_count": 1, "mem_size_mib": 32},
        "drives": [{"drive_id": "disk", "path_on_host": image("bt.img", 4 << 20),
                    "is_root_device": False}]}, f)
bt = Fc("boottimer", ["--no-api", "--boot-timer", "--config-file", bt_cfg,
                      "--level", "Info", "--log-path", bt_log], api=False)
try:
    code = bt.p.wait(120)
except subprocess.TimeoutExpired:
    code = None
bt.stop()
text = open(bt_log).read() if os.path.exists(bt_log) else ""
check(code == 1 and "virtio_mmio.device=512@0xd0001000:" in text,
      "--boot-timer: the probe passes (exit 1, got %r) with the disk in the "
      "second slot" % code)
check(re.search(r"\] Guest-boot-time = +\d+ us +\d+ ms, +\d+ CPU us +\d+ CPU ms\n",
                text), "--boot-timer: the boot time logged (%r)" % text)

# --- Firecracker's limits and request checks --------------------------------
lim = Fc("limits", ["--api-sock", os.path.join(TMP, "limits.sock"),
                    "--http-api-max-payload-size", "1000"])
lim.expect("PUT", "/boot-source", {"kernel_image_path": KERNEL,
                                   "boot_args": "x" * 1000}, 400,
           fault="larger than the limit of 1000")
lim.expect("PUT", "/boot-source", {"kernel_image_path": "/nonexistent/k"}, 400,
           fault="/nonexistent/k")
lim.expect("PUT", "/boot-source", {"kernel_image_path": KERNEL,
                                   "initrd_path": "/nonexistent/i"}, 400,
           fault="/nonexistent/i")
lim.expect("PUT", "/logger", {"level": "warn"}, 204)  # as Firecracker reads it
full = lim.expect("GET", "/vm/config", None, 200, schema="FullVmConfiguration")
check(full and full["logger"]["level"] == "Warning",
      "logger level `warn`: taken as Warning (%r)" % (full or {}).get("logger"))
lim.expect("PATCH", "/machine-config", {}, 400, fault="Empty PATCH request.")
lim.expect("PATCH", "/machine-config", {"vcpu_count": None}, 400,
           fault="Empty PATCH request.")
st, b = vmon_api.parse_response(vmon_api.raw(
    lim.sock, b"GET /machine-config HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    b"Content-Length: 2\r\n\r\n{}"))[:2]
check(st == 400 and "GET request cannot have a body" in b["fault_message"],
      "GET with a body: 400 (%d %r)" % (st, b))
head = vmon_api.raw(lim.sock, b"GET /version HTTP/1.1\r\nHost: x\r\n"
                    b"Connection: close\r\n\r\n").split(b"\r\n\r\n")[0]
check(re.search(rb"\r\nServer: Firecracker API \(vmon [^)]*\)\r\n", head + b"\r\n"),
      "the Server header: Firecracker's, saying vmon (%r)" % head)
lim.expect("PUT", "/drives/bad-id", {"drive_id": "bad-id",
                                     "path_on_host": image("lim.img"),
                                     "is_root_device": False}, 400,
           fault="A-Z a-z 0-9 _")
# partuuid off the root drive: kept and ignored, as in Firecracker.
lim.expect("PUT", "/drives/d0", {"drive_id": "d0", "partuuid": "0eaa-01",
                                 "path_on_host": image("lim.img"),
                                 "is_root_device": False}, 204)
full = lim.expect("GET", "/vm/config", None, 200, schema="FullVmConfiguration")
check(full and full["drives"][0]["partuuid"] == "0eaa-01",
      "partuuid on a drive that is not the root: accepted and reported")
for i in range(16):
    lim.expect("PUT", "/drives/d%d" % i, {"drive_id": "d%d" % i,
                                          "path_on_host": image("lim.img"),
                                          "is_root_device": False,
                                          "is_read_only": True}, 204)
lim.expect("PUT", "/drives/d16", {"drive_id": "d16",
                                  "path_on_host": image("lim.img"),
                                  "is_root_device": False,
                                  "is_read_only": True}, 400, fault="at most 16")
lim.expect("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 16}, 204)
lim.expect("PUT", "/balloon", {"amount_mib": 17, "deflate_on_oom": True}, 400,
           fault="amount_mib")
lim.expect("PUT", "/balloon", {"amount_mib": 8, "deflate_on_oom": True}, 204)
lim.expect("PATCH", "/machine-config", {"mem_size_mib": 4}, 400,
           fault="less than the balloon's target of 8 MiB")
lim.expect("PUT", "/boot-source", {"kernel_image_path": KERNEL}, 204)
lim.expect("PUT", "/actions", {"action_type": "InstanceStart"}, 400,
           fault="more than 16 virtio devices")
lim.expect("PATCH", "/balloon", {"amount_mib": 1}, 400, fault="before starting")
lim.expect("PUT", "/actions", {"action_type": "FlushMetrics"}, 400,
           fault="before starting")
lim.stop()
# 16 drives (Kata's 9 and more) boot.
many = Fc("drives16", ["--api-sock", os.path.join(TMP, "drives16.sock")])
many.expect("PUT", "/boot-source", {"kernel_image_path": KERNEL}, 204)
many.expect("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 32}, 204)
for i in range(16):
    many.expect("PUT", "/drives/d%d" % i, {"drive_id": "d%d" % i,
                                           "path_on_host": image("lim.img"),
                                           "is_root_device": False,
                                           "is_read_only": True}, 204)
many.expect("PUT", "/actions", {"action_type": "InstanceStart"}, 204)
info = many.expect("GET", "/", None, 200, schema="InstanceInfo")
check(info and info["state"] == "Running", "16 drives: the VM runs")
check(many.stop() == 0, "16 drives: vmon stops on SIGTERM with 0")

check(not HEADER_ERRORS, "every response: Firecracker's Server header, JSON "
      "bodies as application/json (%r)"
      % HEADER_ERRORS[:3])
vmontest.finish()
