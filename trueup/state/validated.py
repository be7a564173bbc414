"""A memo of documents already validated: skip re-validating bytes that passed before.

jsonschema's cost grows with every ledger file entry (seconds at 100k files: docs/performance.md),
while the ledger rarely changes between plans. Keyed by the SHA-256 of the raw
bytes and the schema name, a hit means these exact bytes were valid under this schema version, so the
answer cannot differ. Lives in the cache dir; a lost or corrupt memo only costs one validation.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from trueup.state.atomic import write_text

KEEP = 64  # digests remembered per schema: plenty for a workspace's ledgers


def _memo(cache_dir: Path, schema: str) -> Path:
    return cache_dir / f"validated-{schema}.txt"


def _key(raw: bytes, schema_version: str) -> str:
    return hashlib.sha256(schema_version.encode() + b"\0" + raw).hexdigest()


def _read(path: Path) -> list[str]:
    try:
        lines = path.read_text("ascii").split()
    except (OSError, UnicodeDecodeError):
        return []
    return [line for line in lines if len(line) == 64 and all(c in "0123456789abcdef" for c in line)]


def already_valid(cache_dir: Path | None, schema: str, schema_version: str, raw: bytes) -> bool:
    """True when ``raw`` passed ``schema`` (at ``schema_version``, e.g. a hash of the schema file) before."""
    if cache_dir is None:
        return False
    return _key(raw, schema_version) in _read(_memo(cache_dir, schema))


def remember_valid(cache_dir: Path | None, schema: str, schema_version: str, raw: bytes) -> None:
    """Record that ``raw`` is valid; call only after a real validation passed."""
    if cache_dir is None:
        return
    path = _memo(cache_dir, schema)
    key = _key(raw, schema_version)
    keys = [k for k in _read(path) if k != key]
    try:
        write_text(path, "\n".join([key, *keys][:KEEP]) + "\n", mode=0o600)
    except OSError:
        pass


def forget(cache_dir: Path | None, schema: str) -> None:
    """Drop the whole memo of ``schema``: it vouched for bytes that do not validate, so none of it is trusted."""
    if cache_dir is None:
        return
    try:
        _memo(cache_dir, schema).unlink(missing_ok=True)
    except OSError:
        pass
