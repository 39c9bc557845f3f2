#!/usr/bin/env python3
"""Nights of change on the reference corpus, the way a Lync / Skype for Business server changes.

    churn.py CORPUS_DIR NIGHT [SEED=1]      apply night NIGHT (>= 1) to a corpus that is at night NIGHT-1
    churn.py --make OUT SIZE_MB SEED NIGHT  mkcorpus.py OUT SIZE_MB SEED (night 0), then nights 1..NIGHT
    churn.py --digest DIR [DIR...]          SHA-256 over the tree (paths, sizes, contents); several DIRs
                                            are merged into one tree (a restore split into items)
    churn.py --self-test                    determinism and the model's numbers on a small corpus

Night 0 is `mkcorpus.py OUT SIZE_MB SEED` (../shared/bench/mkcorpus.py, or $LYNCBACKUP_MKCORPUS).
Night N is a function of (the corpus at night N-1, SEED, N) only: the same seed and the same nights
applied in order give byte-identical trees. The model (numbers in MODEL, described in
docs/BENCHMARKS.md, "Churn"):

  filestore/  per night ADD new meeting files (mkcorpus's mix: 90% XML of 1-64 KB, 10% media of
              64 KB-4 MB), MODIFY XML files rewritten whole (new content, size within +-10%), DELETE
              files removed (expired meeting content); each a share of the file store's file count
  sql/*.bak   every dump regenerated (written anew and renamed into place), with: its header (first
              512 bytes) rewritten; HOT share of its 99-byte record slots rewritten among the newest
              HOT_ZONE of the dump (recent rows updated); COLD share rewritten anywhere (old rows);
              GROWTH of its size appended as new records (in mkcorpus's record mix)
  exports/    every cmdlet zip (and the LIS file) regenerated whole: new content of the same size,
              so no byte of it is shared with the night before

Each night prints one line of what it changed.
"""
import hashlib
import io
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

MB = 1 << 20
RECORD = 99  # bytes of one mkcorpus CDR record: "CDR" + 8 + 24 + 48 + 16

MODEL = {
    # file store, shares of the number of file-store files (Meeting.Active excluded), at least 1 each
    "filestore_add": 0.005,     # new meeting files per night
    "filestore_modify": 0.002,  # XML files rewritten per night
    "filestore_delete": 0.002,  # files deleted per night
    # SQL dumps, per dump and night
    "sql_header": 512,          # bytes at the start rewritten (backup header: dates, LSNs)
    "sql_hot": 0.002,           # share of record slots rewritten among the newest rows ...
    "sql_hot_zone": 0.02,       # ... which are the last 2% of the dump
    "sql_cold": 0.00001,        # share of record slots rewritten anywhere (old rows), at least 1 (unless 0)
    "sql_growth": 0.003,        # share of the dump's size appended as new records
}

# LYNCBACKUP_CHURN_MODEL="sql_cold=0,filestore_add=0.01" overrides numbers of MODEL (for sensitivity runs;
# bench/churn.sh prints it in its results). The defaults are the model of docs/BENCHMARKS.md.


def apply_overrides(spec):
    for part in filter(None, (p.strip() for p in spec.split(","))):
        key, _, value = part.partition("=")
        if key not in MODEL or not value:
            raise SystemExit(f"churn.py: LYNCBACKUP_CHURN_MODEL: {part!r} is not KEY=NUMBER with KEY one of {', '.join(MODEL)}")
        try:
            MODEL[key] = type(MODEL[key])(value)
        except ValueError:
            raise SystemExit(f"churn.py: LYNCBACKUP_CHURN_MODEL: {part!r}: {value!r} is not a number")


def gen_xml(rng, n):
    """XML as mkcorpus.py writes it (same element shapes; different random draws)."""
    out, size, i = [], 0, 0
    while size < n:
        area = rng.choice(["Voice", "Client", "Conferencing", "Archiving", "Registrar"])
        s = (f'<DocItem Name="urn:schema:Microsoft.Rtc.Management.Settings.{area}.2008" '
             f'Id="{rng.getrandbits(64):016x}"><Policy Identity="Tag:Policy{i}" '
             f'AllowIPVideo="{rng.choice(["true", "false"])}" MaxMeetingSize="{rng.randint(10, 1000)}" '
             f'LineUri="tel:+1425555{rng.randint(1000, 9999)}" SipAddress="sip:user{i}@contoso.com"/></DocItem>\n')
        out.append(s)
        size += len(s)
        i += 1
    return "".join(out).encode()[:n]


def gen_record(rng):
    return (b"CDR" + rng.getrandbits(64).to_bytes(8, "little") + b"\0" * 24
            + f"sip:user{rng.randint(1, 5000)}@contoso.com".encode().ljust(48, b"\0")
            + rng.randbytes(16))


