# SPDX-License-Identifier: GPL-2.0-only
"""Conformance of vmon's API with Firecracker's OpenAPI file: every
implemented endpoint with valid and invalid requests, before and after
InstanceStart; status codes, bodies checked against the schemas, and
that refused requests change nothing. Also --config-file."""
import json
import os
import subprocess
import tempfile
import time

import vmontest
from vmontest import check
import vmon_api
from vmon_api import schema_errors

vmontest.require_kvm()
inst = vmon_api.Instance(id="conformance")


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
check(info["state"] == "Not started" and info["id"] == "conformance",
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
                                  "cpu_template": "T2"}, 400, fault="T2")
expect("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64,
                                  "cpu_template": "nosuch"}, 400,
       fault="cpu_template")
expect("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64,
                                  "huge_pages": "2M"}, 400, fault="huge_pages")
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
expect("PUT", "/actions", {"action_type": "FlushMetrics"}, 400,
       fault="not initialized")
mpath = os.path.join(d, "metrics.json")
expect("PUT", "/metrics", {"metrics_path": mpath}, 204)
expect("PUT", "/metrics", {"metrics_path": mpath}, 400, fault="already")
expect("PUT", "/actions", {"action_type": "FlushMetrics"}, 204)

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
        ("PUT", "/drives/rootfs", "virtio-blk"),
        ("PATCH", "/drives/rootfs", "virtio-blk"),
        ("PUT", "/network-interfaces/eth0", "virtio-net"),
        ("PATCH", "/network-interfaces/eth0", "virtio-net"),
        ("PUT", "/vsock", "vsock"), ("PUT", "/balloon", "balloon"),
        ("PATCH", "/balloon", "balloon"), ("GET", "/balloon/statistics", "balloon"),
        ("PUT", "/entropy", "entropy"), ("PUT", "/snapshot/create", "snapshots"),
        ("PUT", "/snapshot/load", "snapshots"), ("PUT", "/mmds", "MMDS"),
        ("GET", "/mmds", "MMDS"), ("PUT", "/mmds/config", "MMDS"),
        ("PUT", "/cpu-config", "CPU configuration"),
        ("PUT", "/hotplug/memory", "virtio-mem"), ("PUT", "/pmem/p0", "pmem")]:
    expect(method, path, {"x": 1}, 400, fault=feature)

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

# a missing kernel fails InstanceStart cleanly, and nothing changes
expect("PUT", "/boot-source", {"kernel_image_path": "/nonexistent/vmlinux"}, 204)
expect("PUT", "/actions", {"action_type": "InstanceStart"}, 400,
       fault="/nonexistent/vmlinux")
check(inst.req("GET", "/")[1]["state"] == "Not started",
      "failed InstanceStart leaves the instance Not started")
expect("PUT", "/boot-source", {"kernel_image_path": vmon_api.GUEST_COUNTER}, 204)

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
expect("PUT", "/actions", {"action_type": "SendCtrlAltDel"}, 400,
       fault="not supported")

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
check(len(lines) == 2 and lines[-1]["state"] == "Running" and
      lines[-1]["exits"]["IO"] > 0 and "guest_ms" in lines[-1]["vcpus"][0] and
      lines[-1]["devices"]["serial"]["write_bytes"] >= 10 * 4,
      "metrics file: one JSON line per flush, with exits, device bytes and vCPU times")

expect("PUT", "/actions", {"action_type": "Stop"}, 204)
code = inst.stop()
check(code == 0, "Stop action: vmon exits 0 (got %r)" % code)
check(not os.path.exists(inst.sock), "the API socket is removed at exit")
with open(mpath) as f:
    n = sum(1 for l in f if l.strip())
check(n == 3, "a last metrics line is written at exit")
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

with open(cfg, "w") as f:
    json.dump({"boot-source": {"kernel_image_path": vmon_api.GUEST_COUNTER},
               "drives": [{"drive_id": "root", "is_root_device": True}]}, f)
r = vmontest.run(["--config-file", cfg, "--serial", "none"], timeout=10)
check(r.code == 2 and "drives" in r.err and "virtio-blk" in r.err,
      "--config-file with drives: exit 2 naming the missing feature")
with open(cfg, "w") as f:
    f.write("{\"boot-source\": ")
r = vmontest.run(["--config-file", cfg], timeout=10)
check(r.code == 2 and "invalid JSON" in r.err, "--config-file: malformed JSON, exit 2")
r = vmontest.run(["--api-sock", "/tmp/x.sock", "--kernel", "/k"], timeout=10)
check(r.code == 2 and "do not apply" in r.err, "--api-sock with --kernel refused")
vmontest.finish()
