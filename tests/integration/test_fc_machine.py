# SPDX-License-Identifier: GPL-2.0-only
"""Firecracker's machine-level options applied (issue 12): huge_pages "2M"
(guest RAM on hugetlbfs pages; a clear error when the host's pool is too
small; the balloon refused with it), PUT /serial, PUT /cpu-config and
PATCH /balloon/statistics at run time."""
import os
import time

import vmontest
from vmontest import check
import vmon_api

vmontest.require_kvm()
vmontest.host_exclusive("hugepages")
PID = os.getpid()
NR_HUGE = "/proc/sys/vm/nr_hugepages"


def read_int(path):
    with open(path) as f:
        return int(f.read().split()[0])


def huge_mappings(pid):
    """Sizes (kB) of the mappings of @pid on 2 MiB pages."""
    sizes, size = [], 0
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            if line.startswith("Size:"):
                size = int(line.split()[1])
            elif line.startswith("KernelPageSize:") and \
                    int(line.split()[1]) == 2048:
                sizes.append(size)
    return sizes


def start(inst, mem, extra_machine=None):
    body = {"vcpu_count": 1, "mem_size_mib": mem}
    body.update(extra_machine or {})
    r = [inst.req("PUT", "/boot-source",
                  {"kernel_image_path": vmon_api.GUEST_COUNTER})[0],
         inst.req("PUT", "/machine-config", body)[0]]
    st, b = inst.req("PUT", "/actions", {"action_type": "InstanceStart"})
    return r + [st], b


def wait_count(inst, timeout=120):
    end = time.time() + timeout
    while time.time() < end and inst.alive():
        if inst.last_count() > 0:
            return True
        time.sleep(0.2)
    return False


def snap_restore(inst):
    """A snapshot of a 2M VM restores (on ordinary pages) and runs on."""
    snap = os.path.join(inst.dir, "vm.snap")
    mem = os.path.join(inst.dir, "vm.mem")
    st1, _ = inst.req("PATCH", "/vm", {"state": "Paused"})
    st2, b = inst.req("PUT", "/snapshot/create",
                      {"snapshot_path": snap, "mem_file_path": mem})
    check((st1, st2) == (204, 204), "snapshot of the 2M VM: %s" % b)
    inst.stop()
    new = vmon_api.Instance(id="fcm_hres_%d" % PID)
    try:
        st, b = new.req("PUT", "/snapshot/load", {
            "snapshot_path": snap, "resume_vm": True,
            "mem_backend": {"backend_type": "File", "backend_path": mem}})
        check(st == 204, "the 2M VM's snapshot loads: %s" % b)
        check(wait_count(new), "the restored guest counts on")
        check(huge_mappings(new.p.pid) == [],
              "restored on ordinary pages: %s" % huge_mappings(new.p.pid))
    finally:
        new.stop()


def test_huge_pages():
    # The balloon and huge pages 2M exclude each other, in either order.
    inst = vmon_api.Instance(id="fcm_bal_%d" % PID)
    try:
        st, b = inst.req("PUT", "/machine-config",
                         {"vcpu_count": 1, "mem_size_mib": 32,
                          "huge_pages": "2M"})
        check(st == 204, "huge_pages 2M accepted")
        st, b = inst.req("PUT", "/balloon", {"amount_mib": 0,
                                             "deflate_on_oom": False})
        check(st == 400 and "huge pages" in b["fault_message"],
              "balloon refused with huge pages 2M: %s" % b)
        inst.req("PUT", "/machine-config", {"vcpu_count": 1,
                                            "mem_size_mib": 32})
        st, _ = inst.req("PUT", "/balloon", {"amount_mib": 0,
                                             "deflate_on_oom": False})
        check(st == 204, "balloon accepted without huge pages")
        st, b = inst.req("PATCH", "/machine-config", {"huge_pages": "2M"})
        check(st == 400 and "balloon" in b["fault_message"],
              "huge pages 2M refused with a balloon: %s" % b)
    finally:
        inst.stop()

    old = read_int(NR_HUGE)
    free = read_int("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages")
    try:
        # Not enough pages: InstanceStart fails and says why.
        inst = vmon_api.Instance(id="fcm_few_%d" % PID)
        try:
            sts, b = start(inst, 2 * (free + 1), {"huge_pages": "2M"})
            check(sts[:2] == [204, 204] and sts[2] == 400 and
                  "free 2 MiB pages" in b["fault_message"],
                  "too few huge pages: InstanceStart refused: %s" % b)
        finally:
            inst.stop()
        # Reserve 16 more pages (32 MiB) for a 32 MiB guest.
        with open(NR_HUGE, "w") as f:
            f.write(str(old + 16))
        if read_int("/sys/kernel/mm/hugepages/hugepages-2048kB/"
                    "free_hugepages") < 16:
            check(False, "the host could not reserve 16 huge pages")
            return
        inst = vmon_api.Instance(id="fcm_huge_%d" % PID)
        try:
            sts, b = start(inst, 32, {"huge_pages": "2M"})
            check(sts == [204, 204, 204], "2M guest started: %s %s" % (sts, b))
            check(wait_count(inst), "2M guest runs: %r" %
                  inst.serial_text()[-200:])
            sizes = huge_mappings(inst.p.pid)
            check(32 * 1024 in sizes,
                  "guest RAM is one 32 MiB mapping on 2 MiB pages: %s" % sizes)
            st, mc = inst.req("GET", "/machine-config")
            check(mc.get("huge_pages") == "2M", "GET reports 2M")
            snap_restore(inst)
        finally:
            inst.stop()
    finally:
        with open(NR_HUGE, "w") as f:
            f.write(str(old))


