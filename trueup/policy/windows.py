"""Maintenance windows: a cron expression opens a window that lasts a duration, in a time zone; deny wins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from attrs import frozen

from trueup.errors import TrueupError


@frozen
class Window:
    """A window of policy: opens at each time ``cron`` names (in ``timezone``) and lasts ``length``."""

    cron: str
    length: timedelta
    mode: str = "allow"  # allow | deny
    timezone: str = "UTC"


def decision_time(at: str | None) -> datetime:
    """The time a decision is made as of: now, or ``at`` (ISO 8601; without a zone, UTC) to replay one."""
    if not at:
        return datetime.now(UTC)
    try:
        when = datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        raise TrueupError(f"--at: {at!r} is not an ISO date and time", hint="write it as 2026-11-29T02:30:00Z") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def check_cron(expression: str) -> str | None:
    """None when ``expression`` is a five-field cron expression, else what is wrong with it."""
    from croniter import croniter

    if len(expression.split()) != 5:
        return f"{len(expression.split())} fields, not 5"
    return None if croniter.is_valid(expression) else "a field is out of range or misspelt"


def check_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def is_open(window: Window, now: datetime) -> bool:
    """Whether ``now`` (aware) is inside a window: the latest opening at or before it, plus the duration."""
    from croniter import croniter

    local = now.astimezone(ZoneInfo(window.timezone))
    # croniter's get_prev is strictly before its start: start a second later so an opening at ``now`` counts.
    opened = croniter(window.cron, local + timedelta(seconds=1)).get_prev(datetime)
    return opened <= local < opened + window.length


def verdict(windows: tuple[Window, ...], now: datetime) -> str | None:
    """None when automatic approval may happen now, else why not: inside a deny window (deny wins), or outside
    every allow window when there are any."""
    for window in windows:
        if window.mode == "deny" and is_open(window, now):
            return f"inside the deny window '{window.cron}' ({window.timezone})"
    allows = [w for w in windows if w.mode == "allow"]
    if allows and not any(is_open(w, now) for w in allows):
        return "outside the allow window" + ("s " if len(allows) > 1 else " ") + ", ".join(
            f"'{w.cron}' +{_length(w.length)} ({w.timezone})" for w in allows)
    return None


def _length(length: timedelta) -> str:
    seconds = int(length.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
