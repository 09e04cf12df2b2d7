# SPDX-License-Identifier: GPL-2.0-only
"""Density (docs/density.md), one part per argument:

ksm      two VMs with mem_merge running the same guest program with the
         same memory content are merged by KSM, and vmon reports the
         shared and merged pages of each; two more without it, same
         content, have nothing merged. The test turns KSM on with a high
         scan rate for its duration and restores the host's settings.
many     50 small VMs (a guest program that halts) started at once all
         boot, stay under a per-VM RSS bound and use no CPU while idle,
         and all stop cleanly: exit 0, no process, socket or registry
         entry left.
balance  four VMs with balloons: `vmon list --mem` shows each one's memory
         and the total; `vmon balance --once` under their sum sets balloon
         targets through the API (never leaving a VM less than the floor);
         with room again it gives them back.
balance_load  the controller with guests that drive their balloons
         (guest/probes/balloon_load.c): four 128 MiB VMs using memory in
         turns stay under a 300 MiB target, smaller than their 512 MiB;
         no balloon target past the floor; none killed, no page lost.
memfile  --mem-file: a VM that writes 96 MiB runs in a memory cgroup of
         64 MiB, its pages written back to the file (needs root).
"""
import atexit
import json
import os
import subprocess
import sys
import tempfile
import time

import memcg
import vmontest
from vmontest import check
import vmon_api

GUEST = os.path.join(vmontest.BUILD_ROOT, "guest", "density.elf")
KSM = "/sys/kernel/mm/ksm/"
MIB = 1 << 20
# Per-VM RSS bound of an idle 16 MiB VM (docs/density.md).
IDLE_RSS_MAX = 16 * MIB

vmontest.require_kvm()
vmontest.host_exclusive("ksm")
RUNDIR = tempfile.mkdtemp(prefix="vmon-density-")
os.chmod(RUNDIR, 0o700)
ENV = dict(os.environ, VMON_RUNTIME_DIR=RUNDIR)
TAG = "d%d" % os.getpid()


class VM:
    """A vmon booted from a config file, with an API socket and an id."""

    def __init__(self, name, mem_mib, args="", merge=False, balloon=None,
                 kernel=GUEST):
        self.id = "%s-%s" % (TAG, name)
        self.dir = tempfile.mkdtemp(prefix="vmon-density-vm-")
        self.sock = os.path.join(self.dir, "api.sock")
        self.serial = os.path.join(self.dir, "serial")
        mc = {"vcpu_count": 1, "mem_size_mib": mem_mib}
        if merge:
            mc["mem_merge"] = True
        doc = {"boot-source": {"kernel_image_path": kernel,
                               "boot_args": args},
               "machine-config": mc}
        if balloon is not None:
            doc["balloon"] = balloon
        cfg = os.path.join(self.dir, "config.json")
        with open(cfg, "w") as f:
            json.dump(doc, f)
        self.errf = open(os.path.join(self.dir, "stderr"), "wb")
        self.p = subprocess.Popen(
            [vmontest.VMON, "run", "--config-file", cfg, "--api-sock",
             self.sock, "--id", self.id, "--serial", "file:" + self.serial],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=self.errf, env=ENV)

    def serial_text(self):
        try:
            with open(self.serial) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def ready(self):
        return "density: ready" in self.serial_text()

    def req(self, method, path, body=None):
        return vmon_api.request(self.sock, method, path, body)

    def ended(self):
        """Whether vmon ended; if so, a failure with its exit and stderr."""
        if self.p.poll() is None:
            return False
        vmontest.fail("VM %s ended (exit %r): %s"
                      % (self.id, self.p.returncode, self.stderr()[-800:]))
        return True

    def memory(self):
        st, m = self.req("GET", "/vmon/stats")
        return m.get("memory", {}) if st == 200 and m else {}

    def stderr(self):
        self.errf.flush()
        with open(os.path.join(self.dir, "stderr")) as f:
            return f.read()

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def vmon(*args, timeout=60):
    r = subprocess.run([vmontest.VMON] + list(args), env=ENV,
                       capture_output=True, timeout=timeout)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def wait_ready(vms, ceiling=300, stall=120):
    """Until every VM said ready; fails after @stall s without a new one."""
    t0 = last = time.monotonic()
    done = 0
    while time.monotonic() - t0 < ceiling and time.monotonic() - last < stall:
        n = sum(v.ready() for v in vms)
        if n > done:
            done, last = n, time.monotonic()
        if n == len(vms) or any(v.p.poll() is not None for v in vms):
            break
        time.sleep(0.1)
    return done


