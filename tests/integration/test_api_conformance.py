# SPDX-License-Identifier: GPL-2.0-only
"""Conformance of vmon's API with Firecracker's OpenAPI file: every
implemented endpoint with valid and invalid requests, before and after
InstanceStart; status codes, bodies checked against the schemas, and
that refused requests change nothing. Also --config-file.

`test_api_conformance.py host` (integration/api_conformance_host) runs the
part before InstanceStart, which needs no /dev/kvm, so it holds on any
host; the plain run needs KVM and runs all of it."""
import json
import os
import subprocess
import tempfile
import time

import vmontest
from vmontest import check
import vmon_api
from vmon_api import schema_errors

HOST_PART = vmontest.HOST_PART
if not HOST_PART:
    vmontest.require_kvm()
inst = vmon_api.Instance(id="conformance-%d" % os.getpid())


def expect(method, path, body, status, schema=None, fault=None):
    st, b = inst.req(method, path, body)
    what = "%s %s %s -> %s" % (method, path,
                               json.dumps(body)[:60] if body is not None else "",
                               status)
    ok = st == status
    if status == 204:
        ok = ok and b is None
    if schema:
        errs = schema_errors(schema, b)
        ok = ok and not errs
        if errs:
            print("  schema: %s" % errs)
    if fault is not None:
        msg = (b or {}).get("fault_message", "")
        ok = ok and not schema_errors("Error", b) and fault in msg
    if not ok:
        print("  got %s %r" % (st, b))
    check(ok, what)
    return b


# --- before boot ----------------------------------------------------------
info = expect("GET", "/", None, 200, "InstanceInfo")
check(info["state"] == "Not started" and info["id"] == "conformance-%d" % os.getpid(),
      "GET /: Not started, the --id given")
expect("GET", "/version", None, 200, "FirecrackerVersion")
mc = expect("GET", "/machine-config", None, 200, "MachineConfiguration")
check(mc["vcpu_count"] == 1 and mc["mem_size_mib"] == 128 and mc["smt"] is False,
      "machine-config defaults: 1 vCPU, 128 MiB, no SMT (as Firecracker)")
expect("GET", "/vm/config", None, 200, "FullVmConfiguration")

# machine-config: valid, invalid, partial
expect("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 64}, 204)
mc = expect("GET", "/machine-config", None, 200, "MachineConfiguration")
check(mc["vcpu_count"] == 2 and mc["mem_size_mib"] == 64, "PUT machine-config applied")
expect("PUT", "/machine-config", {"vcpu_count": 0, "mem_size_mib": 64}, 400,
       fault="vcpu_count")
expect("PUT", "/machine-config", {"vcpu_count": 33, "mem_size_mib": 64}, 400,
       fault="vcpu_count")
expect("PUT", "/machine-config", {"vcpu_count": "2", "mem_size_mib": 64}, 400,
       fault="vcpu_count")
expect("PUT", "/machine-config", {"vcpu_count": 2}, 400, fault="mem_size_mib")
expect("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 64,
                                  "bogus": True}, 400, fault="bogus")
expect("PUT", "/machine-config", {"vcpu_count": 3, "mem_size_mib": 64,
                                  "smt": True}, 400, fault="smt")
expect("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64,
                                  "cpu_template": "t2"}, 400,
       fault="cpu_template")
expect("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64,
                                  "cpu_template": "nosuch"}, 400,
       fault="cpu_template")
expect("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64,
                                  "huge_pages": "4M"}, 400, fault="huge_pages")
expect("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 63,
                                  "huge_pages": "2M"}, 400, fault="mem_size_mib")
mc = expect("GET", "/machine-config", None, 200, "MachineConfiguration")
check(mc["vcpu_count"] == 2 and mc["mem_size_mib"] == 64 and "cpu_template" not in mc,
      "refused machine-config requests changed nothing")
expect("PATCH", "/machine-config", {"mem_size_mib": 48}, 204)
expect("PATCH", "/machine-config", {"cpu_template": "None"}, 204)
expect("PATCH", "/machine-config", {"cpu_template": "pvm"}, 204)
mc = expect("GET", "/machine-config", None, 200, "MachineConfiguration")
check(mc["vcpu_count"] == 2 and mc["mem_size_mib"] == 48 and
      mc["cpu_template"] == "pvm", "PATCH machine-config changes only given fields")
expect("PATCH", "/machine-config", {"cpu_template": "None"}, 204)