def test_smt():
    inst = vmon_api.Instance(id="fcm_smt_%d" % PID)
    try:
        st, b = inst.req("PUT", "/machine-config", {"vcpu_count": 3,
                                                    "mem_size_mib": 32,
                                                    "smt": True})
        check(st == 400 and "smt" in b["fault_message"],
              "smt with 3 vCPUs refused (as Firecracker): %s" % b)
        sts, b = start(inst, 32, {"vcpu_count": 2, "smt": True})
        check(sts == [204, 204, 204], "2 vCPUs with smt started: %s" % b)
        check(wait_count(inst), "the guest runs with smt (2 threads)")
    finally:
        inst.stop()


def test_serial():
    inst = vmon_api.Instance(id="fcm_ser_%d" % PID, serial=False)
    out = os.path.join(inst.dir, "ttyS0.out")
    try:
        st, b = inst.req("PUT", "/serial", {"serial_out_path": 5})
        check(st == 400 and "serial_out_path" in b["fault_message"],
              "PUT /serial with a number refused")
        st, b = inst.req("PUT", "/serial", {"serial_out_path": out,
                                            "rate_limiter": {"size": 1,
                                                             "refill_time": 1}})
        check(st == 400 and "rate_limiter" in b["fault_message"],
              "PUT /serial rate_limiter refused with the reason: %s" % b)
        st, _ = inst.req("PUT", "/serial", {"serial_out_path": out,
                                            "rate_limiter": None})
        check(st == 204, "PUT /serial {serial_out_path} before boot")
        st, full = inst.req("GET", "/vm/config")
        check(full.get("serial") == {"serial_out_path": out},
              "GET /vm/config shows the serial section: %s" %
              full.get("serial"))
        sts, b = start(inst, 32)
        check(sts == [204, 204, 204], "guest started: %s" % b)
        inst.serial = out  # the counter lines now land in this file
        check(wait_count(inst), "the guest's serial output reaches "
              "serial_out_path")
        st, b = inst.req("PUT", "/serial", {"serial_out_path": out})
        check(st == 400, "PUT /serial after boot refused")
    finally:
        inst.stop()


PROBE = os.path.join(vmontest.BUILD_ROOT, "guest", "cpuid_probe.elf")
PVM = vmontest.PVM_HOST


def bitmap(bits, width=32):
    """A Firecracker bitmap: "0b" then x except {bit: 0 or 1}."""
    return "0b" + "".join(str(bits[b]) if b in bits else "x"
                          for b in range(width - 1, -1, -1))


def probe_lines(inst, timeout=120):
    end = time.time() + timeout
    while time.time() < end and "cpuid probe done" not in inst.serial_text():
        if not inst.alive():
            break
        time.sleep(0.2)
    regs = {}
    for line in inst.serial_text().splitlines():
        w = line.split()
        if len(w) >= 2 and "=" in line and w[0] in ("cpuid", "ucpuid", "msr"):
            regs[w[0] + " " + w[1].split("=")[0]] = dict(
                kv.split("=") for kv in w[1 if w[0] == "msr" else 2:])
    return regs


def leaf1(eax_bits):
    return {"leaf": "0x1", "subleaf": "0x0", "flags": 0,
            "modifiers": [{"register": "eax", "bitmap": bitmap(eax_bits)}]}


