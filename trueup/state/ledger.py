"""The install ledger <install>/.trueup/install.json: the last-written snapshot of a component."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from trueup import __version__
from trueup.errors import TrueupError
from trueup.schemas.validate import field_path, first_error
from trueup.state import ledger_index
from trueup.state.atomic import canonical_json, write_bytes
from trueup.state.ledger_entry import Entry, compact, plain
from trueup.state.validated import already_valid, remember_valid

LEDGER_RELPATH = ".trueup/install.json"
INSTALLER = f"trueup {__version__}"


def ledger_path(install_path: Path) -> Path:
    return install_path / LEDGER_RELPATH


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def read_bytes(install_path: Path) -> bytes | None:
    try:
        return ledger_path(install_path).read_bytes()
    except FileNotFoundError:
        return None


def digest(raw: bytes | None) -> str:
    """The fact a plan records about a ledger: its content hash, or 'absent'."""
    return hashlib.sha256(raw).hexdigest() if raw is not None else "absent"


@cache
def _schema_version() -> str:
    from trueup.schemas import validate

    return hashlib.sha256((validate.SCHEMA_DIR / "ledger.schema.json").read_bytes()).hexdigest()


def trust_key(ledger_sha256: bytes) -> bytes:
    """What derived knowledge of a ledger (its packed index, stat-cache verdicts) is keyed by: its bytes and
    the schema they were validated against, so a trueup with a stricter schema never trusts older knowledge."""
    return hashlib.sha256(_schema_version().encode() + ledger_sha256).digest()


def parse(install_path: Path, raw: bytes | bytearray, cache_dir: Path | None = None) -> dict[str, Any]:
    """The ledger document; bytes validated before (memo in ``cache_dir``) are not validated again.

    Canonical file entries come back as compact ``Entry`` mappings (see ledger_entry.py). A bytearray
    is consumed (emptied once decoded), so a 100k-file ledger is not held as bytes and text at once.
    """
    where = ledger_path(install_path)
    valid_before = already_valid(cache_dir, "ledger", _schema_version(), raw)
    if not valid_before:
        try:
            document = json.loads(raw)
        except ValueError as exc:
            raise TrueupError(f"{where}: not valid JSON ({exc})",
                              hint="restore it from version control or a backup, or move it away and run trueup plan to import") from None
        error = first_error("ledger", document)
        if error is not None:
            raise TrueupError(f"{where}: {field_path(error)}: {error.message}",
                              hint="the ledger is trueup's record; restore it, or move it away and import the directory")
        remember_valid(cache_dir, "ledger", _schema_version(), raw)
        del document  # validated as plain dicts; what callers hold is the compact form
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TrueupError(f"{where}: not valid JSON ({exc})", hint="restore it from version control or a backup") from None
    if isinstance(raw, bytearray):
        raw.clear()
    return json.loads(text, object_hook=compact)


def load(install_path: Path, cache_dir: Path | None = None) -> dict[str, Any] | None:
    """The ledger, or None; bytes validated before (memo in ``cache_dir``) are not validated again."""
    raw = read_bytes(install_path)
    return parse(install_path, raw, cache_dir) if raw is not None else None


def save(install_path: Path, document: dict[str, Any], cache_dir: Path | None = None) -> None:
    # A compact Entry is a canonical file entry by construction (ledger_entry.compact): only what is not one,
    # and the rest of the document, needs the schema (10k entries took ~0.3 s to convert and validate again).
    files = document.get("files")
    if isinstance(files, dict):
        files = {k: v for k, v in files.items() if type(v) is not Entry}
    error = first_error("ledger", plain({**document, "files": files}))
    if error is not None:  # a bug in trueup, never an operator's mistake: fail loudly before writing
        raise AssertionError(f"refusing to write an invalid ledger: {field_path(error)}: {error.message}")
    data = canonical_json(document).encode("utf-8")
    write_bytes(ledger_path(install_path), data)
    remember_valid(cache_dir, "ledger", _schema_version(), data)
    ledger_index.save(cache_dir, install_path, document, trust_key(hashlib.sha256(data).digest()))


def new(*, name: str, version: str | None, repo: str, ref: str, commit: str) -> dict[str, Any]:
    return {
        "format_version": 1,
        "name": name,
        "version": version,
        "source": {"repo": repo, "ref": ref, "commit": commit},
        "installed_at": now_iso(),
        "installer": INSTALLER,
        "files": {},
        "generated": {},
        "accepted": {},
        "backups": [],
        "provenance": {"status": "verified", "repo": repo, "commit": commit, "verified_by": "installed-by-trueup"},
    }


def record_backup(document: dict[str, Any], *, path: str, original: str | None, reason: str, sha256: str | None,
                  acknowledged: bool, from_commit: str | None = None, to_commit: str | None = None) -> None:
    record: dict[str, Any] = {"path": path, "original": original, "reason": reason, "acknowledged": acknowledged,
                              "recorded_at": now_iso()}
    if sha256:
        record["sha256"] = sha256
    if from_commit:
        record["from_commit"] = from_commit
    if to_commit:
        record["to_commit"] = to_commit
    document["backups"] = [b for b in document["backups"] if b["path"] != path] + [record]
    document["backups"].sort(key=lambda b: b["path"])
