#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""integration/mmds: the metadata service end to end (issue 12).

vmon runs inside a network namespace of its own (needs root) with one
network interface on a tap it creates; the guest program
guest/probes/mmds_probe.c talks to 169.254.169.254 over virtio-net with
its own ARP and TCP client. vmon answers those frames itself:
- V1 (the store from --metadata, then PATCHed): the value without a
  token, 404 for a missing path;
- V2 (the store PUT, then PATCHed): 401 without a token, a token from
  PUT /latest/api/token, the value and an IMDS listing with it;
- both: a SYN to another port of the address is reset by vmon; broken
  and oversized frames to the address (and 4 KiB of a request without its end: 413)
  leave vmon answering, the MMDS counts them (metrics `mmds`), and of
  the guest's frames only one SYN to another address reaches the tap
  (`vmon_net` tx_count 1).
The API side: PATCH before any PUT refused, GET /mmds, the size limit
(--mmds-size-limit: 413), /mmds/config refused after boot and shown in
GET /vm/config, and kept by a snapshot (the store is not, as in
Firecracker).
"""
import json
import os
import subprocess
import tempfile

import vmon_api
import vmontest

PROBE = os.path.join(vmontest.BUILD_ROOT, "guest", "mmds_probe.elf")
DATA = {"latest": {"meta-data": {"ami-id": "ami-old",
                                 "placement": {"zone": "z1"}}}}
PATCH = {"latest": {"meta-data": {"ami-id": "ami-vmon"}}}


def configure(inst, version, boot_args, metrics):
    """Boot source, machine, interface, MMDS config, metrics file @metrics;
    True if all took."""
    ok = True
    for method, path, body in (
            ("PUT", "/metrics", {"metrics_path": metrics}),
            ("PUT", "/boot-source", {"kernel_image_path": PROBE,
                                     "boot_args": boot_args}),
            ("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64}),
            ("PUT", "/network-interfaces/eth0",
             {"iface_id": "eth0", "host_dev_name": "mmdstap0",
              "guest_mac": "02:00:00:00:00:02"}),
            ("PUT", "/mmds/config", {"network_interfaces": ["eth0"],
                                     "version": version})):
        st, b = inst.req(method, path, body)
        ok &= vmontest.check(st == 204, "%s %s: %r %r" % (method, path, st, b))
    return ok


def frames_checks(version, metrics):
    """The metrics lines vmon wrote (the last one at exit): the broken and
    oversized frames were counted by the MMDS, and of the guest's frames
    only its one SYN to another address reached the tap."""
    with open(metrics) as f:
        lines = [json.loads(x) for x in f.read().split("\n") if x.strip()]
    if not vmontest.check(lines, "%s: metrics written" % version):
        return
    mmds = {k: sum(x["mmds"][k] for x in lines) for k in lines[0]["mmds"]}
    vmontest.check(mmds["rx_bad_eth"] >= 2 and mmds["rx_accepted_err"] >= 4,
                   "%s: the MMDS dropped the bad frames: %r" % (version, mmds))
    net = lines[-1]["vmon_net"]["eth0"]
    vmontest.check(net["tx_count"] == 1,
                   "%s: only the frame to another address reached the tap: %r"
                   % (version, net))


def run_guest(inst, version):
    st, b = inst.req("PUT", "/actions", {"action_type": "InstanceStart"})
    if not vmontest.check(st == 204, "%s: InstanceStart: %r" % (version, b)):
        return
    st, b = inst.req("PUT", "/mmds/config", {"network_interfaces": ["eth0"]})
    vmontest.check(st == 400 and "after starting" in b["fault_message"],
                   "%s: /mmds/config refused after boot: %r" % (version, b))
    st, b = inst.req("GET", "/vm/config")
    vmontest.check(st == 200 and b["mmds-config"]["version"] == version and
                   b["mmds-config"]["network_interfaces"] == ["eth0"] and
                   b["mmds-config"]["ipv4_address"] == "169.254.169.254",
                   "%s: mmds-config in GET /vm/config: %r" % (version, b.get("mmds-config")))
    try:
        code = inst.p.wait(180)
    except subprocess.TimeoutExpired:
        code = None
    out = inst.serial_text()
    print(out)
    vmontest.check(code == 1, "%s: the probe passes: exit 1, got %r" % (version, code))
    vmontest.check("ok: mmds: ARP reply for 169.254.169.254" in out,
                   "%s: ARP answered" % version)
    vmontest.check("ok: mmds: another port of the address is reset by vmon" in out,
                   "%s: another port reset" % version)
    vmontest.check("FAIL" not in out, "%s: no failed guest check" % version)
    for what in ("malformed and oversized frames transmitted",
                 "4 KiB of request without its end: 413", "vmon still answers after them"):
        vmontest.check("ok: mmds: " + what in out, "%s: %s" % (version, what))


def test_v1(name, tmp):
    meta = os.path.join(tmp, "meta.json")
    with open(meta, "w") as f:
        json.dump(DATA, f)
    inst = vmon_api.Instance(prefix=["ip", "netns", "exec", name],
                             id="mmds1-%d" % os.getpid(),
                             extra=["--metadata", meta, "--mmds-size-limit", "200"])
    try:
        st, b = inst.req("GET", "/mmds")
        vmontest.check(st == 200 and b == DATA, "--metadata fills the store: %r" % b)
        st, b = inst.req("PUT", "/mmds", {"k": "x" * 300})
        vmontest.check(st == 413 and "doesn't fit" in b["fault_message"],
                       "a store over --mmds-size-limit: 413 %r" % b)
        st, b = inst.req("PATCH", "/mmds", PATCH)
        vmontest.check(st == 204, "PATCH /mmds: %r" % b)
        metrics = os.path.join(tmp, "v1.metrics")
        if configure(inst, "V1", "mmds.v1", metrics):
            run_guest(inst, "V1")
            frames_checks("V1", metrics)
        out = inst.serial_text()
        vmontest.check("ok: mmds: V1 GET without a token" in out, "V1: GET without a token")
        vmontest.check("ok: mmds: V1 GET of a missing path: 404" in out, "V1: 404")
    finally:
        inst.stop()


def test_v2(name, tmp):
    inst = vmon_api.Instance(prefix=["ip", "netns", "exec", name],
                             id="mmds2-%d" % os.getpid())
    try:
        st, b = inst.req("PATCH", "/mmds", PATCH)
        vmontest.check(st == 400 and "not initialized" in b["fault_message"],
                       "PATCH before PUT refused: %r" % b)
        st, b = inst.req("PUT", "/mmds", DATA)
        vmontest.check(st == 204, "PUT /mmds: %r" % b)
        st, b = inst.req("PATCH", "/mmds", PATCH)
        vmontest.check(st == 204, "PATCH /mmds: %r" % b)
        st, b = inst.req("GET", "/mmds")
        vmontest.check(st == 200 and b["latest"]["meta-data"]["ami-id"] == "ami-vmon"
                       and b["latest"]["meta-data"]["placement"] == {"zone": "z1"},
                       "GET /mmds after the merge patch: %r" % b)
        metrics = os.path.join(tmp, "v2.metrics")
        if configure(inst, "V2", "mmds.v2", metrics):
            run_guest(inst, "V2")
            frames_checks("V2", metrics)
        out = inst.serial_text()
        for what in ("V2 GET without a token: 401", "V2 token PUT",
                     "V2 GET with the token", "V2 IMDS listing"):
            vmontest.check("ok: mmds: " + what in out, what)
    finally:
        inst.stop()


def test_snapshot(name, tmp):
    """The configuration survives a snapshot; the store does not."""
    pre = ["ip", "netns", "exec", name]
    a = vmon_api.Instance(prefix=pre, id="mmdss1-%d" % os.getpid())
    b = None
    try:
        cfg = {"network_interfaces": ["eth0"], "version": "V2",
               "ipv4_address": "169.254.170.2", "imds_compat": True}
        for method, path, body in (
                ("PUT", "/network-interfaces/eth0",
                 {"iface_id": "eth0", "host_dev_name": "mmdstap1"}),
                ("PUT", "/mmds/config", cfg), ("PUT", "/mmds", DATA)):
            st, r = a.req(method, path, body)
            vmontest.check(st == 204, "snapshot: %s %s: %r" % (method, path, r))
        ok, r = a.boot_counter()
        vmontest.check(ok, "snapshot: the VM boots: %r" % r)
        st, _ = a.req("PATCH", "/vm", {"state": "Paused"})
        st2, r = a.req("PUT", "/snapshot/create",
                       {"snapshot_path": os.path.join(tmp, "state"),
                        "mem_file_path": os.path.join(tmp, "mem")})
        vmontest.check((st, st2) == (204, 204), "snapshot: created: %r" % r)
        a.stop()
        b = vmon_api.Instance(prefix=pre, id="mmdss2-%d" % os.getpid())
        st, r = b.req("PUT", "/snapshot/load",
                      {"snapshot_path": os.path.join(tmp, "state"),
                       "mem_backend": {"backend_type": "File",
                                       "backend_path": os.path.join(tmp, "mem")}})
        vmontest.check(st == 204, "snapshot: loaded: %r" % r)
        st, r = b.req("GET", "/vm/config")
        vmontest.check(st == 200 and r["mmds-config"] == cfg,
                       "snapshot: mmds-config restored: %r" % r.get("mmds-config"))
        st, r = b.req("GET", "/mmds")
        vmontest.check(st == 200 and r == {}, "snapshot: the store is not: %r" % r)
    finally:
        a.stop()
        if b:
            b.stop()


def main():
    vmontest.require_kvm()
    vmontest.check(os.path.exists(PROBE), "guest program built: " + PROBE)
    name = "vmon-mmds-%d" % os.getpid()
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    r = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if not vmontest.check(r.returncode == 0,
                          "network namespace (needs root): %s" % r.stderr.strip()):
        return vmontest.finish()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            test_v1(name, tmp)
        with tempfile.TemporaryDirectory() as tmp:
            test_v2(name, tmp)
        with tempfile.TemporaryDirectory() as tmp:
            test_snapshot(name, tmp)
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return vmontest.finish()


if __name__ == "__main__":
    raise SystemExit(main())