# boot-source
expect("PUT", "/boot-source", {}, 400, fault="kernel_image_path")
expect("PUT", "/boot-source", {"kernel_image_path": 5}, 400,
       fault="kernel_image_path")
expect("PUT", "/boot-source", {"kernel_image_path": "/k", "x": 1}, 400,
       fault="`x`")
expect("PUT", "/boot-source", {"kernel_image_path": vmon_api.GUEST_COUNTER,
                               "boot_args": "console=ttyS0"}, 204)

# logger and metrics
d = tempfile.mkdtemp(prefix="vmon-conf-")
expect("PUT", "/logger", {"level": "Loud"}, 400, fault="level")
expect("PUT", "/logger", {"log_path": "/nonexistent/dir/log"}, 400,
       fault="log_path")
expect("PUT", "/logger", {"log_path": os.path.join(d, "log"), "level": "info",
                          "show_level": True}, 204)
expect("PUT", "/metrics", {}, 400, fault="metrics_path")
expect("PUT", "/metrics", {"metrics_path": "/nonexistent/dir/m"}, 400,
       fault="metrics_path")
# FlushMetrics is a run-time request (Firecracker's rule).
expect("PUT", "/actions", {"action_type": "FlushMetrics"}, 400,
       fault="before starting")
mpath = os.path.join(d, "metrics.json")
expect("PUT", "/metrics", {"metrics_path": mpath}, 204)
expect("PUT", "/metrics", {"metrics_path": mpath}, 400, fault="already")
expect("PUT", "/actions", {"action_type": "FlushMetrics"}, 400,
       fault="before starting")

full = expect("GET", "/vm/config", None, 200, "FullVmConfiguration")
check(full.get("boot-source", {}).get("boot_args") == "console=ttyS0" and
      full.get("metrics", {}).get("metrics_path") == mpath and
      full.get("logger", {}).get("show_level") is True,
      "GET /vm/config reflects the configuration")

# actions and state errors before boot
expect("PUT", "/actions", {"action_type": "Reboot"}, 400, fault="action_type")
expect("PUT", "/actions", {}, 400, fault="action_type")
expect("PUT", "/actions", {"action_type": "SendCtrlAltDel"}, 400,
       fault="before starting")
expect("PATCH", "/vm", {"state": "Paused"}, 400, fault="before starting")
expect("PATCH", "/vm", {"state": "Sleeping"}, 400, fault="state")
expect("GET", "/vmon/stats", None, 400, fault="before starting")

# endpoints vmon does not have yet: a clear 400 naming the feature
for method, path, feature in [
        ("PUT", "/hotplug/memory", "virtio-mem"), ("PUT", "/pmem/p0", "pmem")]:
    expect(method, path, None if method == "GET" else {"x": 1}, 400,
           fault=feature)

# MMDS (test_mmds.py: the guest's side): Firecracker's errors
check(expect("GET", "/mmds", None, 200) == {}, "GET /mmds before any PUT: {}")
expect("PATCH", "/mmds", {"a": "b"}, 400, fault="not initialized")
expect("PUT", "/mmds/config", {"network_interfaces": []}, 400, fault="is empty")
expect("PUT", "/mmds/config", {"network_interfaces": ["nope"]}, 400,
       fault="does not correspond to any existing network interface")
expect("PUT", "/mmds/config", {}, 400, fault="network_interfaces")
expect("PUT", "/mmds", {"latest": {"meta-data": {"id": "i-1"}}}, 204)
expect("PATCH", "/mmds", {"latest": {"meta-data": {"id": None, "x": "y"}}}, 204)
check(expect("GET", "/mmds", None, 200) == {"latest": {"meta-data": {"x": "y"}}},
      "PATCH /mmds is a JSON merge patch (null removes)")

# the snapshot endpoints check their fields (test_snapshot.py: the rest)
expect("PUT", "/snapshot/create", {"x": 1}, 400, fault="unknown field `x`")
expect("PUT", "/snapshot/load", {"x": 1}, 400, fault="unknown field `x`")

# unknown paths and wrong methods
expect("GET", "/nosuch", None, 400, fault="Invalid request method and/or path")
expect("DELETE", "/machine-config", None, 400, fault="Invalid request method")
expect("GET", "/actions", None, 400, fault="Invalid request method")
expect("POST", "/boot-source", {"kernel_image_path": "/x"}, 400,
       fault="Invalid request method")
