"""The stat cache's records byte by byte, and how a record compares with a ledger entry.

``stat_cache`` defines the file (header, DIR blocks, STAT and FACT records); this module is everything
else that knows where a field sits: reading a cached block's records, packing new ones, the record a
walk worker hands its parent for a notable entry (STAT, FACT, OLD), and the comparison of a fact with
a ledger entry, packed (``Entry``) or not. Walkers call these and never index into a record themselves.
"""

from __future__ import annotations

import functools
import os
import stat
import struct
import sys
from collections.abc import Iterator
from typing import Any

from trueup.state.ledger_entry import Entry
from trueup.state.stat_cache import DIR, FACT, KIND_FILE, KIND_SYMLINK, STAT

ZERO = bytes(32)
# The expected (ledger) fact of a notable entry, known from its clean cached record: kind, known?, mode, sha256.
OLD = struct.Struct("<BBI32s")
NO_OLD = OLD.pack(0, 0, 0, ZERO)
# A notable entry as a worker hands it to the parent: its STAT, FACT and OLD records back to back.
NOTABLE = struct.Struct("<" + STAT.format[1:] + FACT.format[1:] + OLD.format[1:])
_MODE = struct.Struct("<32xI")  # st_mode alone out of a STAT record
_ENC, _ERRS = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()

# FACT records: (kind, flags, sha256) out of one, and one out of them.
unpack_fact = FACT.unpack
pack_fact = FACT.pack


def encode_names(names: list[str]) -> bytes:
    """A names field: NUL-separated, fs-encoded."""
    return "\0".join(names).encode(_ENC, _ERRS)


def decode_names(names: bytes) -> list[str]:
    return names.decode(_ENC, _ERRS).split("\0") if names else []  # an empty directory has no names, not one ""


def pack_stat(st: Any) -> bytes:
    """The STAT record of an lstat result."""
    return STAT.pack(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_mode)


def pack_stats(stats: list[Any]) -> list[bytes]:
    """The STAT records of a directory's lstat results (one call per directory, not per entry)."""
    return [STAT.pack(s.st_size, s.st_mtime_ns, s.st_ctime_ns, s.st_ino, s.st_mode) for s in stats]


def block(data: bytes, at: int) -> tuple[int, int, int, int, int, int, int]:
    """(count, n_tracked, n_notable, names_at, stats_at, facts_at, end) of the DIR block at offset ``at``."""
    plen, nlen, count, n_tracked, n_notable = DIR.unpack_from(data, at)
    names_at = at + DIR.size + plen
    stats_at = names_at + nlen
    facts_at = stats_at + count * STAT.size
    return count, n_tracked, n_notable, names_at, stats_at, facts_at, facts_at + count * FACT.size


def block_records(data: bytes, names_at: int, stats_at: int, facts_at: int) -> list[tuple[int, str, bytes, bytes, int]]:
    """(index, name, STAT record, FACT record, st_mode) of each entry of a cached block, in its names' order
    (a list, not a generator: cheaper per entry)."""
    s, f = STAT.size, FACT.size
    return [(i, name, (packed := data[stats_at + i * s:stats_at + (i + 1) * s]),
             data[facts_at + i * f:facts_at + (i + 1) * f], STAT.unpack(packed)[4])
            for i, name in enumerate(decode_names(data[names_at:stats_at]))]


def same_stat(data: bytes, stats_at: int, j: int, packed: bytes) -> bool:
    """Whether record ``j`` of a cached block is the STAT record ``packed``."""
    return data.startswith(packed, stats_at + j * STAT.size)


def cached_fact(data: bytes, facts_at: int, j: int) -> tuple[bytes, int]:
    """(FACT record, flags) of record ``j`` of a cached block."""
    return data[facts_at + j * FACT.size:facts_at + (j + 1) * FACT.size], data[facts_at + j * FACT.size + 1]


def cached_flags(data: bytes, facts_at: int, j: int) -> int:
    return data[facts_at + j * FACT.size + 1]


def cached_digest(data: bytes, facts_at: int, j: int, kind: int) -> bytes | None:
    """The digest of record ``j`` of a cached block when it is of ``kind``; None otherwise."""
    if data[facts_at + j * FACT.size] == kind:
        return data[facts_at + j * FACT.size + 2:facts_at + (j + 1) * FACT.size]
    return None


