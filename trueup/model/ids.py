"""Stable identities: action ids, group keys and digests derived from content, never from counters."""

from __future__ import annotations

import hashlib
from typing import Any

from trueup.state.canonical import compact_json
from trueup.state.ledger_entry import json_default

ID_LENGTH = 12


def action_id(component: str, action_type: str, targets: tuple[str, ...] | list[str],
              resolution: str | None = None) -> str:
    """Same component, type and targets (and resolution, where one drift offers a type twice) → same id,
    in every plan of the same state."""
    kind = action_type if resolution is None else f"{action_type}/{resolution}"
    key = "\0".join([component, kind, *sorted(targets)])
    return hashlib.sha256(key.encode()).hexdigest()[:ID_LENGTH]


def group_key(component: str, cls: str, *parts: str | None, entry: str | None = None) -> str:
    """The group of a drift: ``component/class/part…`` (empty parts left out), ``#entry`` for a config entry.

    Alternative actions for one drift share it; a gate names it.
    """
    key = "/".join([component, str(cls), *(p for p in parts if p)])
    return key if entry is None else f"{key}#{entry}"


def digest(document: Any) -> str:
    """sha256 of the compact canonical JSON (sorted keys, no whitespace); see docs/performance.md for why compact."""
    return hashlib.sha256(compact_json(document, json_default).encode()).hexdigest()
