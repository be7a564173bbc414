"""The one version normaliser: how trueup decides two version strings name the same release."""

from __future__ import annotations


def version_key(version: str) -> str:
    """'v1', '1.0' and '1.0.0' are one version; anything not purely numeric compares as written (minus a 'v')."""
    text = version[1:] if version[:1] in "vV" else version
    parts = text.split(".")
    if not all(p.isdigit() for p in parts):
        return text
    while len(parts) > 1 and int(parts[-1]) == 0:
        parts.pop()
    return ".".join(str(int(p)) for p in parts)


def same_version(a: str, b: str) -> bool:
    return version_key(a) == version_key(b)
