# SPDX-License-Identifier: GPL-2.0-only
"""Firecracker's metrics lines: after PUT /metrics, FlushMetrics writes a
line with every group and field Firecracker's own validator
(validate_fc_metrics of its test suite) requires, all numbers, no field
those groups do not have, the per-drive group block_ID and its sum in
block, and vmon's own groups beside them. Real counters move: the guest
(guest/probes/api_probe.c) reads 4 MiB in 64 requests, which block and
block_disk count; the PUT requests are counted in put_api_requests,
failures in *_fails; serial output in uart and vcpu.exit_io_out. The next
line holds increments since the previous one, as Firecracker's does.
The guest also reads 3 KiB of entropy in 12 requests (entropy), asks
for a vsock connection to the host's port 7000, which a socket there
takes (vsock), and inflates and deflates one balloon page (balloon).
Every response says "Connection: keep-alive", as Firecracker's; one to
a request with a deprecated field (PUT /vsock's vsock_id) "Deprecation:
true", counted in deprecated_api."""
import json
import os
import socket
import time

import vmontest
from vmontest import check
import vmon_api

vmontest.require_kvm()
PROBE = os.path.join(vmontest.BUILD_ROOT, "guest", "api_probe.elf")
MIB = 1 << 20
AGG = ["min_us", "max_us", "sum_us"]

# Firecracker's groups and fields (its tests/host_tools/fcmetrics.py);
# a dict entry is a nested latency aggregate.
FC = {
    "api_server": ["process_startup_time_us", "process_startup_time_cpu_us",
                   "sync_response_fails", "sync_vmm_send_timeout_count"],
    "balloon": ["activate_fails", "inflate_count", "stats_updates_count",
                "stats_update_fails", "deflate_count", "event_fails"],
    "block": ["activate_fails", "cfg_fails", "no_avail_buffer", "event_fails",
              "execute_fails", "invalid_reqs_count", "flush_count",
              "queue_event_count", "rate_limiter_event_count",
              "update_count", "update_fails", "read_bytes", "write_bytes",
              "read_count", "write_count", "rate_limiter_throttled_events",
              "io_engine_throttled_events", "remaining_reqs_count",
              {"read_agg": AGG}, {"write_agg": AGG}],
    "deprecated_api": ["deprecated_http_api_calls",
                       "deprecated_cmd_line_api_calls"],
    "get_api_requests": ["instance_info_count", "machine_cfg_count",
                         "mmds_count", "vmm_version_count"],
    "i8042": ["error_count", "missed_read_count", "missed_write_count",
              "read_count", "reset_count", "write_count"],
    "latencies_us": ["full_create_snapshot", "diff_create_snapshot",
                     "load_snapshot", "pause_vm", "resume_vm",
                     "vmm_full_create_snapshot", "vmm_diff_create_snapshot",
                     "vmm_load_snapshot", "vmm_pause_vm", "vmm_resume_vm"],
    "logger": ["missed_metrics_count", "metrics_fails", "missed_log_count",
               "log_fails"],
    "mmds": ["rx_accepted", "rx_accepted_err", "rx_accepted_unusual",
             "rx_bad_eth", "rx_count", "tx_bytes", "tx_count", "tx_errors",
             "tx_frames", "connections_created", "connections_destroyed"],
    "net": ["activate_fails", "cfg_fails", "mac_address_updates",
            "no_rx_avail_buffer", "no_tx_avail_buffer", "event_fails",
            "rx_queue_event_count", "rx_event_rate_limiter_count",
            "rx_partial_writes", "rx_rate_limiter_throttled",
            "rx_tap_event_count", "rx_bytes_count", "rx_packets_count",
            "rx_fails", "rx_count", "tap_read_fails", "tap_write_fails",
            "tx_bytes_count", "tx_malformed_frames", "tx_fails", "tx_count",
            "tx_packets_count", "tx_partial_reads", "tx_queue_event_count",
            "tx_rate_limiter_event_count", "tx_rate_limiter_throttled",
            "tx_spoofed_mac_count", "tx_remaining_reqs_count",
            {"tap_write_agg": AGG}],
    "patch_api_requests": ["drive_count", "drive_fails", "network_count",
                           "network_fails", "machine_cfg_count",
                           "machine_cfg_fails", "mmds_count", "mmds_fails"],
    "put_api_requests": ["actions_count", "actions_fails",
                         "boot_source_count", "boot_source_fails",
                         "drive_count", "drive_fails", "logger_count",
                         "logger_fails", "machine_cfg_count",
                         "machine_cfg_fails", "cpu_cfg_count",
                         "cpu_cfg_fails", "metrics_count", "metrics_fails",
                         "network_count", "network_fails", "mmds_count",
                         "mmds_fails", "vsock_count", "vsock_fails"],
    "seccomp": ["num_faults"],
    "vcpu": ["exit_io_in", "exit_io_out", "exit_mmio_read",
             "exit_mmio_write", "failures"],
    "vmm": ["device_events", "panic_count"],
    "uart": ["error_count", "flush_count", "missed_read_count",
             "missed_write_count", "read_count", "write_count"],
    "signals": ["sigbus", "sigsegv", "sigxfsz", "sigxcpu", "sigpipe",
                "sighup", "sigill"],
    "vsock": ["activate_fails", "cfg_fails", "rx_queue_event_fails",
              "tx_queue_event_fails", "ev_queue_event_fails",
              "muxer_event_fails", "conn_event_fails",
              "rx_queue_event_count", "tx_queue_event_count",
              "rx_bytes_count", "tx_bytes_count", "rx_packets_count",
              "tx_packets_count", "conns_added", "conns_killed",
              "conns_removed", "killq_resync", "tx_flush_fails",
              "tx_write_fails", "rx_read_fails"],
    "entropy": ["activate_fails", "entropy_event_fails",
                "entropy_event_count", "entropy_bytes", "host_rng_fails",
                "entropy_rate_limiter_throttled", "rate_limiter_event_count"],
}
# vmon's own groups, documented in docs/api.md, beside Firecracker's.
VMON = {"utc_timestamp_ms", "bounds", "exits", "vcpus", "devices", "kvm_vm",
        "memory", "guest_clock_ns", "paused", "id", "state", "vmon_block",
        "vmon_net"}