def test_cpu_config():
    inst = vmon_api.Instance(id="fcm_cpu_%d" % PID)
    try:
        for body, needle in [
                ({"cpuid_modifiers": [{"leaf": "0x1", "subleaf": "0",
                                       "flags": 0, "modifiers": [
                                           {"register": "exx",
                                            "bitmap": "0b1"}]}]},
                 "register"),
                ({"cpuid_modifiers": [{"leaf": "zz", "subleaf": "0",
                                       "modifiers": []}]}, "leaf"),
                ({"msr_modifiers": [{"addr": "0x1a0",
                                     "bitmap": "0b" + "1" * 65}]}, "bitmap"),
                ({"msr_modifiers": [{"addr": "0x1a0", "bitmap": "0b12"}]},
                 "bitmap"),
                ({"kvm_capabilities": ["x1"]}, "kvm_capabilities"),
                ({"reg_modifiers": [{"addr": "0x0", "bitmap": "0b1"}]},
                 "aarch64"),
                ({"bogus": []}, "bogus")]:
            st, b = inst.req("PUT", "/cpu-config", body)
            check(st == 400 and needle in b["fault_message"],
                  "PUT /cpu-config refused (%s): %s" % (needle, b))
        # Accepted, then refused at InstanceStart with the reason.
        refusals = [
            ({"cpuid_modifiers": [{"leaf": "0x40000000", "subleaf": "0x0",
                                   "flags": 0, "modifiers": [
                                       {"register": "eax",
                                        "bitmap": bitmap({0: 0})}]}]},
             "hypervisor leaves"),
            ({"cpuid_modifiers": [{"leaf": "0x8fffff00", "subleaf": "0x0",
                                   "flags": 0, "modifiers": [
                                       {"register": "eax",
                                        "bitmap": bitmap({0: 1})}]}]},
             "not in the CPUID"),
            ({"msr_modifiers": [{"addr": "0x12345678",
                                 "bitmap": bitmap({0: 1}, 64)}]},
             "MSR 0x12345678"),
            ({"kvm_capabilities": ["4000000"]}, "capability 4000000")]
        if PVM:  # popcnt: leaf 1 ECX bit 23, which KVM does not report
            refusals.append(({"cpuid_modifiers": [{
                "leaf": "0x1", "subleaf": "0x0", "flags": 0,
                "modifiers": [{"register": "ecx",
                               "bitmap": bitmap({23: 0})}]}]},
                "clearcpuid=popcnt"))
        inst.req("PUT", "/boot-source", {"kernel_image_path": PROBE})
        for body, needle in refusals:
            st, _ = inst.req("PUT", "/cpu-config", body)
            st2, b = inst.req("PUT", "/actions",
                              {"action_type": "InstanceStart"})
            check(st == 204 and st2 == 400 and needle in b["fault_message"],
                  "cpu-config refused at InstanceStart (%s): %s" %
                  (needle, b))
    finally:
        inst.stop()

    # Applied: leaf 1 EAX stepping 5, MISC_ENABLE bit 12; with SMT.
    inst = vmon_api.Instance(id="fcm_cpu2_%d" % PID)
    try:
        cfg = {"kvm_capabilities": ["1", "!121"],
               "cpuid_modifiers": [leaf1({3: 0, 2: 1, 1: 0, 0: 1})],
               "msr_modifiers": [{"addr": "0x1a0",
                                  "bitmap": bitmap({12: 1}, 64)}]}
        st, b = inst.req("PUT", "/cpu-config", cfg)
        check(st == 204, "PUT /cpu-config accepted: %s" % b)
        st, full = inst.req("GET", "/vm/config")
        cc = full.get("cpu-config") or {}
        check(cc.get("kvm_capabilities") == ["1", "!121"] and
              cc["cpuid_modifiers"][0]["modifiers"][0]["bitmap"] ==
              bitmap({3: 0, 2: 1, 1: 0, 0: 1}) and
              cc["msr_modifiers"][0]["addr"] == "0x1a0",
              "GET /vm/config gives cpu-config back: %s" % cc)
        inst.req("PUT", "/boot-source", {"kernel_image_path": PROBE})
        inst.req("PUT", "/machine-config", {"vcpu_count": 2,
                                            "mem_size_mib": 32, "smt": True})
        st, b = inst.req("PUT", "/actions", {"action_type": "InstanceStart"})
        check(st == 204, "cpuid probe started: %s" % b)
        regs = probe_lines(inst)
        l1 = regs.get("cpuid 1.0", {})
        check(l1 and int(l1["eax"], 16) & 0xf == 5,
              "the guest reads the modified stepping: %s" % l1)
        msr = regs.get("msr 1a0", {})
        check(msr and int(msr["1a0"], 16) >> 12 & 1,
              "the guest reads MISC_ENABLE bit 12 set: %s" % msr)
        smt, core = regs.get("cpuid b.0", {}), regs.get("cpuid b.1", {})
        check(smt.get("ebx") == "00000002" and smt.get("eax") == "00000001"
              and core.get("ebx") == "00000002",
              "SMT: leaf 0xb shows 2 threads per core: %s %s" % (smt, core))
    finally:
        inst.stop()


