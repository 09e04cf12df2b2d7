# SPDX-License-Identifier: GPL-2.0-only
"""vmon_api - helpers for the control-plane tests: an HTTP/1.1 client over
a Unix socket (raw requests too, for the hostile-client test), a vmon
instance started with --api-sock, and a minimal checker for the response
schemas of Firecracker's OpenAPI file (src/firecracker/swagger)."""
import atexit
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import vmontest

GUEST_COUNTER = os.path.join(vmontest.BUILD_ROOT, "guest", "api_counter.elf")


def raw(sock_path, data, timeout=5.0, shutdown=True):
    """Sends raw bytes, returns everything the server answers (bytes)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock_path)
    try:
        s.sendall(data)
        if shutdown:
            s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


def parse_response(data):
    """(status, body-json-or-None, raw body) of one HTTP response."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = None
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    if length is not None:
        body = body[:length]
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    return status, parsed, body


def encode_request(method, path, body=None):
    """The bytes of one HTTP/1.1 request (@body: JSON-able, str or bytes)."""
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    head = "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n" % (
        method, path)
    if body is not None:
        head += "Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
    return head.encode() + b"\r\n" + (body or b"")


def request(sock_path, method, path, body=None, timeout=60.0):
    """One request; returns (status, parsed JSON body or None). The timeout
    only detects a server that never answers: requests that copy guest
    memory (snapshot/create of a VM whose pages a Uffd handler serves)
    took over 10 s on a loaded host under nested KVM."""
    data = encode_request(method, path, body)
    status, parsed, _ = parse_response(raw(sock_path, data, timeout))
    return status, parsed


# Every Instance started, so that none outlives its test (see _stop_all).
_instances = []


@atexit.register
def _stop_all():
    """A test that ends early (a failed check, an exception) leaves no
    vmon running behind it: whatever is still alive is stopped here. The
    instances' folders (socket, serial output, stderr) go too when every
    check passed; a failed test leaves them to look at."""
    for inst in _instances:
        if inst.p.poll() is None:
            inst.stop()
    if not vmontest._failures and not _exc_pending():
        for inst in _instances:
            shutil.rmtree(inst.dir, ignore_errors=True)


def _exc_pending():
    """True while the interpreter exits on an uncaught exception."""
    return getattr(sys, "last_type", None) is not None


