"""The `lists:` selector language: dotted mapping keys, `*` for any mapping key, `[]` for every list item."""

from __future__ import annotations

from trueup.errors import ManifestError

ANY_KEY = "*"
EVERY_ITEM = "[]"


def parse_selector(text: str) -> tuple[str, ...]:
    """``hooks.*[].hooks`` → ("hooks", "*", "[]", "hooks"); a backslash escapes `.`, `[`, `*` and itself."""
    tokens: list[str] = []
    current: list[str] = []
    escaped_current = False
    i = 0

    def close() -> None:
        nonlocal escaped_current
        if current:
            tokens.append("".join(current) if not escaped_current else "\\" + "".join(current))
            current.clear()
        escaped_current = False

    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            current.append(text[i + 1])
            # An escaped `*` is a literal key named "*", not the wildcard; mark the token literal.
            escaped_current = escaped_current or text[i + 1] == "*"
            i += 2
            continue
        if char == ".":
            if not current and (not tokens or tokens[-1] != EVERY_ITEM):
                raise ManifestError(f"config list selector {text!r}: empty key")
            close()
        elif text.startswith(EVERY_ITEM, i):
            close()
            tokens.append(EVERY_ITEM)
            i += 2
            continue
        else:
            current.append(char)
        i += 1
    close()
    if not tokens or tokens[-1] == EVERY_ITEM and len(tokens) == 1:
        raise ManifestError(f"config list selector {text!r} selects nothing")
    return tuple(tokens)


def matches(selector: tuple[str, ...], concrete: tuple[str, ...]) -> bool:
    """Whether a concrete path (mapping keys and `[]` item markers) is selected; exact length, no prefixes."""
    if len(selector) != len(concrete):
        return False
    for want, have in zip(selector, concrete):
        if want == EVERY_ITEM or have == EVERY_ITEM:
            if want != have:
                return False
        elif want == ANY_KEY:
            continue
        elif want.startswith("\\"):
            if want[1:] != have:
                return False
        elif want != have:
            return False
    return True