def host_cpu():
    """(vendor, family) of the host's CPU, as /proc/cpuinfo shows them."""
    vendor, family = "", 0
    with open("/proc/cpuinfo") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key.strip() == "vendor_id":
                vendor = value.strip()
            elif key.strip() == "cpu family":
                family = int(value)
            if key.strip() == "processor" and vendor:
                break
    return vendor, family


def test_named_templates():
    """Firecracker's names: accepted by machine-config, checked against
    the host when the VM is built."""
    vendor, family = host_cpu()
    intel = vendor == "GenuineIntel"
    mine, other = ("T2", "T2A") if intel else ("T2A", "T2")
    cases = [("V1N1", 400, "aarch64"), (other, 400, "needs an")]
    if PVM:  # each hides features a PVM guest reads from the CPU itself
        cases.append((mine, 400, "PVM host"))
    elif intel or family >= 0x19:  # T2A: Milan (family 19h) or newer
        cases.append((mine, 204, None))
    else:
        cases.append((mine, 400, "needs an AMD Milan or newer"))
    for name, status, needle in cases:
        inst = vmon_api.Instance(id="fcm_tpl_%d" % PID)
        try:
            sts, b = start(inst, 32, {"cpu_template": name})
            ok = sts[:2] == [204, 204] and sts[2] == status
            if needle:
                ok = ok and needle in b["fault_message"]
            else:
                ok = ok and wait_count(inst)
            check(ok, "cpu_template %s: %s %s" % (name, sts, b))
        finally:
            inst.stop()


def test_balloon_hinting():
    inst = vmon_api.Instance(id="fcm_hint_%d" % PID)
    plain = vmon_api.Instance(id="fcm_nohint_%d" % PID)
    try:
        bal = {"amount_mib": 0, "deflate_on_oom": False,
               "free_page_hinting": True}
        st, _ = inst.req("PUT", "/balloon", bal)
        check(st == 204, "PUT /balloon with free_page_hinting")
        st, b = inst.req("GET", "/balloon")
        check(b.get("free_page_hinting") is True, "GET /balloon: hinting on")
        st, b = inst.req("PATCH", "/balloon/hinting/start", {})
        check(st == 400, "hinting start before boot refused: %s" % b)
        sts, b = start(inst, 32)
        check(sts == [204, 204, 204], "guest with a hinting balloon: %s" % b)
        st, b = inst.req("PATCH", "/balloon/hinting/start",
                         {"acknowledge_on_stop": "yes"})
        check(st == 400 and "acknowledge_on_stop" in b["fault_message"],
              "hinting start: a bad acknowledge_on_stop refused")
        st, _ = inst.req("PATCH", "/balloon/hinting/start",
                         {"acknowledge_on_stop": False})
        st2, s1 = inst.req("GET", "/balloon/hinting/status")
        check(st == 204 and st2 == 200 and s1["host_cmd"] >= 2 and
              "guest_cmd" not in s1,
              "hinting started: a run id, no guest command yet: %s" % s1)
        st, _ = inst.req("PATCH", "/balloon/hinting/start")  # no body
        _, s2 = inst.req("GET", "/balloon/hinting/status")
        check(st == 204 and s2["host_cmd"] > s1["host_cmd"],
              "a second run gets a new id: %s" % s2)
        st, _ = inst.req("PATCH", "/balloon/hinting/stop")
        _, s3 = inst.req("GET", "/balloon/hinting/status")
        check(st == 204 and s3["host_cmd"] == 1,
              "hinting stopped: DONE (1): %s" % s3)
        plain.req("PUT", "/balloon", {"amount_mib": 0,
                                      "deflate_on_oom": False})
        start(plain, 32)
        st, b = plain.req("PATCH", "/balloon/hinting/start", {})
        check(st == 400 and "not enabled" in b["fault_message"],
              "hinting on a balloon without it refused: %s" % b)
    finally:
        inst.stop()
        plain.stop()


test_huge_pages()
test_smt()
test_serial()
test_cpu_config()
test_named_templates()
test_balloon_hinting()
vmontest.finish()
