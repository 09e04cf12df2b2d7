#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""qcow2 images and `vmon img`, against qemu-img and qemu-io (qemu-utils).

- Images qemu-img makes (version 2, version 3, compressed, with extended
  L2 entries, an overlay on a qcow2 base, overlays on a raw base: plain,
  with extended L2 entries, and those preallocated) are read by the virtio
  probe guest
  (it checks the host's pattern in sectors 0-7 and writes its own in 8-15);
  afterwards `qemu-img check` is clean and the image holds what the guest
  wrote (`qemu-img compare` with the expected raw image).
- Images `vmon img create` makes pass `qemu-img check`, also after a guest
  wrote to them; `vmon img info` shows the backing chain.
- format=raw on a qcow2 file: the guest sees the header bytes, not the
  image inside.
- Refused images: missing backing file, a backing loop, an unknown
  incompatible feature, encryption; each error names the image.
- `vmon img check` agrees with `qemu-img check` (exit code) on an image
  with a corrupted refcount (2) and on one with a leaked cluster (3);
  `vmon img check -r leaks` repairs the leak (not the corruption),
  `-r all` the corruption, and `qemu-img check` is clean afterwards.
- An image qemu-io left dirty (lazy refcounts): both checks report it
  (2); opened for writing (command line, and PUT /drives with `format` on
  the API thread) its refcounts are repaired and the dirty bit cleared.
- Overlays of one base: several VMs at once, each overlay with its own
  data (written by qemu-io first); each sees only its own; base unchanged.
- `vmon img commit`: the overlay's data lands in the base and the overlay
  is emptied (with -d, kept).
- 512-byte clusters: a guest fills a 16 MiB image (new refcount blocks,
  and a refcount table that grows); `qemu-img check` clean.
- Crash consistency: the disk benchmark guest writes over an overlay (and
  over a preallocated one with extended L2 entries) and vmon is killed
  (SIGKILL) at several moments; `qemu-img check` finds no
  corruption each time (leaked clusters are allowed, then repaired by
  `vmon img check -r leaks`, after which `qemu-img check` is clean).

`test_qcow2.py host` (meson test integration/qcow2_host) runs the parts
that need no guest, so they hold on a host without /dev/kvm: `vmon img`
(create, an overlay and its chain in `info`, `check` of a dirty image,
`commit` with and without -d of data qemu-io wrote, and into a smaller
backing file, qcow2 or raw, which grows; `resize`; `info --output=json`
against qemu-img's; `create -o` with qemu-img's options, against
qemu-img create's images, and written by vmon; `convert` and `rebase`
against qemu-img's; images with extended L2 entries, subclusters of every
state written by qemu-io, read and written by vmon in 512-byte pieces),
and the corrupted and
leaking images with their repairs. The plain run
needs KVM and runs the rest.
"""
import filecmp
import json
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

import vmontest

PROBE = os.path.join(vmontest.BUILD_ROOT, "guest", "virtio_probe.elf")
BENCH = os.path.join(vmontest.BUILD_ROOT, "guest", "virtio-blk-guest.elf")
SECTOR = 512
SIZE = 1 << 20
OVERLAYS = 8
CRASH_ROUNDS = 4


def host_pattern(n):
    return bytes((s * 7 + i + 1) & 0xff for s in range(n) for i in range(SECTOR))


def guest_pattern(first, n):
    return bytes(((((s * 13) + i) & 0xff) ^ 0x5a)
                 for s in range(first, first + n) for i in range(SECTOR))


def sh(args, ok=(0,)):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")
    if p.returncode not in ok:
        vmontest.fail("%s: exit %d\n%s" % (" ".join(args), p.returncode, out))
    return p.returncode, out


def write_raw(path, data, size=SIZE):
    with open(path, "wb") as f:
        f.write(data)
        f.truncate(size)


def qcheck(img, what):
    rc, out = sh(["qemu-img", "check", img], ok=(0, 1, 2, 3))
    vmontest.check(rc == 0, "%s: qemu-img check clean (exit %d)\n%s" % (what, rc, out))


def probe(img, what, opts=""):
    r = vmontest.run(["run", "-k", PROBE, "-m", "64M", "--disk", img + opts],
                     timeout=120)
    vmontest.check(not r.timed_out and r.code == 1 and "FAIL" not in r.out and
                   "ok: blk: read the host's pattern" in r.out and
                   "ok: blk: flush request" in r.out,
                   "%s: the guest reads and writes it\n%s" % (what, r))


def expected(tmp):
    path = os.path.join(tmp, "expected.raw")
    write_raw(path, host_pattern(8) + guest_pattern(8, 8))
    return path


def interop(tmp):
    base = os.path.join(tmp, "pattern.raw")
    write_raw(base, host_pattern(8))
    exp = expected(tmp)
    images = {
        "v3": ["qemu-img", "convert", "-O", "qcow2", base],
        "v2": ["qemu-img", "convert", "-O", "qcow2", "-o", "compat=0.10", base],
        "compressed": ["qemu-img", "convert", "-c", "-O", "qcow2", base],
        "zstd": ["qemu-img", "convert", "-c", "-O", "qcow2", "-o",
                 "compression_type=zstd", base],
        "extended-l2": ["qemu-img", "convert", "-O", "qcow2", "-o",
                        "extended_l2=on", base],
    }
    for name, cmd in images.items():
        img = os.path.join(tmp, name + ".qcow2")
        sh(cmd + [img])
        probe(img, "qemu-img " + name)
        qcheck(img, name)
        sh(["qemu-img", "compare", img, exp])
    qbase = os.path.join(tmp, "v3.qcow2.base")
    sh(["qemu-img", "convert", "-O", "qcow2", base, qbase])
    # The guest's 512-byte writes go into subclusters of 2 KiB on the
    # overlays with extended L2 entries: in a preallocated one, through
    # the engine (every cluster its own, no subcluster allocated).
    for fmt, b, opts in (("qcow2", qbase, "extended_l2=off"), ("raw", base, "extended_l2=off"),
                         ("raw", base, "extended_l2=on"),
                         ("raw", base, "extended_l2=on,preallocation=metadata")):
        what = "overlay on a %s base (%s)" % (fmt, opts)
        ov = os.path.join(tmp, "ov-%s-%s.qcow2" % (fmt, opts.replace(",", "-")))
        sh(["qemu-img", "create", "-f", "qcow2", "-o", opts, "-b", os.path.basename(b),
            "-F", fmt, ov])
        probe(ov, what)
        qcheck(ov, what)
        sh(["qemu-img", "compare", ov, exp])
        if "extended_l2=on" in opts:
            # The guest wrote 4 KiB at 4 KiB: the same subclusters
            # allocated as when qemu-io writes there.
            ref = ov + ".qemu"
            sh(["qemu-img", "create", "-q", "-f", "qcow2", "-o", opts, "-b",
                os.path.basename(b), "-F", fmt, ref])
            sh(["qemu-io", "-c", "write 4k 4k", ref])
            vmontest.check(block_map(ov) == block_map(ref),
                           "%s: allocated as qemu-io's write there\n%s\n%s"
                           % (what, block_map(ov), block_map(ref)))
    sh(["qemu-img", "compare", qbase, base])
    with open(base, "rb") as f:
        vmontest.check(f.read(16 * SECTOR) == host_pattern(8) + bytes(8 * SECTOR),
                       "raw base unchanged")


def vmon_images(tmp):
    exp = expected(tmp)
    img = os.path.join(tmp, "made.qcow2")
    r = vmontest.run(["img", "create", img, "1M"])
    vmontest.check(r.code == 0, "vmon img create\n%s" % r)
    qcheck(img, "vmon img create")
    # Fill it through qemu-io, then the guest writes.
    sh(["qemu-io", "-c", "write -P 0 0 1M", img])
    raw = os.path.join(tmp, "pattern2.raw")
    write_raw(raw, host_pattern(8))
    sh(["qemu-img", "convert", "-n", "-O", "qcow2", raw, img])
    probe(img, "vmon-made image")
    qcheck(img, "vmon-made image after the guest")
    sh(["qemu-img", "compare", img, exp])
    # format=raw: the guest sees the qcow2 file as bytes.
    copy = os.path.join(tmp, "forced.qcow2")
    shutil.copy(img, copy)
    r = vmontest.run(["run", "-k", PROBE, "-m", "64M", "--disk",
                      copy + ",format=raw,ro"], timeout=120)
    vmontest.check("FAIL: blk: read the host's pattern" in r.out,
                   "format=raw: the header is not interpreted\n%s" % r)


def img_tools(tmp):
    """vmon img without a guest: create, an overlay and its chain, check
    of a dirty image, commit with and without -d."""
    img = os.path.join(tmp, "tool.qcow2")
    r = vmontest.run(["img", "create", img, "1M"])
    vmontest.check(r.code == 0, "vmon img create\n%s" % r)
    qcheck(img, "vmon img create")
    raw = os.path.join(tmp, "tool.raw")
    write_raw(raw, host_pattern(8))
    sh(["qemu-img", "convert", "-n", "-O", "qcow2", raw, img])
    qcheck(img, "vmon img create, filled by qemu-img")
    sh(["qemu-img", "compare", img, raw])
    ovs = []
    for name in ("tool-ov.qcow2", "tool-ov2.qcow2"):
        ov = os.path.join(tmp, name)
        r = vmontest.run(["img", "create", "-b", "tool.qcow2", ov])
        vmontest.check(r.code == 0, "vmon img create -b\n%s" % r)
        qcheck(ov, "vmon overlay")
        ovs.append(ov)
    rc, out = sh(["qemu-img", "info", ovs[0]])
    vmontest.check("backing file: tool.qcow2" in out and
                   "virtual size: 1 MiB" in out, "qemu-img info reads the overlay")
    r = vmontest.run(["img", "info", ovs[0]])
    vmontest.check(r.code == 0 and "virtual size: 1048576" in r.out and
                   "backing file: " in r.out and "tool.qcow2 (format qcow2)" in r.out,
                   "vmon img info shows the chain\n%s" % r)
    img = dirty_image(tmp, "tool-dirty")
    q, _ = sh(["qemu-img", "check", img], ok=(0, 1, 2, 3))
    r = vmontest.run(["img", "check", img])
    vmontest.check(q == 2 and r.code == 2,
                   "dirty image: qemu-img check %d, vmon img check %d (want 2)" % (q, r.code))
    # commit: what qemu-io wrote to an overlay lands in the base.
    sh(["qemu-io", "-c", "write -P 0x33 64k 64k", ovs[0]])
    r = vmontest.run(["img", "commit", ovs[0]])
    vmontest.check(r.code == 0, "vmon img commit\n%s" % r)
    base = os.path.join(tmp, "tool.qcow2")
    qcheck(base, "base after commit")
    sh(["qemu-io", "-c", "read -P 0x33 64k 64k", base])
    sh(["qemu-img", "compare", base, ovs[0]])
    vmontest.check(not top_allocated(ovs[0]), "commit empties the overlay")
    sh(["qemu-io", "-c", "write -P 0x44 128k 4k", ovs[1]])
    r = vmontest.run(["img", "commit", "-d", ovs[1]])
    vmontest.check(r.code == 0, "vmon img commit -d\n%s" % r)
    sh(["qemu-io", "-c", "read -P 0x44 128k 4k", base])
    vmontest.check(top_allocated(ovs[1]), "commit -d keeps the overlay's data")
    qcheck(ovs[1], "overlay after commit -d")
    commit_grows(tmp)
    resize(tmp)
    info_json(tmp)
    create_options(tmp)
    convert(tmp)
    rebase(tmp)
    extended_l2(tmp)


CREATE_CASES = (
    ([], "1G"),
    (["-o", "cluster_size=4096,compat=0.10"], "1G"),
    (["-o", "lazy_refcounts=on,refcount_bits=64,compression_type=zstd"], "1G"),
    (["-o", "cluster_size=512"], "1000"),
    (["-o", "refcount_bits=1,cluster_size=4k"], "100G"),
    (["-o", "cluster_size=2M", "-o", "refcount_bits=8"], "1G"),
    (["-o", "refcount_bits=2,cluster_size=1024,size=64M"], None),
    (["-o", "cluster_size=512"], "0"),
    (["-o", "preallocation=off"], "1M"),
    (["-o", "preallocation=metadata"], "10M"),
    (["-o", "preallocation=metadata,cluster_size=512,refcount_bits=1"], "3M"),
    (["-o", "preallocation=falloc,cluster_size=4k"], "10M"),
    (["-o", "preallocation=full,compat=0.10"], "3000000"),
    (["-o", "extended_l2=on"], "1G"),
    (["-o", "extended_l2=on,cluster_size=16k,preallocation=metadata"], "3M"),
)

# qemu-io's writes on an image with extended L2 entries: data, zeroed and
# discarded pieces of every size and alignment (subclusters of 2 KiB with
# 64 KiB clusters, of 1 KiB with 32 KiB ones).
EXTL2_OPS = ("write -P 0x11 512 512", "write -P 0x22 3k 5k", "write -z 70k 6k",
             "write -P 0x33 130k 64k", "discard 256k 128k", "write -z 400k 64k",
             "write -P 0x44 2047k 3k", "write -z 2500k 1k", "write -P 0x55 4095k 1k")
# Then in 512-byte pieces on an overlay with 512-byte clusters, committed
# into it: pieces of allocated, unallocated and zero subclusters, of
# discarded and of untouched clusters.
EXTL2_TOP = ("write -P 0x66 1536 1k", "write -P 0x67 5k 512", "write -P 0x77 70k 512",
             "write -P 0x78 71k 2k", "write -P 0x88 300k 1k", "write -P 0x99 1000k 2560",
             "write -P 0x9a 2047k 512", "write -P 0xaa 2500k 1536", "write -P 0xbb 4094k 1k")


def create_options(tmp):
    """vmon img create -o (qemu-img create's options): the same
    'Formatting' line, an image qemu-img check finds clean and whose
    qemu-img info --output=json is key for key that of qemu-img create's
    with the same options; then vmon's engine writes into each (commit of
    data qemu-io wrote to an overlay): clean, and the data is there. Raw
    images, -q, -o help, and the options refused (exit 2)."""
    d = os.path.join(tmp, "create")
    os.makedirs(d)
    for i, (opts, size) in enumerate(CREATE_CASES):
        what = "img create %s %s" % (" ".join(opts), size or "")
        mine, ref = os.path.join(d, "v%d.qcow2" % i), os.path.join(d, "q%d.qcow2" % i)
        tail = [size] if size else []
        r = vmontest.run(["img", "create", "-f", "qcow2"] + opts + [mine] + tail)
        _, q = sh(["qemu-img", "create", "-f", "qcow2"] + opts + [ref] + tail)
        vmontest.check(r.code == 0 and r.out.replace(mine, "IMG") ==
                       q.replace(ref, "IMG"),
                       "%s: qemu-img's line\n%s\n%s" % (what, q, r.out))
        qcheck(mine, what)
        _, a = sh(["qemu-img", "info", "--output=json", mine])
        _, b = sh(["qemu-img", "info", "--output=json", ref])
        a, b = json.loads(a), json.loads(b)
        a["filename"] = b["filename"] = "IMG"
        if re.search(r"preallocation=(metadata|falloc|full)", " ".join(opts)):
            # The file's size is the same; how much of each metadata
            # cluster is written (its blocks) is not.
            vmontest.check(os.path.getsize(mine) == os.path.getsize(ref),
                           "%s: the file's size as qemu-img's" % what)
            a.pop("actual-size")
            b.pop("actual-size")
        vmontest.check(a == b, "%s: qemu-img info as for qemu-img create's\n%s\n%s"
                       % (what, a, b))
        if "preallocation=" in " ".join(opts):
            vmontest.check(allocated(mine) == allocated(ref),
                           "%s: %d clusters allocated, qemu-img's %d" %
                           (what, allocated(mine), allocated(ref)))
            sh(["qemu-img", "compare", mine, ref])
        if a["virtual-size"] < 1 << 20:
            continue
        ov = os.path.join(d, "ov%d.qcow2" % i)
        sh(["qemu-img", "create", "-q", "-f", "qcow2", "-b", os.path.basename(mine),
            "-F", "qcow2", ov])
        sh(["qemu-io", "-c", "write -P 0x5c 4k 700k", "-c", "write -P 0x6d 900k 8k", ov])
        r = vmontest.run(["img", "commit", ov])
        vmontest.check(r.code == 0, "%s: vmon img commit into it\n%s" % (what, r))
        qcheck(mine, what + ", after vmon wrote to it")
        sh(["qemu-io", "-c", "read -P 0x5c 4k 700k", "-c", "read -P 0x6d 900k 8k",
            "-c", "read -P 0 0 4k", mine])
    for mode in ("falloc", "full"):
        raw, rawq = os.path.join(d, mode + ".raw"), os.path.join(d, mode + "q.raw")
        opt = "preallocation=" + mode
        r = vmontest.run(["img", "create", "-f", "raw", "-o", opt, raw, "1M"])
        _, q = sh(["qemu-img", "create", "-f", "raw", "-o", opt, rawq, "1M"])
        vmontest.check(r.code == 0 and r.out.replace(raw, "IMG") == q.replace(rawq, "IMG")
                       and os.stat(raw).st_blocks >= 2048 and
                       os.path.getsize(raw) == 1 << 20,
                       "img create -f raw -o %s: as qemu-img, 1 MiB of blocks\n%s\n%s"
                       % (opt, q, r.out))
    raw, rawq = os.path.join(d, "v.raw"), os.path.join(d, "q.raw")
    r = vmontest.run(["img", "create", "-f", "raw", raw, "1000"])
    _, q = sh(["qemu-img", "create", "-f", "raw", rawq, "1000"])
    vmontest.check(r.code == 0 and r.out.replace(raw, "IMG") == q.replace(rawq, "IMG")
                   and os.path.getsize(raw) == os.path.getsize(rawq) == 1024,
                   "img create -f raw: as qemu-img\n%s\n%s" % (q, r.out))
    r = vmontest.run(["img", "create", "-q", os.path.join(d, "quiet.qcow2"), "1M"])
    vmontest.check(r.code == 0 and r.out == "", "img create -q prints nothing\n%s" % r)
    r = vmontest.run(["img", "create", "-o", "help", "x.qcow2", "1M"])
    vmontest.check(r.code == 0 and "cluster_size=" in r.out and
                   "refcount_bits=" in r.out, "img create -o help\n%s" % r)
    for args, want in (
            (["-o", "extended_l2=on,compat=0.10"], "compat=1.1"),
            (["-o", "extended_l2=on,cluster_size=8k"], "16384"),
            (["-o", "extended_l2=yes please"], "invalid value"),
            (["-o", "preallocation=sparse"], "invalid value 'sparse'"),
            (["-f", "raw", "-o", "preallocation=metadata"], "invalid value 'metadata'"),
            (["-b", "q0.qcow2", "-F", "qcow2", "-o", "preallocation=metadata"],
             "extended_l2"),
            (["-o", "compat=0.10,refcount_bits=8"], "compat=1.1"),
            (["-o", "compat=0.10,lazy_refcounts=on"], "compat=1.1"),
            (["-o", "cluster_size=1000"], "power of two"),
            (["-o", "refcount_bits=128"], "power of two"),
            (["-o", "foo=1"], "invalid option 'foo'"),
            (["-o", "compat=2"], "invalid value '2'"),
            (["-f", "raw", "-o", "cluster_size=4k"], "invalid option 'cluster_size' for raw"),
            (["-f", "raw", "-b", "q0.qcow2"], "no backing file")):
        img = os.path.join(d, "refused.img")
        r = vmontest.run(["img", "create"] + args + [img, "1M"])
        vmontest.check(r.code == 2 and want in r.err and not os.path.exists(img),
                       "img create %s: refused (exit 2, '%s')\n%s" % (" ".join(args), want, r))


def extended_l2(tmp):
    """Images with extended L2 entries (32 subclusters a cluster), made by
    qemu-img and written by qemu-io (EXTL2_OPS) on a raw file, plain and
    preallocated (every cluster its own, no subcluster allocated): vmon
    reads them as qemu-img does (img convert -O raw) and its check agrees;
    vmon's engine writes into them in 512-byte pieces (img commit of an
    overlay with 512-byte clusters, EXTL2_TOP): qemu-img check finds them
    clean and they are equal to what qemu-img commit makes of the same
    images; an invalid subcluster bitmap is an error for both tools; img
    convert -o extended_l2=on writes an image equal to its source."""
    data = random.Random(11).randbytes(4 << 20)
    for k, opts in enumerate(("extended_l2=on",
                              "extended_l2=on,cluster_size=32k,preallocation=metadata")):
        what = "extended L2 entries (%s)" % opts
        imgs = {}
        for tool in ("vmon", "qemu"):
            d = os.path.join(tmp, "extl2-%d-%s" % (k, tool))
            os.makedirs(d)
            with open(os.path.join(d, "base.raw"), "wb") as f:
                f.write(data)
            ov, top = os.path.join(d, "ov.qcow2"), os.path.join(d, "top.qcow2")
            sh(["qemu-img", "create", "-q", "-f", "qcow2", "-o", opts, "-b", "base.raw",
                "-F", "raw", ov])
            sh(["qemu-io"] + [a for op in EXTL2_OPS for a in ("-c", op)] + [ov])
            sh(["qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=512",
                "-b", "ov.qcow2", "-F", "qcow2", top])
            sh(["qemu-io"] + [a for op in EXTL2_TOP for a in ("-c", op)] + [top])
            imgs[tool] = (d, ov, top)
        d, ov, top = imgs["vmon"]
        mine, ref = os.path.join(d, "mine.raw"), os.path.join(d, "ref.raw")
        r = vmontest.run(["img", "convert", "-O", "raw", ov, mine])
        sh(["qemu-img", "convert", "-O", "raw", ov, ref])
        vmontest.check(r.code == 0 and filecmp.cmp(mine, ref, shallow=False),
                       "%s: vmon reads qemu-io's writes as qemu-img does\n%s" % (what, r))
        r = vmontest.run(["img", "check", ov])
        m = re.search(r"(\d+)/\d+ = [\d.]+% allocated", r.out)
        vmontest.check(r.code == 0 and "No errors" in r.out and m and
                       int(m.group(1)) == allocated(ov),
                       "%s: vmon img check as qemu-img's (%d allocated)\n%s"
                       % (what, allocated(ov), r))
        r = vmontest.run(["img", "commit", top])
        sh(["qemu-img", "commit", "-q", imgs["qemu"][2]])
        vmontest.check(r.code == 0, "%s: vmon img commit into it\n%s" % (what, r))
        qcheck(ov, what + ", after vmon's 512-byte writes")
        rc, out = sh(["qemu-img", "compare", "-f", "qcow2", "-F", "qcow2", ov,
                      imgs["qemu"][1]], ok=(0, 1))
        vmontest.check(rc == 0, "%s: vmon's writes as qemu-img commit's\n%s" % (what, out))
        r = vmontest.run(["img", "check", ov])
        vmontest.check(r.code == 0 and "No errors" in r.out,
                       "%s: vmon img check after its writes\n%s" % (what, r))
        conv = os.path.join(d, "conv.qcow2")
        r = vmontest.run(["img", "convert", "-O", "qcow2", "-o", opts.split(",pre")[0],
                          ov, conv])
        vmontest.check(r.code == 0 and "extended-l2\": true" in
                       sh(["qemu-img", "info", "--output=json", conv])[1],
                       "%s: img convert -o extended_l2=on\n%s" % (what, r))
        qcheck(conv, what + ", converted by vmon")
        sh(["qemu-img", "compare", conv, ov])
    # Sparse data converted into an image with extended L2 entries: the
    # same subclusters allocated as by qemu-img convert (4 KiB pieces).
    src = os.path.join(tmp, "extl2-sparse.raw")
    with open(src, "wb") as f:
        for at, n in ((0, 4096), (10000, 100), (200000, 70000), (1 << 20, 3000)):
            f.seek(at)
            f.write(data[at:at + n])
        f.truncate(2 << 20)
    mine, ref = os.path.join(tmp, "extl2-sparse-v.qcow2"), os.path.join(tmp, "extl2-sparse-q.qcow2")
    r = vmontest.run(["img", "convert", "-O", "qcow2", "-o", "extended_l2=on", src, mine])
    sh(["qemu-img", "convert", "-O", "qcow2", "-o", "extended_l2=on", src, ref])
    vmontest.check(r.code == 0 and block_map(mine) == block_map(ref),
                   "img convert -o extended_l2=on of sparse data: allocated as by "
                   "qemu-img convert\n%s\n%s\n%s" % (r, block_map(mine), block_map(ref)))
    sh(["qemu-img", "compare", mine, src])
    qcheck(mine, "img convert -o extended_l2=on of sparse data")
    # A subcluster allocated in a cluster without a host cluster.
    bad = os.path.join(tmp, "extl2-bad.qcow2")
    sh(["qemu-img", "create", "-q", "-f", "qcow2", "-o", "extended_l2=on", bad, "1M"])
    sh(["qemu-io", "-c", "write -P 1 0 4k", bad])
    with open(bad, "r+b") as f:
        f.seek(40)
        l1 = struct.unpack(">Q", f.read(8))[0]
        f.seek(l1)
        l2 = struct.unpack(">Q", f.read(8))[0] & 0x00fffffffffffe00
        f.seek(l2 + 16 + 8)  # the second entry's bitmap
        f.write(struct.pack(">Q", 1))
    q, _ = sh(["qemu-img", "check", bad], ok=(0, 1, 2, 3))
    r = vmontest.run(["img", "check", bad])
    vmontest.check(q == 2 and r.code == 2 and "subcluster" in r.err,
                   "invalid subcluster bitmap: qemu-img check %d, vmon img check %d "
                   "(want 2)\n%s" % (q, r.code, r))
    r = vmontest.run(["img", "convert", "-O", "raw", bad, bad + ".raw"])
    vmontest.check(r.code == 1 and "corrupt image: subcluster bitmap" in r.err,
                   "invalid subcluster bitmap: reading it fails, named\n%s" % r)


def block_map(img):
    """qemu-img map's extents of @img: where data, zeros, and which layer."""
    _, out = sh(["qemu-img", "map", "--output=json", img])
    return [(e["start"], e["length"], e["depth"], e["zero"], e["data"])
            for e in json.loads(out)]


