#!/usr/bin/env python3
"""Unit tests of the churn benchmark's pure parts: python3 -m unittest discover -s bench

- the change model (churn.py --self-test: same seed, same nights; its stated numbers), which needs
  ../shared/bench/mkcorpus.py (or $LYNCBACKUP_MKCORPUS);
- the targets of churn_table.py, on made-up measurements just inside and just outside each bound.
"""
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import churn  # noqa: E402
import churn_table  # noqa: E402


def tsv(rows):
    """rows: (night, contender, kind, wall, rss_kib, up, stored)."""
    return ["\t".join(str(x) for x in r + (0,)) + "\n" for r in rows]


def nights(chunked_up=100, restic_up=100, chunked_all=1000, restic_all=1000, chunked_wall=1.0, restic_wall=1.0,
           rss_kib=100 * 1024):
    rows = []
    for n in (0, 1, 2):
        rows.append((n, "chunked", "backup", chunked_wall, rss_kib, chunked_up, chunked_all))
        rows.append((n, "archive", "backup", 1.0, 1024, 500, 5000))
        rows.append((n, "restic", "backup", restic_wall, 1024, restic_up, restic_all))
    rows.append((2, "chunked", "restore", 1.0, 1024, 0, 0))
    return tsv(rows)


def verdict(text, prefix):
    line = [l for l in text.splitlines() if l.startswith("- " + prefix)]
    assert len(line) == 1, text
    return line[0].rsplit("-> ", 1)[1]


class Targets(unittest.TestCase):
    def test_stored(self):
        self.assertEqual(verdict(churn_table.summarise(nights(chunked_all=1100)), "total stored"), "met")
        self.assertEqual(verdict(churn_table.summarise(nights(chunked_all=1101)), "total stored"), "MISSED")

    def test_uploaded(self):
        self.assertEqual(verdict(churn_table.summarise(nights(chunked_up=120)), "bytes uploaded"), "met")
        self.assertEqual(verdict(churn_table.summarise(nights(chunked_up=121)), "bytes uploaded"), "MISSED")

    def test_time(self):
        self.assertEqual(verdict(churn_table.summarise(nights(chunked_wall=2.0, restic_wall=2.0)), "nightly"), "met")
        self.assertEqual(verdict(churn_table.summarise(nights(chunked_wall=2.1, restic_wall=2.0)), "nightly"), "MISSED")

    def test_rss(self):
        self.assertEqual(verdict(churn_table.summarise(nights(rss_kib=160 * 1024)), "peak RSS"), "met")
        self.assertEqual(verdict(churn_table.summarise(nights(rss_kib=161 * 1024)), "peak RSS"), "MISSED")

    def test_table_has_every_night(self):
        text = churn_table.summarise(nights())
        for n in (0, 1, 2):
            self.assertIn(f"\n| {n} |", text)


@unittest.skipUnless(os.path.exists(churn.mkcorpus_path()), "mkcorpus.py not found (set LYNCBACKUP_MKCORPUS)")
class Model(unittest.TestCase):
    def test_self_test(self):
        p = subprocess.run([sys.executable, os.path.join(HERE, "churn.py"), "--self-test"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


if __name__ == "__main__":
    unittest.main()
