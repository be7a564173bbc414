"""What policy remembers between runs, in <state_dir>/policy.json: the plan hashes applied automatically (each at
most once, a failure included: it is reported, never retried) and the automatic heals (limits, cooldown, flap guard)."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from attrs import field, frozen

from trueup.errors import TrueupError
from trueup.state.atomic import write_text

NAME = "policy.json"
KEEP = timedelta(days=31)  # heals older than every window a limit or guard can name are forgotten


@frozen
class Heal:
    at: datetime
    component: str
    group: str
    type: str
    id: str
    rule: str | None = None


@frozen
class PolicyState:
    """The past that decide() reads: an input like the plan and the clock, so decisions stay a pure function."""

    heals: tuple[Heal, ...] = ()
    applied: dict[str, dict[str, Any]] = field(factory=dict)  # plan_hash → {at, ok, error?, actions}


def path(state_dir: Path) -> Path:
    return state_dir / NAME


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def load(state_dir: Path) -> PolicyState:
    where = path(state_dir)
    try:
        raw = json.loads(where.read_text("utf-8"))
    except FileNotFoundError:
        return PolicyState()
    except (OSError, ValueError) as exc:
        # Without its memory policy could approve past its limits or apply a plan twice: stop instead.
        raise TrueupError(f"{where}: cannot read the policy state ({type(exc).__name__}: {str(exc)[:80]})",
                          hint=f"move {where} aside: the limits and the applied plans it remembered start afresh") from None
    try:
        heals = tuple(Heal(at=_at(h["at"]), component=h["component"], group=h["group"], type=h["type"], id=h["id"],
                           rule=h.get("rule")) for h in raw.get("heals", ()))
        return PolicyState(heals=heals, applied=dict(raw.get("applied", {})))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise TrueupError(f"{where}: the policy state is not in the form trueup writes ({type(exc).__name__})",
                          hint=f"move {where} aside: the limits and the applied plans it remembered start afresh") from None


@contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    """Read-modify-write of policy.json one process at a time (a watcher and an operator may both apply)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(state_dir / "policy.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # held for one small JSON write: waiting is right
        yield
    finally:
        os.close(fd)


def update(state_dir: Path, change: Callable[[PolicyState], PolicyState | None], now: datetime) -> PolicyState:
    """Apply ``change`` to the current state under the lock and save what it returns (None: leave it as it is)."""
    with _locked(state_dir):
        current = load(state_dir)
        changed = change(current)
        if changed is not None:
            save(state_dir, changed, now)
        return current


def save(state_dir: Path, state: PolicyState, now: datetime) -> None:
    heals = [h for h in state.heals if now - h.at <= KEEP]
    document = {
        "format_version": 1,
        "applied": state.applied,
        "heals": [{"at": h.at.isoformat(), "component": h.component, "group": h.group, "type": h.type, "id": h.id,
                   "rule": h.rule} for h in sorted(heals, key=lambda h: (h.at, h.id))],
    }
    state_dir.mkdir(parents=True, exist_ok=True)
    write_text(path(state_dir), json.dumps(document, indent=2, sort_keys=True) + "\n")