expect("PUT", "/drives/", {"x": 1}, 400, fault="Invalid request method")

# bodies: missing, malformed, not an object
expect("PUT", "/machine-config", None, 400, fault="JSON body")
expect("PUT", "/machine-config", "{\"vcpu_count\": 2,", 400, fault="invalid JSON")
expect("PUT", "/machine-config", "[1, 2]", 400, fault="JSON object")
expect("PUT", "/machine-config", "{\"vcpu_count\":1,\"vcpu_count\":2}", 400,
       fault="invalid JSON")


# --- devices before boot ----------------------------------------------------
img = os.path.join(d, "root.img")
with open(img, "wb") as f:
    f.write(b"\0" * (1 << 20))
img2 = os.path.join(d, "second.img")
with open(img2, "wb") as f:
    f.write(b"\1" * (2 << 20))
RL = {"bandwidth": {"size": 1048576, "refill_time": 1000, "one_time_burst": 4096},
      "ops": {"size": 100, "refill_time": 1000}}


def fc_rl(rl):
    """@rl as GET /vm/config shows it: Firecracker's keys, null if unset."""
    return {k: dict({"one_time_burst": None}, **rl[k]) if rl.get(k) else None
            for k in ("bandwidth", "ops")}


drive = {"drive_id": "rootfs", "path_on_host": img, "is_root_device": True,
         "is_read_only": True}
for body, field in [
        (dict(drive, drive_id="other"), "does not match"),
        ({k: v for k, v in drive.items() if k != "is_root_device"}, "is_root_device"),
        ({k: v for k, v in drive.items() if k != "path_on_host"}, "path_on_host"),
        (dict(drive, path_on_host="/nonexistent/img"), "path_on_host"),
        (dict(drive, is_read_only="yes"), "is_read_only"),
        (dict(drive, cache_type="Fast"), "cache_type"),
        (dict(drive, io_engine="Uring"), "io_engine"),
        (dict(drive, socket="/tmp/vhost.sock"), "socket"),
        (dict(drive, bogus=1), "bogus"),
        (dict(drive, partuuid="zz"), "partuuid"),
        (dict(drive, rate_limiter={"bandwidth": {"size": -1, "refill_time": 1}}), "size"),
        (dict(drive, rate_limiter={"bandwidth": {"size": 1}}), "refill_time"),
        (dict(drive, rate_limiter={"bandwidth": {"size": 1, "refill_time": 1, "x": 0}}), "`x`"),
        (dict(drive, rate_limiter={"iops": {}}), "iops"),
        (dict(drive, rate_limiter=[]), "rate_limiter")]:
    expect("PUT", "/drives/rootfs", body, 400, fault=field)
expect("PUT", "/drives/bad.id", dict(drive, drive_id="bad.id"), 400, fault="id in the path")
expect("PATCH", "/drives/rootfs", {"drive_id": "rootfs"}, 400, fault="Empty PATCH request.")
expect("PATCH", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": img}, 400,
       fault="before starting")
check(expect("GET", "/vm/config", None, 200, "FullVmConfiguration")["drives"] == [],
      "refused drive requests added nothing")
expect("PUT", "/drives/data", {"drive_id": "data", "path_on_host": img2,
                               "is_root_device": False, "is_read_only": False,
                               "cache_type": "Writeback", "io_engine": "Async"}, 204)
expect("PUT", "/drives/rootfs", dict(drive, rate_limiter=RL, partuuid="0eaa91a0-01"), 204)
expect("PUT", "/drives/second", dict(drive, drive_id="second"), 400,
       fault="root block device already exists")
expect("PUT", "/drives/rootfs", dict(drive, rate_limiter=RL), 204)  # replaces
for i in range(6):
    expect("PUT", "/drives/d%d" % i, {"drive_id": "d%d" % i, "path_on_host": img2,
                                     "is_root_device": False, "is_read_only": True}, 204)
full = expect("GET", "/vm/config", None, 200, "FullVmConfiguration")
drives = full["drives"]
check(len(drives) == 8 and drives[0]["drive_id"] == "rootfs" and
      drives[0]["rate_limiter"] == fc_rl(RL) and drives[0]["partuuid"] is None and
      drives[1]["drive_id"] == "data" and drives[1]["cache_type"] == "Writeback" and
      drives[1]["io_engine"] == "Async" and drives[1]["is_read_only"] is False,
      "GET /vm/config: drives, the root device first, rate limiter as given")
