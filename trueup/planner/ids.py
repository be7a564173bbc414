"""Stable identities: action ids and digests derived from content, never from counters."""

from __future__ import annotations

import hashlib
from typing import Any

from trueup.state.atomic import canonical_json

ID_LENGTH = 12


def action_id(component: str, action_type: str, targets: tuple[str, ...] | list[str]) -> str:
    """Same component, type and targets → same id, in every plan of the same state."""
    key = "\0".join([component, action_type, *sorted(targets)])
    return hashlib.sha256(key.encode()).hexdigest()[:ID_LENGTH]


def digest(document: Any) -> str:
    return hashlib.sha256(canonical_json(document).encode()).hexdigest()