def allocated(img):
    """The data clusters qemu-img check counts in a qcow2 image."""
    _, out = sh(["qemu-img", "check", img])
    m = re.search(r"(\d+)/\d+ = [\d.]+% allocated", out)
    return int(m.group(1)) if m else -1


def convert(tmp):
    """vmon img convert: a raw file with data and holes into qcow2 (as
    many data clusters as qemu-img convert allocates, qemu-img compare
    equal, check clean) and with options; -c (zlib, zstd, 1- and 2-bit
    refcounts: as many compressed clusters as qemu-img convert -c makes,
    read back by vmon); compressed images (zlib, zstd) and an overlay chain
    (flattened) into raw and qcow2; -B (only what differs from the backing
    file); -n (into existing raw and qcow2 images); -p; refusals."""
    d = os.path.join(tmp, "convert")
    os.makedirs(d)
    src = os.path.join(d, "src.raw")
    data = os.urandom(3 << 20)
    with open(src, "wb") as f:
        f.write(data)
        f.seek(12 << 20)
        f.write(data[:12288])
        f.truncate(20 << 20)
    for opts in ([], ["-o", "cluster_size=4k,compat=0.10"],
                 ["-o", "refcount_bits=1,cluster_size=2M"]):
        mine, ref = os.path.join(d, "v.qcow2"), os.path.join(d, "q.qcow2")
        for f in (mine, ref):
            if os.path.exists(f):
                os.unlink(f)
        r = vmontest.run(["img", "convert", "-O", "qcow2"] + opts + [src, mine])
        sh(["qemu-img", "convert", "-O", "qcow2"] + opts + [src, ref])
        what = "img convert -O qcow2 %s" % " ".join(opts)
        vmontest.check(r.code == 0 and r.out == "", "%s\n%s" % (what, r))
        qcheck(mine, what)
        sh(["qemu-img", "compare", src, mine])
        vmontest.check(allocated(mine) == allocated(ref) > 0,
                       "%s: %d data clusters, qemu-img convert's %d" %
                       (what, allocated(mine), allocated(ref)))
    # -c: compressed clusters, as many as qemu-img convert -c makes.
    text = os.path.join(d, "text.raw")
    with open(text, "wb") as f:
        f.write(b"vmon img convert -c compresses this line\n" * 100000)
        f.write(data[:1 << 20])  # does not compress: written plainly
        f.truncate(9000000)  # the last cluster is short
    for opts in ([], ["-o", "compression_type=zstd"],
                 ["-o", "refcount_bits=1,cluster_size=2M"],
                 ["-o", "refcount_bits=2,cluster_size=4k"]):
        mine, ref = os.path.join(d, "cv.qcow2"), os.path.join(d, "cq.qcow2")
        for f in (mine, ref):
            if os.path.exists(f):
                os.unlink(f)
        what = "img convert -c %s" % " ".join(opts)
        r = vmontest.run(["img", "convert", "-c", "-O", "qcow2"] + opts + [text, mine])
        sh(["qemu-img", "convert", "-c", "-O", "qcow2"] + opts + [text, ref])
        vmontest.check(r.code == 0, "%s\n%s" % (what, r))
        qcheck(mine, what)
        sh(["qemu-img", "compare", text, mine])
        _, a = sh(["qemu-img", "check", mine])
        _, b = sh(["qemu-img", "check", ref])
        # Allocated and compressed clusters (the fragmentation figure
        # depends on where each tool places them).
        pat = r"(\d+/\d+) = .*, ([\d.]+)% compressed clusters"
        a, b = re.search(pat, a), re.search(pat, b)
        vmontest.check(a and b and a.groups() == b.groups(),
                       "%s: clusters as qemu-img convert -c's: %s / %s" %
                       (what, a and a.groups(), b and b.groups()))
        back = os.path.join(d, "back.raw")
        if os.path.exists(back):
            os.unlink(back)
        r = vmontest.run(["img", "convert", mine, back])
        vmontest.check(r.code == 0, "%s: read back by vmon\n%s" % (what, r))
        sh(["qemu-img", "compare", "-f", "raw", "-F", "raw", text, back])
    # Compressed sources and a chain, into raw and qcow2.
    srcs = []
    for name, opts in (("zlib.qcow2", []),
                       ("zstd.qcow2", ["-o", "compression_type=zstd"])):
        srcs.append(os.path.join(d, name))
        sh(["qemu-img", "convert", "-c", "-O", "qcow2"] + opts + [src, srcs[-1]])
    ov = os.path.join(d, "ov.qcow2")
    sh(["qemu-img", "create", "-q", "-f", "qcow2", "-b", "zlib.qcow2", "-F", "qcow2", ov])
    sh(["qemu-io", "-c", "write -P 9 1M 64k", "-c", "write -z 12M 4k", ov])
    srcs.append(ov)
    for s_ in srcs:
        for fmt in ("raw", "qcow2"):
            out = os.path.join(d, "out." + fmt)
            if os.path.exists(out):
                os.unlink(out)
            r = vmontest.run(["img", "convert", "-O", fmt, s_, out])
            what = "img convert %s -O %s" % (os.path.basename(s_), fmt)
            vmontest.check(r.code == 0, "%s\n%s" % (what, r))
            sh(["qemu-img", "compare", s_, out])
            if fmt == "qcow2":
                qcheck(out, what)
                _, info = sh(["qemu-img", "info", out])
                vmontest.check("backing file" not in info, "%s: flattened" % what)
    # -B: only what differs from the backing file (data, or zeros where
    # it has data); -n: into an existing image, whatever it held.
    base_raw, base = os.path.join(d, "base.raw"), os.path.join(d, "base.qcow2")
    with open(base_raw, "wb") as f:
        f.write(os.urandom(4 << 20))
    sh(["qemu-img", "convert", "-O", "qcow2", base_raw, base])
    mod = os.path.join(d, "mod.raw")
    with open(base_raw, "rb") as f:
        content = bytearray(f.read())
    content[5 << 16:7 << 16] = os.urandom(2 << 16)
    content[20 << 16:23 << 16] = bytes(3 << 16)
    with open(mod, "wb") as f:
        f.write(content)
    thin = os.path.join(d, "thin.qcow2")
    r = vmontest.run(["img", "convert", "-O", "qcow2", "-B", "base.qcow2", "-F", "qcow2",
                      mod, thin])
    vmontest.check(r.code == 0, "img convert -B\n%s" % r)
    qcheck(thin, "img convert -B")
    sh(["qemu-img", "compare", mod, thin])
    _, info = sh(["qemu-img", "info", thin])
    vmontest.check("backing file: base.qcow2" in info and allocated(thin) == 2,
                   "img convert -B: on base.qcow2, 2 data clusters (got %d)\n%s"
                   % (allocated(thin), info))
    tgt = os.path.join(d, "tgt.raw")
    with open(tgt, "wb") as f:
        f.write(os.urandom(4 << 20))
    r = vmontest.run(["img", "convert", "-n", mod, tgt])
    with open(tgt, "rb") as f:
        vmontest.check(r.code == 0 and f.read() == bytes(content),
                       "img convert -n into a raw file of other bytes\n%s" % r)
    tgtq = os.path.join(d, "tgt.qcow2")
    sh(["qemu-img", "create", "-q", "-f", "qcow2", tgtq, "4M"])
    sh(["qemu-io", "-c", "write -P 3 0 4M", tgtq])
    r = vmontest.run(["img", "convert", "-n", "-c", "-O", "qcow2", mod, tgtq])
    vmontest.check(r.code == 0, "img convert -n -c -O qcow2 into a written image\n%s" % r)
    sh(["qemu-img", "compare", mod, tgtq])
    qcheck(tgtq, "img convert -n into qcow2")
    small = os.path.join(d, "small.raw")
    with open(small, "wb") as f:
        f.truncate(1 << 20)
    r = vmontest.run(["img", "convert", "-n", mod, small])
    vmontest.check(r.code == 1 and "smaller" in r.err,
                   "img convert -n into a smaller file: exit 1\n%s" % r)
    out = os.path.join(d, "p.raw")
    r = vmontest.run(["img", "convert", "-p", "-f", "raw", src, out])
    vmontest.check(r.code == 0 and r.out.rstrip().endswith("(100.00/100%)"),
                   "img convert -p shows progress\n%s" % r)
    for args, want in ((["-c", src, out], "needs -O qcow2"),
                       (["-O", "qcow2", "-o", "size=1M", src, out], "size"),
                       (["-O", "vmdk", src, out], "raw or qcow2"),
                       ([src, src], "the source itself"),
                       (["-B", "base.qcow2", src, out], "a new qcow2 output only"),
                       (["-O", "qcow2", "-o", "backing_file=x", src, out], "no size or backing_file")):
        r = vmontest.run(["img", "convert"] + args)
        vmontest.check(r.code == 2 and want in r.err,
                       "img convert %s: refused (exit 2, '%s')\n%s" % (" ".join(args), want, r))
    # Several sources make one output, one after the other, as in qemu-img
    # (a raw file, a qcow2 image with data, a 3-byte raw file).
    parts = [os.path.join(d, n) for n in ("part1.raw", "part2.qcow2", "part3.raw")]
    with open(parts[0], "wb") as f:
        f.write(data[:1 << 20])
    sh(["qemu-img", "create", "-q", "-f", "qcow2", parts[1], "3M"])
    sh(["qemu-io", "-c", "write -P 7 100k 300k", parts[1]])
    with open(parts[2], "wb") as f:
        f.write(b"xyz")
    for fmt in ("raw", "qcow2"):
        mine, ref = os.path.join(d, "cat-v." + fmt), os.path.join(d, "cat-q." + fmt)
        r = vmontest.run(["img", "convert", "-O", fmt] + parts + [mine])
        sh(["qemu-img", "convert", "-O", fmt] + parts + [ref])
        vmontest.check(r.code == 0 and os.path.getsize(mine) == os.path.getsize(ref),
                       "img convert -O %s of three sources: the size of qemu-img's\n%s"
                       % (fmt, r))
        sh(["qemu-img", "compare", "-f", fmt, "-F", fmt, mine, ref])
    r = vmontest.run(["img", "convert", os.path.join(d, "missing.raw"), out])
    vmontest.check(r.code == 1 and "missing.raw: No such file" in r.err,
                   "img convert of a missing file: exit 1, named\n%s" % r)


