#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""PCI hotplug through the API (docs/pci.md, "Hotplug").

The guest program guest/tests/hotplug.c runs with --enable-pci --acpi and
one drive configured before boot; at each of its prompts the test acts
through the API: PUT /drives/hot after InstanceStart (the guest takes the
GPE, finds virtio-blk in the slot UP names and reads the sector this test
wrote), DELETE /drives/hot (the guest ejects; a second DELETE meanwhile
is refused as pending, a snapshot is refused after a hotplug), GET
/vm/config without the ejected drive, then PUT /drives/again, which must
come in the freed slot. Then the refusals: without PCI, and with PCI but
no ACPI, PUT and DELETE /drives/{id} after boot get Firecracker's
"not supported after starting" error. Last, on a VM started with PCI and
ACPI but no virtio device, a drive and a network interface (on a tap vmon
creates) are hot-plugged, and their unplug stays pending since that guest
never ejects.
"""
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmon_api  # noqa: E402
import vmontest as vt  # noqa: E402

GUEST = os.path.join(vt.BUILD_ROOT, "guest", "hotplug.elf")
PASS_CODE = 1  # rt_finish() without failures
PASSES = 24


def disk(d, name, mark):
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        f.write(mark.encode().ljust(512, b"\0"))
        f.truncate(1 << 20)
    return path


def drive(did, path):
    return {"drive_id": did, "path_on_host": path, "is_root_device": False,
            "is_read_only": False}


def expect(sock, method, path, body, status, fault=None):
    st, b = vmon_api.request(sock, method, path, body)
    msg = (b or {}).get("fault_message", "") if isinstance(b, dict) else ""
    ok = st == status and (fault is None or fault in msg)
    vt.check(ok, "%s %s -> %d%s (got %d %r)" % (
        method, path, status, " '%s'" % fault if fault else "", st, b))
    return b


def step(vm, text):
    return vt.check(vm.follow(text.encode(), text, idle_s=30),
                    "the guest prints '%s'" % text)


def drive_ids(sock):
    st, b = vmon_api.request(sock, "GET", "/vm/config")
    return [x["drive_id"] for x in (b or {}).get("drives", [])]


def test_hotplug():
    d = tempfile.mkdtemp(prefix="vmon-hotplug-")
    sock, cfg = os.path.join(d, "api.sock"), os.path.join(d, "vm.json")
    boot = disk(d, "boot.img", "")
    hot = disk(d, "hot.img", "vmon hotplug: the first disk")
    again = disk(d, "again.img", "vmon hotplug: the second disk")
    with open(cfg, "w") as f:
        json.dump({"boot-source": {"kernel_image_path": GUEST},
                   "machine-config": {"vcpu_count": 1, "mem_size_mib": 64},
                   "drives": [drive("boot", boot)]}, f)
    vm = vt.Interactive(["run", "--enable-pci", "--acpi", "--api-sock", sock,
                         "--config-file", cfg, "--id",
                         "hotplug-%d" % os.getpid()])
    if step(vm, "waiting for a device"):
        expect(sock, "PUT", "/drives/boot", drive("boot", hot), 400,
               "exists")
        root = dict(drive("root", hot), is_root_device=True)
        expect(sock, "PUT", "/drives/root", root, 400, "root device")
        vt.check(drive_ids(sock) == ["boot"], "refused PUTs change nothing")
        expect(sock, "PUT", "/drives/hot", drive("hot", hot), 204)
        vt.check(drive_ids(sock) == ["boot", "hot"],
                 "GET /vm/config lists the hot-plugged drive")
    if step(vm, "waiting for the eject request"):
        expect(sock, "DELETE", "/drives/nosuch", None, 400, "no such")
        expect(sock, "PATCH", "/vm", {"state": "Paused"}, 204)
        expect(sock, "PUT", "/snapshot/create",
               {"snapshot_path": os.path.join(d, "s"),
                "mem_file_path": os.path.join(d, "m")}, 400, "hot-plugged")
        expect(sock, "PATCH", "/vm", {"state": "Resumed"}, 204)
        expect(sock, "DELETE", "/drives/hot", None, 204)
        expect(sock, "DELETE", "/drives/hot", None, 400, "pending")
    if step(vm, "waiting for a second device"):
        # The guest has ejected: this request reaps the device first.
        vt.check(drive_ids(sock) == ["boot"],
                 "the ejected drive left the configuration (%r)"
                 % drive_ids(sock))
        expect(sock, "PUT", "/drives/again", drive("again", again), 204)
    code = vm.wait(vm.budget(30))
    out = vm.out.decode(errors="replace")
    n = sum(1 for line in out.splitlines() if line.startswith("PASS: "))
    ok = vt.check(code == PASS_CODE and "FAIL" not in out and n == PASSES,
                  "the guest passed: exit %r, %d PASS lines (want %d)"
                  % (code, n, PASSES))
    if not ok:
        print(out[-3000:], vm.err[-2000:])
    shutil.rmtree(d, ignore_errors=True)


def test_refused(extra, fault):
    inst = vmon_api.Instance(extra=extra)
    try:
        d = tempfile.mkdtemp(prefix="vmon-hotplug-")
        img = disk(d, "x.img", "x")
        expect(inst.sock, "DELETE", "/drives/x", None, 400, "before starting")
        ok, b = inst.boot_counter()
        vt.check(ok, "the counter guest boots (%r)" % (b,))
        expect(inst.sock, "PUT", "/drives/x", drive("x", img), 400, fault)
        expect(inst.sock, "PUT", "/network-interfaces/x",
               {"iface_id": "x", "host_dev_name": "vmontap0"}, 400, fault)
        expect(inst.sock, "DELETE", "/drives/x", None, 400, fault)
        vt.check(drive_ids(inst.sock) == [], "nothing was added")
        shutil.rmtree(d, ignore_errors=True)
    finally:
        inst.stop()


def test_snapshot():
    """Without a hotplug, a PCI and ACPI VM snapshots and loads (the
    controller's state included), and the loaded VM can hot-plug."""
    d = tempfile.mkdtemp(prefix="vmon-hotplug-")
    flags = ["--enable-pci", "--acpi"]
    src = vmon_api.Instance(extra=flags)
    dst = None
    try:
        ok, b = src.boot_counter()
        vt.check(ok, "the counter guest boots (%r)" % (b,))
        vt.wait_for(lambda: src.last_count() > 2, 30)
        expect(src.sock, "PATCH", "/vm", {"state": "Paused"}, 204)
        expect(src.sock, "PUT", "/snapshot/create",
               {"snapshot_type": "Full",
                "snapshot_path": os.path.join(d, "state"),
                "mem_file_path": os.path.join(d, "memory")}, 204)
        src.stop()
        dst = vmon_api.Instance(extra=flags)
        expect(dst.sock, "PUT", "/snapshot/load",
               {"snapshot_path": os.path.join(d, "state"),
                "mem_backend": {"backend_type": "File",
                                "backend_path": os.path.join(d, "memory")},
                "resume_vm": True}, 204)
        c = dst.last_count()
        vt.check(vt.wait_for(lambda: dst.last_count() > c, 30),
                 "the loaded guest counts on")
        expect(dst.sock, "PUT", "/drives/snap",
               drive("snap", disk(d, "snap.img", "snap")), 204)
        vt.check(dst.alive(), "the loaded VM runs after the hotplug")
    finally:
        src.stop()
        if dst:
            dst.stop()
        shutil.rmtree(d, ignore_errors=True)


def main():
    vt.require_kvm()
    test_hotplug()
    test_refused([], "not supported after starting the microVM.")
    test_refused(["--enable-pci"], "ACPI is off")
    # With PCI and ACPI but no virtio device at boot, the first hotplug
    # starts the I/O thread: PUT then works on the counter guest too.
    inst = vmon_api.Instance(extra=["--enable-pci", "--acpi"])
    try:
        d = tempfile.mkdtemp(prefix="vmon-hotplug-")
        ok, b = inst.boot_counter()
        vt.check(ok, "the counter guest boots with PCI and ACPI (%r)" % (b,))
        expect(inst.sock, "PUT", "/drives/late",
               drive("late", disk(d, "late.img", "late")), 204)
        vt.check(drive_ids(inst.sock) == ["late"], "the drive is listed")
        # A network interface on a tap vmon creates, then unplug requests
        # the counter guest never answers: pending, nothing removed.
        tap = "vmhp%d" % (os.getpid() % 100000)
        expect(inst.sock, "PUT", "/network-interfaces/n1",
               {"iface_id": "n1", "host_dev_name": tap}, 204)
        st, b = inst.req("GET", "/vm/config")
        vt.check([x["iface_id"] for x in b.get("network-interfaces", [])]
                 == ["n1"], "the interface is listed (%r)" % (b,))
        expect(inst.sock, "DELETE", "/network-interfaces/n1", None, 204)
        expect(inst.sock, "DELETE", "/network-interfaces/n1", None, 400,
               "pending")
        expect(inst.sock, "DELETE", "/drives/late", None, 204)
        vt.check(drive_ids(inst.sock) == ["late"],
                 "not ejected by the guest: the drive stays")
        vt.check(inst.alive(), "vmon still runs (seccomp allowed it all)")
        shutil.rmtree(d, ignore_errors=True)
    finally:
        inst.stop()
    test_snapshot()
    vt.finish()


if __name__ == "__main__":
    main()
