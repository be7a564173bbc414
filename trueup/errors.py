"""The TrueupError family: one clear line, an optional hint, and the exit code to leave with."""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_DRIFT = 2
EXIT_REFUSED = 3
EXIT_UNREACHABLE = 5
EXIT_PARTIAL = 8


class TrueupError(Exception):
    """An error the operator can act on; rendered as one line, never a traceback."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} (hint: {self.hint})"


class ManifestError(TrueupError):
    """trueup.yaml (or an included file) is missing, unparsable or invalid."""


class GitError(TrueupError):
    """A git command failed on a component's source."""


class PlanFileError(TrueupError):
    """A plan file cannot be read or does not validate."""


class RefusedError(TrueupError):
    """apply refuses (approve too, for a gated upgrade): altered plan, another workspace's plan, stale plan, held lock,
    unsafe path, gated upgrade."""

    exit_code = EXIT_REFUSED


class UnsafePathError(RefusedError):
    """A path from a manifest or plan would escape its root."""