def shape_errors(obj, fields, where):
    """Every field present and a number, nothing else (as Firecracker's
    validator: additionalProperties false)."""
    errs, names = [], set()
    if not isinstance(obj, dict):
        return ["%s: not an object" % where]
    for f in fields:
        if isinstance(f, dict):
            (k, sub), = f.items()
            names.add(k)
            errs += shape_errors(obj.get(k), sub, where + "." + k)
            continue
        names.add(f)
        v = obj.get(f)
        if isinstance(v, bool) or not isinstance(v, int):
            errs.append("%s.%s: %r is not a number" % (where, f, v))
    errs += ["%s.%s: not Firecracker's" % (where, k) for k in obj
             if k not in names]
    return errs


def validate(m, drives):
    errs = []
    for g, fields in FC.items():
        errs += shape_errors(m.get(g), fields, g)
    for d in drives:
        errs += shape_errors(m.get("block_" + d), FC["block"], "block_" + d)
    for k in m:
        if k not in FC and k not in VMON and \
                k not in ["block_" + d for d in drives]:
            errs.append("unexpected group %s" % k)
    if abs(m.get("utc_timestamp_ms", 0) - time.time() * 1000) > 60000:
        errs.append("utc_timestamp_ms %r is not now" % m.get("utc_timestamp_ms"))
    return errs


