# SPDX-License-Identifier: GPL-2.0-only
"""One boot of the default Linux guest with ACPI and every virtio device on
PCI (`vmon run --acpi --transport pci`), docs/pci.md and docs/acpi.md.

vmon runs with its API (the power button is an API action), configured
over it: the guest boots from its read-only root disk on virtio-blk over
PCI, its shell on the serial console, with a data disk, a network
interface (a tap in a network namespace of the test's own), vsock, a
balloon and an rng: six virtio-pci functions (the virtio console is a
command-line option, not in the API). Checked:
- the command line has no virtio_mmio.device=, and the kernel has the
  ACPI tables (FACP, APIC, DSDT, MCFG);
- /sys/bus/pci/devices: the host bridge and the six virtio functions
  (1af4:1041, 1042 twice, 1044, 1045, 1053), each bound to virtio-pci, each
  with MSI-X vectors only (msi_irqs), and every virtio device bound to its
  driver;
- /proc/interrupts: for each device a PCI-MSI line for its configuration
  vector and one per queue (no shared "virtqueues" vector);
- the guest reads the pattern the host wrote on the data disk (md5), and
  that disk's request vector counted the interrupts;
- a drive PUT after boot reaches the guest through ACPI PCI hotplug
  (acpiphp): a new virtio-pci function with MSI-X whose disk the guest
  reads; DELETE makes the guest eject it, and it leaves GET /vm/config;
- the ACPI power button (`vmon stop --acpi SOCKET`) reaches busybox acpid
  through the button driver's input device, acpid runs `poweroff -f`, the
  kernel writes S5 to the PM1a control register and vmon exits 0.
Needs root (network namespace) and the default guest (scripts/build-guest).
Every wait follows the guest's progress (vmontest).
"""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmon_api  # noqa: E402
import vmontest  # noqa: E402

NS = "vmon-pcilinux-%d" % os.getpid()
ID = "pcilinux-%d" % os.getpid()
# virtio-pci device ids (0x1040 + virtio id) of the devices given below.
WANT = {"0x1041": "net", "0x1042": "blk", "0x1044": "rng", "0x1045": "balloon",
        "0x1053": "vsock"}
KINDS = sorted(["blk", "blk", "net", "rng", "balloon", "vsock"])
# What `vmon run` adds for the default guest's root disk (default_guest.c).
ROOT_WORDS = "root=/dev/vda ro rootfstype=ext4 init=/init"


def ns(*cmd):
    r = subprocess.run(["ip", "netns", "exec", NS] + list(cmd), capture_output=True,
                       text=True, timeout=30)
    vmontest.check(r.returncode == 0, " ".join(cmd) + " " + r.stderr.strip())


def sysfs_values(text):
    """`grep . FILES` output -> {path: value}."""
    out = {}
    for line in text.splitlines():
        path, sep, value = line.strip().rpartition(":")
        if sep:
            out[path] = value.strip()
    return out


def msi_lines(text):
    """/proc/interrupts -> {name: count} of the PCI-MSI lines."""
    out = {}
    for line in text.splitlines():
        w = line.split()
        if not w or not w[0].endswith(":") or "PCI-MSI" not in line:
            continue
        counts = []  # one per CPU, before the chip's name
        for x in w[1:]:
            if not x.isdigit():
                break
            counts.append(int(x))
        out[w[-1]] = sum(counts)
    return out


def check_pci(g):
    """The PCI functions, their drivers and their MSI-X vectors; returns
    {bdf: virtioN} of the virtio functions."""
    ids = sysfs_values(g.sh("grep . /sys/bus/pci/devices/*/vendor "
                            "/sys/bus/pci/devices/*/device") or "")
    fns = {}
    for path, value in ids.items():
        bdf, attr = path.split("/")[-2:]
        fns.setdefault(bdf, {})[attr] = value
    print("PCI functions: %r" % fns)
    vmontest.check(any(f.get("vendor") == "0x1b36" and f.get("device") == "0x0008"
                       for f in fns.values()), "host bridge 1b36:0008 on bus 0")
    virtio = sorted(b for b, f in fns.items() if f.get("vendor") == "0x1af4")
    kinds = sorted(WANT.get(fns[b].get("device"), "?") for b in virtio)
    vmontest.check(kinds == KINDS, "six virtio-pci functions, one per device: %r" % kinds)

    drivers = g.sh("ls -l /sys/bus/pci/devices/*/driver") or ""
    bound = {m.group(1) for m in re.finditer(
        r"devices/([0-9a-f:.]+)/driver -> \S*/drivers/virtio-pci", drivers)}
    vmontest.check(set(virtio) and bound == set(virtio),
                   "every virtio function bound to virtio-pci: %r" % sorted(bound))

    msi = sysfs_values(g.sh("grep . /sys/bus/pci/devices/*/msi_irqs/*") or "")
    modes = {}
    for path, mode in msi.items():
        modes.setdefault(path.split("/")[-3], set()).add(mode)
    vmontest.check(set(virtio) and all(modes.get(b) == {"msix"} for b in virtio),
                   "every virtio function uses MSI-X vectors: %r" % modes)

    links = g.sh("ls -d /sys/bus/pci/devices/*/virtio*") or ""
    return {m.group(1): m.group(2) for m in re.finditer(
        r"devices/([0-9a-f:.]+)/(virtio\d+)", links)}