def wait_socket(sock, p, timeout=60):
    """Waits until vmon process @p answers on its API socket @sock; False
    if it exits first or after @timeout s (a start takes milliseconds; the
    bound is for a host so loaded that a process waits seconds for a CPU,
    while a vmon that dies is seen at once)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(sock):
            try:
                request(sock, "GET", "/")
                return True
            except OSError:
                pass
        if p.poll() is not None:
            break
        time.sleep(0.01)
    return False


class Instance:
    """A `vmon --api-sock` process; serial output goes to a file."""

    def __init__(self, extra=(), env=None, id=None, serial=True, prefix=()):
        self.dir = tempfile.mkdtemp(prefix="vmon-api-")
        self.sock = os.path.join(self.dir, "api.sock")
        self.serial = os.path.join(self.dir, "serial.out")
        args = list(prefix) + [vmontest.VMON, "--api-sock", self.sock]
        if id:
            args += ["--id", id]
        if serial:
            args += ["--serial", "file:" + self.serial]
        args += list(extra)
        self.err_path = os.path.join(self.dir, "stderr")
        self.errf = open(self.err_path, "wb")
        self.p = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=self.errf,
                                  env=env)
        _instances.append(self)
        if not wait_socket(self.sock, self.p):
            raise RuntimeError("vmon did not open its API socket: " +
                               self.stderr())

    def req(self, method, path, body=None):
        return request(self.sock, method, path, body)

    def boot_counter(self, vcpus=1, mem=32):
        st1, _ = self.req("PUT", "/boot-source",
                          {"kernel_image_path": GUEST_COUNTER})
        st2, _ = self.req("PUT", "/machine-config",
                          {"vcpu_count": vcpus, "mem_size_mib": mem})
        st3, b = self.req("PUT", "/actions", {"action_type": "InstanceStart"})
        return (st1, st2, st3) == (204, 204, 204), b

    def serial_text(self):
        try:
            with open(self.serial, "rb") as f:
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def last_count(self):
        """The last complete counter line of the guest, or -1."""
        lines = [l for l in self.serial_text().split("\n")
                 if l.startswith("c=") and len(l) == 10]
        return int(lines[-1][2:], 16) if lines else -1

    def stderr(self):
        self.errf.flush()
        with open(self.err_path, "rb") as f:
            return f.read().decode(errors="replace")

    def alive(self):
        return self.p.poll() is None

    def stop(self, timeout=10):
        if self.p.poll() is None:
            self.p.terminate()
        try:
            code = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            code = None
        self.errf.close()
        return code


# --- response schemas (Firecracker's swagger definitions) -----------------
SCHEMAS = {
    "Error": {"props": {"fault_message": str}, "required": []},
    "InstanceInfo": {
        "props": {"app_name": str, "id": str, "state": str,
                  "vmm_version": str},
        "required": ["app_name", "id", "state", "vmm_version"],
        "enums": {"state": ["Not started", "Running", "Paused"]},
    },
    "FirecrackerVersion": {"props": {"firecracker_version": str},
                           "required": ["firecracker_version"]},
    "MachineConfiguration": {
        "props": {"cpu_template": str, "smt": bool, "mem_size_mib": int,
                  "track_dirty_pages": bool, "vcpu_count": int,
                  "huge_pages": str},
        "required": ["mem_size_mib", "vcpu_count"],
        "enums": {"huge_pages": ["None", "Transparent", "2M"]},
    },
    "BootSource": {
        "props": {"boot_args": str, "initrd_path": str,
                  "kernel_image_path": str},
        "required": ["kernel_image_path"],
    },
    "Logger": {
        "props": {"level": str, "log_path": str, "show_level": bool,
                  "show_log_origin": bool, "module": str},
        "required": [],
    },
    "Metrics": {"props": {"metrics_path": str}, "required": ["metrics_path"]},
    "TokenBucket": {"props": {"size": int, "refill_time": int,
                              "one_time_burst": int},
                    "required": ["size", "refill_time"]},
    "RateLimiter": {"props": {"bandwidth": "TokenBucket", "ops": "TokenBucket"},
                    "required": []},
    "Drive": {
        "props": {"drive_id": str, "partuuid": str, "is_root_device": bool,
                  "cache_type": str, "is_read_only": bool, "path_on_host": str,
                  "rate_limiter": "RateLimiter", "io_engine": str,
                  "socket": str},
        "required": ["drive_id", "is_root_device"],
        "enums": {"cache_type": ["Unsafe", "Writeback"],
                  "io_engine": ["Sync", "Async"]},
    },
    "NetworkInterface": {
        "props": {"guest_mac": str, "host_dev_name": str, "iface_id": str,
                  "mtu": int, "rx_rate_limiter": "RateLimiter",
                  "tx_rate_limiter": "RateLimiter"},
        "required": ["host_dev_name", "iface_id"],
    },
    "Vsock": {"props": {"guest_cid": int, "uds_path": str, "vsock_id": str},
              "required": ["guest_cid", "uds_path"]},
    "Balloon": {
        "props": {"amount_mib": int, "deflate_on_oom": bool,
                  "stats_polling_interval_s": int, "free_page_hinting": bool,
                  "free_page_reporting": bool},
        "required": ["amount_mib", "deflate_on_oom"],
    },
    "BalloonStats": {
        "props": dict({k: int for k in (
            "target_pages", "actual_pages", "target_mib", "actual_mib",
            "swap_in", "swap_out", "major_faults", "minor_faults",
            "free_memory", "total_memory", "available_memory", "disk_caches",
            "hugetlb_allocations", "hugetlb_failures", "oom_kill",
            "alloc_stall", "async_scan", "direct_scan", "async_reclaim",
            "direct_reclaim")}),
        "required": ["target_pages", "actual_pages", "target_mib",
                     "actual_mib"],
    },
    "EntropyDevice": {"props": {"rate_limiter": "RateLimiter"},
                      "required": []},
}
FULL_VM_SECTIONS = {"boot-source": "BootSource",
                    "machine-config": "MachineConfiguration",
                    "logger": "Logger", "metrics": "Metrics",
                    "drives": ["Drive"],
                    "network-interfaces": ["NetworkInterface"],
                    "balloon": "Balloon", "cpu-config": dict, "vsock": "Vsock",
                    "entropy": "EntropyDevice", "mmds-config": dict,
                    "pmem": list, "memory-hotplug": dict}


def schema_errors(name, obj):
    """A list of ways @obj violates definition @name (empty: conforms)."""
    errs = []
    if name == "FullVmConfiguration":
        if not isinstance(obj, dict):
            return ["FullVmConfiguration: not an object"]
        for k, v in obj.items():
            kind = FULL_VM_SECTIONS.get(k)
            if kind is None:
                errs.append("FullVmConfiguration: unknown property " + k)
            elif v is None and not isinstance(kind, list):
                pass  # Firecracker writes null for a section not set
            elif isinstance(kind, str):
                errs += schema_errors(kind, v)
            elif isinstance(kind, list):
                if not isinstance(v, list):
                    errs.append("FullVmConfiguration.%s: not a list" % k)
                else:
                    for item in v:
                        errs += schema_errors(kind[0], item)
            elif not isinstance(v, kind):
                errs.append("FullVmConfiguration.%s: wrong type" % k)
        return errs
    sch = SCHEMAS[name]
    if not isinstance(obj, dict):
        return ["%s: not an object: %r" % (name, obj)]
    for r in sch["required"]:
        if r not in obj:
            errs.append("%s: missing required %s" % (name, r))
    for k, v in obj.items():
        t = sch["props"].get(k)
        if t is None:
            errs.append("%s: property %s not in the schema" % (name, k))
        elif v is None and k not in sch["required"]:
            pass  # null: an optional field not set (as Firecracker writes)
        elif isinstance(t, str):
            errs += schema_errors(t, v)
        elif t is int and (isinstance(v, bool) or not isinstance(v, int)):
            errs.append("%s.%s: not an integer" % (name, k))
        elif t is not int and not isinstance(v, t):
            errs.append("%s.%s: not a %s" % (name, k, t.__name__))
    for k, allowed in sch.get("enums", {}).items():
        if k in obj and obj[k] not in allowed:
            errs.append("%s.%s: %r not in %r" % (name, k, obj[k], allowed))
    return errs


def boot_linux(g, sock, d, devices):
    """Boots the default Linux guest (directory @d) in the vmon process of
    vmontest.Shell @g (started with --api-sock @sock): 1 vCPU, 128 MiB, its
    shell on the serial console, the devices of @devices ((method, path,
    body) requests, each answered 204). True once the shell answers."""
    reqs = [("PUT", "/boot-source",
             {"kernel_image_path": os.path.join(d, "vmlinux"),
              "initrd_path": os.path.join(d, "initramfs.cpio"),
              "boot_args": "console=ttyS0 reboot=k panic=-1 vmon.shell"}),
            ("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 128})]
    reqs += list(devices) + [("PUT", "/actions",
                              {"action_type": "InstanceStart"})]
    if not vmontest.check(wait_socket(sock, g.p), "the source's API answers"):
        return False
    for method, path, body in reqs:
        st, b = request(sock, method, path, body)
        if not vmontest.check(st == 204, "%s %s: %s %r" % (method, path, st, b)):
            return False
    if not vmontest.check(g.boot("VMON-GUEST-OK"), "the guest boots"):
        return False
    return vmontest.check(g.sh("echo hi-$((6*7))", 5) is not None,
                          "the shell answers")