def gen_records(rng, n):
    """n bytes of new rows, in mkcorpus's mix (2% of records followed by a 4 KiB blob)."""
    out = bytearray()
    while len(out) < n:
        out += gen_record(rng)
        if rng.random() < 0.02:
            out += rng.randbytes(4096)
    return bytes(out[:n])


def write_new(path, data):
    """Write a file anew (temp file + rename), as a tool regenerating it does."""
    tmp = path + ".churn-tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def filestore_files(root):
    out = []
    for d, dirs, fs in os.walk(os.path.join(root, "filestore")):
        dirs.sort()
        out += [os.path.join(d, f) for f in sorted(fs) if f != "Meeting.Active"]
    return sorted(out)


NUMBERED = re.compile(r"^(\d{6})\.(xml|pptx|png|cab)$")


def night(root, n, seed):
    if n < 1:
        raise SystemExit("churn.py: NIGHT must be >= 1 (night 0 is mkcorpus.py's corpus)")
    rng = random.Random(f"lyncbackup-churn:{seed}:{n}")
    m = MODEL
    stats = {}

    # --- file store: delete, modify, add (in this order, each from a sorted listing)
    files = filestore_files(root)
    if not files:
        raise SystemExit(f"churn.py: {root}/filestore has no files (not a mkcorpus.py corpus?)")
    count = len(files)
    n_del = max(1, round(count * m["filestore_delete"]))
    n_mod = max(1, round(count * m["filestore_modify"]))
    n_add = max(1, round(count * m["filestore_add"]))
    nums = [int(NUMBERED.match(os.path.basename(p)).group(1)) for p in files if NUMBERED.match(os.path.basename(p))]
    next_num = max(nums) + 1 if nums else 0
    for p in rng.sample(files, min(n_del, len(files) - 1)):
        os.remove(p)
        files.remove(p)
    xmls = [p for p in files if p.endswith(".xml")]
    for p in rng.sample(xmls, min(n_mod, len(xmls))):
        size = os.path.getsize(p)
        write_new(p, gen_xml(rng, max(1, int(size * rng.uniform(0.9, 1.1)))))
    added = 0
    store = os.path.join(root, "filestore", "1-WebServices-1", "CollabContent")
    for k in range(n_add):
        num = next_num + k
        if rng.random() < 0.9:
            data, ext = gen_xml(rng, rng.randint(1_000, 64_000)), "xml"
        else:
            data, ext = rng.randbytes(rng.randint(64_000, 4 * MB)), rng.choice(["pptx", "png", "cab"])
        d = os.path.join(store, f"{num // 200:03d}")
        os.makedirs(d, exist_ok=True)
        write_new(os.path.join(d, f"{num:06d}.{ext}"), data)
        if num % 500 == 0:
            write_new(os.path.join(d, "Meeting.Active"), b"locked")
        added += len(data)
    stats["filestore"] = f"+{n_add} files ({added} B) ~{n_mod} -{n_del} of {count}"

    # --- SQL dumps: regenerated with a small share of changed records and some growth
    sql_dir = os.path.join(root, "sql")
    changed = grown = 0
    for name in sorted(os.listdir(sql_dir)):
        p = os.path.join(sql_dir, name)
        if not name.endswith(".bak"):
            continue
        b = bytearray(open(p, "rb").read())
        size = len(b)
        slots = size // RECORD
        h = min(m["sql_header"], size)
        b[:h] = rng.randbytes(h)
        zone = max(1, int(slots * m["sql_hot_zone"]))
        n_hot = max(1, round(slots * m["sql_hot"])) if m["sql_hot"] > 0 else 0
        n_cold = max(1, round(slots * m["sql_cold"])) if m["sql_cold"] > 0 else 0
        picks = [slots - zone + rng.randrange(zone) for _ in range(n_hot)]
        picks += [rng.randrange(slots) for _ in range(n_cold)]
        for s in picks:
            b[s * RECORD:(s + 1) * RECORD] = gen_record(rng)
        g = int(size * m["sql_growth"])
        b += gen_records(rng, g)
        write_new(p, bytes(b))
        changed += n_hot + n_cold
        grown += g
    stats["sql"] = f"{changed} records rewritten, +{grown} B"

    # --- cmdlet exports: regenerated whole
    exp = os.path.join(root, "exports")
    regen = 0
    for name in sorted(os.listdir(exp)):
        p = os.path.join(exp, name)
        size = os.path.getsize(p)
        if zipfile.is_zipfile(p):
            with zipfile.ZipFile(p) as z:
                inner = z.getinfo("DocItemSet.xml").file_size
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
                day = 1 + (n - 1) % 28
                z.writestr(zipfile.ZipInfo("DocItemSet.xml", date_time=(2026, 2 + (n - 1) // 28 % 10, day, 2, 0, 0)),
                           gen_xml(rng, inner))
            data = buf.getvalue()
        else:
            data = gen_xml(rng, size)
        write_new(p, data)
        regen += len(data)
    stats["exports"] = f"{regen} B regenerated"
    return stats


def digest(*roots):
    """SHA-256 over the files under ROOTS merged into one tree: relative paths, sizes, contents."""
    files = []
    for root in roots:
        for d, _, fs in os.walk(root):
            files += [(os.path.relpath(os.path.join(d, f), root), os.path.join(d, f)) for f in fs]
    h = hashlib.sha256()
    for rel, p in sorted(files):
        h.update(f"{rel}\0{os.path.getsize(p)}\0".encode())
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def mkcorpus_path():
    env = os.environ.get("LYNCBACKUP_MKCORPUS")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "..", "..", "shared", "bench", "mkcorpus.py"))