def check_vectors(g, names):
    """Per device a configuration vector and one per queue."""
    irqs = msi_lines(g.sh("cat /proc/interrupts") or "")
    print("PCI-MSI vectors: %r" % irqs)
    for bdf, v in sorted(names.items()):
        own = [n for n in irqs if n.startswith(v + "-")]
        vmontest.check(v + "-config" in own and len(own) >= 2 and
                       v + "-virtqueues" not in own,
                       "%s (%s): a config vector and one per queue: %r" % (v, bdf, own))
    return irqs


def drive_ids(sock):
    st, b = vmon_api.request(sock, "GET", "/vm/config")
    return sorted(d.get("drive_id") for d in (b or {}).get("drives", [])) \
        if st == 200 else None


def hotplug(g, sock, tmp):
    """A drive PUT after boot reaches the guest through ACPI PCI hotplug
    (Linux's acpiphp) as a new virtio-pci function with MSI-X, the guest
    reads it; DELETE makes the guest eject it and it leaves the
    configuration."""
    hot = os.path.join(tmp, "hot.img")
    pattern = bytes((i * 7 + 3) & 0xff for i in range(32 * 1024))
    with open(hot, "wb") as f:
        f.write(pattern)
        f.truncate(4 << 20)
    st, b = vmon_api.request(sock, "PUT", "/drives/hot",
                             {"drive_id": "hot", "path_on_host": hot,
                              "is_root_device": False, "is_read_only": True})
    if not vmontest.check(st == 204, "PUT /drives/hot after boot: %s %r" % (st, b)):
        return
    # acpiphp enumerates the slot on the GPE's Notify; wait for the disk.
    # The guest's own bound (30 min) is only against a hang: the host's
    # wait follows the guest's pace (vmontest budget) and ends first.
    out = g.sh("n=0; until [ -e /sys/block/vdc ] || [ $n -ge 1800 ]; do "
               "sleep 1; n=$((n+1)); done; cat /sys/block/vdc/size; "
               "dd if=/dev/vdc bs=4096 count=8 2>/dev/null | md5sum; "
               "ls -l /sys/block/vdc/device; "
               "grep . /sys/block/vdc/device/../msi_irqs/* 2>/dev/null",
               20, "the hot-plugged disk appears") or ""
    want = hashlib.md5(pattern).hexdigest()
    vmontest.check("8192" in out.split() and want in out,
                   "the guest found the hot-plugged disk (8192 sectors) and reads "
                   "its pattern (md5 %s): %r" % (want, out))
    vmontest.check(":msix" in out, "the hot-plugged function uses MSI-X: %r" % out)
    st, b = vmon_api.request(sock, "DELETE", "/drives/hot")
    if not vmontest.check(st == 204, "DELETE /drives/hot: %s %r" % (st, b)):
        return
    out = g.sh("n=0; while [ -e /sys/block/vdc ] && [ $n -lt 1800 ]; do "
               "sleep 1; n=$((n+1)); done; ls /sys/block",
               20, "the guest ejects the disk") or ""
    vmontest.check("vdc" not in out.split() and "vdb" in out.split(),
                   "the guest removed the ejected disk: %r" % out)
    ids = None
    for _ in range(100):
        ids = drive_ids(sock)
        if ids is not None and "hot" not in ids:
            break
        time.sleep(0.1)
    vmontest.check(ids == ["data", "root"],
                   "the ejected drive left the configuration: %r" % ids)


def main():
    d = vmontest.linux_guest_dir()
    if not vmontest.check(os.path.exists(os.path.join(d, "rootfs.ext4")),
                          "the default guest has its root disk (scripts/build-guest)"):
        vmontest.finish()
    tmp = tempfile.mkdtemp(prefix="vmon-pcilinux-")
    data = os.path.join(tmp, "data.img")
    pattern = bytes((i * 13 + 5) & 0xff for i in range(64 * 1024))
    with open(data, "wb") as f:
        f.write(pattern)
        f.truncate(8 << 20)
    subprocess.run(["ip", "netns", "del", NS], capture_output=True)
    r = subprocess.run(["ip", "netns", "add", NS], capture_output=True, text=True)
    if not vmontest.check(r.returncode == 0, "network namespace (needs root) " + r.stderr):
        vmontest.finish()
    shells = []
    try:
        ns("ip", "tuntap", "add", "dev", "vmtap0", "mode", "tap")
        run(d, tmp, pattern, shells)
    finally:
        vmontest.stop_all(*shells)
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    vmontest.finish()


