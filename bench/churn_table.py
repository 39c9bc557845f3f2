#!/usr/bin/env python3
"""Summarise bench/churn.sh measurements into markdown: a table per night and issue 17's targets.

    churn_table.py churn.tsv

Each line of churn.tsv: night, contender (chunked, archive, restic), kind (backup, restore), wall
seconds, peak RSS KiB, bytes uploaded, bytes stored after the run, bytes removed by the run (the
last three measured on the store side; 0 for restores).

Targets (issue 17, after the last night; "nightly" means nights 1..N, night 0 is the first backup):
  total stored          chunked's bucket <= 1.1x restic's repository after the last night
  uploaded per night    sum over nights 1..N of chunked's uploads <= 1.2x restic's (the worst
                        single night's ratio is shown too)
  nightly backup time   median over nights 1..N of (chunked wall / restic wall, same night) <= 1
  peak RSS              chunked's largest over every night and the restore <= 160 MiB (issue 7)
"""
import statistics
import sys
from collections import defaultdict

RSS_BUDGET_MIB = 160
NAMES = ["chunked", "archive", "restic"]


def summarise(lines):
    """The markdown for the lines of a churn.tsv."""
    b = defaultdict(dict)  # contender -> night -> record
    r = {}  # contender -> restore record
    for line in lines:
        p = line.rstrip("\n").split("\t")
        if len(p) < 8:
            continue
        rec = {"wall": float(p[3]), "rss": int(p[4]) / 1024, "up": int(p[5]), "all": int(p[6]), "rm": int(p[7])}
        if p[2] == "backup":
            b[p[1]][int(p[0])] = rec
        else:
            r[p[1]] = rec
    names = [n for n in NAMES if n in b]
    nights = sorted(set.intersection(*(set(b[n]) for n in names)))
    if not nights:
        raise SystemExit("churn_table.py: no night has every contender")
    last = nights[-1]
    later = [n for n in nights if n > 0]
    mb = lambda v: "{:.1f}".format(v / 1e6)

    head = "| night |" + "".join(f" {n} s | {n} up MB | {n} stored MB |" for n in names)
    out = [head, "|---:|" + "---:|---:|---:|" * len(names)]
    for night in nights:
        out.append(f"| {night} |" + "".join(
            " {:.2f} | {} | {} |".format(b[n][night]["wall"], mb(b[n][night]["up"]), mb(b[n][night]["all"])) for n in names))
    if later:
        out.append(f"| sum 1..{last} |" + "".join(
            " {:.1f} | {} | |".format(sum(b[n][k]["wall"] for k in later), mb(sum(b[n][k]["up"] for k in later))) for n in names))
    out += ["", "| contender | first backup s (night 0) | median nightly s (1..N) | mean uploaded MB/night (1..N) "
            "| stored MB after night {} | peak RSS MiB (backups) | restore of night {} s | restore peak RSS MiB |".format(last, last),
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for n in names:
        rec = r.get(n)
        out.append("| {} | {:.2f} | {} | {} | {} | {:.0f} | {} | {} |".format(
            n, b[n][nights[0]]["wall"],
            "{:.2f}".format(statistics.median(b[n][k]["wall"] for k in later)) if later else "n/a",
            mb(sum(b[n][k]["up"] for k in later) / len(later)) if later else "n/a",
            mb(b[n][last]["all"]), max(b[n][k]["rss"] for k in nights),
            "{:.2f}".format(rec["wall"]) if rec else "n/a", "{:.0f}".format(rec["rss"]) if rec else "n/a"))

    if "chunked" not in b or "restic" not in b:
        return "\n".join(out)
    c, s = b["chunked"], b["restic"]
    out += ["", f"Targets of issue 17 (lyncbackup chunked against restic, after {last} nights):", ""]

    def target(desc, value, ok):
        out.append("- {}: {} -> {}".format(desc, value, "met" if ok else "MISSED"))

    v = c[last]["all"] / s[last]["all"]
    target("total stored <= 1.1x restic's repository", "{:.2f}x ({} MB vs {} MB)".format(v, mb(c[last]["all"]), mb(s[last]["all"])), v <= 1.1)
    if later:
        cu, su = sum(c[k]["up"] for k in later), sum(s[k]["up"] for k in later)
        worst = max(later, key=lambda k: c[k]["up"] / max(1, s[k]["up"]))
        v = cu / max(1, su)
        target("bytes uploaded per night <= 1.2x restic's", "{:.2f}x over nights 1..{} ({} MB vs {} MB a night; worst night {}: {:.2f}x)".format(
            v, last, mb(cu / len(later)), mb(su / len(later)), worst, c[worst]["up"] / max(1, s[worst]["up"])), v <= 1.2)
        ratios = [c[k]["wall"] / s[k]["wall"] for k in later]
        v = statistics.median(ratios)
        target("nightly backup time <= restic's", "median {:.2f}x of restic's over nights 1..{} (worst {:.2f}x; night 0: {:.2f}x)".format(
            v, last, max(ratios), c[0]["wall"] / s[0]["wall"] if 0 in c and 0 in s else float("nan")), v <= 1.0)
    peak = max([c[k]["rss"] for k in nights] + ([r["chunked"]["rss"]] if "chunked" in r else []))
    target("peak RSS within issue 7's budget ({} MiB)".format(RSS_BUDGET_MIB), "{:.0f} MiB".format(peak), peak <= RSS_BUDGET_MIB)
    return "\n".join(out)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    with open(sys.argv[1]) as f:
        print(summarise(f))


if __name__ == "__main__":
    main()