def rebase(tmp):
    """vmon img rebase: an overlay on a raw base moved onto a qcow2 base
    that differs in places (what the overlay reads is unchanged; as many
    clusters copied in as qemu-img rebase copies; qemu-img info equal but
    for the file's size), -u (the header byte for byte what qemu-img
    rebase -u writes), -b "" (standalone, unchanged content), refusals."""
    d = os.path.join(tmp, "rebase")
    os.makedirs(d)
    b1, b2 = os.path.join(d, "b1.raw"), os.path.join(d, "b2.qcow2")
    with open(b1, "wb") as f:
        f.write(os.urandom(2 << 20))
    sh(["qemu-img", "convert", "-O", "qcow2", b1, b2])
    sh(["qemu-io", "-c", "write -P 1 0 64k", "-c", "write -P 2 1M 128k", b2])
    mine, ref = os.path.join(d, "ov.qcow2"), os.path.join(d, "ovq.qcow2")
    sh(["qemu-img", "create", "-q", "-f", "qcow2", "-b", "b1.raw", "-F", "raw", mine])
    sh(["qemu-io", "-c", "write -P 9 64k 4k", "-c", "write -P 8 1M 64k", mine])
    before = os.path.join(d, "before.raw")
    sh(["qemu-img", "convert", "-O", "raw", mine, before])
    shutil.copyfile(mine, ref)
    r = vmontest.run(["img", "rebase", "-b", "b2.qcow2", "-F", "qcow2", mine])
    sh(["qemu-img", "rebase", "-b", "b2.qcow2", "-F", "qcow2", ref])
    vmontest.check(r.code == 0, "img rebase -b b2.qcow2\n%s" % r)
    qcheck(mine, "rebased overlay")
    sh(["qemu-img", "compare", before, mine])
    vmontest.check(allocated(mine) == allocated(ref) == 4,
                   "rebase copies %d clusters, qemu-img rebase %d (want 4)" %
                   (allocated(mine), allocated(ref)))
    _, a = sh(["qemu-img", "info", "--output=json", mine])
    _, b = sh(["qemu-img", "info", "--output=json", ref])
    a, b = json.loads(a), json.loads(b)
    for x in (a, b):
        x.pop("actual-size", None)
        x["filename"] = "IMG"
    vmontest.check(a == b and a.get("backing-filename") == "b2.qcow2",
                   "rebased: qemu-img info as qemu-img rebase's\n%s\n%s" % (a, b))
    r = vmontest.run(["img", "rebase", "-u", "-b", "b1.raw", "-F", "raw", mine])
    sh(["qemu-img", "rebase", "-u", "-b", "b1.raw", "-F", "raw", ref])
    with open(mine, "rb") as f, open(ref, "rb") as g:
        same = f.read(65536) == g.read(65536)
    vmontest.check(r.code == 0 and same,
                   "img rebase -u: the header qemu-img rebase -u writes\n%s" % r)
    sh(["qemu-img", "compare", before, mine])
    r = vmontest.run(["img", "rebase", "-p", "-b", "", mine])
    vmontest.check(r.code == 0 and r.out.rstrip().endswith("(100.00/100%)"),
                   "img rebase -p -b '': progress\n%s" % r)
    _, info = sh(["qemu-img", "info", mine])
    vmontest.check("backing file" not in info, "rebase -b '': no backing file")
    sh(["qemu-img", "compare", before, mine])
    qcheck(mine, "standalone after rebase -b ''")
    for args, code, want in ((["-b", "missing.qcow2", "-F", "qcow2", mine], 1,
                              "missing.qcow2: No such file"),
                             (["-b", "b1.raw", "-F", "vmdk", mine], 2, "raw or qcow2"),
                             (["-b", "b1.raw", b1], 1, "not a qcow2 image")):
        r = vmontest.run(["img", "rebase"] + args)
        vmontest.check(r.code == code and want in r.err,
                       "img rebase %s: exit %d, '%s'\n%s" % (" ".join(args), code, want, r))
    sh(["qemu-img", "compare", before, mine])


