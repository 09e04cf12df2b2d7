# SPDX-License-Identifier: GPL-2.0-only
"""bench/charts.py - the charts of bench/all (--charts DIR), rendered as SVG
with gnuplot (Debian's gnuplot-nox):

  ratios.svg   every ratio of the run on a log scale, 1 = parity, with the
               spread of the per-run ratios as error bars
  blk.svg      virtio-blk throughput of vmon and QEMU per phase, as a
               fraction of the host's (fio) on the same image: the ceiling
  memory.svg   the VMM's memory per VM, vmon against QEMU
"""
import os
import shutil
import statistics
import subprocess
import tempfile


def gnuplot(script, data, out):
    with tempfile.NamedTemporaryFile("w", suffix=".dat", delete=False) as f:
        f.write(data)
        path = f.name
    try:
        subprocess.run(["gnuplot"], input=script.replace("DATA", path)
                       .replace("OUT", out), text=True, check=True)
    finally:
        os.unlink(path)


def quoted(s):
    return '"%s"' % s.replace('"', "'")


def ratios_chart(res, out):
    rows = []
    for i, (name, r) in enumerate(res.ratios.items()):
        runs = r["runs"] or [r["ratio"]]
        rows.append("%d %s %g %g %g" % (len(res.ratios) - 1 - i, quoted(name + " (" + r["what"] + ")"),
                                        r["ratio"], min(runs), max(runs)))
    n = len(rows)
    script = """
set terminal svg size 1300,%d dynamic font 'sans,11'
set output 'OUT'
set logscale x 2
set xrange [0.02:8]
set xtics ('1/32' 0.03125, '1/16' 0.0625, '1/8' 0.125, '1/4' 0.25, '1/2' 0.5, '1' 1, '2' 2, '4' 4, '8' 8)
set yrange [-1:%d]
set ytics nomirror
set grid xtics
set xlabel 'ratio (log scale; 1 = parity; throughput: higher is better, all else lower)'
set arrow from 1, graph 0 to 1, graph 1 nohead lw 2 lc rgb '#888888'
unset key
plot 'DATA' using 3:1:4:5:ytic(2) with xerrorbars pt 7 ps 1.2 lc rgb '#1f77b4'
""" % (60 + 28 * n, n)
    gnuplot(script, "\n".join(rows) + "\n", out)


def bars(rows, ylabel, key, out):
    """Bars of vmon and QEMU side by side, one group per row "label v q"."""
    script = """
set terminal svg size 800,380 dynamic font 'sans,11'
set output 'OUT'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel '%s'
set yrange [0:*]
set grid ytics
set key %s
plot 'DATA' using 2:xtic(1) title 'vmon' lc rgb '#1f77b4', \\
     '' using 3 title 'QEMU 7.2 microvm' lc rgb '#ff7f0e'
""" % (ylabel, key)
    gnuplot(script, "\n".join(rows) + "\n", out)


def blk_chart(res, out):
    rows = []
    for ph, label in (("seqread", "seq read, 1M QD4"),
                      ("seqwrite", "seq write, 1M QD4"),
                      ("randread", "rand read, 4K QD1")):
        m = res.raw.get("blk " + ph)
        if not m or "host" not in m:
            continue
        host = statistics.median(m["host"])
        rows.append("%s %g %g" % (quoted(label), statistics.median(m["vmon"]) / host,
                                  statistics.median(m["qemu"]) / host))
    if not rows:
        return
    bars(rows, "fraction of the host (fio, same image) = 1", "top right", out)


def memory_chart(res, out):
    rows = []
    for metric, label in (("RSS idle VM", "RSS minus guest RAM, 128 MiB VM, tiny guest"),
                          ("boot RSS overhead", "peak RSS minus guest RAM, Linux boot")):
        m = res.raw.get(metric)
        if m:
            rows.append("%s %g %g" % (quoted(label), statistics.median(m["vmon"]),
                                      statistics.median(m["qemu"])))
    if not rows:
        return
    bars(rows, "MiB per VM (median)", "top left", out)


def render(res, outdir):
    if not shutil.which("gnuplot"):
        print("bench/all: no charts: gnuplot missing (apt-get install gnuplot-nox)")
        return
    os.makedirs(outdir, exist_ok=True)
    for name, fn in (("ratios.svg", ratios_chart), ("blk.svg", blk_chart),
                     ("memory.svg", memory_chart)):
        fn(res, os.path.join(outdir, name))
    print("charts in %s: ratios.svg blk.svg memory.svg" % outdir)
