"""The limits a plan file is held to before trueup believes a byte of it.

A plan is input like any other (committed, edited in pull requests, carried between machines), so its size
is bounded before it is decoded and its shape before it is validated: a 3 MB file of a million empty actions,
or brackets nested 100,000 deep, is refused in milliseconds instead of costing gigabytes. Each limit is far
above what a real plan reaches (a 10,000-item plan is ~17 MB and ~150,000 objects and arrays).
"""

from __future__ import annotations

import json
import re
from typing import Any

from trueup.errors import PlanFileError, escape, value

MAX_BYTES = 256 * 1024 * 1024
# Objects and arrays ('{' and '[' counted before decoding: an upper bound). A 60,000-item plan (a forgotten
# node_modules/ listed file by file) holds ~900,000; 3 M empty objects decode in ~0.3 GB, refused right after.
MAX_CONTAINERS = 3_000_000
MAX_ITEMS = 200_000  # actions, and drift items of all components together
MAX_DEPTH = 100
NAME_MAX = 255  # bytes in one component of a path an action touches
PATH_MAX = 4096
HINT = "regenerate it with trueup plan -o FILE"
# A \uD800-\uDFFF escape: the only way a lone surrogate gets into a decoded plan (its bytes must be UTF-8).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def check_text(raw: str | bytes, where: str) -> None:
    """Refuse a plan too large to decode: its size and (counting brackets) how many objects and arrays it holds."""
    if len(raw) > MAX_BYTES:
        raise PlanFileError(f"{where}: holds {len(raw)} characters, over the plan limit of {MAX_BYTES}", hint=HINT)
    brackets = ("{", "[") if isinstance(raw, str) else (b"{", b"[")
    containers = raw.count(brackets[0]) + raw.count(brackets[1])
    if containers > MAX_CONTAINERS:
        raise PlanFileError(f"{where}: holds up to {containers} objects and arrays, over the plan limit of {MAX_CONTAINERS}",
                            hint=HINT)


def check_document(document: Any, where: str) -> None:
    """Refuse a decoded plan nested too deeply or with too many items, before the schema looks at it."""
    # Level by level, containers only: ~40 ms for a 12 MB plan (a third of decoding it).
    level, depth = ([document] if type(document) is dict or type(document) is list else []), 0
    while level:
        if depth > MAX_DEPTH:
            raise PlanFileError(f"{where}: nested more than {MAX_DEPTH} levels deep", hint=HINT)
        below: list = []
        for node in level:
            below += [v for v in (node.values() if type(node) is dict else node) if type(v) is dict or type(v) is list]
        level, depth = below, depth + 1
    if not isinstance(document, dict):
        return
    actions = document.get("actions")
    if isinstance(actions, list) and len(actions) > MAX_ITEMS:
        raise PlanFileError(f"{where}: has {len(actions)} actions, over the plan limit of {MAX_ITEMS}", hint=HINT)
    components = document.get("components")
    if isinstance(components, list):
        items = sum(len(c.get("drift") or ()) + len(c.get("info") or ()) for c in components
                    if isinstance(c, dict) and isinstance(c.get("drift") or (), list) and isinstance(c.get("info") or (), list))
        if items > MAX_ITEMS:
            raise PlanFileError(f"{where}: has {items} drift items, over the plan limit of {MAX_ITEMS}", hint=HINT)


def check_paths(document: dict[str, Any], where: str) -> None:
    """Refuse (after the schema passed) an action path no file system can hold: a NUL byte, a name over NAME_MAX
    bytes, a path over PATH_MAX. (Whether a path stays inside its install is apply's path safety.)"""
    for index, action in enumerate(document["actions"]):
        files = (action.get("details") or {}).get("files")
        paths = [("targets", t) for t in action["targets"]]
        if isinstance(files, dict):
            paths += [("details.files", p) for p in files]
        for field, path in paths:
            problem = path_problem(path)
            if problem:
                raise PlanFileError(f"{where}: actions[{index}].{field}: {value(path)} {problem}", hint=HINT)


def path_problem(path: Any) -> str | None:
    if not isinstance(path, str):
        return "is not a string"
    if "\0" in path:
        return "contains a NUL byte"
    encoded = path.encode("utf-8", "surrogateescape")
    if len(encoded) > PATH_MAX:
        return f"is {len(encoded)} bytes long, over the path limit of {PATH_MAX}"
    if any(len(part) > NAME_MAX for part in encoded.split(b"/")):
        return f"has a component over the file-name limit of {NAME_MAX} bytes"
    return None


def check_surrogates(raw: str, document: Any, where: str) -> None:
    """Refuse a plan holding a lone surrogate (an escape such as \\udc80): trueup writes plans as UTF-8, which
    cannot hold one, so no plan it made has one, and hashing or printing it would fail."""
    if "\\u" not in raw or not _SURROGATE_ESCAPE.search(raw):
        return
    try:
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        found = escape(exc.object[exc.start:exc.end])
        raise PlanFileError(f"{where}: holds a lone surrogate ({found}), "
                            "which no plan trueup writes can hold", hint=HINT) from None