def wait_serial(inst, text, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in inst.serial_text():
            return True
        if not inst.alive():
            break
        time.sleep(0.01)
    return False


def headers(inst, method, path, body):
    """The status and the headers (lower-case names) of a raw request."""
    b = json.dumps(body)
    req = ("%s %s HTTP/1.1\r\nHost: localhost\r\n"
           "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
           % (method, path, len(b), b))
    text = vmon_api.raw(inst.sock, req.encode()).decode(errors="replace")
    head = text.split("\r\n\r\n", 1)[0].split("\r\n")
    st = int(head[0].split()[1]) if head and len(head[0].split()) > 1 else 0
    return st, {k.strip().lower(): v.strip() for k, _, v in
                (h.partition(":") for h in head[1:])}


def flush(inst, path, n):
    st, b = inst.req("PUT", "/actions", {"action_type": "FlushMetrics"})
    check(st == 204, "FlushMetrics -> 204 (got %d %r)" % (st, b))
    with open(path) as f:
        lines = f.read().splitlines()
    check(len(lines) == n, "line %d written (%d lines)" % (n, len(lines)))
    return json.loads(lines[-1]) if lines else {}


inst = vmon_api.Instance(id="fcmetrics-%d" % os.getpid())
mpath = os.path.join(inst.dir, "metrics.json")
img = os.path.join(inst.dir, "disk.img")
with open(img, "wb") as f:
    f.write(os.urandom(4 * MIB))
check(inst.req("PUT", "/metrics", {"metrics_path": mpath})[0] == 204,
      "PUT /metrics")
check(inst.req("PUT", "/boot-source", {
    "kernel_image_path": PROBE,
    "boot_args": "console=ttyS0 probe.blkrate probe.rngrate probe.devs "
                 "probe.stay"})[0] == 204,
    "PUT /boot-source")
check(inst.req("PUT", "/machine-config",
               {"vcpu_count": 1, "mem_size_mib": 32})[0] == 204,
      "PUT /machine-config")
check(inst.req("PUT", "/drives/bad", {"drive_id": "bad"})[0] == 400,
      "PUT /drives without its fields -> 400")
check(inst.req("PUT", "/drives/disk", {
    "drive_id": "disk", "path_on_host": img, "is_root_device": False,
    "is_read_only": True})[0] == 204, "PUT /drives/disk")
check(inst.req("GET", "/version")[0] == 200, "GET /version")
vs = {"guest_cid": 3, "uds_path": os.path.join(inst.dir, "v.sock")}
st, h = headers(inst, "PUT", "/vsock", dict(vs, vsock_id="v"))
check(st == 204 and h.get("deprecation") == "true" and
      h.get("connection", "").lower() == "keep-alive",
      "PUT /vsock with vsock_id: 204, Deprecation: true, keep-alive: %r" % h)
st, h = headers(inst, "PUT", "/vsock", vs)
check(st == 204 and "deprecation" not in h and
      h.get("connection", "").lower() == "keep-alive",
      "PUT /vsock without it: no Deprecation header: %r" % h)
check(inst.req("PUT", "/entropy", {})[0] == 204, "PUT /entropy")
check(inst.req("PUT", "/balloon", {"amount_mib": 0,
                                   "deflate_on_oom": False})[0] == 204,
      "PUT /balloon")
# The guest's vsock connection to the host's port 7000 lands here.
lsn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
lsn.bind(vs["uds_path"] + "_7000")
lsn.listen(1)
check(inst.req("PUT", "/actions", {"action_type": "InstanceStart"})[0] == 204,
      "InstanceStart")
check(wait_serial(inst, "blkrate: done", 120), "the guest read its 4 MiB")
check(wait_serial(inst, "devs: done", 120), "the guest used vsock and balloon")
check("FAIL" not in inst.serial_text(), "no failed guest check: %r" %
      inst.serial_text()[-1000:])

m = flush(inst, mpath, 1)
errs = validate(m, ["disk"])
check(not errs, "line 1 has Firecracker's shape: %s" % errs[:8])
put = m.get("put_api_requests", {})
check(m.get("deprecated_api", {}).get("deprecated_http_api_calls") == 1,
      "deprecated_api counts the deprecated field: %r" % m.get("deprecated_api"))
check(put.get("vsock_count") == 2 and put.get("vsock_fails") == 0 and
      put.get("drive_count") == 2 and put.get("drive_fails") == 1 and
      put.get("boot_source_count") == 1 and put.get("metrics_count") == 1 and
      put.get("machine_cfg_count") == 1 and put.get("actions_count") == 1 and
      put.get("actions_fails") == 0,
      "put_api_requests counts the PUTs and the failed one: %r" % put)
get = m.get("get_api_requests", {})
check(get.get("vmm_version_count") == 1 and
      get.get("instance_info_count", 0) >= 1, "get_api_requests: %r" % get)
blk, disk = m.get("block", {}), m.get("block_disk", {})
check(disk.get("read_count") == 64 and disk.get("read_bytes") == 4 * MIB,
      "block_disk: 64 reads of 4 MiB in all: %r" % disk)
check(blk == disk, "block is the sum of the drives' groups")
check(m.get("uart", {}).get("write_count", 0) > 0 and
      m.get("vcpu", {}).get("exit_io_out", 0) > 0 and
      m.get("vcpu", {}).get("exit_mmio_write", 0) > 0,
      "uart and vcpu count the guest's accesses: %r %r" %
      (m.get("uart"), m.get("vcpu")))
check(m.get("vmon_block", {}).get("disk", {}).get("read_count") == 64,
      "vmon's own per-drive group stays cumulative beside them")
ent = m.get("entropy", {})
check(ent.get("entropy_event_count") == 12 and
      ent.get("entropy_bytes") == 3072 and ent.get("host_rng_fails") == 0,
      "entropy counts 12 requests of 3 KiB in all: %r" % ent)
vsk = m.get("vsock", {})
check(vsk.get("tx_packets_count") == 1 and vsk.get("rx_packets_count") == 1
      and vsk.get("conns_added") == 1 and vsk.get("tx_bytes_count") == 0,
      "vsock counts the request, its response, the connection: %r" % vsk)
bal = m.get("balloon", {})
check(bal.get("inflate_count") == 1 and bal.get("deflate_count") == 1,
      "balloon counts one inflate and one deflate: %r" % bal)

m2 = flush(inst, mpath, 2)
check(not validate(m2, ["disk"]), "line 2 has Firecracker's shape")
check(m2.get("block_disk", {}).get("read_count") == 0 and
      m2.get("put_api_requests", {}).get("actions_count") == 1 and
      m2.get("put_api_requests", {}).get("drive_count") == 0,
      "line 2 counts what happened since line 1 (the first FlushMetrics): "
      "%r" % m2.get("put_api_requests"))
check(m2.get("entropy", {}).get("entropy_bytes") == 0 and
      m2.get("vsock", {}).get("conns_added") == 0 and
      m2.get("balloon", {}).get("inflate_count") == 0,
      "entropy, vsock and balloon count increments too: %r %r %r" %
      (m2.get("entropy"), m2.get("vsock"), m2.get("balloon")))
check(m2.get("vmon_block", {}).get("disk", {}).get("read_count") == 64,
      "vmon_block is still cumulative")
lat = m2.get("latencies_us", {})
check(lat.get("pause_vm") == 0 and lat.get("vmm_resume_vm") == 0,
      "no pause or resume yet: latencies 0: %r" % lat)
check(inst.req("PATCH", "/vm", {"state": "Paused"})[0] == 204, "pause")
check(inst.req("PATCH", "/vm", {"state": "Resumed"})[0] == 204, "resume")
lat = flush(inst, mpath, 3).get("latencies_us", {})
check(all(lat.get(k, 0) >= lat.get("vmm_" + k, 0) > 0
          for k in ("pause_vm", "resume_vm")) and
      lat.get("full_create_snapshot") == 0 and
      lat.get("load_snapshot") == 0,
      "line 3: the pause's and the resume's latencies (the operation's at "
      "least its VMM part's, both above 0 us), no snapshot's: %r" % lat)
check(inst.stop() == 0, "vmon stops with 0")
lsn.close()
vmontest.finish()
