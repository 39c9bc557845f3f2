#!/usr/bin/env python3
"""One night of change on a corpus made by mkcorpus.py, the way a Lync server changes.

    churn.py CORPUS_DIR NIGHT [SEED=1]

Deterministic from (SEED, NIGHT); apply nights 1, 2, ... in order to the night-0 corpus.
  filestore/  a few new meeting files (XML and media), a few XML files modified, a few deleted
  sql/*.bak   regenerated: records appended at the end (growth ~0.4% a night), the last 2% of the
              dump rewritten (recent rows updated), and a few dozen records changed at random offsets
  exports/    the cmdlet zips regenerated whole (deflate changes every byte after the first change)
"""
import io, os, random, sys, zipfile

MB = 1 << 20


def main():
    root, night = sys.argv[1], int(sys.argv[2])
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    rng = random.Random(seed * 1_000_003 + night)

    def xml(n):
        out, size, i = [], 0, 0
        while size < n:
            s = (f'<DocItem Id="{rng.getrandbits(64):016x}"><Policy Identity="Tag:Policy{i}" '
                 f'MaxMeetingSize="{rng.randint(10, 1000)}" SipAddress="sip:user{i}@contoso.com"/></DocItem>\n')
            out.append(s); size += len(s); i += 1
        return "".join(out).encode()[:n]

    def record():
        return (b"CDR" + rng.getrandbits(64).to_bytes(8, "little") + b"\0" * 24
                + f"sip:user{rng.randint(1, 5000)}@contoso.com".encode().ljust(48, b"\0") + rng.randbytes(16))

    # SQL dumps
    for name in sorted(os.listdir(os.path.join(root, "sql"))):
        p = os.path.join(root, "sql", name)
        b = bytearray(open(p, "rb").read())
        n = len(b)
        for _ in range(40):  # scattered updates of old rows
            off = rng.randrange(0, max(1, n - 128))
            r = record()
            b[off:off + len(r)] = r
        tail = int(n * 0.98)  # recent rows rewritten
        t = bytearray()
        while len(t) < n - tail:
            t += record()
        b[tail:] = t[:n - tail]
        grow = bytearray()
        while len(grow) < int(n * 0.004):
            grow += record()
        b += grow
        open(p, "wb").write(b)

    # cmdlet exports: regenerated whole
    exp = os.path.join(root, "exports")
    for name in sorted(os.listdir(exp)):
        p = os.path.join(exp, name)
        size = os.path.getsize(p)
        if name.endswith(".zip") and zipfile.is_zipfile(p):
            with zipfile.ZipFile(p) as z:
                inner = z.getinfo("DocItemSet.xml").file_size
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
                z.writestr(zipfile.ZipInfo("DocItemSet.xml", date_time=(2026, 1, 1, 0, 0, 0)), xml(inner))
            open(p, "wb").write(buf.getvalue())
        else:
            open(p, "wb").write(xml(size))

    # file store
    files = []
    for d, _, fs in os.walk(os.path.join(root, "filestore")):
        files += [os.path.join(d, f) for f in fs if f != "Meeting.Active"]
    files.sort()
    for p in rng.sample(files, min(len(files), 3)):
        os.remove(p)
        files.remove(p)
    xmls = [p for p in files if p.endswith(".xml")]
    for p in rng.sample(xmls, min(len(xmls), 5)):
        b = bytearray(open(p, "rb").read())
        new = xml(rng.randint(200, 2000))
        off = rng.randrange(0, max(1, len(b)))
        b[off:off] = new
        open(p, "wb").write(b)
    base = os.path.join(root, "filestore", "1-WebServices-1", "CollabContent", f"n{night:03d}")
    os.makedirs(base, exist_ok=True)
    for i in range(8):
        if rng.random() < 0.75:
            data, ext = xml(rng.randint(1_000, 64_000)), "xml"
        else:
            data, ext = rng.randbytes(rng.randint(64_000, 2 * MB)), rng.choice(["pptx", "png"])
        open(os.path.join(base, f"{i:03d}.{ext}"), "wb").write(data)


if __name__ == "__main__":
    main()
