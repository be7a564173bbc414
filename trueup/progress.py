"""A progress bar on stderr for long tree hashes: shown on a TTY after about a second, silent otherwise.

Silent when stderr is not a terminal, when ``CI`` is set, and when the caller is quiet (``--json``),
so piped and machine-read output never carries it. rich is imported only once a bar is due.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

DELAY_S = 1.0


def wanted(quiet: bool, stream=None) -> bool:
    """Whether a bar may be shown at all."""
    stream = sys.stderr if stream is None else stream
    if quiet or os.environ.get("CI"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class _Bar:
    """Calls made before DELAY_S only remember the count; the rich bar appears on the first call after."""

    def __init__(self, total_hint: int | None, label: str, stream) -> None:
        self.total = total_hint or None
        self.label = label
        self.stream = stream
        self.started = time.monotonic()
        self.progress = None
        self.task = None

    def __call__(self, done: int) -> None:
        if self.progress is None:
            if time.monotonic() - self.started < DELAY_S:
                return
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), console=Console(file=self.stream), transient=True)
            self.progress.start()
            self.task = self.progress.add_task(self.label, total=self.total)
        total = self.total if self.total is None or done <= self.total else done
        self.progress.update(self.task, completed=done, total=total)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


@contextmanager
def progress_for(total_hint: int | None, quiet: bool, label: str = "hashing",
                 stream=None) -> Iterator[Callable[[int], None] | None]:
    """A ``progress(done)`` callback for observe_tree, or None (pass it on as is) when no bar is wanted.

    None rather than a no-op lets observe_tree skip its progress plumbing entirely.
    """
    stream = sys.stderr if stream is None else stream
    if not wanted(quiet, stream):
        yield None
        return
    bar = _Bar(total_hint, label, stream)
    try:
        yield bar
    finally:
        bar.close()