# Keep two drives for the boot: replace the extra ones' config by a new instance
# would be simpler, but Firecracker has no DELETE; they boot too (read-only).

# vsock, balloon, entropy
vs = os.path.join(d, "v.sock")
expect("PUT", "/vsock", {"guest_cid": 2, "uds_path": vs}, 400, fault="guest_cid")
expect("PUT", "/vsock", {"guest_cid": 3}, 400, fault="uds_path")
expect("PUT", "/vsock", {"guest_cid": 3, "uds_path": "x" * 200}, 400, fault="uds_path")
expect("PUT", "/vsock", {"guest_cid": 3, "uds_path": vs, "vsock_id": "v"}, 204)
expect("GET", "/balloon", None, 400, fault="no balloon")
# PATCH /balloon(/statistics) are run-time requests (Firecracker's rule).
expect("PATCH", "/balloon", {"amount_mib": 1}, 400, fault="before starting")
expect("PUT", "/balloon", {"amount_mib": 4}, 400, fault="deflate_on_oom")
expect("PUT", "/balloon", {"amount_mib": 4, "deflate_on_oom": True,
                           "free_page_hinting": 1}, 400, fault="free_page_hinting")
expect("PUT", "/balloon", {"amount_mib": -4, "deflate_on_oom": True}, 400,
       fault="amount_mib")
expect("PUT", "/balloon", {"amount_mib": 4, "deflate_on_oom": True,
                           "stats_polling_interval_s": 1,
                           "free_page_reporting": True}, 204)
expect("PATCH", "/balloon", {"amount_mib": 2}, 400, fault="before starting")
expect("PATCH", "/balloon/statistics", {"stats_polling_interval_s": 1}, 400,
       fault="before starting")
b = expect("GET", "/balloon", None, 200, "Balloon")
check(b["amount_mib"] == 4 and b["deflate_on_oom"] is True and
      b["stats_polling_interval_s"] == 1 and b["free_page_reporting"] is True,
      "GET /balloon before boot: the configuration, the PATCHes refused")
expect("GET", "/balloon/statistics", None, 400, fault="before starting")
rng_rl = {"bandwidth": {"size": 1, "refill_time": 1}}
expect("PUT", "/entropy", {"rate_limiter": rng_rl}, 204)
full = expect("GET", "/vm/config", None, 200, "FullVmConfiguration")
check(full["entropy"].get("rate_limiter", {}).get("bandwidth", {}).get("size") == 1,
      "GET /vm/config: the entropy device's rate limiter: %r" % full["entropy"])
expect("PUT", "/entropy", {"rate_limiter": {"bandwidth": {"size": -1}}}, 400,
       fault="rate_limiter")
expect("PUT", "/entropy", {"bogus": 1}, 400, fault="bogus")
expect("PUT", "/entropy", {}, 204)
full = expect("GET", "/vm/config", None, 200, "FullVmConfiguration")
check(full["vsock"] == {"guest_cid": 3, "uds_path": vs, "vsock_id": None} and
      full["entropy"] == {"rate_limiter": None} and
      full["balloon"]["amount_mib"] == 4, "GET /vm/config: vsock, balloon, entropy")

# network interfaces (this instance never boots them: no tap is created)
net_inst = vmon_api.Instance(id="conformance-net-%d" % os.getpid())
nif = {"iface_id": "eth0", "host_dev_name": "vmconf0", "guest_mac": "06:00:ac:10:00:02"}
for body, field in [
        (dict(nif, iface_id="eth1"), "does not match"),
        ({"iface_id": "eth0"}, "host_dev_name"),
        (dict(nif, host_dev_name="a/b"), "host_dev_name"),
        (dict(nif, host_dev_name="x" * 16), "host_dev_name"),
        (dict(nif, guest_mac="06:00:ac:10:00"), "guest_mac"),
        (dict(nif, mtu=67), "mtu"),
        (dict(nif, mtu=65536), "mtu"),
        (dict(nif, mtu="1500"), "mtu"),
        (dict(nif, rx_rate_limiter={"ops": {"size": 1, "refill_time": "1"}}), "refill_time"),
        (dict(nif, mmds=True), "mmds")]:
    st, b = net_inst.req("PUT", "/network-interfaces/eth0", body)
    check(st == 400 and field in (b or {}).get("fault_message", ""),
          "PUT /network-interfaces/eth0 refused: %s (%s)" % (field, (b or {}).get("fault_message")))
