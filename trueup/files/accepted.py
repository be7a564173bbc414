"""Accepted local differences: what the operator recorded as theirs, so it is no longer drift."""

from __future__ import annotations

from typing import Any

from trueup.model.facts import FileFact


def accepted_fact(ledger: dict[str, Any], path: str) -> FileFact | None:
    record = ledger["accepted"].get(path)
    return FileFact.from_json(record["fact"]) if record else None


def is_accepted(ledger: dict[str, Any], path: str, live: FileFact) -> bool:
    accepted = accepted_fact(ledger, path)
    return accepted is not None and accepted.matches(live)
