"""Whether a rule's match covers an action. Pure: a Subject and a Match in, a bool out.

A rule that can approve (auto, require-approval) matches only when every target and every drift kind of the action
matches; a deny rule matches when any does — both the conservative reading.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from functools import lru_cache

from trueup.policy.rules import WILDCARD, Match
from trueup.policy.subjects import Subject


@lru_cache(maxsize=256)
def _spec(pattern: str):
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines([pattern])


def _any_glob(patterns: tuple[str, ...], value: str) -> bool:
    return any(fnmatchcase(value, p) for p in patterns)


def _values(wanted: tuple[str, ...], values: tuple[str, ...], every: bool) -> bool:
    if not wanted or WILDCARD in wanted:
        return True
    if not values:
        return False
    hits = [v in wanted for v in values]
    return all(hits) if every else any(hits)


def _paths(patterns: tuple[str, ...], targets: tuple[str, ...], every: bool) -> bool:
    if not patterns:
        return True
    if not targets:  # an action without paths (an upgrade of the whole install, a restart) is not in any glob
        return False
    hits = [any(_spec(p).match_file(t) for p in patterns) for t in targets]
    return all(hits) if every else any(hits)


def matches(match: Match, subject: Subject, *, deny: bool = False) -> bool:
    every = not deny
    return (_values(match.action, (subject.type,), every)
            and _values(match.cls, (subject.cls,), every)
            and _values(match.kind, subject.kinds, every)
            and (not match.component or _any_glob(match.component, subject.component))
            and (not match.host or _any_glob(match.host, subject.host))
            and (not match.provenance or _any_glob(match.provenance, subject.provenance))
            and _paths(match.path, subject.targets, every))
