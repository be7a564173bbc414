"""When two spellings of a command run the same thing: relative paths resolved against a cwd, names of programs."""

from __future__ import annotations

import os
from collections.abc import Sequence


def _same_path(a: str, b: str) -> bool:
    return os.path.normpath(a) == os.path.normpath(b)


def _resolve(word: str, cwd: str | None) -> str:
    return os.path.join(cwd, word) if cwd and not os.path.isabs(word) else word


def command_matches(expected: Sequence[str], actual: Sequence[str], actual_cwd: str | None) -> bool:
    """Whether ``actual`` argv runs the ``expected`` words.

    A bare program name matches any path with that name (``node`` ~ ``/usr/bin/node``); paths match when
    they resolve to one file from the process's own cwd, whichever side is relative (``./server/index.js``,
    ``server/index.js`` and ``/srv/app/server/index.js`` are one file there; a moved cwd is cwd-mismatch,
    not also a command mismatch); an expected command without its interpreter (``server/index.js``) matches
    an actual one that has it.
    """
    if not expected:
        return True

    def word_matches(want: str, have: str, first: bool) -> bool:
        if want == have:
            return True
        if first and "/" not in want:
            return os.path.basename(have) == want
        if "/" in want or "/" in have:  # a path on at least one side: compare the files they name
            return _same_path(_resolve(want, actual_cwd), _resolve(have, actual_cwd))
        return False

    def all_match(words: Sequence[str]) -> bool:
        return len(words) == len(expected) and all(word_matches(w, h, i == 0) for i, (w, h) in enumerate(zip(expected, words)))

    return all_match(actual) or (len(actual) > 1 and all_match(actual[1:]))


def canonical_argv(argv: Sequence[str], cwd: str | None) -> tuple[str, ...]:
    """``argv`` as one spelling: path words (the program's too) absolute and normalised, other words as written."""
    return tuple(os.path.normpath(_resolve(w, cwd)) if "/" in w and "://" not in w else w for w in argv)


def same_command(a: Sequence[str], a_cwd: str | None, b: Sequence[str], b_cwd: str | None) -> bool:
    """Whether two definitions run the same program on the same files, whatever directory each was written from.

    A bare program name (``node``, which systemd and launchd look up) is the same program as a path ending in it.
    """
    one, two = canonical_argv(a, a_cwd), canonical_argv(b, b_cwd)
    if not one or len(one) != len(two) or one[1:] != two[1:]:
        return False
    if one[0] == two[0]:
        return True
    return ("/" not in one[0] or "/" not in two[0]) and os.path.basename(one[0]) == os.path.basename(two[0])