def info_json(tmp):
    """vmon img info --output=json [--backing-chain] prints what qemu-img
    prints, key for key: qcow2 v3 and v2 (compat 0.10), zstd with lazy
    refcounts, raw, an overlay on a qcow2 base in another directory (a
    relative name) and one on a raw base."""
    d = os.path.join(tmp, "info")
    os.makedirs(os.path.join(d, "sub"))
    imgs = []
    for name, opts in (("v3.qcow2", []), ("v2.qcow2", ["-o", "compat=0.10"]),
                       ("zstd.qcow2",
                        ["-o", "compression_type=zstd,lazy_refcounts=on"])):
        imgs.append(os.path.join(d, "sub", name))
        sh(["qemu-img", "create", "-f", "qcow2"] + opts + [imgs[-1], "2M"])
    raw = os.path.join(d, "base.raw")
    write_raw(raw, host_pattern(8), 1 << 20)
    imgs.append(raw)
    for name, base, fmt in (("ov.qcow2", "sub/v3.qcow2", "qcow2"),
                            ("ov-raw.qcow2", "base.raw", "raw")):
        imgs.append(os.path.join(d, name))
        sh(["qemu-img", "create", "-f", "qcow2", "-b", base, "-F", fmt,
            imgs[-1]])
    sh(["qemu-io", "-c", "write -P 5 0 64k", imgs[-2]])
    for img in imgs:
        for extra in ([], ["--backing-chain"]):
            _, q = sh(["qemu-img", "info", "--output=json"] + extra + [img])
            r = vmontest.run(["img", "info", "--output=json"] + extra + [img])
            try:
                same = r.code == 0 and json.loads(r.out) == json.loads(q)
            except ValueError:
                same = False
            vmontest.check(same, "img info --output=json %s%s: as qemu-img's"
                           "\n%s\n%s" % (" ".join(extra + [""]),
                                          os.path.basename(img), q, r.out))


