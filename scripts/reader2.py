#!/usr/bin/env python3
"""reader2: a second reader of lyncbackup sets, written from docs/FORMAT.md alone.

    python3 scripts/reader2.py DEST SET-ID|latest IDENTITY OUT [--host HOST]

DEST is a local folder destination (the file:// layout), IDENTITY an age identity
file, OUT an empty folder: each item is extracted to OUT/<item>/. Needs the stock
`age` and `zstd` binaries; Python's standard library otherwise. Prints one line per
item and exits 1 naming every mismatch (2 for a usage error).

It exists to prove that FORMAT.md suffices to read a set without lyncbackup's code
(e2e TestReader2); it is not a restore tool: it holds an item's whole tar stream in
memory, and Python's tarfile folds PAX global headers into one, so it cannot tell a
global header that is not the stream's first entry.
"""
import argparse
import hashlib
import json
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile

SET_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
MAX_MANIFEST = 256 << 20
MAX_CHUNK = 16 << 20
INDEX = ".lyncbackup-SHA256SUMS"


class Bad(Exception):
    """A mismatch: the set does not read as FORMAT.md says."""


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def safe_name(s, what):
    if not NAME.match(s) or ".." in s:
        raise Bad(f"{what} {s!r} is not a valid name")
    return s


def start_ns(m):
    """The manifest's start (RFC 3339, UTC) as a sortable (seconds, nanoseconds) pair."""
    sec, _, frac = m["start"].rstrip("Z").partition(".")
    return sec, int((frac + "000000000")[:9])


def find_set(dest, want, host):
    """Returns (host, set id): the named set, or latest: the newest complete set of host."""
    hosts = [host] if host else sorted(h for h in os.listdir(dest) if os.path.isdir(os.path.join(dest, h)))
    found = []
    for h in hosts:
        hdir = os.path.join(dest, h)
        for s in os.listdir(hdir) if os.path.isdir(hdir) else []:
            if SET_ID.match(s) and want in ("latest", s) and os.path.isfile(os.path.join(hdir, s, "manifest.json")):
                found.append((h, s))
    if want != "latest":
        if len(found) != 1:
            raise Bad(f"set {want}: {'not found (no manifest.json)' if not found else 'under several hosts; give --host'}")
        return found[0]
    if not host:
        raise Bad("latest needs --host HOST")
    best = None
    for h, s in found:  # ids sort by their start second; within one, the manifest's start decides
        try:
            with open(os.path.join(dest, h, s, "manifest.json"), "rb") as f:
                m = json.load(f)
            key = (s[:16], start_ns(m))
        except (OSError, ValueError, KeyError, AttributeError):
            continue  # a damaged set is never latest
        if m.get("status") == "complete" and (best is None or key > best[0]):
            best = (key, (h, s))
    if best is None:
        raise Bad(f"no complete set of host {host}")
    return best[1]


def read_object(dest, key, size, digest, prefix=None):
    """Reads the object at key and checks its size, its SHA-256 and its age prefix hash."""
    parts = key.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise Bad(f"object key {key!r} is not a clean relative key")
    try:
        with open(os.path.join(dest, *parts), "rb") as f:
            data = f.read()
    except OSError as e:
        raise Bad(f"object {key}: {e.strerror}")
    if len(data) != size:
        raise Bad(f"object {key}: {len(data)} bytes, manifest says {size}")
    if digest is not None and sha256(data) != digest:
        raise Bad(f"object {key}: SHA-256 {sha256(data)}, manifest says {digest}")
    if prefix:
        psum, plen = prefix
        # The age header ends with its "--- <mac>\n" line; the 16-byte payload nonce follows.
        end = data.find(b"\n---")
        end = data.find(b"\n", end + 1) + 1 if end >= 0 else -1
        if end <= 0 or end + 16 != plen or sha256(data[:plen]) != psum:
            raise Bad(f"object {key}: age header + nonce do not match the manifest's age prefix hash")
    return data


