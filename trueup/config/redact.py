"""Secret-like keys: matching, `<redacted>` display, and keyed hashes so secrets never leave their files."""

from __future__ import annotations

import hashlib
import hmac
import json
from fnmatch import fnmatchcase
from typing import Any

REDACTED = "<redacted>"

# Always applied; a manifest's `secret_keys` adds to these (over-redacting is safe, under-redacting is not).
DEFAULT_SECRET_KEYS = (
    "*token*",
    "*secret*",
    "*password*",
    "*passwd*",
    "*credential*",
    "*apikey*",
    "*api_key*",
    "*api-key*",
    "*private_key*",
    "*privatekey*",
    "*access_key*",
    "*auth_key*",
)


def secret_patterns(extra: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*DEFAULT_SECRET_KEYS, *(p.lower() for p in extra or ())]))


def is_secret_name(name: str, patterns: tuple[str, ...]) -> bool:
    lowered = name.lower()
    return any(fnmatchcase(lowered, pattern) for pattern in patterns)


def is_secret_path(names: tuple[str, ...], patterns: tuple[str, ...]) -> bool:
    """A dotted path is secret if any of its keys, or the whole dotted path, matches a pattern."""
    return any(is_secret_name(name, patterns) for name in names) or is_secret_name(".".join(names), patterns)


def contains_secret(value: Any, patterns: tuple[str, ...]) -> bool:
    if isinstance(value, dict):
        return any(is_secret_name(str(k), patterns) or contains_secret(v, patterns) for k, v in value.items())
    if isinstance(value, list):
        return any(contains_secret(item, patterns) for item in value)
    return False


def redact_value(value: Any, patterns: tuple[str, ...]) -> Any:
    """A copy safe to show: the value under every secret-like key replaced by `<redacted>`."""
    if isinstance(value, dict):
        return {
            k: REDACTED if is_secret_name(str(k), patterns) else redact_value(v, patterns) for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact_value(item, patterns) for item in value]
    return value


def canonical_bytes(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def plain_hash(value: Any) -> str:
    return "sha256:" + hashlib.sha256(canonical_bytes(value)).hexdigest()


def keyed_hash(value: Any, key: bytes) -> str:
    return "hmac-sha256:" + hmac.new(key, canonical_bytes(value), hashlib.sha256).hexdigest()


def keyed_digest(data: bytes, key: bytes) -> str:
    return "hmac-sha256:" + hmac.new(key, data, hashlib.sha256).hexdigest()