st, _ = net_inst.req("PUT", "/network-interfaces/eth0", dict(nif, tx_rate_limiter=RL))
check(st == 204, "PUT /network-interfaces/eth0 with a tx rate limiter: 204")
st, b = net_inst.req("PUT", "/network-interfaces/eth1",
                     {"iface_id": "eth1", "host_dev_name": "vmconf0"})
check(st == 400 and "already used" in b["fault_message"], "a tap used twice: 400")
st, b = net_inst.req("PUT", "/network-interfaces/eth1",
                     {"iface_id": "eth1", "host_dev_name": "vmconf1",
                      "guest_mac": "06:00:AC:10:00:02"})
check(st == 400 and "guest_mac" in b["fault_message"], "a MAC used twice: 400")
st, b = net_inst.req("PATCH", "/network-interfaces/eth0",
                     {"iface_id": "eth0", "rx_rate_limiter": {}})
check(st == 400 and "before starting" in b["fault_message"], "PATCH net before boot: 400")
st, full = net_inst.req("GET", "/vm/config")
check(st == 200 and not schema_errors("FullVmConfiguration", full) and
      full["network-interfaces"] == [dict(nif, tx_rate_limiter=fc_rl(RL),
                                          rx_rate_limiter=None)],
      "GET /vm/config: the network interface as given")
# Firecracker takes any six octets (multicast too) and an mtu of 68 to
# 65535, told to the guest.
mc = {"iface_id": "eth2", "host_dev_name": "vmconf2",
      "guest_mac": "07:00:ac:10:00:02", "mtu": 9000}
st, b = net_inst.req("PUT", "/network-interfaces/eth2", mc)
check(st == 204, "a multicast guest_mac and an mtu: 204 (%r)" % (b,))
st, full = net_inst.req("GET", "/vm/config")
got = [n for n in full.get("network-interfaces", []) if n["iface_id"] == "eth2"]
check(st == 200 and not schema_errors("FullVmConfiguration", full) and
      got == [dict(mc, rx_rate_limiter=None, tx_rate_limiter=None)],
      "GET /vm/config: the MAC and the mtu as given: %r" % got)
net_inst.stop()

# a missing kernel is refused at PUT time (as in Firecracker); one that
# disappears after it fails InstanceStart cleanly, and nothing changes
expect("PUT", "/boot-source", {"kernel_image_path": "/nonexistent/vmlinux"}, 400,
       fault="/nonexistent/vmlinux")
gone = os.path.join(d, "gone-vmlinux")
open(gone, "wb").close()
expect("PUT", "/boot-source", {"kernel_image_path": gone}, 204)
os.unlink(gone)
expect("PUT", "/actions", {"action_type": "InstanceStart"}, 400,
       fault=gone)
check(inst.req("GET", "/")[1]["state"] == "Not started",
      "failed InstanceStart leaves the instance Not started")
expect("PUT", "/boot-source", {"kernel_image_path": vmon_api.GUEST_COUNTER}, 204)
if HOST_PART:
    inst.stop()
    vmontest.finish()

# --- boot ------------------------------------------------------------------
expect("PUT", "/actions", {"action_type": "InstanceStart"}, 204)
info = expect("GET", "/", None, 200, "InstanceInfo")
check(info["state"] == "Running", "GET /: Running after InstanceStart")
expect("PUT", "/actions", {"action_type": "InstanceStart"}, 400,
       fault="after starting")
expect("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64}, 400,
       fault="after starting")
expect("PATCH", "/machine-config", {"vcpu_count": 1}, 400, fault="after starting")
expect("PUT", "/boot-source", {"kernel_image_path": "/x"}, 400,
       fault="after starting")
expect("PUT", "/metrics", {"metrics_path": "/tmp/x"}, 400, fault="after starting")
expect("PUT", "/logger", {"level": "Info"}, 400, fault="after starting")
mc = expect("GET", "/machine-config", None, 200, "MachineConfiguration")
check(mc["vcpu_count"] == 2 and mc["mem_size_mib"] == 48,
      "configuration unchanged after refused post-boot requests")
