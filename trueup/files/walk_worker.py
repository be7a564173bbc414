"""The per-directory work of a tree walk: one packed block per directory, each entry with its ledger verdict.

The same code runs in-process or in forked workers (trueup.files.fork). Record bytes are read and
written through trueup.state.stat_records; this module decides what goes in them.
"""

from __future__ import annotations

import operator
import os
import stat
from collections.abc import Callable
from typing import Any

from trueup.files import hashing
from trueup.files.patterns import Matcher
from trueup.state import stat_cache, stat_records
from trueup.state.stat_cache import CLEAN, IGNORED, KIND_FILE, KIND_OTHER, KIND_SYMLINK, SECRET, TRACKED
from trueup.state.stat_records import NO_OLD, ZERO, canonical, matches_ledger

LEDGER_DIR = ".trueup"
_O_ROOT = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)  # the root may be a symlink
_O_DIR = _O_ROOT | getattr(os, "O_NOFOLLOW", 0)
_MTIME, _CTIME = operator.attrgetter("st_mtime_ns"), operator.attrgetter("st_ctime_ns")

Progress = Callable[[int], None]


class Verdicts:
    """How an entry's TRACKED/CLEAN flags are decided: against the parsed ledger, or from trusted cache verdicts.

    Trusted: every ledger path was, when the cache was written, either clean (its record says so, and
    the record's fact *is* the ledger entry) or listed in ``dirty`` with its ledger entry. ``cached``
    is then the trusted cache's data (None when the ledger itself decides).
    """

    def __init__(self, files: dict[str, dict[str, Any]] | None, dirty: dict[str, dict[str, Any]],
                 cached: bytes | None = None) -> None:
        self.files = files
        self.dirty = dirty
        self.cached = cached

    def decide(self, rel: str, flags: int, kind: int, mode: int, digest: bytes, j: int | None, stats_at: int,
               facts_at: int) -> tuple[int, bytes]:
        """(``flags`` with TRACKED and CLEAN decided, expected OLD record) of a live fact; ``j``: the entry's
        record in its cached block (records from ``stats_at``/``facts_at``), if it had one."""
        files_v, dirty = self.files, self.dirty
        if files_v is not None:  # the parsed ledger decides
            raw = files_v.get(rel)
            if raw is not None:
                flags |= TRACKED
                if not flags & (IGNORED | SECRET) and matches_ledger(raw, kind, mode, digest):
                    flags |= CLEAN
        elif (raw := dirty.get(rel)) is not None:
            flags |= TRACKED
            if not flags & (IGNORED | SECRET) and raw == canonical(kind, mode, digest):
                flags |= CLEAN
        elif ((data := self.cached) is not None and j is not None
              and stat_records.cached_flags(data, facts_at, j) & TRACKED):
            # Clean when cached and not in dirty: the cached fact is the ledger entry.
            o_kind, o_mode, o_digest = stat_records.cached_ledger_fact(data, stats_at, facts_at, j)
            flags |= TRACKED
            if not flags & (IGNORED | SECRET) and canonical(o_kind, o_mode, o_digest) == canonical(kind, mode, digest):
                flags |= CLEAN
            return flags, stat_records.expected(o_kind, o_mode, o_digest)
        return flags, NO_OLD


class Hint:
    """A monitor's hint prepared for a walk: dirty directories, dirty subtrees, and the cache's directory tree."""

    def __init__(self, dirs: frozenset[str], subtrees: tuple[str, ...], cached_dirs: Any) -> None:
        self.dirs = dirs
        self.subtrees = subtrees
        self.children: dict[str, list[str]] = {}
        for prefix in cached_dirs:
            if prefix:
                self.children.setdefault(prefix[:prefix.rfind("/", 0, len(prefix) - 1) + 1], []).append(prefix)


def _counts_notable(flags: int) -> int:
    """Whether an entry with ``flags`` counts in its block's n_notable (what _emit returns 1 for)."""
    return 1 if (flags & IGNORED and flags & TRACKED) or not flags & (IGNORED | CLEAN) else 0


