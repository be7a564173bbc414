"""The file monitor of trueup watch: events since the last cycle per install root, and the token they are valid for.

Like git's fsmonitor, it hands each plan an opaque token and the paths events named since it
(trueup.files.changed). The token is the stamp of the stat cache the monitor knows to be truthful; it is
forgotten — the next plan then walks everything, as without a monitor — when events were lost (the kernel's
queue overflowed), when the monitor (re)starts, when a cycle fails, and when the cache on disk was rewritten
by a walk that began before the events were taken (another `trueup plan` running meanwhile).
"""

from __future__ import annotations

import os
import select
import time
from pathlib import Path

from trueup.files.changed import ChangedPaths, cache_token, root_key
from trueup.files.globs import spec_matcher
from trueup.files.patterns import Matcher
from trueup.manifest import ComponentSpec
from trueup.state import resident, stat_cache
from trueup.state.racy import RACY_SLACK_NS
from trueup.watch.inotify import Inotify, Unavailable


class Monitor:
    """Events below the install roots of ``specs``; without inotify every cycle walks everything."""

    def __init__(self, specs: list[ComponentSpec], cache_dir: Path) -> None:
        self.cache_dir = cache_dir
        self.roots = {root_key(s.install_path): s for s in specs}
        self.pending: dict[str, set[str]] = {r: set() for r in self.roots}
        self.tokens: dict[str, int | None] = {r: None for r in self.roots}
        self.lost = 0  # how many times events were lost (shown by --json's cycle records)
        self.inotify: Inotify | None = None
        self.taken_at = 0
        self.before: dict[str, int | None] = {}
        self.error: str | None = None
        self.start()

    def start(self) -> None:
        """(Re)start watching: nothing seen before counts, so every root is walked in full next."""
        self.close()
        self.tokens = {r: None for r in self.roots}
        self.pending = {r: set() for r in self.roots}
        resident.keep(True)  # its stat caches and ledger digests, between cycles (trueup/state/resident.py)
        try:
            inotify = Inotify()
        except Unavailable as exc:
            self.error = exc.strerror
            return
        try:
            for root, spec in self.roots.items():
                if os.path.isdir(root):
                    ignored = Matcher(spec_matcher(spec.ignore))
                    inotify.add_tree(root, ignored)
        except Unavailable as exc:
            inotify.close()
            self.error = exc.strerror
            return
        self.inotify = inotify
        self.error = None

    def close(self) -> None:
        stat_cache.flush()  # the caches kept in memory: on disk before they are forgotten
        resident.keep(False)
        if self.inotify is not None:
            self.inotify.close()
            self.inotify = None

    def wait(self, timeout: float, settle: float = 0.02, most: float = 0.1, wake: object = None) -> bool:
        """Wait up to ``timeout`` s for events; True when some came (gathered until ``settle`` s pass quietly,
        ``most`` s at most: one cycle for a burst of writes, not one per write). ``wake`` (a file descriptor or
        object with fileno()) ready ends the wait too, returning False."""
        waits = [w for w in (self.inotify, wake) if w is not None]
        if not waits:
            time.sleep(timeout)
            return False
        ready = select.select(waits, [], [], timeout)[0]
        if self.inotify is None or self.inotify not in ready:
            return False
        end = time.monotonic() + most
        self._drain()
        while (left := end - time.monotonic()) > 0 and select.select([self.inotify], [], [], min(settle, left))[0]:
            self._drain()
        return True

    def _drain(self) -> None:
        assert self.inotify is not None
        try:
            paths, lost = self.inotify.read()
        except OSError:
            self.start()  # the descriptor failed: a new one, and everything walked in full
            return
        if lost:
            self.forget()
        for path in paths:
            for root in self.roots:
                if path.startswith(root + "/"):
                    self.pending[root].add(path[len(root) + 1:])
                    break
                if path == root:
                    self.pending[root].add("")  # the root itself: its entries, and all below
                    break

    def forget(self) -> None:
        """Events were lost: no root's token holds any more."""
        self.lost += 1
        self.tokens = {r: None for r in self.roots}

    def take(self) -> dict[str, ChangedPaths]:
        """The hints for the next plan (roots without a token get none: walked in full); events from now on
        are kept for the cycle after."""
        if self.inotify is not None:
            self._drain()  # whatever arrived since wait(): the plan about to start need not wait a cycle for it
            watched = set(self.inotify.dirs.values())
            if any(root not in watched and os.path.isdir(root) for root in self.roots):
                self.start()  # a root was removed or replaced: its watches went with it
        self.taken_at = time.time_ns()
        self.before = {r: cache_token(self.cache_dir, Path(r)) for r in self.roots}
        hints = {}
        for root, token in self.tokens.items():
            if token is not None and self.inotify is not None:
                hints[root] = ChangedPaths(token, frozenset(self.pending[root]))
        self.taken = {r: set(p) for r, p in self.pending.items()}
        self.pending = {r: set() for r in self.roots}
        return hints

    def done(self, ok: bool) -> None:
        """After the plan: which cache the next events are relative to (see the module's docstring)."""
        if not resident.active():  # a stat cache could be neither written nor removed (trueup/state/stat_cache.py)
            resident.keep(True)
            ok = False
        if not ok:
            for root, paths in self.taken.items():
                self.pending[root] |= paths
            self.tokens = {r: None for r in self.roots}
            return
        for root in self.roots:
            after = cache_token(self.cache_dir, Path(root))
            # Unchanged: this cycle's walk found it truthful. Rewritten: trusted only if its walk began after take().
            fresh = after is not None and (after == self.before.get(root) or after + RACY_SLACK_NS >= self.taken_at)
            self.tokens[root] = after if fresh and self.inotify is not None else None