def resize(tmp):
    """vmon img resize: a qcow2 image (512-byte clusters: a larger L1
    table) and a raw one grow, as qemu-img resize; shrinking and a bad
    size are refused."""
    img = os.path.join(tmp, "resize.qcow2")
    sh(["qemu-img", "create", "-f", "qcow2", "-o", "cluster_size=512", img,
        "64K"])
    sh(["qemu-io", "-c", "write -P 9 0 8k", img])
    r = vmontest.run(["img", "resize", img, "+4M"])
    rc, out = sh(["qemu-img", "info", img])
    vmontest.check(r.code == 0 and "Image resized." in r.out and
                   "virtual size: 4.06 MiB (4259840 bytes)" in out,
                   "vmon img resize +4M: %r\n%s" % (r, out))
    qcheck(img, "the resized qcow2 image")
    sh(["qemu-io", "-c", "read -P 9 0 8k", "-c", "read -P 0 8k 4M", img])
    raw = os.path.join(tmp, "resize.raw")
    write_raw(raw, host_pattern(8), 1 << 20)
    r = vmontest.run(["img", "resize", raw, "3M"])
    vmontest.check(r.code == 0 and os.path.getsize(raw) == 3 << 20,
                   "vmon img resize of a raw image to 3M: %r" % (r,))
    with open(raw, "rb") as f:
        vmontest.check(f.read(8 * SECTOR) == host_pattern(8),
                       "the raw image's data stays")
    r = vmontest.run(["img", "resize", img, "1M"])
    vmontest.check(r.code == 1 and "shrinking is not supported" in r.err,
                   "resize to a smaller size refused: %r" % (r,))
    r = vmontest.run(["img", "resize", img, "3Q"])
    vmontest.check(r.code == 2 and "3Q: not a size" in r.err,
                   "resize to a bad size refused: %r" % (r,))


