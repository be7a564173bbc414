"""Secret files: listed by existence and mode only (content is never read); a group- or world-readable one is flagged."""

from __future__ import annotations

from trueup.model.facts import FileFact
from trueup.model.plan import Drift, DriftClass

# Any permission bit for group or others exposes a secret.
EXPOSING_BITS = 0o077


def diff_secrets(secrets: dict[str, FileFact]) -> list[Drift]:
    items = []
    for path, fact in secrets.items():
        exposed = fact.type == "file" and fact.mode is not None and int(fact.mode, 8) & EXPOSING_BITS
        items.append(Drift(DriftClass.FILE, "secret-exposed" if exposed else "secret", path, None,
                           {"type": fact.type, "mode": fact.mode}, is_drift=False))
    return items
