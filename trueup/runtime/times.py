"""Start times and file times as one comparable form: ISO-8601 UTC with milliseconds."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_ISO_FRACTION = re.compile(r"\.(\d+)")


def iso_from_ms(epoch_ms: int | float) -> str:
    return iso_from_datetime(datetime.fromtimestamp(epoch_ms / 1000, tz=UTC))


def iso_from_datetime(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text: str | None) -> datetime | None:
    """Parse ISO-8601 as written by the ledger, Docker (nanoseconds) or this module; None if unparsable."""
    if not text:
        return None
    value = text.strip().replace("Z", "+00:00")
    # Docker writes nanoseconds; datetime takes at most microseconds.
    value = _ISO_FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), value, count=1)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def normalize_iso(text: str | None) -> str | None:
    moment = parse_iso(text)
    return iso_from_datetime(moment) if moment else None


def is_before(earlier: str | None, later: str | None) -> bool | None:
    """``earlier < later``; None when either side is unknown (unknown is never drift)."""
    a, b = parse_iso(earlier), parse_iso(later)
    if a is None or b is None:
        return None
    return a < b