def make(out, size_mb, seed, nights, quiet=False):
    subprocess.run([sys.executable, mkcorpus_path(), out, str(size_mb), str(seed)], check=True,
                   stdout=subprocess.DEVNULL if quiet else None)
    for k in range(1, nights + 1):
        s = night(out, k, seed)
        if not quiet:
            print(f"night {k}: " + "; ".join(f"{a} {b}" for a, b in s.items()))


def self_test():
    """Determinism and the stated numbers, on a 4 MB corpus. Exit 1 on any failure."""
    failures = []

    def check(ok, what):
        print(("ok   " if ok else "FAIL ") + what)
        if not ok:
            failures.append(what)

    tmp = tempfile.mkdtemp(prefix="churn-selftest-")
    try:
        a, b, c = (os.path.join(tmp, x) for x in "abc")
        subprocess.run([sys.executable, mkcorpus_path(), a, "4", "7"], check=True, stdout=subprocess.DEVNULL)
        shutil.copytree(a, b)
        shutil.copytree(a, c)
        d0 = digest(a)
        before = {p: os.path.getsize(p) for p in filestore_files(a)}
        sql0 = {f: os.path.getsize(os.path.join(a, "sql", f)) for f in os.listdir(os.path.join(a, "sql"))}
        exp0 = {f: open(os.path.join(a, "exports", f), "rb").read() for f in os.listdir(os.path.join(a, "exports"))}
        night(a, 1, 7)
        night(b, 1, 7)
        night(c, 1, 8)
        d1 = digest(a)
        check(d1 == digest(b), "same seed, same night 1")
        check(d1 != d0, "night 1 differs from night 0")
        check(d1 != digest(c), "another seed gives another night 1")
        after = {p: os.path.getsize(p) for p in filestore_files(a)}
        count = len(before)
        want_add = max(1, round(count * MODEL["filestore_add"]))
        want_del = max(1, round(count * MODEL["filestore_delete"]))
        check(len(set(before) - set(after)) == want_del, f"{want_del} file-store files deleted of {count}")
        check(len(set(after) - set(before)) == want_add, f"{want_add} file-store files added")
        for f, s in sql0.items():
            got = os.path.getsize(os.path.join(a, "sql", f))
            check(got == s + int(s * MODEL["sql_growth"]), f"sql/{f} grew by {MODEL['sql_growth']:.1%}")
        for f, old in exp0.items():
            new = open(os.path.join(a, "exports", f), "rb").read()
            check(new != old and len(new) > 0, f"exports/{f} regenerated")
        for k in (2, 3):
            night(a, k, 7)
            night(b, k, 7)
        check(digest(a) == digest(b), "same seed, same nights 2 and 3")
        e = os.path.join(tmp, "e")
        make(e, 4, 7, 3, quiet=True)
        check(digest(e) == digest(a), "--make OUT 4 7 3 gives the same tree as nights 1..3 applied one by one")
    finally:
        shutil.rmtree(tmp)
    if failures:
        print(f"churn.py --self-test: {len(failures)} check(s) failed", file=sys.stderr)
        sys.exit(1)
    print("churn.py --self-test: all checks passed")


def main():
    apply_overrides(os.environ.get("LYNCBACKUP_CHURN_MODEL", ""))
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        sys.exit(0 if args else 2)
    if args[0] == "--self-test":
        if os.environ.get("LYNCBACKUP_CHURN_MODEL"):
            raise SystemExit("churn.py: --self-test checks the default model; unset LYNCBACKUP_CHURN_MODEL")
        self_test()
    elif args[0] == "--digest" and len(args) >= 2:
        print(digest(*args[1:]))
    elif args[0] == "--make" and len(args) == 5:
        make(args[1], int(args[2]), int(args[3]), int(args[4]))
    elif not args[0].startswith("-") and len(args) in (2, 3):
        s = night(args[0], int(args[1]), int(args[2]) if len(args) == 3 else 1)
        print(f"night {args[1]}: " + "; ".join(f"{a} {b}" for a, b in s.items()))
    else:
        print("usage: see churn.py --help", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
