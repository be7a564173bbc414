"""The workspace lineage: a random id made on the first plan or apply, recorded in every plan, checked by apply.

Like Terraform's state lineage, it tells one workspace from another that merely has identical files: a plan
made in one checkout never applies to another checkout's install. Several workspaces may share a state dir
(the default one), so the id is kept per workspace directory: ``<state_dir>/lineage/<digest of the root>.json``.
A workspace copied or moved to another directory starts a new lineage there; plans made before are refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from pathlib import Path

from trueup.errors import TrueupError
from trueup.state.atomic import create_text
from trueup.state.canonical import canonical_json

LINEAGE_DIR = "lineage"
PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_ID = re.compile(PATTERN)


def path_for(state_dir: Path, root: Path) -> Path:
    return state_dir / LINEAGE_DIR / f"{hashlib.sha256(os.fsencode(root)).hexdigest()[:16]}.json"


def read(state_dir: Path, root: Path) -> str | None:
    """The workspace's lineage id, or None before its first plan or apply."""
    path = path_for(state_dir, root)
    try:
        record = json.loads(path.read_bytes())
        lineage = record["lineage"]
        if not isinstance(lineage, str) or not _ID.match(lineage):
            raise ValueError(lineage)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        raise TrueupError(f"{path}: not a trueup lineage record",
                          hint="delete it to start a new lineage (plans made before are then refused)") from None
    return lineage


def ensure(state_dir: Path, root: Path) -> str:
    """The workspace's lineage id, made now (random) if it has none yet."""
    found = read(state_dir, root)
    if found is not None:
        return found
    # Created only if absent: of two first plans racing, both end up recording the one id that was kept.
    path = path_for(state_dir, root)
    try:
        create_text(path, canonical_json({"lineage": str(uuid.uuid4()), "workspace": str(root)}))
    except OSError as exc:
        raise TrueupError(f"{path}: cannot record the workspace lineage: {exc.strerror or exc}",
                          hint="trueup needs a writable state dir (state_dir: in trueup.yaml)") from None
    return read(state_dir, root)  # type: ignore[return-value]  # just made, or made by a racing plan