def run(cmd, data, what):
    p = subprocess.run(cmd, input=data, capture_output=True)
    if p.returncode != 0:
        raise Bad(f"{what}: {cmd[0]} failed: {p.stderr.decode(errors='replace').strip()}")
    return p.stdout


def decode(data, identity, key):
    return run(["zstd", "-d", "-q", "-c"], run(["age", "-d", "-i", identity], data, key), key)


def age_prefix(entry, key):
    has = ("age_prefix_sha256" in entry, "age_prefix_bytes" in entry)
    if has == (False, False):
        return None
    ps, pb = entry.get("age_prefix_sha256"), entry.get("age_prefix_bytes")
    if not all(has) or not HEX64.match(str(ps)) or not isinstance(pb, int) or not 0 < pb <= entry["stored_bytes"]:
        raise Bad(f"{key}: malformed age prefix in the manifest")
    return ps, pb


def tar_stream(dest, host, item, fmt, identity):
    """Returns the item's tar stream, every object checked against the manifest."""
    key = item["key"]
    if item.get("layout") is None:
        if key != f"{host}/{item['_set']}/{item['name']}.tar.zst.age" or "chunks" in item:
            raise Bad(f"archive item key {key!r} or chunk list not as FORMAT.md says")
        data = read_object(dest, key, item["stored_bytes"], item["sha256"], age_prefix(item, key))
        return decode(data, identity, key)
    if item["layout"] != "chunked" or fmt < 2:
        raise Bad(f"layout {item['layout']!r} in a format {fmt} set")
    if key != f"{host}/{item['_set']}/{item['name']}.chunks":
        raise Bad(f"chunk list key {key!r} not as FORMAT.md says")
    chunks = item.get("chunks") or []
    if not chunks:
        raise Bad("chunked item without chunk entries")
    keys = [c["key"] for c in chunks]
    listing = "".join(k + "\n" for k in keys).encode()
    lines = read_object(dest, key, len(listing), item["sha256"])
    if lines != listing:
        raise Bad(f"{key}: its lines are not the manifest's chunk keys in order")
    if item["stored_bytes"] != sum(c["stored_bytes"] for c in chunks):
        raise Bad("stored_bytes is not the sum of the chunks' stored_bytes")
    out = []
    for c in chunks:
        k = c["key"]
        m = re.match(r"^(.+)/chunks/([0-9a-f]{2})/([0-9a-f]{64})\.zst\.age$", k)
        if not m or m.group(1) != host or m.group(3)[:2] != m.group(2):
            raise Bad(f"chunk key {k!r} not of the form <host>/chunks/<hh>/<id>.zst.age")
        if not (0 < c["plain_bytes"] <= MAX_CHUNK and 0 < c["stored_bytes"] <= MAX_CHUNK) or not HEX64.match(c["sha256"]):
            raise Bad(f"chunk entry {k}: sizes or SHA-256 out of bounds")
        prefix = age_prefix(c, k) if fmt >= 3 else None
        if fmt < 3 and ("age_prefix_sha256" in c or "age_prefix_bytes" in c):
            raise Bad(f"chunk entry {k}: an age prefix in a format {fmt} set")
        plain = decode(read_object(dest, k, c["stored_bytes"], c["sha256"], prefix), identity, k)
        if len(plain) != c["plain_bytes"]:
            raise Bad(f"chunk {k}: {len(plain)} plaintext bytes, manifest says {c['plain_bytes']}")
        out.append(plain)
    return b"".join(out)


def unescape(name):
    out, i = [], 0
    while i < len(name):
        if name[i] == "\\" and i + 1 < len(name) and name[i + 1] in "\\nr":
            out.append({"\\": "\\", "n": "\n", "r": "\r"}[name[i + 1]])
            i += 2
        elif name[i] == "\\":
            raise Bad(f"index line name {name!r}: stray backslash")
        else:
            out.append(name[i])
            i += 1
    return "".join(out)


