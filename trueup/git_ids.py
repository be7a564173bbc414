"""git's object ids computed in Python: a blob's, and a tree's from (path → (mode, blob)) entries. Pure.

The same ids ``git hash-object`` and ``git write-tree`` give, so an install directory can be compared with a
commit's tree without a git index and without running git once per file: adoption finds which commit an install
is (files/adoption.py), provenance whether it is the signed one (provenance/binding.py).
"""

from __future__ import annotations

import hashlib
from typing import Any

FILE, EXECUTABLE, SYMLINK = "100644", "100755", "120000"


def blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def tree_id(entries: dict[str, tuple[str, str]]) -> str:
    """The id git gives the tree of these (path → (mode, blob id)) entries; directories are implied by paths."""
    children: dict[str, Any] = {}
    for rel, entry in entries.items():
        node = children
        *dirs, name = rel.split("/")
        for d in dirs:
            node = node.setdefault(d + "/", {})
        node[name] = entry

    def write(node: dict[str, Any]) -> bytes:
        parts = []
        # git sorts a directory as if its name ended in "/" (the keys here do), by bytes.
        for name in sorted(node, key=lambda n: n.encode("utf-8", "surrogateescape")):
            value = node[name]
            if isinstance(value, dict):
                mode, sha, raw = "40000", write(value), name[:-1]
            else:
                mode, sha, raw = value[0], bytes.fromhex(value[1]), name
            parts.append(mode.encode() + b" " + raw.encode("utf-8", "surrogateescape") + b"\0" + sha)
        body = b"".join(parts)
        return hashlib.sha1(b"tree %d\0" % len(body) + body).digest()

    return write(children).hex()