def commit_grows(tmp):
    """commit into a backing file smaller than the overlay: the backing
    file grows to the overlay's size first, as qemu-img's commit does; a
    qcow2 one of 512-byte clusters needs a larger L1 table (2 entries for
    64 KiB, 128 in two clusters for 4 MiB)."""
    for fmt, opts in (("qcow2", ["-o", "cluster_size=512"]), ("raw", [])):
        base = os.path.join(tmp, "small-base." + fmt)
        top = os.path.join(tmp, "big-top-%s.qcow2" % fmt)
        ref = os.path.join(tmp, "big-ref-%s.raw" % fmt)
        sh(["qemu-img", "create", "-f", fmt] + opts + [base, "64K"])
        sh(["qemu-io", "-f", fmt, "-c", "write -P 0x11 0 8k", base])
        sh(["qemu-img", "create", "-f", "qcow2"] + opts +
           ["-b", base, "-F", fmt, top, "4M"])
        sh(["qemu-io", "-c", "write -P 0x55 3m 64k", "-c",
            "write -P 0x66 4k 8k", "-c", "write -P 0x77 4032k 64k", top])
        sh(["qemu-img", "convert", "-O", "raw", top, ref])
        r = vmontest.run(["img", "commit", top])
        vmontest.check(r.code == 0, "commit into a smaller %s base\n%s"
                       % (fmt, r))
        rc, out = sh(["qemu-img", "info", "-f", fmt, base])
        vmontest.check("virtual size: 4 MiB" in out,
                       "the %s base grew to the overlay's 4 MiB:\n%s"
                       % (fmt, out))
        if fmt == "qcow2":
            qcheck(base, "the grown qcow2 base")
        sh(["qemu-img", "compare", "-f", fmt, "-F", "raw", base, ref])


