"""A cheap structural guard for "plan writes nothing it observes": while planning, a write outside
trueup's own corners of the state dir (the cache, and the mirrors of remote sources) raises instead of happening.

Python's audit hooks see every open() and os-level mutation the interpreter makes (including in forked
walkers); git subprocesses are outside their reach, and trueup only runs read-only git commands while planning,
besides refreshing a mirror of a remote source in the state dir. A hook cannot be removed, so one is
installed once and does nothing unless a plan is running.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
# Audit events that change the file system, and which of their arguments name the paths they change.
_MUTATIONS = {
    "os.rename": (0, 1), "os.remove": (0,), "os.rmdir": (0,), "os.mkdir": (0,), "os.chmod": (0,),
    "os.chown": (0,), "os.symlink": (1,), "os.link": (1,), "os.truncate": (0,), "os.utime": (0,),
    "shutil.rmtree": (0,), "shutil.copyfile": (1,), "shutil.move": (0, 1),
}
_allowed: tuple[str, ...] | None = None  # the directories a plan may write below; None: no plan running
_installed = False


class PlanWroteError(RuntimeError):
    """A bug: plan tried to change something it observes."""


def _bytecode_cache(text: str, making_dir: bool) -> bool:
    """The interpreter's own cache of a module trueup imports lazily (``__pycache__/x.cpython-311.pyc``, written
    through a temp file and a rename): not something plan observes, and a stale one is rewritten wherever
    PYTHONDONTWRITEBYTECODE is unset."""
    prefix = sys.pycache_prefix
    if prefix and (text == os.path.abspath(prefix) or text.startswith(os.path.abspath(prefix) + os.sep)):
        return True
    parent, name = os.path.split(text)
    if making_dir:
        return name == "__pycache__"
    return os.path.basename(parent) == "__pycache__" and (name.endswith(".pyc") or ".pyc." in name)


def _check(path: object, *, making_dir: bool = False) -> None:
    if isinstance(path, int) or path is None or _allowed is None:
        return
    text = os.path.abspath(os.fsdecode(path))
    if text == os.devnull or any(text == root or text.startswith(root + os.sep) for root in _allowed):
        return
    if _bytecode_cache(text, making_dir):
        return
    if making_dir and any(root.startswith(text + os.sep) for root in _allowed):
        return  # the parents of those directories (the state dir) may be created
    raise PlanWroteError(f"trueup plan tried to write {text}; plan writes only below {' and '.join(_allowed)}")


def _hook(event: str, args: tuple) -> None:
    if _allowed is None:
        return
    if event == "open":
        if args[2] & _WRITE_FLAGS:
            _check(args[0])
    elif event in _MUTATIONS:
        for index in _MUTATIONS[event]:
            _check(args[index], making_dir=event == "os.mkdir")


@contextmanager
def planning(state_dir: Path, also: tuple[Path, ...] = ()) -> Iterator[None]:
    """Inside: any write outside ``state_dir/cache`` and ``state_dir/sources`` (and making their parents), or the
    scratch directories ``also``, raises."""
    global _allowed, _installed
    if not _installed:
        sys.addaudithook(_hook)
        _installed = True
    previous, _allowed = _allowed, (os.path.abspath(state_dir / "cache"), os.path.abspath(state_dir / "sources"),
                                    *(os.path.abspath(p) for p in also))
    try:
        yield
    finally:
        _allowed = previous
