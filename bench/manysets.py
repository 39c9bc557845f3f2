#!/usr/bin/env python3
"""A local-folder destination holding many large chunked sets of one host, for the memory and time of
list, backup (known chunks) and prune over manifests of a large deployment. No chunk object is written:
only the set folders (manifest.json, the item's .chunks list), as a backup would commit them.

    manysets.py OUT [SETS=34] [CHUNKS=38000] [NEW_PERCENT=3] [SEED=1]

Each set has one chunked item of CHUNKS entries (1.3 MB plain, 0.8 MB stored each, so 38,000 is ~46 GiB),
NEW_PERCENT of them new since the set before (new key, new hashes), the rest the same entries: what a
host's nightly sets look like. Then e.g. `lyncbackup list --from file://OUT` under /usr/bin/time -v.
Delete OUT afterwards (34 sets of 38,000 chunks take ~0.5 GB)."""
import hashlib
import json
import os
import random
import sys


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(argv) >= 2 else 2
    out = argv[1]
    sets, n, new, seed = (int(a) for a in (argv[2:] + ["34", "38000", "3", "1"][len(argv) - 2:])[:4])
    rnd = random.Random(seed)
    host = "bench"

    def hx():
        return "%064x" % rnd.getrandbits(256)

    def chunk():
        c = hx()
        return {"key": f"{host}/chunks/{c[:2]}/{c}.zst.age", "plain_bytes": 1300000, "stored_bytes": 800000,
                "sha256": hx(), "age_prefix_sha256": hx(), "age_prefix_bytes": 184}

    chunks = [chunk() for _ in range(n)]
    for s in range(sets):
        for i in rnd.sample(range(n), n * new // 100):
            chunks[i] = chunk()
        day = 1 + s
        sid = "2026%02d%02dT020000Z-%06x" % (1 + (day - 1) // 28, 1 + (day - 1) % 28, s)
        d = os.path.join(out, host, sid)
        os.makedirs(d, exist_ok=True)
        lst = "".join(c["key"] + "\n" for c in chunks)
        with open(os.path.join(d, "sql.chunks"), "w") as f:
            f.write(lst)
        item = {"name": "sql", "kind": "path", "key": f"{host}/{sid}/sql.chunks", "plain_bytes": 1300000 * n,
                "stored_bytes": 800000 * n, "files": 3, "sha256": hashlib.sha256(lst.encode()).hexdigest(),
                "compression": "default-rawlit", "layout": "chunked", "chunks": chunks}
        m = {"format": 3, "tool": "manysets.py", "host": host, "set_id": sid,
             "start": "2026-%02d-%02dT02:00:00Z" % (1 + (day - 1) // 28, 1 + (day - 1) % 28),
             "end": "2026-%02d-%02dT02:30:00Z" % (1 + (day - 1) // 28, 1 + (day - 1) % 28),
             "status": "complete", "compression": "auto",
             "recipients": ["age1kqypj8zf0pq3fv06exguf2gd0943tya4tad8p3m7thkenqugw4esknyuva"], "items": [item]}
        with open(os.path.join(d, "manifest.json"), "w") as f:
            f.write(json.dumps(m, separators=(",", ":")) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