class Worker:
    """Walks shards and writes one packed block per directory; the same code runs in-process or forked."""

    def __init__(self, ignore: Matcher, secrets: Matcher, cache: stat_cache.StatCache | None,
                 verdicts: Verdicts, trust: bool, special: frozenset[str], hint: Hint | None = None,
                 skip: Any = ()) -> None:
        # None when the spec has no patterns: two calls per file saved on the common manifest.
        self.ignore = None if ignore.never else ignore
        self.secret = None if secrets.never else secrets
        self.cache = cache
        self.data = cache.data if cache is not None else b""
        self.verdicts = verdicts
        self.trust = trust  # cached flags are valid verdicts against the current ledger
        self.special = special
        self.special_dirs = frozenset(p.rpartition("/")[0] + "/" if "/" in p else "" for p in special)
        self.blocks = bytearray()
        self.ndirs = 0
        self.notable_names: list[str] = []
        self.notable = bytearray()  # per notable entry: STAT, FACT, OLD
        self.tracked_seen = 0
        self.hashed = 0
        self.changed = 0  # directories not identical to their cached block
        self.entries = 0
        self.errors: list[tuple[int, str, str]] = []
        self.buf = memoryview(bytearray(hashing.CHUNK))
        self.tick: Callable[[int], None] | None = None
        self.hint = hint  # only with a trusted cache: trueup.files.tree decides
        self.skip = skip  # directories not to descend into: their cached blocks stay as they are (files/splice.py)

    def _error(self, exc: OSError, path: str) -> None:
        # ``path`` in full: calls relative to a directory descriptor carry only the entry's name.
        self.errors.append((exc.errno or 0, exc.strerror or str(exc), path))

    def walk(self, prefix: str, directory: str, recurse: bool) -> None:
        """One directory's files, and with ``recurse`` everything below it."""
        stack = [(prefix, directory)]
        while stack:
            prefix, directory = stack.pop()
            if self.hint is not None and self._unchanged(prefix, directory, stack if recurse else None):
                continue
            # Listed through a descriptor, each entry's lstat is an fstatat relative to it (cheaper than
            # resolving the whole path again), and O_NOFOLLOW keeps a directory swapped for a symlink out.
            try:
                fd = os.open(directory, _O_DIR if prefix else _O_ROOT)
            except OSError as exc:
                self._error(exc, directory)
                continue
            try:
                files = []
                with os.scandir(fd) as it:
                    for de in it:
                        if not prefix and de.name == LEDGER_DIR:
                            continue
                        try:
                            is_dir = de.is_dir(follow_symlinks=False)
                        except OSError:
                            is_dir = False
                        if not is_dir:
                            files.append(de)
                        elif (recurse and (self.ignore is None or not self.ignore(prefix + de.name + "/"))
                              and prefix + de.name + "/" not in self.skip):
                            stack.append((prefix + de.name + "/", directory + "/" + de.name))
                self._directory(prefix, directory, fd, files)
            finally:
                os.close(fd)
            if self.tick is not None:
                self.tick(self.entries)

    def _unchanged(self, prefix: str, directory: str, stack: list[tuple[str, str]] | None) -> bool:
        """With a monitor's hint: a cached directory no event touched is its cached block as it is (not even
        listed or lstat'ed), and its subdirectories are the cache's. False: look at it as usual."""
        hint = self.hint
        at = self.cache.dirs.get(prefix)
        if at is None or prefix in hint.dirs or prefix.startswith(hint.subtrees):
            return False
        count, n_tracked, n_notable, _, _, _, end = stat_records.block(self.data, at)
        self.ndirs += 1
        self.entries += count
        self.blocks += self.data[at:end]
        self.tracked_seen += n_tracked
        if n_notable or prefix in self.special_dirs:
            self.cached_notables(prefix, at)
        if stack is not None:
            stack.extend((child, directory + "/" + child[len(prefix):-1]) for child in hint.children.get(prefix, ()))
        return True

    def _directory(self, prefix: str, directory: str, fd: int, files: list[os.DirEntry[str]]) -> None:
        self.ndirs += 1
        self.entries += len(files)
        names_b = stat_records.encode_names([de.name for de in files])
        at = self.cache.dirs.get(prefix) if self.cache is not None else None
        stats = None
        if at is not None and self.trust:
            data = self.data
            count, n_tracked, n_notable, names_at, stats_at, _, end = stat_records.block(data, at)
            if count == len(files) and stats_at - names_at == len(names_b) and data.startswith(names_b, names_at):
                try:
                    stats = [de.stat(follow_symlinks=False) for de in files]
                except OSError:
                    stats = None
                if stats is not None and (not stats or max(max(map(_MTIME, stats)), max(map(_CTIME, stats))) < self.cache.stamp_ns):
                    packed = stat_records.pack_stats(stats)
                    changed = stat_records.differing(b"".join(packed), data, stats_at, 0, count)
                    if not changed:
                        # Unchanged since the cache: its block, verdicts included, is still the truth.
                        self.blocks += data[at:end]
                        self.tracked_seen += n_tracked
                        if n_notable or prefix in self.special_dirs:
                            self.cached_notables(prefix, at)
                        return
                    self.changed += 1
                    if self._patch(prefix, directory, fd, files, stats, packed, at, changed):
                        return
                    self._entries(prefix, directory, fd, files, at, stats)
                    return
        self.changed += 1
        self._entries(prefix, directory, fd, files, at, stats)

    def cached_notables(self, prefix: str, at: int, skip: frozenset[int] = frozenset()) -> None:
        """The notable entries of an unchanged directory (or of its unchanged entries), from its cached block."""
        _, _, _, names_at, stats_at, facts_at, _ = stat_records.block(self.data, at)
        for i, name, packed, fact, mode in stat_records.block_records(self.data, names_at, stats_at, facts_at):
            if i in skip:
                continue
            self._emit(prefix + name, packed, fact, mode)

    def _patch(self, prefix: str, directory: str, fd: int, files: list[os.DirEntry[str]], stats: list[os.stat_result],
               packed: list[bytes], at: int, changed: list[int]) -> bool:
        """Same names, none racy, only the entries ``changed`` have other lstats: the cached block with just
        those redone (a tree with a few changed files touches many directories, for one or two files each). False
        when an entry vanished meanwhile: then the whole directory is looked at again."""
        data = self.data
        count, n_tracked, n_notable, names_at, stats_at, facts_at, end = stat_records.block(data, at)
        redone = []
        for i in changed:
            de = files[i]
            entry = self._entry(prefix + de.name, de.name, stats[i], packed[i], fd, directory, i, stats_at, facts_at)
            if entry is None:
                return False
            redone.append((i, entry))
        facts = bytearray(data[facts_at:end])
        if n_notable or prefix in self.special_dirs:
            self.cached_notables(prefix, at, skip=frozenset(changed))
        for i, (fact, flags, expected_old) in redone:
            old_flags = stat_records.cached_flags(data, facts_at, i)
            n_tracked += (flags & TRACKED) - (old_flags & TRACKED)
            n_notable -= _counts_notable(old_flags)
            stat_records.set_fact(facts, i, fact)
            rel = prefix + files[i].name
            if not flags & CLEAN or rel in self.special or rel in self.verdicts.dirty:
                n_notable += self._emit(rel, packed[i], fact, stats[i].st_mode, expected_old)
        self.tracked_seen += n_tracked
        self.blocks += stat_cache.dir_block(os.fsencode(prefix), data[names_at:stats_at], b"".join(packed),
                                            bytes(facts), n_tracked, n_notable)
        return True

    def _entries(self, prefix: str, directory: str, fd: int, files: list[os.DirEntry[str]], at: int | None,
                 stats_done: list[os.stat_result] | None) -> None:
        """A directory that differs from its cached block (or has none): entry by entry (``stats_done``: their
        lstats when the bulk comparison already took them)."""
        data = self.data
        old: dict[str, int] = {}
        stats_at = facts_at = 0
        if at is not None:
            count, _, _, names_at, stats_at, facts_at, _ = stat_records.block(data, at)
            if count:
                old = {n: i for i, n in enumerate(stat_records.decode_names(data[names_at:stats_at]))}
        special, dirty = self.special, self.verdicts.dirty
        names: list[str] = []
        stats = bytearray()
        facts = bytearray()
        n_tracked = n_notable = 0
        for i, de in enumerate(files):
            rel = prefix + de.name
            try:
                st = stats_done[i] if stats_done is not None else de.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            except OSError as exc:
                self._error(exc, directory + "/" + de.name)
                continue
            packed = stat_records.pack_stat(st)
            entry = self._entry(rel, de.name, st, packed, fd, directory, old.get(de.name), stats_at, facts_at)
            if entry is None:
                continue
            fact, flags, expected_old = entry
            n_tracked += flags & TRACKED
            if not flags & CLEAN or rel in special or rel in dirty:  # else _emit would return 0 at once
                n_notable += self._emit(rel, packed, fact, st.st_mode, expected_old)
            names.append(de.name)
            stats += packed
            facts += fact
        self.tracked_seen += n_tracked
        self.blocks += stat_cache.dir_block(os.fsencode(prefix), stat_records.encode_names(names),
                                            bytes(stats), bytes(facts), n_tracked, n_notable)

    def _entry(self, rel: str, name: str, st: os.stat_result, packed: bytes, fd: int, directory: str, j: int | None,
               stats_at: int, facts_at: int) -> tuple[bytes, int, bytes] | None:
        """(FACT, its flags, expected OLD) of one entry; ``j``: its record in the cached block, if it had one.
        None when it vanished (or could not be read: the error is recorded)."""
        data, trust = self.data, self.trust
        mode = st.st_mode
        # Racy-clean: a cached digest is trusted only for an entry older than the walk that wrote it.
        same = (j is not None and stat_records.same_stat(data, stats_at, j, packed)
                and st.st_mtime_ns < self.cache.stamp_ns and st.st_ctime_ns < self.cache.stamp_ns)
        if same and trust:  # unchanged entry in a changed directory: its cached fact and verdict stand
            return (*stat_records.cached_fact(data, facts_at, j), NO_OLD)
        kind = KIND_FILE if stat.S_ISREG(mode) else KIND_SYMLINK if stat.S_ISLNK(mode) else KIND_OTHER
        flags = 0
        digest = ZERO
        if self.ignore is not None and self.ignore(rel):
            flags = IGNORED
        elif self.secret is not None and self.secret(rel):
            flags = SECRET  # existence and mode only: a secret's content is never read, not even to hash it
        elif kind != KIND_OTHER:
            cached = stat_records.cached_digest(data, facts_at, j, kind) if same else None
            if cached is not None:
                digest = cached
            else:
                try:
                    if kind == KIND_FILE:
                        digest = hashing.digest_at(name, st.st_size, fd, self.buf)
                        self.hashed += 1
                    else:
                        digest = hashing.sha256_raw(os.fsencode(os.readlink(name, dir_fd=fd)))
                except FileNotFoundError:
                    return None  # removed while we walked: it is absent now
                except OSError as exc:
                    self._error(exc, directory + "/" + name)
                    return None
        flags, expected_old = self.verdicts.decide(rel, flags, kind, mode, digest, j, stats_at, facts_at)
        return stat_records.pack_fact(kind, flags, digest), flags, expected_old

    def _emit(self, rel: str, packed: bytes, fact: bytes, mode: int, expected_old: bytes = NO_OLD) -> int:
        """Hand a notable entry to the parent; 1 when it counts as not clean for its directory's block.

        Notable: not clean, or a generated path, or in dirty (so the parent knows it was seen); a tracked
        ignored entry only so it can be counted as seen.
        """
        kind, flags, digest = stat_records.unpack_fact(fact)
        if flags & IGNORED:
            if not flags & TRACKED:
                return 0
        elif flags & CLEAN and rel not in self.special and rel not in self.verdicts.dirty:
            return 0
        if flags & CLEAN:
            expected_old = stat_records.expected(kind, mode, digest)  # a clean entry's fact is its ledger entry
        self.notable_names.append(rel)
        stat_records.append_notable(self.notable, packed, fact, expected_old)
        return 0 if flags & CLEAN else 1

    def result(self) -> tuple[Any, ...]:
        """(blocks, notable names, notable records, counters, errors)."""
        names = stat_records.encode_names(self.notable_names)
        counters = (self.ndirs, self.tracked_seen, self.hashed, self.changed, len(self.notable_names))
        return bytes(self.blocks), names, bytes(self.notable), counters, self.errors