def parse_index(data):
    """Returns [(name, sum)] of sha256sum lines: `<64 hex>  <name>\n`, escaped names after a `\\`."""
    if data and not data.endswith(b"\n"):
        raise Bad("the index does not end with a newline")
    sums = []
    for line in data.decode("utf-8", "surrogateescape").split("\n")[:-1]:
        m = re.match(r"^(\\?)([0-9a-f]{64})  (.+)$", line, re.S)
        if not m:
            raise Bad(f"index line {line!r} is not sha256sum's format")
        sums.append((unescape(m.group(3)) if m.group(1) else m.group(3), m.group(2)))
    return sums


def extract(stream, out):
    """Checks the tar stream as FORMAT.md defines it and extracts it under out.
    Returns (files, bytes of file content): regular files, the index excluded."""
    try:
        tf = tarfile.open(fileobj=_Bytes(stream), mode="r:")
        members = tf.getmembers()
    except tarfile.TarError as e:
        raise Bad(f"tar stream: {e}")
    index = INDEX
    comment = tf.pax_headers.get("comment", "")
    if comment.startswith("lyncbackup-index="):
        index = comment[len("lyncbackup-index="):]
        if not re.match(r"^\.lyncbackup-SHA256SUMS-[0-9]{1,9}$", index):
            raise Bad(f"index name {index!r} in the global header")
    if not members or members[-1].name != index or not members[-1].isreg():
        raise Bad(f"the last entry is not the index {index}")
    last = members[-1]
    end = last.offset_data + (last.size + 511) // 512 * 512
    if any(stream[end:]) or not 1024 <= len(stream) - end <= 1024 + 10240:
        raise Bad("the index is not followed by exactly the end-of-archive blocks and at most 10240 zero bytes")
    seen, dirs, links, files = {}, [], [], []
    for m in members[:-1]:
        name = m.name  # tarfile drops a folder's trailing "/"
        if name.startswith(("/", "\\")) or name[1:2] == ":" or "\0" in name or ".." in name.split("/"):
            raise Bad(f"entry {name!r}: not a relative clean name")
        name = posixpath.normpath(name)  # as Go's path.Clean: "a//b", "./a" are "a/b", "a"
        parts = name.split("/")
        if name == ".":
            raise Bad(f"entry {m.name!r}: an empty name")
        if index != INDEX and parts[0] == index:
            raise Bad(f"entry {name!r} has the index's name")
        if (m.issym() and (not m.linkname or "\0" in m.linkname)) or (not m.isreg() and m.size):
            raise Bad(f"entry {name!r}: an empty link target, or a folder or link with content")
        for i in range(1, len(parts)):
            if seen.get("/".join(parts[:i]), "dir") != "dir":
                raise Bad(f"entry {name!r} lies below a file or symlink")
        kind = "dir" if m.isdir() else "file" if m.isreg() else "link" if m.issym() else None
        if kind is None:
            raise Bad(f"entry {name!r}: type {m.type!r} never appears in an item")
        if name in seen and not (kind == "dir" and seen[name] == "dir"):
            raise Bad(f"entry {name!r} appears twice")
        seen[name] = kind
        path = os.path.join(out, *parts)
        if kind == "dir":
            os.makedirs(path, exist_ok=True)
            dirs.append((path, m))
        elif kind == "link":
            links.append((path, m))
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            data = tf.extractfile(m).read()
            with open(path, "xb") as f:
                f.write(data)
            os.chmod(path, m.mode & 0o777)
            os.utime(path, ns=(mtime_ns(m),) * 2)
            files.append((name, sha256(data), len(data)))
    for path, m in links:  # after every file: nothing is written through a link
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.symlink(m.linkname, path)
    for path, m in reversed(dirs):
        os.chmod(path, m.mode & 0o777)
        os.utime(path, ns=(mtime_ns(m),) * 2)
    sums = parse_index(tf.extractfile(last).read())
    if [s[0] for s in sums] != [f[0] for f in files]:
        listed, have = [s[0] for s in sums], [f[0] for f in files]
        if sorted(listed) != sorted(have) or len(set(listed)) != len(listed):
            missing = sorted(set(have) - set(listed)) or sorted(set(listed) - set(have)) or listed
            raise Bad(f"index and files differ: {missing[0]!r}")
    want = dict(sums)
    for name, got, _ in files:
        if want[name] != got:
            raise Bad(f"file {name!r}: SHA-256 {got}, index says {want[name]}")
    with open(os.path.join(out, index), "xb") as f:
        f.write(tf.extractfile(last).read())
    return len(files), sum(f[2] for f in files)


