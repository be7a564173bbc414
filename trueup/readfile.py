"""Read a file an operator gave trueup, turning every I/O failure into one clear error line."""

from __future__ import annotations

from pathlib import Path

from trueup.errors import TrueupError


def read_text(path: Path, error: type[TrueupError], *, missing: str, hint: str) -> str:
    """The file's text; ``missing`` and ``hint`` explain a file that does not exist."""
    try:
        return path.read_text("utf-8")
    except FileNotFoundError:
        raise error(f"{path}: {missing}", hint=hint) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read: {exc}") from None