for method, path, body in [
        ("PUT", "/drives/rootfs", drive), ("PUT", "/vsock", {"guest_cid": 3, "uds_path": vs}),
        ("PUT", "/balloon", {"amount_mib": 1, "deflate_on_oom": True}),
        ("PUT", "/entropy", {}), ("PUT", "/network-interfaces/eth0", nif)]:
    expect(method, path, body, 400, fault="after starting")

# Ctrl+Alt+Del goes to the keyboard queue (16 bytes: two presses fit)
expect("PUT", "/actions", {"action_type": "SendCtrlAltDel"}, 204)
expect("PUT", "/actions", {"action_type": "SendCtrlAltDel"}, 204)
expect("PUT", "/actions", {"action_type": "SendCtrlAltDel"}, 400, fault="full")

# run-time drive updates
expect("PATCH", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": img2}, 204)
expect("PATCH", "/drives/rootfs", {"drive_id": "rootfs",
                                   "rate_limiter": {"ops": {"size": 10, "refill_time": 100}}}, 204)
expect("PATCH", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": "/nonexistent"},
       400, fault="path_on_host")
expect("PATCH", "/drives/rootfs", {"drive_id": "rootfs", "is_read_only": False}, 400,
       fault="is_read_only")
expect("PATCH", "/drives/nosuch", {"drive_id": "nosuch", "path_on_host": img2}, 400,
       fault="no such drive")
expect("PATCH", "/drives/rootfs", {"drive_id": "data", "path_on_host": img2}, 400,
       fault="does not match")
drives = expect("GET", "/vm/config", None, 200, "FullVmConfiguration")["drives"]
check(drives[0]["path_on_host"] == img2 and
      drives[0]["rate_limiter"] == fc_rl({"bandwidth": RL["bandwidth"],
                                          "ops": {"size": 10, "refill_time": 100}}),
      "PATCH /drives: new backing file and rate limiter (bandwidth kept)")
expect("PATCH", "/network-interfaces/eth0", {"iface_id": "eth0", "rx_rate_limiter": {}},
       400, fault="no such network interface")

# run-time balloon
expect("PATCH", "/balloon", {"amount_mib": 8}, 204)
expect("PATCH", "/balloon", {"amount_mib": 49}, 400, fault="amount_mib")
check(expect("GET", "/balloon", None, 200, "Balloon")["amount_mib"] == 8,
      "GET /balloon: the new target")
bs = expect("GET", "/balloon/statistics", None, 200, "BalloonStats")
check(bs["target_mib"] == 8 and bs["target_pages"] == 8 * 256,
      "GET /balloon/statistics: the device's target")
expect("PATCH", "/balloon/statistics", {"stats_polling_interval_s": 1}, 204)
expect("PATCH", "/balloon/statistics", {"stats_polling_interval_s": 5}, 204)
check(expect("GET", "/balloon", None, 200, "Balloon")
      ["stats_polling_interval_s"] == 5,
      "PATCH /balloon/statistics: the new interval")
expect("PATCH", "/balloon/statistics", {"stats_polling_interval_s": 0}, 400,
       fault="cannot be turned off")

deadline = time.monotonic() + 20
while inst.last_count() < 0x4000 and time.monotonic() < deadline:
    time.sleep(0.05)
check(inst.last_count() >= 0x4000, "the guest runs and counts")

expect("PATCH", "/vm", {"state": "Paused"}, 204)
check(expect("GET", "/", None, 200, "InstanceInfo")["state"] == "Paused",
      "GET /: Paused")
expect("PATCH", "/vm", {"state": "Paused"}, 204)
expect("PATCH", "/vm", {"state": "Resumed"}, 204)
check(expect("GET", "/", None, 200, "InstanceInfo")["state"] == "Running",
      "GET /: Running after resume")

stats = expect("GET", "/vmon/stats", None, 200)
check(stats and stats.get("exits", {}).get("IO", 0) > 0 and
      stats["devices"]["serial"]["writes"] > 0 and len(stats["vcpus"]) == 2,
      "GET /vmon/stats: exits by reason, device counters, per-vCPU entries")

expect("PUT", "/actions", {"action_type": "FlushMetrics"}, 204)
with open(mpath) as f:
    lines = [json.loads(l) for l in f if l.strip()]
check(len(lines) == 1 and lines[-1]["state"] == "Running" and
      lines[-1]["exits"]["IO"] > 0 and "guest_ms" in lines[-1]["vcpus"][0] and
      lines[-1]["devices"]["serial"]["write_bytes"] >= 10 * 4,
      "metrics file: one JSON line per flush, with exits, device bytes and vCPU times")

expect("PUT", "/actions", {"action_type": "Stop"}, 204)
code = inst.stop()
check(code == 0, "Stop action: vmon exits 0 (got %r)" % code)
check(not os.path.exists(inst.sock), "the API socket is removed at exit")
with open(mpath) as f:
    n = sum(1 for l in f if l.strip())
check(n == 2, "a last metrics line is written at exit")
with open(os.path.join(d, "log")) as f:
    log = f.read()
check("stopping on API request" in log, "the logger's file receives vmon's log")

# --- --config-file ---------------------------------------------------------
cfgdir = tempfile.mkdtemp(prefix="vmon-cfg-")
serial = os.path.join(cfgdir, "serial")
cfg = os.path.join(cfgdir, "vm.json")
with open(cfg, "w") as f:
    json.dump({"boot-source": {"kernel_image_path": vmon_api.GUEST_COUNTER},
               "machine-config": {"vcpu_count": 1, "mem_size_mib": 32},
               "drives": [], "network-interfaces": []}, f)
p = subprocess.Popen([vmontest.VMON, "--config-file", cfg, "--serial",
                      "file:" + serial], stderr=subprocess.PIPE)
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    if os.path.exists(serial) and "c=00004000" in open(serial).read():
        break
    time.sleep(0.05)
check(os.path.exists(serial) and "c=00004000" in open(serial).read(),
      "--config-file boots the described VM without the API")
p.terminate()
check(p.wait(10) == 0, "--config-file instance stops on SIGTERM with 0")

# An --id that is taken fails before the described VM is built (the
# serial file is created with the VM).
taken_id = "conformance-taken-%d" % os.getpid()
taken = vmon_api.Instance(id=taken_id)
serial = os.path.join(cfgdir, "serial-taken")
r = vmontest.run(["--config-file", cfg, "--api-sock",
                  os.path.join(cfgdir, "taken.sock"), "--id", taken_id,
                  "--serial", "file:" + serial], timeout=20)
check(r.code == 2 and "already used" in r.err and not os.path.exists(serial),
      "--config-file with a taken --id: exit 2 before the VM is built (no "
      "serial file): %s %r" % (r.code, r.err[-300:]))
taken.stop()

with open(cfg, "w") as f:
    json.dump({"boot-source": {"kernel_image_path": vmon_api.GUEST_COUNTER},
               "drives": [{"drive_id": "root", "is_root_device": True}]}, f)
r = vmontest.run(["--config-file", cfg, "--serial", "none"], timeout=10)
check(r.code == 2 and "drives/root" in r.err and "path_on_host" in r.err,
      "--config-file with a bad drive: exit 2 naming the drive and the field")
with open(cfg, "w") as f:
    json.dump({"boot-source": {"kernel_image_path": vmon_api.GUEST_COUNTER},
               "machine-config": {"vcpu_count": 1, "mem_size_mib": 32},
               "drives": [{"drive_id": "root", "is_root_device": True,
                           "is_read_only": True, "path_on_host": img}],
               "balloon": {"amount_mib": 0, "deflate_on_oom": False},
               "entropy": {}, "vsock": {"guest_cid": 5,
                                        "uds_path": os.path.join(cfgdir, "v")}}, f)
serial = os.path.join(cfgdir, "serial2")
p = subprocess.Popen([vmontest.VMON, "-v", "--config-file", cfg, "--serial",
                      "file:" + serial], stderr=subprocess.PIPE)
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    if os.path.exists(serial) and "c=00004000" in open(serial).read():
        break
    time.sleep(0.05)
p.terminate()
err = p.communicate(timeout=10)[1].decode(errors="replace")
check(p.returncode == 0 and "root=/dev/vda ro" in err and
      err.count("virtio_mmio.device=") == 4,
      "--config-file with drives, balloon, entropy, vsock: four virtio devices, root= on the command line")
with open(cfg, "w") as f:
    f.write("{\"boot-source\": ")
r = vmontest.run(["--config-file", cfg], timeout=10)
check(r.code == 2 and "invalid JSON" in r.err, "--config-file: malformed JSON, exit 2")
r = vmontest.run(["--api-sock", "/tmp/x.sock", "--kernel", "/k"], timeout=10)
check(r.code == 2 and "do not apply" in r.err, "--api-sock with --kernel refused")
vmontest.finish()