def ksm_read(name):
    with open(KSM + name) as f:
        return int(f.read().split()[0])


def ksm_progress():
    """A count that grows while KSM scans: pages_scanned, or on kernels
    without it (Debian 12's 6.1) full_scans."""
    name = "pages_scanned" if os.path.exists(KSM + "pages_scanned") \
        else "full_scans"
    return ksm_read(name)


def ksm_merging_pages(pid):
    """The kernel's count of process @pid's KSM-merged pages: in its
    ksm_stat, or where that lacks it (Debian 12's 6.1) ksm_merging_pages."""
    with open("/proc/%d/ksm_stat" % pid) as f:
        for line in f:
            if line.startswith("ksm_merging_pages "):
                return int(line.split()[1])
    with open("/proc/%d/ksm_merging_pages" % pid) as f:
        return int(f.read())


def ksm_write(name, value):
    with open(KSM + name, "w") as f:
        f.write(str(value))


def test_ksm():
    if not os.access(KSM + "run", os.W_OK):
        vmontest.fail("KSM: %srun is not writable (needs root and a kernel "
                      "with CONFIG_KSM)" % KSM)
        return
    saved = {k: ksm_read(k) for k in ("run", "pages_to_scan",
                                      "sleep_millisecs")}

    def restore():
        for k in ("pages_to_scan", "sleep_millisecs", "run"):
            ksm_write(k, saved[k])
    atexit.register(restore)
    args = "fill=24 seed=77"
    merged = [VM("m%d" % i, 64, args, merge=True) for i in range(2)]
    plain = [VM("p%d" % i, 64, args) for i in range(2)]
    vms = merged + plain
    try:
        check(wait_ready(vms) == 4, "the four VMs filled 24 MiB each")
        ksm_write("pages_to_scan", 20000)
        ksm_write("sleep_millisecs", 10)
        ksm_write("run", 1)
        # Bounded by KSM's progress: enough full scans after the start
        # (each merge needs two: one to note a page, one to merge it), or
        # a long time without any page scanned.
        scans0 = ksm_read("full_scans")
        scanned, last = ksm_progress(), time.monotonic()
        want = 24 * MIB
        mems = []
        while True:
            if any([v.ended() for v in vms]):
                break
            mems = [v.memory() for v in merged]
            if all(m.get("ksm_merged_bytes", 0) >= want and
                   m.get("shared_bytes", 0) >= want for m in mems):
                break
            if ksm_read("full_scans") - scans0 > 20:
                break
            s = ksm_progress()
            if s != scanned:
                scanned, last = s, time.monotonic()
            elif time.monotonic() - last > 120:
                break
            time.sleep(0.2)
        for v, m in zip(merged, mems):
            check(m.get("mem_merge") is True and
                  m.get("ksm_merged_bytes", 0) >= want and
                  m.get("shared_bytes", 0) >= want and
                  m.get("pss_bytes", want) < m.get("resident_bytes", 0),
                  "%s (mem_merge): its 24 MiB merged and shared (KSM full "
                  "scans: %d): %s" % (v.id, ksm_read("full_scans") - scans0, m))
        # The VMs without the flag have had as many scans: nothing merged.
        for v in plain:
            m = v.memory()
            check(m.get("mem_merge") is False and
                  m.get("ksm_merged_bytes", -1) == 0 and
                  m.get("shared_bytes", -1) == 0 and
                  m.get("resident_bytes", 0) >= want and
                  ksm_merging_pages(v.p.pid) == 0,
                  "%s (no mem_merge): nothing merged or shared: %s" %
                  (v.id, m))
        code, out, _ = vmon("stat", merged[0].id)
        check(code == 0 and '"ksm_merged_bytes"' in out,
              "vmon stat shows the memory report")
    finally:
        for v in vms:
            vmon("stop", v.id)
            v.kill()
        restore()


