#!/usr/bin/env python3
"""Summarise bench/run.sh measurements into a markdown table.

    summarise.py [--flat] results.tsv

Each line of results.tsv: name, run, wall seconds, peak RSS KiB, user s,
system s, stored bytes (may be empty), plain bytes. Medians over runs;
"vs lyncbackup" is the median over runs of (contender's wall time /
lyncbackup's wall time in the same run): above 1 means lyncbackup is faster.
"""
import statistics
import sys
from collections import defaultdict

LB_BACKUP, LB_RESTORE = "lyncbackup backup", "lyncbackup restore"
RSS_BUDGET_MIB = 160


def load(path):
    rows = defaultdict(dict)  # name -> run -> record
    order = []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 8:
                continue
            name, run, wall, rss, user, sys_, stored, plain = parts[:8]
            if name not in order:
                order.append(name)
            rows[name][run] = {
                "wall": float(wall), "rss": int(rss) / 1024, "cpu": float(user or 0) + float(sys_ or 0),
                "stored": int(float(stored)) if stored else None, "plain": int(float(plain)),
            }
    return order, rows


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(rows, name, ref):
    rs = [r["wall"] / rows[ref][run]["wall"] for run, r in rows[name].items() if run in rows.get(ref, {})]
    return med(rs)


def compare(order, rows):
    out = ["| contender | runs | wall s (median) | MB/s | peak RSS MiB | CPU s (user+sys) | stored MB | wall vs lyncbackup |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name in order:
        rs = rows[name].values()
        wall = med([r["wall"] for r in rs])
        plain = med([r["plain"] for r in rs])
        stored = med([r["stored"] for r in rs])
        ref = LB_RESTORE if "restore" in name else LB_BACKUP
        rat = ratio(rows, name, ref) if name != ref else 1.0
        out.append("| {} | {} | {:.2f} | {:.0f} | {:.0f} | {:.1f} | {} | {} |".format(
            name.replace("|", "\\|"), len(rows[name]), wall, plain / wall / 1e6, med([r["rss"] for r in rs]),
            med([r["cpu"] for r in rs]), "{:.2f}".format(stored / 1e6) if stored else "n/a",
            "{:.2f}x".format(rat) if rat else "n/a"))
    out += ["", "Targets (ratio = contender wall / lyncbackup wall):", ""]

    def target(desc, value, ok):
        out.append("- {}: {} -> {}".format(desc, value, "met" if ok else "MISSED"))

    def r(name, ref):
        return ratio(rows, name, ref) if name in rows and ref in rows else None

    v = r("restic backup", LB_BACKUP)
    if v:
        target("backup at least 2x faster than restic (issue 7)", "{:.2f}x".format(v), v >= 2)
        target("backup at least 2.5x faster than restic (issue 18)", "{:.2f}x".format(v), v >= 2.5)
    v = r("tar|zstd|age|rclone", LB_BACKUP)
    if v:
        target("backup at least 3x faster than tar|zstd|age|rclone", "{:.2f}x".format(v), v >= 3)
    v = r("tar|zstd|age (floor)", LB_BACKUP)
    if v:
        target("backup within 2x of the floor (issue 7)", "lyncbackup takes {:.2f}x the floor's time".format(1 / v), 1 / v <= 2)
        target("backup within 1.3x of the floor (issue 18)", "lyncbackup takes {:.2f}x the floor's time".format(1 / v), 1 / v <= 1.3)
    v = r("restic restore", LB_RESTORE)
    if v:
        target("restore at least 1.25x faster than restic", "{:.2f}x".format(v), v >= 1.25)
    for name in (LB_BACKUP, LB_RESTORE):
        if name in rows:
            m = max(x["rss"] for x in rows[name].values())
            target("{} peak RSS at most {} MiB".format(name, RSS_BUDGET_MIB), "max {:.0f} MiB".format(m), m <= RSS_BUDGET_MIB)
    if LB_BACKUP in rows and "tar|zstd|age|rclone" in rows:
        a = med([x["stored"] for x in rows[LB_BACKUP].values()])
        b = med([x["stored"] for x in rows["tar|zstd|age|rclone"].values()])
        target("stored no larger than tar|zstd -3|age", "{} vs {} bytes ({:+.3f}%)".format(a, b, (a - b) * 100 / b), a <= b)
    return out


def flat(order, rows):
    out = ["| run | runs | wall s (median) | MB/s | peak RSS MiB (median) | peak RSS MiB (max) |",
           "|---|---:|---:|---:|---:|---:|"]
    for name in order:
        rs = rows[name].values()
        wall = med([r["wall"] for r in rs])
        out.append("| {} | {} | {:.2f} | {:.0f} | {:.0f} | {:.0f} |".format(
            name, len(rows[name]), wall, med([r["plain"] for r in rs]) / wall / 1e6,
            med([r["rss"] for r in rs]), max(r["rss"] for r in rs)))
    out.append("")
    for op in ("backup", "restore"):
        small, big = rows.get(op + " 256 MB"), rows.get(op + " 4096 MB")
        if small and big:
            a, b = med([r["rss"] for r in small.values()]), med([r["rss"] for r in big.values()])
            ok = abs(b - a) <= 0.10 * a and max(a, b) <= RSS_BUDGET_MIB
            out.append("- {} peak RSS 256 MB -> 4096 MB: {:.0f} -> {:.0f} MiB ({:+.1f}%) -> {}".format(
                op, a, b, (b - a) * 100 / a, "flat" if ok else "MISSED (must stay within 10% and {} MiB)".format(RSS_BUDGET_MIB)))
    return out


def main():
    args = sys.argv[1:]
    is_flat = "--flat" in args
    args = [a for a in args if a != "--flat"]
    if len(args) != 1:
        sys.exit("usage: summarise.py [--flat] results.tsv")
    order, rows = load(args[0])
    print("\n".join(flat(order, rows) if is_flat else compare(order, rows)))


if __name__ == "__main__":
    main()