def cached_ledger_fact(data: bytes, stats_at: int, facts_at: int, j: int) -> tuple[int, int, bytes]:
    """(kind, mode, digest) of record ``j`` of a cached block."""
    o_kind = data[facts_at + j * FACT.size]
    o_mode = STAT.unpack_from(data, stats_at + j * STAT.size)[4]
    o_digest = data[facts_at + j * FACT.size + 2:facts_at + (j + 1) * FACT.size]
    return o_kind, o_mode, o_digest


def set_fact(facts: bytearray, i: int, fact: bytes) -> None:
    """Replace record ``i`` of a block's FACT records."""
    facts[i * FACT.size:(i + 1) * FACT.size] = fact


def differing(fresh: bytes, data: bytes, at: int, lo: int, hi: int) -> list[int]:
    """Indices in [lo, hi) whose STAT record in ``fresh`` differs from ``data`` (records from offset ``at``):
    halving, so k changed records out of n cost about 2k·log(n/k) byte comparisons, not n."""
    w = STAT.size
    if data.startswith(fresh[lo * w:hi * w], at + lo * w):
        return []
    if hi - lo == 1:
        return [lo]
    mid = (lo + hi) // 2
    return differing(fresh, data, at, lo, mid) + differing(fresh, data, at, mid, hi)


def expected(kind: int, mode: int, digest: bytes) -> bytes:
    """The OLD record of a ledger entry known to be this fact."""
    return OLD.pack(kind, 1, mode, digest)


def append_notable(buf: bytearray, packed: bytes, fact: bytes, old: bytes) -> None:
    """Add a NOTABLE record (STAT, FACT, OLD) to ``buf``."""
    buf += packed
    buf += fact
    buf += old


def iter_notable(names: bytes, records: Any) -> Iterator[tuple[str, int, int, int, bytes, dict[str, Any] | None]]:
    """(path, mode, kind, flags, digest, expected ledger entry or None) of each NOTABLE record in ``records``,
    named by the NUL-separated ``names``."""
    for rel, (_, _, _, _, mode, kind, flags, digest, o_kind, known, o_mode, o_digest) in \
            zip(decode_names(names), NOTABLE.iter_unpack(records)):
        yield rel, mode, kind, flags, digest, canonical(o_kind, o_mode, o_digest) if known else None


def iter_blocks(blocks: bytes) -> Iterator[tuple[str, list[str], memoryview, memoryview]]:
    """(prefix, names, packed stats, packed facts) of each directory block."""
    view = memoryview(blocks)
    at = 0
    while at < len(blocks):
        plen, nlen, count, _, _ = DIR.unpack_from(blocks, at)
        at += DIR.size
        prefix = os.fsdecode(bytes(view[at:at + plen]))
        at += plen
        names = str(view[at:at + nlen], _ENC, _ERRS).split("\0") if count else []
        at += nlen
        stats = view[at:at + count * STAT.size]
        at += count * STAT.size
        facts = view[at:at + count * FACT.size]
        at += count * FACT.size
        yield prefix, names, stats, facts


def iter_entries(names: list[str], stats: memoryview, facts: memoryview) -> Iterator[tuple[Any, ...]]:
    """(name, (st_mode,), (kind, flags, digest)) of each entry of a block from ``iter_blocks``."""
    return zip(names, _MODE.iter_unpack(stats), FACT.iter_unpack(facts))


def _mode_text(mode: int) -> str:
    """A mode as the ledger writes it (as trueup.model.facts.format_mode does)."""
    return f"{stat.S_IMODE(mode):04o}"


def canonical(kind: int, mode: int, digest: bytes) -> dict[str, Any]:
    """The ledger entry of a fact, exactly as trueup writes it (FileFact.to_json)."""
    if kind == KIND_FILE:
        return {"type": "file", "mode": _mode_text(mode), "sha256": digest.hex()}
    if kind == KIND_SYMLINK:
        return {"type": "symlink", "sha256": digest.hex()}
    return {"type": "other", "mode": _mode_text(mode)}


@functools.cache
def _entry_prefix(mode: int) -> bytes:
    """The packed-Entry prefix of a regular file with ``mode`` (a handful of distinct modes per tree)."""
    return Entry.key(mode & 0o7777, b"")


def matches_ledger(raw: Any, kind: int, mode: int, digest: bytes) -> bool:
    """Whether the fact (kind, mode, digest) is exactly the ledger entry ``raw`` (an Entry or a dict)."""
    if type(raw) is Entry:  # the common case: compare packed bytes, build nothing
        return kind == KIND_FILE and raw.packed == _entry_prefix(mode) + digest
    return raw == canonical(kind, mode, digest)