def mtime_ns(m):
    """The entry's modification time in nanoseconds: a PAX mtime record (decimal
    seconds) carries more digits than tarfile's float keeps."""
    t = m.pax_headers.get("mtime")
    if t is None:
        return int(m.mtime) * 10**9
    sec, _, frac = t.partition(".")
    sign = -1 if sec.startswith("-") else 1
    return int(sec) * 10**9 + sign * int((frac + "000000000")[:9])


class _Bytes:
    """A seekable read-only view of bytes for tarfile (io.BytesIO copies)."""

    def __init__(self, b):
        self.b, self.pos = memoryview(b), 0

    def read(self, n=-1):
        end = len(self.b) if n is None or n < 0 else min(len(self.b), self.pos + n)
        r, self.pos = bytes(self.b[self.pos:end]), end
        return r

    def seek(self, pos, whence=0):
        self.pos = pos if whence == 0 else self.pos + pos if whence == 1 else len(self.b) + pos
        return self.pos

    def tell(self):
        return self.pos


def main(argv):
    ap = argparse.ArgumentParser(prog="reader2.py", description="Reads a lyncbackup set as docs/FORMAT.md defines it.")
    ap.add_argument("dest", help="local folder destination (the file:// layout)")
    ap.add_argument("set", help="a set id, or latest (with --host)")
    ap.add_argument("identity", help="age identity file")
    ap.add_argument("out", help="folder to extract into: one subfolder per item")
    ap.add_argument("--host", help="the host whose sets to look in")
    a = ap.parse_args(argv)
    dest, want, identity, out, host = a.dest, a.set, a.identity, a.out, a.host
    try:
        host, set_id = find_set(dest, want, host)
        mpath = os.path.join(dest, host, set_id, "manifest.json")
        if os.path.getsize(mpath) > MAX_MANIFEST:
            raise Bad("manifest.json is larger than 256 MiB")
        with open(mpath, "rb") as f:
            m = json.loads(f.read())
        fmt = m.get("format")
        if fmt not in (1, 2, 3):
            raise Bad(f"manifest format {fmt!r}: not one this reader knows (upgrade)")
        if m.get("host") != host or m.get("set_id") != set_id:
            raise Bad(f"manifest names {m.get('host')}/{m.get('set_id')}, found in {host}/{set_id}")
        if fmt == 1 and any(it.get("layout") for it in m["items"]):
            raise Bad("a format 1 set with a chunked item")
        names = [it.get("name") for it in m["items"]]
        if not names or len(set(names)) != len(names) or m.get("status") not in ("complete", "partial"):
            raise Bad("manifest: no items, an item twice, or a status other than complete or partial")
    except (Bad, OSError, ValueError, KeyError, TypeError) as e:
        print(f"reader2: {e}", file=sys.stderr)
        return 1
    print(f"set {host}/{set_id} format {fmt} status {m.get('status')}")
    failed = 0
    for item in m["items"]:
        name = item.get("name", "?")
        try:
            safe_name(name, "item")
            item["_set"] = set_id
            stream = tar_stream(dest, host, item, fmt, identity)
            dst = os.path.join(out, name)
            os.makedirs(dst)
            files, plain = extract(stream, dst)
            if files != item["files"] or plain != item["plain_bytes"]:
                raise Bad(f"{files} files of {plain} bytes, manifest says {item['files']} of {item['plain_bytes']}")
            print(f"ok {name}: {files} files, {plain} bytes, {'chunked' if item.get('layout') else 'archive'}")
        except (Bad, OSError, ValueError, KeyError, TypeError, tarfile.TarError) as e:
            failed += 1
            print(f"FAIL {name}: {e}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
