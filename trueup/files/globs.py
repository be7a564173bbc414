"""The component's path patterns (ignore, secrets, backups) as gitignore-style matchers."""

from __future__ import annotations

from collections.abc import Iterable

import pathspec


def spec_matcher(patterns: Iterable[str]) -> pathspec.PathSpec:
    return pathspec.GitIgnoreSpec.from_lines(patterns)
