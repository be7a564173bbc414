"""The ownership registry: which entries of a co-owned config file trueup wrote, from which source, with what value.

One JSON file per component and config file under ``<state_dir>/registry/``. Values are recorded as
hashes of their normalized form; secret-like values only as an HMAC keyed with ``<state_dir>/registry.key``
(random, 0600), so a registry or a plan never carries a brute-forceable hash of a secret.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from pathlib import Path
from typing import Any

from attrs import evolve, frozen

from trueup.errors import UnsafePathError
from trueup.schemas.validate import error_line
from trueup.state import atomic
from trueup.state.canonical import canonical_json

FORMAT_VERSION = 1
KEY_FILE = "registry.key"
_SAFE_COMPONENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

OK = "ok"
MISSING = "missing"
CORRUPT = "corrupt"


@frozen
class SourceRef:
    commit: str
    version: str

    def to_json(self) -> dict[str, str]:
        return {"commit": self.commit, "version": self.version}


@frozen
class RegistryEntry:
    owner: str  # "framework" | "user"
    hash: str
    added_in: SourceRef
    last_updated_in: SourceRef

    def to_json(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "hash": self.hash,
            "added_in": self.added_in.to_json(),
            "last_updated_in": self.last_updated_in.to_json(),
        }


@frozen
class LoadedRegistry:
    """A registry as found: ``status`` ok/missing/corrupt; ``digest`` is of the file's bytes (None if absent)."""

    entries: dict[str, RegistryEntry]
    status: str
    digest: str | None
    warning: str | None = None


def registry_path(state_dir: Path, component: str, config_path: str) -> Path:
    if not _SAFE_COMPONENT.match(component):
        raise UnsafePathError(f"component name {component!r} cannot name a registry directory")
    name = hashlib.sha256(config_path.encode("utf-8")).hexdigest()[:16]
    return state_dir / "registry" / component / f"{name}.json"


def _entry(raw: dict[str, Any]) -> RegistryEntry:
    return RegistryEntry(
        owner=raw["owner"],
        hash=raw["hash"],
        added_in=SourceRef(**raw["added_in"]),
        last_updated_in=SourceRef(**raw["last_updated_in"]),
    )


def load_registry(state_dir: Path, component: str, config_path: str) -> LoadedRegistry:
    """Read a registry; a missing or corrupt one yields no entries and a warning, never an exception."""
    path = registry_path(state_dir, component, config_path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return LoadedRegistry({}, MISSING, None)
    except OSError as exc:
        return LoadedRegistry({}, CORRUPT, None, f"registry {path} unreadable ({exc.strerror})")
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return LoadedRegistry({}, CORRUPT, digest, f"registry {path} is not valid JSON")
    problem = error_line("registry", document)
    if problem is None and (document["component"] != component or document["path"] != config_path):
        problem = "belongs to another component or file"
    if problem:
        return LoadedRegistry({}, CORRUPT, digest, f"registry {path} is invalid: {problem}")
    entries = {key: _entry(value) for key, value in sorted(document["entries"].items())}
    return LoadedRegistry(entries, OK, digest)


def render_registry(component: str, config_path: str, entries: dict[str, RegistryEntry]) -> str:
    document = {
        "format_version": FORMAT_VERSION,
        "component": component,
        "path": config_path,
        "entries": {key: entries[key].to_json() for key in sorted(entries)},
    }
    return canonical_json(document)


def save_registry(state_dir: Path, component: str, config_path: str, entries: dict[str, RegistryEntry]) -> bool:
    """Write the registry atomically if its content changed; returns whether a byte was written."""
    path = registry_path(state_dir, component, config_path)
    text = render_registry(component, config_path, entries)
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    atomic.write_text(path, text, mode=0o600)
    return True


def read_key(state_dir: Path) -> bytes | None:
    """The HMAC key, or None when absent or malformed (then no keyed hash can be verified)."""
    try:
        text = (state_dir / KEY_FILE).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not re.fullmatch(r"[0-9a-f]{64}", text):
        return None
    return bytes.fromhex(text)


def ensure_key(state_dir: Path) -> bytes:
    """The HMAC key, created (0600) on first need. Only apply calls this; plan never writes."""
    key = read_key(state_dir)
    if key is not None:
        return key
    key = secrets.token_bytes(32)
    atomic.write_text(state_dir / KEY_FILE, key.hex() + "\n", mode=0o600)
    return key


def touched(entry: RegistryEntry | None, owner: str, value_hash: str, source: SourceRef) -> RegistryEntry:
    """The record after trueup wrote (or the operator accepted) an entry; ``added_in`` survives updates."""
    if entry is None or (entry.owner == "user" and owner == "framework"):
        return RegistryEntry(owner, value_hash, source, source)
    return evolve(entry, owner=owner, hash=value_hash, last_updated_in=source)