def refused(tmp):
    a = os.path.join(tmp, "loop-a.qcow2")
    b = os.path.join(tmp, "loop-b.qcow2")
    sh(["qemu-img", "create", "-f", "qcow2", a, "1M"])
    sh(["qemu-img", "create", "-f", "qcow2", "-b", "loop-a.qcow2", "-F", "qcow2", b])
    sh(["qemu-img", "rebase", "-u", "-b", "loop-b.qcow2", "-F", "qcow2", a])
    missing = os.path.join(tmp, "orphan.qcow2")
    sh(["qemu-img", "create", "-f", "qcow2", "-u", "-b", "gone.qcow2", "-F",
        "qcow2", missing, "1M"])
    feat = os.path.join(tmp, "feature.qcow2")
    sh(["qemu-img", "create", "-f", "qcow2", feat, "1M"])
    with open(feat, "r+b") as f:
        f.seek(72 + 6)
        f.write(b"\x80")  # incompatible feature bit 15
    enc = os.path.join(tmp, "enc.qcow2")
    sh(["qemu-img", "create", "-f", "qcow2", enc, "1M"])
    with open(enc, "r+b") as f:
        f.seek(32)
        f.write(b"\0\0\0\x01")
    cases = ((b, "loops back"), (missing, "gone.qcow2: No such file"),
             (feat, "unsupported incompatible features"),
             (enc, "encrypted images are not supported"))
    for img, why in cases:
        r = vmontest.run(["run", "-k", PROBE, "--disk", img], timeout=30)
        vmontest.check(r.code == 2 and why in r.err and img in r.err,
                       "refused with a clear error: %s\n%s" % (why, r))


