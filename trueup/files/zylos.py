"""Zylos records as evidence for adoption: what an install looked like when Zylos installed it, and its version.

Zylos (zylos-ai/zylos-core) keeps two records of what it installed, both plain JSON:

- ``<skill>/.zylos/manifest.json``: ``{"files": {path: sha256}, "generated_at": …}``, the hash of every file it
  installed (its ``generateManifest``: ``.git``, ``.zylos``, ``node_modules`` and ``.backup`` left out). A live
  file whose hash is still the recorded one is as installed; one that differs was edited since.
- ``$ZYLOS_DIR/.zylos/components.json`` (``ZYLOS_DIR`` defaults to ``~/zylos``): ``{name: {"version", "repo",
  "skillDir", …}}``, the version it installed into each skill directory.

Both are read, never written, and only believed as far as they check out: a record that is not the shape above
is ignored (and the plan says nothing of it).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

_SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_RECORD = 64 << 20  # bytes: a record larger than this is not one Zylos wrote for a skill


def _read_json(path: Path) -> Any:
    try:
        if path.stat().st_size > MAX_RECORD:
            return None
        return json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None


def install_record(root: Path) -> dict[str, str] | None:
    """path → sha256 of each file Zylos installed into ``root``, from ``.zylos/manifest.json``; None without one."""
    document = _read_json(root / ".zylos" / "manifest.json")
    files = document.get("files") if isinstance(document, dict) else None
    if not isinstance(files, dict) or not files:
        return None
    out = {}
    for rel, sha in files.items():
        if not (isinstance(rel, str) and isinstance(sha, str) and _SHA256.fullmatch(sha)):
            return None
        rel = rel.replace(os.sep, "/")
        if rel.startswith("/") or ".." in rel.split("/"):
            return None
        out[rel] = sha
    return out


def registry_version(root: Path) -> tuple[str, str] | None:
    """(version, where it was read) that ``components.json`` records for the skill installed at ``root``."""
    base = Path(os.environ.get("ZYLOS_DIR") or Path.home() / "zylos")
    where = base / ".zylos" / "components.json"
    document = _read_json(where)
    if not isinstance(document, dict):
        return None
    try:
        real = os.path.realpath(root)
    except (OSError, ValueError):
        return None
    for entry in document.values():
        if not isinstance(entry, dict) or not isinstance(entry.get("skillDir"), str):
            continue
        version = entry.get("version")
        if isinstance(version, str) and version and os.path.realpath(entry["skillDir"]) == real:
            home = str(Path.home())
            shown = str(where)
            return version, "~" + shown[len(home):] if shown.startswith(home + "/") else shown
    return None
