"""The install ledger <install>/.trueup/install.json: the last-written snapshot of a component."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from trueup import __version__
from trueup.errors import TrueupError, shorten, tail, value
from trueup.schemas.validate import field_path, first_error
from trueup.state import ledger_index
from trueup.state.atomic import write_bytes
from trueup.state.canonical import canonical_json
from trueup.state.ledger_entry import Entry, compact, json_default, plain
from trueup.state.validated import already_valid, forget, remember_valid

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
    except OSError as exc:  # a directory named install.json, a file where the install directory should be, …
        raise TrueupError(f"{shorten(str(ledger_path(install_path)), 160)}: cannot read the ledger: {exc.strerror}",
                          hint="the ledger must be a file inside the install directory") from None


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


# Ledger bytes (sha256) this process validated without a memo: unlike the memo on disk nothing else can write it,
# so apply validates the ledger it rewrites once, not again in the fresh observation it checks the plan against.
_VALIDATED_HERE: set[bytes | None] = set()


def parse(install_path: Path, raw: bytes | bytearray, cache_dir: Path | None = None) -> dict[str, Any]:
    """The ledger document; bytes validated before (memo in ``cache_dir``) are not validated again.

    Canonical file entries come back as compact ``Entry`` mappings (see ledger_entry.py). A bytearray
    is consumed (emptied once decoded), so a 100k-file ledger is not held as bytes and text at once.
    """
    where = tail(str(ledger_path(install_path)))
    mine = hashlib.sha256(raw).digest() if cache_dir is None else None
    valid_before = mine in _VALIDATED_HERE or already_valid(cache_dir, "ledger", _schema_version(), raw)
    hint = "restore it from version control or a backup, or move it away and run trueup plan to import"
    try:
        document = json.loads(raw, object_hook=compact)
    except ValueError as exc:
        raise TrueupError(f"{where}: not valid JSON ({shorten(str(exc), 120)})", hint=hint) from None
    except RecursionError:
        raise TrueupError(f"{where}: not valid JSON (nested too deeply)", hint=hint) from None
    # A memo is a hint: the paths observation will read are checked whatever it says (~14 ms at 100k).
    _refuse_unsafe_files(where, document)
    if not valid_before:
        _refuse_surrogates(where, raw, document)
        # A compact Entry is a canonical file entry by construction (ledger_entry.compact): only the rest needs the
        # schema. Validating every entry again was most of an apply's start at 10k files (~0.5 s under load).
        files = document.get("files") if isinstance(document, dict) else None
        body = ({**document, "files": {k: v for k, v in files.items() if type(v) is not Entry}}
                if isinstance(files, dict) else document)
        try:
            error = first_error("ledger", plain(body))
        except RecursionError:
            raise TrueupError(f"{where}: not a trueup ledger (nested too deeply)", hint=hint) from None
        if error is not None:
            raise TrueupError(f"{where}: {describe_error(error)}",
                              hint="restore it, or move it away and import the directory")
        remember_valid(cache_dir, "ledger", _schema_version(), raw)
        if mine is not None:
            _VALIDATED_HERE.add(mine)
    if isinstance(raw, bytearray):
        raw.clear()
    return document


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _refuse_surrogates(where: Path, raw: bytes | bytearray, document: Any) -> None:
    """A lone surrogate (an escape such as \\udc80) cannot be written as UTF-8, so trueup never wrote it; and
    paths and hashes made of it would fail later. The bytes are UTF-8, so only such an escape brings one in."""
    if b"\\u" not in raw or not _SURROGATE_ESCAPE.search(raw):
        return
    try:
        json.dumps(document, ensure_ascii=False, default=json_default).encode("utf-8")
    except UnicodeEncodeError:
        raise TrueupError(f"{where}: holds a lone surrogate (a \\uD800-\\uDFFF escape), which trueup never writes",
                          hint="restore it from version control or a backup, or move it away and import the directory") from None


def _refuse_unsafe_files(where: str, document: Any) -> None:
    """A `files` key that would lead observation out of the install is a damaged entry, never a path to read."""
    files = document.get("files") if isinstance(document, dict) else None
    bad = ledger_index.first_unsafe_path(files) if isinstance(files, dict) else None
    if bad is not None:
        raise TrueupError(f"{where}: files: entry {value(bad, 60)} is not a path inside the install",
                          hint="restore it, or move it away and import the directory")


def describe_error(error) -> str:
    """``field: problem`` for a ledger schema error, its values escaped and shortened (a damaged entry is named)."""
    field = shorten(field_path(error), 80)
    if "propertyNames" in error.schema_path:  # a key of files / accepted / generated
        return f"{field}: entry {value(error.instance)} is not a path inside the install"
    if error.validator == "not":  # the ledger schema's one "not": a relpath
        return f"{field}: {value(error.instance)} is not a path inside the install"
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})), key=str)
        return f"{field}: {value(extra[0] if extra else '?', 50)} is not a known field"
    if error.validator == "required":
        return f"{field}: {shorten(error.message, 80)}"
    if error.validator in ("type", "pattern", "enum", "const", "maxLength", "minLength"):
        return f"{field}: {value(error.instance, 50)} is not valid here ({error.validator}: {shorten(str(error.validator_value), 40)})"
    return f"{field}: {shorten(error.message, 160)}"


def load(install_path: Path, cache_dir: Path | None = None) -> dict[str, Any] | None:
    """The ledger, or None; bytes validated before (memo in ``cache_dir``) are not validated again."""
    raw = read_bytes(install_path)
    return parse(install_path, raw, cache_dir) if raw is not None else None


def load_for_rewrite(install_path: Path, cache_dir: Path | None, notify=lambda message: None) -> dict[str, Any] | None:
    """The ledger apply is about to rewrite, validated whatever the validation memo says (a memo is a hint, and a
    wrong one must not let broken bytes be rewritten); a memo that vouched for bytes that fail is discarded."""
    raw = read_bytes(install_path)
    if raw is None:
        return None
    try:
        return parse(install_path, raw, None)
    except TrueupError:
        if already_valid(cache_dir, "ledger", _schema_version(), raw):
            forget(cache_dir, "ledger")
            notify(f"discarded the validation memo in {cache_dir}: it vouched for a ledger that does not validate")
        raise


def save(install_path: Path, document: dict[str, Any], cache_dir: Path | None = None) -> bytes:
    """Write the ledger; returns its trust key (what the stat cache and the ledger index name it by)."""
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
    key = trust_key(hashlib.sha256(data).digest())
    ledger_index.save(cache_dir, install_path, document, key)
    return key


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