def run(d, tmp, pattern, shells):
    """The boot and its checks; appends the vmon process to @shells."""
    data = os.path.join(tmp, "data.img")
    uds = os.path.join(tmp, "v.sock")
    env = dict(os.environ, VMON_RUNTIME_DIR=tmp)
    sock = os.path.join(tmp, "api.sock")
    g = vmontest.Shell(["ip", "netns", "exec", NS, vmontest.VMON, "run", "-v",
                        "--acpi", "--transport", "pci", "--api-sock", sock,
                        "--id", ID], env=env)
    shells.append(g)
    reqs = [("PUT", "/boot-source",
             {"kernel_image_path": os.path.join(d, "vmlinux"),
              "boot_args": "console=ttyS0 reboot=k panic=-1 vmon.shell " + ROOT_WORDS}),
            ("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 128}),
            ("PUT", "/drives/root", {"drive_id": "root",
                                     "path_on_host": os.path.join(d, "rootfs.ext4"),
                                     "is_root_device": False, "is_read_only": True}),
            ("PUT", "/drives/data", {"drive_id": "data", "path_on_host": data,
                                     "is_root_device": False, "is_read_only": True}),
            ("PUT", "/network-interfaces/eth0",
             {"iface_id": "eth0", "host_dev_name": "vmtap0",
              "guest_mac": "02:00:00:00:00:03"}),
            ("PUT", "/vsock", {"guest_cid": 43, "uds_path": uds}),
            ("PUT", "/balloon", {"amount_mib": 4, "deflate_on_oom": False}),
            ("PUT", "/entropy", {}),
            ("PUT", "/actions", {"action_type": "InstanceStart"})]
    if not vmontest.check(vmon_api.wait_socket(sock, g.p), "vmon's API answers"):
        return
    for method, path, body in reqs:
        st, b = vmon_api.request(sock, method, path, body)
        if not vmontest.check(st == 204, "%s %s: %s %r" % (method, path, st, b)):
            return
    if not vmontest.check(g.boot("VMON-GUEST-OK"),
                          "guest booted from its root disk on virtio-pci"):
        return
    out = g.sh("cat /proc/cmdline; ls /sys/firmware/acpi/tables") or ""
    vmontest.check("virtio_mmio.device=" not in out,
                   "no virtio-mmio devices on the command line")
    vmontest.check(all(t in out.split() for t in ("FACP", "APIC", "DSDT", "MCFG")),
                   "the guest found the ACPI tables: %r" % out.split())

    names = check_pci(g)
    out = g.sh("ls -d /sys/bus/virtio/devices/*/driver | wc -l") or ""
    vmontest.check(str(len(KINDS)) in out.split(),
                   "%d virtio devices bound to drivers: %r" % (len(KINDS), out))
    before = check_vectors(g, names)

    # The data disk (vdb): read the host's pattern; its queue's vector
    # counted the completions.
    want = hashlib.md5(pattern).hexdigest()
    out = g.sh("dd if=/dev/vdb bs=4096 count=16 2>/dev/null | md5sum; "
               "ls -l /sys/block/vdb/device") or ""
    vmontest.check(want in out, "guest reads the host's pattern (md5 %s): %r" % (want, out))
    m = re.search(r"(virtio\d+)\s*$", out.strip())
    req = (m.group(1) if m else "?") + "-req.0"
    after = msi_lines(g.sh("cat /proc/interrupts") or "")
    vmontest.check(after.get(req, 0) > before.get(req, 0) > 0,
                   "the data disk's MSI-X vector %s counted the reads (%r -> %r)" %
                   (req, before.get(req), after.get(req)))

    hotplug(g, sock, tmp)

    # The power button: the ACPI button driver's input device, busybox
    # acpid on it, and its handler for the button's event.
    out = g.sh("grep -A4 'Power Button' /proc/bus/input/devices") or ""
    vmontest.check("event" in out, "the ACPI power button is an input device: %r" % out)
    g.sh("mkdir -p /tmp/acpi/PWRF; printf '#!/bin/sh\\necho vmon-power-button\\n"
         "poweroff -f\\n' > /tmp/acpi/PWRF/00000080; chmod +x /tmp/acpi/PWRF/00000080")
    out = g.sh("acpid -f -d -c /tmp/acpi & p=$!; "
               "until ls -l /proc/$p/fd 2>/dev/null | grep -q input/event; do "
               "[ -d /proc/$p ] || break; done; "
               "[ -d /proc/$p ] && echo acpid-listening-$((6*7))", 5,
               "start acpid") or ""
    # (The console echoes the command: only the shell's answer says 42.)
    vmontest.check("acpid-listening-42" in out,
                   "busybox acpid runs and reads the button's input device")
    start = len(g.out)
    r = vmontest.run(["stop", "--acpi", sock], timeout=60, env=env)
    vmontest.check(r.code == 0, "vmon stop --acpi: exit 0 (%r %s)" % (r.code, r.err))
    vmontest.check(g.follow("vmon-power-button", "acpid runs the power button's handler",
                            idle_s=5, start=start),
                   "the power button reached acpid's handler")
    code = g.follow_exit("poweroff after the power button")
    vmontest.check(code == 0, "guest powered off through ACPI S5: vmon exit 0, got %r" %
                   code)
    vmontest.check("needs reset" not in g.err, "no device was put in NEEDS_RESET")


if __name__ == "__main__":
    main()