def dirty_image(tmp, name):
    """The host pattern in a lazy-refcounts image qemu-io left dirty."""
    raw = os.path.join(tmp, name + ".raw")
    write_raw(raw, host_pattern(8))
    img = os.path.join(tmp, name + ".qcow2")
    sh(["qemu-img", "convert", "-O", "qcow2", "-o", "lazy_refcounts=on", raw, img])
    # qemu-io's abort leaves the dirty bit and refcounts not yet written.
    subprocess.run(["qemu-io", "-c", "write -P 9 256k 64k", "-c", "abort", img],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(img, "rb") as f:
        f.seek(72)
        vmontest.check(int.from_bytes(f.read(8), "big") & 1, name + ": dirty bit set")
    return img


def dirty(tmp):
    img = dirty_image(tmp, "dirty")
    probe(img, "dirty image (repaired at open)")
    qcheck(img, "dirty image after vmon")
    sh(["qemu-io", "-c", "read -P 9 256k 64k", img])
    with open(img, "rb") as f:
        f.seek(72)
        vmontest.check(not int.from_bytes(f.read(8), "big") & 1, "dirty bit cleared")


def api(tmp):
    """PUT /drives with format, a dirty image repaired on the API thread."""
    import vmon_api
    img = dirty_image(tmp, "api")
    inst = vmon_api.Instance(id="qcow2-%d" % os.getpid())
    try:
        drive = {"drive_id": "disk", "path_on_host": img, "is_root_device": False,
                 "format": "vmdk"}
        st, b = inst.req("PUT", "/drives/disk", drive)
        vmontest.check(st == 400 and "format" in str(b), "format vmdk refused: %r" % (b,))
        drive["format"] = "qcow2"
        st, b = inst.req("PUT", "/drives/disk", drive)
        vmontest.check(st == 204, "PUT /drives format qcow2: %r" % (b,))
        st, cfg = inst.req("GET", "/vm/config")
        vmontest.check(st == 200 and cfg["drives"][0].get("format") == "qcow2",
                       "GET /vm/config shows the format: %r" % (cfg,))
        st, _ = inst.req("PUT", "/boot-source", {"kernel_image_path": PROBE})
        st2, _ = inst.req("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64})
        st3, b = inst.req("PUT", "/actions", {"action_type": "InstanceStart"})
        vmontest.check((st, st2, st3) == (204, 204, 204), "InstanceStart: %r" % (b,))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and "virtio-probe: " not in inst.serial_text():
            time.sleep(0.05)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and inst.alive():
            time.sleep(0.05)
        out = inst.serial_text()
        vmontest.check("ok: blk: read the host's pattern" in out and
                       "ok: blk: flush request" in out,
                       "guest under the API reads the qcow2 disk\n%s\n%s"
                       % (out[-2000:], inst.stderr()[-2000:]))
    finally:
        inst.stop()
    qcheck(img, "API image after the guest")


def poke_refcount(img, cluster, value):
    """Sets the 16-bit refcount of @cluster (the first refcount block)."""
    with open(img, "r+b") as f:
        f.seek(48)
        reft = int.from_bytes(f.read(8), "big")
        f.seek(reft)
        rb = int.from_bytes(f.read(8), "big")
        f.seek(rb + 2 * cluster)
        f.write(value.to_bytes(2, "big"))


def clear_copied(img):
    """Clears the COPIED flag of the first L2 entry (its data cluster's
    refcount stays 1: a wrong flag, as qemu-img check reports it)."""
    with open(img, "r+b") as f:
        f.seek(40)
        l1 = int.from_bytes(f.read(8), "big")
        f.seek(l1)
        l2 = int.from_bytes(f.read(8), "big") & 0x00fffffffffffe00
        f.seek(l2)
        e = int.from_bytes(f.read(8), "big")
        f.seek(l2)
        f.write((e & ~(1 << 63)).to_bytes(8, "big"))


def point_outside(img):
    """Points the second L2 entry (a written data cluster) 100 clusters of
    64 KiB past the start of the file, far beyond its end."""
    with open(img, "r+b") as f:
        f.seek(40)
        l1 = int.from_bytes(f.read(8), "big")
        f.seek(l1)
        l2 = int.from_bytes(f.read(8), "big") & 0x00fffffffffffe00
        f.seek(l2 + 8)
        e = int.from_bytes(f.read(8), "big")
        f.seek(l2 + 8)
        f.write(((e & ~0x00fffffffffffe00) | (100 << 16)).to_bytes(8, "big"))


def outside(tmp):
    """A data cluster outside the file: neither tool can mend the
    reference; -r all mends what can be (the cluster it leaked, its COPIED
    flag), and both leave the same one error, as qemu-img check sees it."""
    errors = []
    for tool in ("qemu-img", "vmon"):
        img = os.path.join(tmp, "outside-%s.qcow2" % tool)
        sh(["qemu-img", "create", "-f", "qcow2", img, "4M"])
        sh(["qemu-io", "-c", "write -P 7 0 64k", "-c", "write -P 8 64k 64k",
            img])
        point_outside(img)
        if tool == "vmon":
            r = vmontest.run(["img", "check", img])
            vmontest.check(r.code == 2 and "outside the image" in r.err,
                           "outside: vmon img check exit 2\n%s" % r)
            r = vmontest.run(["img", "check", "-r", "all", img])
            vmontest.check(r.code == 2 and "    1 leaked clusters" in r.out
                           and "    1 corruptions" in r.out,
                           "outside: vmon img check -r all mends the leak "
                           "and the flag, not the reference\n%s" % r)
        else:
            sh(["qemu-img", "check", "-r", "all", img], ok=(2,))
        rc, out = sh(["qemu-img", "check", img], ok=(2,))
        errors.append(re.search(r"(\d+) errors were found", out).group(1))
    vmontest.check(errors == ["1", "1"],
                   "outside: one error left after either repair: %r" % errors)


def corrupted(tmp):
    # Clusters: header, refcount table and block, L1, L2, data; then
    # one more cluster that nothing uses.
    for name, cluster, value, code in (("corrupt", 4, 0, 2), ("leak", 6, 1, 3),
                                       ("copied", None, None, 2)):
        img = os.path.join(tmp, name + ".qcow2")
        sh(["qemu-img", "create", "-f", "qcow2", img, "4M"])
        sh(["qemu-io", "-c", "write -P 7 0 64k", img])
        os.truncate(img, 7 << 16)
        if cluster is None:
            clear_copied(img)
        else:
            poke_refcount(img, cluster, value)
        q, _ = sh(["qemu-img", "check", img], ok=(0, 1, 2, 3))
        r = vmontest.run(["img", "check", img])
        vmontest.check(q == code and r.code == code,
                       "%s: qemu-img check exit %d, vmon img check exit %d (want %d)\n%s"
                       % (name, q, r.code, code, r))
        repair(img, name, code)


def repair(img, name, code):
    """vmon img check -r: leaks repaired by -r leaks, corruptions (of the
    refcounts, a wrong COPIED flag) only by -r all; qemu-img check is clean
    afterwards, and the data reads back."""
    r = vmontest.run(["img", "check", "-r", "leaks", img])
    if code == 3:
        vmontest.check(r.code == 0 and "    1 leaked clusters" in r.out and
                       "Double checking the fixed image now" in r.out,
                       "%s: vmon img check -r leaks\n%s" % (name, r))
    else:
        vmontest.check(r.code == 2 and "repaired" not in r.out,
                       "%s: vmon img check -r leaks leaves the corruption\n%s"
                       % (name, r))
    if code == 2:
        r = vmontest.run(["img", "check", "-r", "all", img])
        vmontest.check(r.code == 0 and "    1 corruptions" in r.out,
                       "%s: vmon img check -r all\n%s" % (name, r))
    qcheck(img, name + " repaired by vmon img check -r")
    sh(["qemu-io", "-c", "read -P 7 0 64k", img])


def top_allocated(img):
    """The ranges of @img's own clusters (qemu-img map, depth 0)."""
    rc, out = sh(["qemu-img", "map", "--output=json", img])
    return [m for m in json.loads(out[:out.rindex("]") + 1])
            if m["depth"] == 0 and m["data"]]


def overlays(tmp):
    base = os.path.join(tmp, "shared.raw")
    write_raw(base, host_pattern(8))
    sh(["qemu-img", "convert", "-O", "qcow2", base, base + ".qcow2"])
    with open(base + ".qcow2", "rb") as f:
        before = f.read()
    procs = []
    for i in range(OVERLAYS):
        ov = os.path.join(tmp, "vm%d.qcow2" % i)
        sh(["qemu-img", "create", "-f", "qcow2", "-b", "shared.raw.qcow2",
            "-F", "qcow2", ov])
        sh(["qemu-io", "-c", "write -P %d 128k 64k" % (i + 1), ov])
        procs.append((ov, subprocess.Popen(
            [vmontest.VMON, "run", "-k", PROBE, "-m", "64M", "--disk", ov],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)))
    for i, (ov, p) in enumerate(procs):
        try:
            out, _ = p.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
        out = out.decode(errors="replace")
        vmontest.check(p.returncode == 1 and "FAIL" not in out,
                       "VM %d on its overlay passes" % i)
        qcheck(ov, "overlay %d" % i)
        sh(["qemu-io", "-c", "read -P %d 128k 64k" % (i + 1), ov])
        rc, out = sh(["qemu-io", "-c", "read -v 4096 4096", ov])
        sh(["qemu-img", "compare", "-s", ov, base], ok=(1,))
    with open(base + ".qcow2", "rb") as f:
        vmontest.check(f.read() == before, "the shared base is unchanged")
    # commit one overlay into the base
    r = vmontest.run(["img", "commit", os.path.join(tmp, "vm0.qcow2")])
    vmontest.check(r.code == 0, "vmon img commit\n%s" % r)
    qcheck(base + ".qcow2", "base after commit")
    vm0 = os.path.join(tmp, "vm0.qcow2")
    sh(["qemu-img", "compare", base + ".qcow2", vm0])
    qcheck(vm0, "overlay emptied by commit")
    vmontest.check(not top_allocated(vm0), "commit empties the overlay")
    vm1 = os.path.join(tmp, "vm1.qcow2")
    r = vmontest.run(["img", "commit", "-d", vm1])
    vmontest.check(r.code == 0, "vmon img commit -d\n%s" % r)
    sh(["qemu-img", "compare", base + ".qcow2", vm1])
    vmontest.check(top_allocated(vm1), "commit -d keeps the overlay")


def small_clusters(tmp):
    """512-byte clusters: the guest's writes need new refcount blocks and
    a larger refcount table (qemu-img's covers 8 MiB of such clusters)."""
    img = os.path.join(tmp, "small.qcow2")
    sh(["qemu-img", "create", "-f", "qcow2", "-o", "cluster_size=512", img, "16M"])
    r = vmontest.run(["run", "-k", BENCH, "-m", "64M", "--disk", img,
                      "--append", "bench.rand=100"], timeout=300)
    vmontest.check(not r.timed_out and "PHASE seqwrite end" in r.out and
                   "RESULT: PASS" in r.out,
                   "the benchmark guest writes a 512-byte-cluster image\n%s" % r)
    qcheck(img, "512-byte clusters, fully written")
    rc, out = sh(["qemu-img", "check", img])
    vmontest.check("32768/32768 = 100.00% allocated" in out,
                   "every cluster allocated\n" + out)


def crash(tmp):
    """SIGKILL during the disk benchmark guest's writes: on a plain
    overlay (allocating whole clusters), and on a preallocated one with
    extended L2 entries (every write an allocation of subclusters in the
    cluster's own host cluster, their bitmap set after the data)."""
    base = os.path.join(tmp, "crash-base.qcow2")
    sh(["qemu-img", "create", "-f", "qcow2", base, "32M"])
    for name, opts, rounds in (("crash", "extended_l2=off", CRASH_ROUNDS),
                               ("crash-extl2", "extended_l2=on,preallocation=metadata", 2)):
        ov = os.path.join(tmp, name + ".qcow2")
        sh(["qemu-img", "create", "-f", "qcow2", "-o", opts, "-b", "crash-base.qcow2",
            "-F", "qcow2", ov])
        for i in range(rounds):
            what = "%s, round %d" % (name, i)
            p = subprocess.Popen([vmontest.VMON, "run", "-k", BENCH, "-m", "64M",
                                  "--disk", ov, "--append", "bench.rand=100"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            # Kill it inside the write phase (its start is on COM1), a
            # little later each round.
            deadline = time.monotonic() + 300
            line = b""
            while time.monotonic() < deadline:
                line = p.stdout.readline()
                if not line or b"PHASE seqwrite start" in line:
                    break
            time.sleep(0.05 * i)
            p.send_signal(signal.SIGKILL)
            p.communicate()
            vmontest.check(b"seqwrite start" in line, "%s reached the writes" % what)
            rc, out = sh(["qemu-img", "check", ov], ok=(0, 1, 2, 3))
            vmontest.check(rc in (0, 3), "%s: no corruption after SIGKILL (exit %d)\n%s"
                           % (what, rc, out))
            if rc == 3:
                r = vmontest.run(["img", "check", "-r", "leaks", ov])
                vmontest.check(r.code == 0, "%s: vmon img check -r leaks\n%s" % (what, r))
                qcheck(ov, "%s: leaks repaired by vmon img check -r" % what)


def main():
    if not vmontest.HOST_PART:
        vmontest.require_kvm()
    for tool in ("qemu-img", "qemu-io"):
        if not shutil.which(tool):
            print("SKIP: %s missing (qemu-utils; scripts/setup)" % tool)
            sys.exit(77)
    with tempfile.TemporaryDirectory() as tmp:
        if vmontest.HOST_PART:
            img_tools(tmp)
            corrupted(tmp)
            outside(tmp)
        else:
            interop(tmp)
            vmon_images(tmp)
            refused(tmp)
            dirty(tmp)
            api(tmp)
            overlays(tmp)
            small_clusters(tmp)
            crash(tmp)
    vmontest.finish()


if __name__ == "__main__":
    main()