def cpu_ticks(pid):
    """utime + stime of process @pid (all threads), in clock ticks."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def test_many(n=50):
    vms = [VM("i%d" % i, 16) for i in range(n)]
    try:
        ready = wait_ready(vms)
        check(ready == n, "%d of %d idle VMs started at once booted" %
              (ready, n))
        rss = [v.memory().get("process_rss_bytes", 1 << 40) for v in vms]
        check(max(rss) < IDLE_RSS_MAX,
              "every idle VM's RSS under %d MiB (largest %.1f MiB, mean "
              "%.1f MiB)" % (IDLE_RSS_MAX // MIB, max(rss) / MIB,
                             sum(rss) / len(rss) / MIB))
        # Idle: the vCPUs sleep in KVM. Over 3 s all 50 together use
        # well under a second of CPU (ticks of 1/100 s: 100 ticks).
        t0 = [cpu_ticks(v.p.pid) for v in vms]
        time.sleep(3)
        used = sum(cpu_ticks(v.p.pid) - a for v, a in zip(vms, t0))
        check(used < 100, "%d idle VMs used %d CPU ticks in 3 s" % (n, used))
        rss2 = [v.memory().get("process_rss_bytes", 1 << 40) for v in vms]
        grew = max(b - a for a, b in zip(rss, rss2))
        check(grew < 2 * MIB, "RSS flat while idle (largest growth %d KiB)"
              % (grew >> 10))
        stopped = sum(vmon("stop", v.id)[0] == 0 for v in vms)
        check(stopped == n, "vmon stop accepted for %d of %d" % (stopped, n))
        codes = []
        for v in vms:
            try:
                codes.append(v.p.wait(120))
            except subprocess.TimeoutExpired:
                codes.append(None)
        check(codes == [0] * n, "all %d exited with status 0: %s" %
              (n, [c for c in codes if c != 0]))
        left = [v.sock for v in vms if os.path.exists(v.sock)]
        check(not left, "no API socket left behind: %s" % left[:3])
        entries = [e for e in os.listdir(RUNDIR) if e.startswith(TAG)]
        check(not entries, "no registry entry left: %s" % entries[:3])
        bad = [v.id for v in vms if "vmon:" in v.stderr() and
               "note:" not in v.stderr()]
        check(not bad, "no errors on stderr: %s" % bad[:3])
    finally:
        for v in vms:
            v.kill()


def balloon_mib(v):
    st, b = v.req("GET", "/balloon")
    return b.get("amount_mib") if st == 200 and b else None


def test_balance():
    balloon = {"amount_mib": 0, "deflate_on_oom": False,
               "stats_polling_interval_s": 1}
    vms = [VM("b%d" % i, 128, "fill=%d seed=%d" % (16 + 8 * i, i),
              balloon=balloon) for i in range(4)]
    floor = 96
    try:
        check(wait_ready(vms) == 4, "four VMs with balloons booted")
        code, out, err = vmon("list", "--mem")
        rows = {l.split()[0]: l.split() for l in out.splitlines()[1:]}
        ours = [rows.get(v.id) for v in vms]
        check(code == 0 and all(ours) and "total" in rows and
              all(int(r[3]) >= 16 for r in ours),
              "vmon list --mem: each VM's memory and the total\n" + out + err)
        # A target 40 MiB under what the four use (the runtime directory
        # is the test's own: no other instance counts): balloons move.
        pss = sum(v.memory().get("process_pss_bytes", 0) for v in vms)
        target = max(pss // MIB - 40, 1)
        code, out, err = vmon("balance", "--target", "%dM" % target,
                              "--floor", "%dM" % floor, "--once")
        amounts = [balloon_mib(v) for v in vms]
        check(code == 0 and sum(amounts) >= 40 and
              all(128 - a >= floor for a in amounts),
              "balance --once under the sum: balloon targets %s MiB set "
              "through the API, none past the floor\n%s%s" %
              (amounts, out, err))
        big = amounts.index(max(amounts))
        st, stats = vms[big].req("GET", "/balloon/statistics")
        check(st == 200 and stats["target_mib"] == amounts[big] > 0,
              "the device has the new target: %s" % stats)
        code, out, err = vmon("balance", "--target", "64G", "--once")
        amounts = [balloon_mib(v) for v in vms]
        check(code == 0 and amounts == [0] * 4,
              "with room again the balloons are let out: %s\n%s%s" %
              (amounts, out, err))
        check(all(v.p.poll() is None for v in vms), "no VM was killed")
    finally:
        for v in vms:
            vmon("stop", v.id)
            v.kill()


LOAD_GUEST = os.path.join(vmontest.BUILD_ROOT, "guest", "balloon_load.elf")
LOAD_MEM, LOAD_FLOOR, LOAD_TARGET = 128, 64, 300  # MiB
LOAD_PHASE = 6  # seconds per VM's turn


def load_vm(i):
    """VM @i of four running balloon_load: 0 and 1 report free pages and
    keep no cache (their use follows their turns), 2 and 3 grow a cache
    into all free memory (as a kernel's page cache does)."""
    args = ("bl.ram=%d bl.vm=%d bl.n=4 bl.phase=%d bl.base=8 bl.active=40 "
            % (LOAD_MEM, i, LOAD_PHASE) +
            ("bl.report=1 bl.cache=0" if i < 2 else "bl.cache=4"))
    balloon = {"amount_mib": 0, "deflate_on_oom": True,
               "stats_polling_interval_s": 1, "free_page_reporting": True}
    v = VM("l%d" % i, LOAD_MEM, args, balloon=balloon, kernel=LOAD_GUEST)
    v.ready = lambda: "balloon_load: ready" in v.serial_text()
    return v


def load_sample(vms):
    """(sum of PSS in MiB, each VM's balloon target and actual in MiB)."""
    pss, balloons = 0, []
    for v in vms:
        pss += v.memory().get("process_pss_bytes", 0)
        st, b = v.req("GET", "/balloon/statistics")
        balloons.append((b["target_mib"], b["actual_mib"])
                        if st == 200 and b else (None, None))
    return pss / MIB, balloons


def load_settle(vms, ceiling=300, stall=90):
    """Until the PSS sum is under the target in three samples running;
    fails after @stall s in which the sum did not reach a new low."""
    t0 = last = time.monotonic()
    low, under = float("inf"), 0
    while time.monotonic() - t0 < ceiling and time.monotonic() - last < stall:
        pss, _ = load_sample(vms)
        if pss < low - 1:
            low, last = pss, time.monotonic()
        under = under + 1 if pss <= LOAD_TARGET else 0
        if under == 3 or any(v.p.poll() is not None for v in vms):
            break
        time.sleep(1)
    return under == 3, low


def test_balance_load():
    """The controller with guests that drive their balloons: four 128 MiB
    VMs (512 MiB in all; unchecked they grow to about 340 MiB of host
    memory) under `vmon balance --target 300M --floor 64M`."""
    vms = [load_vm(i) for i in range(4)]
    bal = None
    try:
        check(wait_ready(vms) == 4, "four balloon_load VMs booted")
        # Unchecked, the caches grow the sum past the target.
        t0, pss = time.monotonic(), 0
        while time.monotonic() - t0 < 240 and pss <= LOAD_TARGET + 8:
            time.sleep(1)
            pss, _ = load_sample(vms)
        check(pss > LOAD_TARGET, "without the controller the PSS sum grew "
              "to %.0f MiB, past the %d MiB target" % (pss, LOAD_TARGET))
        bal_out = open(os.path.join(RUNDIR, "balance.out"), "w+")
        bal = subprocess.Popen(
            [vmontest.VMON, "balance", "--target", "%dM" % LOAD_TARGET,
             "--floor", "%dM" % LOAD_FLOOR, "--interval", "1"],
            stdout=bal_out, stderr=subprocess.STDOUT, env=ENV)
        settled, low = load_settle(vms)
        check(settled, "the PSS sum came under %d MiB (lowest %.0f MiB)" %
              (LOAD_TARGET, low))
        # Two rounds of turns: every VM allocates 40 MiB and frees it twice.
        samples, t_end = [], time.monotonic() + 8 * LOAD_PHASE
        over_since, longest = None, 0.0
        while time.monotonic() < t_end:
            samples.append(load_sample(vms))
            now = time.monotonic()
            if samples[-1][0] <= LOAD_TARGET:
                over_since = None
            else:
                over_since = over_since or now
                longest = max(longest, now - over_since)
            time.sleep(0.5)
        sums = sorted(s[0] for s in samples)
        over = [s for s in sums if s > LOAD_TARGET]
        # A guest that takes 40 MiB at once is over the target until the
        # next steps (1 s apart) take it from the others: allowed for up to
        # 10 s at a time, by at most what one guest allocates.
        check(longest <= 10 and sums[-1] <= LOAD_TARGET + 40 and
              sums[len(sums) // 2] <= LOAD_TARGET,
              "PSS sum under %d MiB: median %.0f, max %.0f MiB, %d of %d "
              "samples over, longest over %.1f s" %
              (LOAD_TARGET, sums[len(sums) // 2], sums[-1], len(over),
               len(sums), longest))
        targets = [t for s in samples for t, _ in s[1] if t is not None]
        check(targets and max(targets) <= LOAD_MEM - LOAD_FLOOR and
              sum(max(s[1][i][0] or 0 for s in samples) > 0
                  for i in range(4)) >= 2,
              "balloon targets never past the %d MiB floor (largest %s), "
              "and moved" % (LOAD_FLOOR, max(targets or [None])))
        bal_out.seek(0)
        log = bal_out.read()
        moves = [int(l.split()[-2]) for l in log.splitlines()
                 if "-> " in l and l.endswith("MiB")]
        check(moves and max(moves) <= LOAD_MEM - LOAD_FLOOR,
              "balance set %d targets, none past the floor" % len(moves))
        check(bal.poll() is None and
              all(v.p.poll() is None for v in vms) and
              not any("corrupt" in v.serial_text() for v in vms),
              "no VM killed, no guest page lost, the controller runs")
    finally:
        if bal:
            bal.terminate()
            bal.wait()
        for v in vms:
            vmon("stop", v.id)
            v.kill()


def test_memfile():
    """--mem-file: a VM whose guest writes 96 MiB into 128 MiB of RAM runs
    in a cgroup limited to 64 MiB, its written pages going back to the
    file (RSS under the limit, most of it file pages), where the same VM
    with anonymous RAM and no swap could not."""
    cg = memcg.memory_cgroup("vmon-memfile-%d" % os.getpid(), 64 * MIB,
                             "memory.high")
    if not cg:
        vmontest.fail("no memory cgroup to create here (needs root and a "
                      "memory controller)")
        return
    d = tempfile.mkdtemp(prefix="vmon-memfile-", dir="/var/tmp")
    serial = os.path.join(d, "serial")
    p = subprocess.Popen(
        memcg.join_cmd(cg, [vmontest.VMON, "run", "-k", GUEST, "-c",
                            "fill=96 seed=5", "-m", "128", "--mem-file", d,
                            "--serial", "file:" + serial]),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, env=ENV)
    try:
        t0 = time.monotonic()
        text = ""
        while time.monotonic() - t0 < 240 and p.poll() is None:
            if os.path.exists(serial):
                with open(serial) as f:
                    text = f.read()
            if "density: ready 96 MiB" in text:
                break
            time.sleep(0.5)
        if not check("density: ready 96 MiB" in text,
                     "the guest wrote 96 MiB under a 64 MiB cgroup limit"):
            if p.poll() is not None:
                print("vmon ended (exit %r): %s" % (
                    p.returncode, p.stderr.read().decode()[-800:]))
            return
        st = {}
        with open("/proc/%d/status" % p.pid) as f:
            for l in f:
                k, _, v = l.partition(":")
                if k in ("VmRSS", "RssFile", "RssAnon"):
                    st[k] = int(v.split()[0]) * 1024
        check(st.get("VmRSS", 1 << 40) <= 64 * MIB and
              st.get("RssFile", 0) > st.get("RssAnon", 0),
              "RSS %.1f MiB (file %.1f, anonymous %.1f) within the limit" %
              (st.get("VmRSS", 0) / MIB, st.get("RssFile", 0) / MIB,
               st.get("RssAnon", 0) / MIB))
        check(p.poll() is None, "the VM runs on")
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()
        try:
            os.rmdir(cg)
        except OSError:
            pass
        subprocess.run(["rm", "-rf", d])


TESTS = {"ksm": test_ksm, "many": test_many, "balance": test_balance,
         "balance_load": test_balance_load, "memfile": test_memfile}
if len(sys.argv) != 2 or sys.argv[1] not in TESTS:
    print("usage: test_density.py ksm|many|balance|balance_load|memfile")
    sys.exit(2)
TESTS[sys.argv[1]]()
vmontest.finish()
