#!/usr/bin/env python3
"""Regenerates the tlog-tiles and checkpoint vectors in Contracts/vectors/{tiles,note}/.

Written from the C2SP specs (tlog-tiles, tlog-checkpoint, signed-note) and RFC 9162 alone, with the
Merkle tree hashed the slow, obvious way, so that it checks the Swift code rather than echoing it.
Needs Python 3 and the `cryptography` package. Run from anywhere: paths are relative to this file.
"""

import base64
import hashlib
import os
import struct

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

HERE = os.path.dirname(os.path.abspath(__file__))
NOTE_DIR = os.path.join(HERE, "..", "note")

ORIGIN = "pdx.example/audit"
SEED = hashlib.sha256(b"pdx test vector signing key").digest()
SIZES = [0, 1, 256, 258, 70000]


def entry(i):
    # Keys in RFC 8785 order (action, actor, data, seq, subjects, time); integers print as themselves.
    return ('{"action":"test.entry","actor":"vector","data":{"i":%d},"seq":%d,'
            '"subjects":["s-%d"],"time":"2026-01-01T00:00:00Z"}' % (i, i, i)).encode()


def leaf(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def mth(leaves):
    """RFC 9162 section 2.1.1, recursively, over leaf hashes."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node(mth(leaves[:k]), mth(leaves[k:]))


def index_path(n):
    groups = []
    while True:
        groups.append(n % 1000)
        n //= 1000
        if n == 0:
            break
    groups.reverse()
    return "/".join(("x%03d" if i < len(groups) - 1 else "%03d") % g for i, g in enumerate(groups))


def tile_path(level, n, width):
    kind = "entries" if level is None else str(level)
    suffix = "" if width == 256 else ".p/%d" % width
    return "tile/%s/%s%s" % (kind, index_path(n), suffix)


def signer():
    key = Ed25519PrivateKey.from_private_bytes(SEED)
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key_id = hashlib.sha256(ORIGIN.encode() + b"\n\x01" + public).digest()[:4]
    vkey = "%s+%s+%s" % (ORIGIN, key_id.hex(), base64.b64encode(b"\x01" + public).decode())
    return key, key_id, vkey


def sign(text, name, key, key_id):
    signature = base64.b64encode(key_id + key.sign(text.encode())).decode()
    return text + "\n\u2014 " + name + " " + signature + "\n"


def export(size, key, key_id, vkey):
    """Every file of the export of entries 0..<size, as {path: bytes}."""
    entries = [entry(i) for i in range(size)]
    leaves = [leaf(e) for e in entries]
    files = {}
    # Entry bundles: big-endian uint16 length, then the entry.
    for start in range(0, size, 256):
        chunk = entries[start:start + 256]
        files[tile_path(None, start // 256, len(chunk))] = b"".join(struct.pack(">H", len(e)) + e for e in chunk)
    # Level-l tile n, hash i: MTH of leaves [(n*256+i)*256**l, (n*256+i+1)*256**l).
    level = 0
    while size >> (8 * level):
        span = 256 ** level
        count = size // span  # whole subtrees of 256**level leaves
        for n in range(0, count, 256):
            hashes = [mth(leaves[(n + i) * span:(n + i + 1) * span]) for i in range(min(256, count - n))]
            files[tile_path(level, n // 256, len(hashes))] = b"".join(hashes)
        level += 1
    root = mth(leaves)
    text = "%s\n%d\n%s\n" % (ORIGIN, size, base64.b64encode(root).decode())
    files["checkpoint"] = sign(text, ORIGIN, key, key_id).encode()
    files["vkey"] = (vkey + "\n").encode()
    return files


def main():
    key, key_id, vkey = signer()
    for size in SIZES:
        files = export(size, key, key_id, vkey)
        with open(os.path.join(HERE, "export-%d.sha256" % size), "w") as out:
            for path in sorted(files):
                out.write("%s  %s\n" % (hashlib.sha256(files[path]).hexdigest(), path))
        if size == 70000:
            with open(os.path.join(NOTE_DIR, "pdx-checkpoint-70000.note"), "wb") as out:
                out.write(files["checkpoint"])
    with open(os.path.join(NOTE_DIR, "pdx.vkey"), "w") as out:
        out.write(vkey + "\n")
    with open(os.path.join(NOTE_DIR, "pdx.seed.hex"), "w") as out:
        out.write(SEED.hex() + "\n")
    # A checkpoint with extension lines, over the 258-entry tree.
    root = mth([leaf(entry(i)) for i in range(258)])
    text = "%s\n258\n%s\nextension one\n\u00e9xtension two\n" % (ORIGIN, base64.b64encode(root).decode())
    with open(os.path.join(NOTE_DIR, "pdx-checkpoint-extensions.note"), "wb") as out:
        out.write(sign(text, ORIGIN, key, key_id).encode())


if __name__ == "__main__":
    main()
