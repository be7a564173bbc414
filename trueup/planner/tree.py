"""One walk of an install directory: what changed since the stat cache, and which entries differ from the ledger.

Scale (docs/performance.md): at 100k files the cost is one lstat per entry and, on a cold cache, one
open/read per file; both are system calls that threads cannot overlap under the GIL (measured 6x
slower than one thread), so the tree is split into shards that forked worker processes take from a
shared queue. A worker compares each directory with its cached block in two byte comparisons (names,
packed lstats); only a directory that differs is looked at entry by entry. Each entry carries a
verdict against the ledger (tracked? clean?), so the parent only ever decodes the few *notable*
entries (not clean, secrets, generated paths), never the whole tree, and on a warm plan it does not
even parse the ledger: the cache's verdicts were computed against the ledger whose digest it names.
"""

from __future__ import annotations

import functools
import hashlib
import operator
import os
import re
import stat
import struct
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from trueup.planner import hashing
from trueup.planner.facts import FileFact, format_mode
from trueup.state import stat_cache
from trueup.state.ledger_entry import Entry
from trueup.state.stat_cache import CLEAN, DIR, FACT, IGNORED, SECRET, STAT, TRACKED

LEDGER_DIR = ".trueup"
KIND_FILE, KIND_SYMLINK, KIND_OTHER = stat_cache.KIND_FILE, stat_cache.KIND_SYMLINK, stat_cache.KIND_OTHER
_TYPES = ("file", "symlink", "other")
_ZERO = bytes(32)
# Fewer shards than this means a small tree (the top levels ran out of directories), where a fork
# (measured: ~3 ms per worker) costs more than it saves.
PARALLEL_MIN_SHARDS = 16
_SHARD_ID = struct.Struct("<I")
# The expected (ledger) fact of a notable entry, known from its clean cached record: kind, known?, mode, sha256.
OLD = struct.Struct("<BBI32s")
_NO_OLD = OLD.pack(0, 0, 0, _ZERO)
_ENC, _ERRS = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()
_O_ROOT = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)  # the root may be a symlink
_O_DIR = _O_ROOT | getattr(os, "O_NOFOLLOW", 0)
_MTIME, _CTIME = operator.attrgetter("st_mtime_ns"), operator.attrgetter("st_ctime_ns")

Progress = Callable[[int], None]


@functools.cache
def _entry_prefix(mode: int) -> bytes:
    """The packed-Entry prefix of a regular file with ``mode`` (a handful of distinct modes per tree)."""
    return Entry.key(mode & 0o7777, b"")


def canonical(kind: int, mode: int, digest: bytes) -> dict[str, Any]:
    """The ledger entry of a fact, exactly as trueup writes it (FileFact.to_json)."""
    if kind == KIND_FILE:
        return {"type": "file", "mode": format_mode(mode), "sha256": digest.hex()}
    if kind == KIND_SYMLINK:
        return {"type": "symlink", "sha256": digest.hex()}
    return {"type": "other", "mode": format_mode(mode)}


def _fact(kind: int, mode: int, digest: bytes, flags: int) -> FileFact:
    if flags & SECRET:
        return FileFact(_TYPES[kind], format_mode(mode) if kind != KIND_SYMLINK else None)
    if kind == KIND_FILE:
        return FileFact("file", format_mode(mode), digest.hex())
    if kind == KIND_SYMLINK:
        return FileFact("symlink", None, digest.hex())
    return FileFact("other", format_mode(mode))


class _Matcher:
    """``spec.match_file`` with a one-regex fast path for the common answer "no pattern matches"."""

    def __init__(self, spec: Any) -> None:
        self.spec = spec
        self.any: re.Pattern[str] | None = None
        self.never = False
        self.anchored = False
        patterns = getattr(spec, "patterns", None)
        if patterns is None:
            return
        regexes = [p.regex.pattern for p in patterns if getattr(p, "include", None) is not None
                   and getattr(p, "regex", None) is not None]
        if not regexes:
            self.never = True
            return
        try:
            # Named groups cannot repeat in one regex; they carry no meaning for a yes/no search.
            self.any = re.compile("|".join(f"(?:{re.sub(r'[(][?]P<[^>]+>', '(?:', r)})" for r in regexes))
        except (re.error, TypeError):  # bytes patterns or odd syntax: always ask the spec itself
            self.any = None
        # Every gitignore regex starts with ^: match() tries position 0 only, search() every position.
        self.anchored = all(r.startswith("^") for r in regexes)

    def __call__(self, rel: str) -> bool:
        if self.never:
            return False
        if self.any is not None and (self.any.match(rel) if self.anchored else self.any.search(rel)) is None:
            return False
        return bool(self.spec.match_file(rel))


def spec_key(ignore: Any, secrets: Any) -> bytes:
    """What the stored verdicts depend on besides the ledger: the ignore and secret patterns (as compiled)."""
    parts = []
    for spec in (ignore, secrets):
        for pattern in getattr(spec, "patterns", ()):
            regex = getattr(pattern, "regex", None)
            parts.append(f"{getattr(pattern, 'include', None)}:{regex.pattern if regex is not None else ''}")
        parts.append("|")
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).digest()


class _Verdicts:
    """How an entry's TRACKED/CLEAN flags are decided: against the parsed ledger, or from trusted cache verdicts.

    Trusted: every ledger path was, when the cache was written, either clean (its record says so, and
    the record's fact *is* the ledger entry) or listed in ``dirty`` with its ledger entry.
    """

    def __init__(self, files: dict[str, dict[str, Any]] | None, dirty: dict[str, dict[str, Any]]) -> None:
        self.files = files
        self.dirty = dirty


def _differing(fresh: bytes, data: bytes, at: int, lo: int, hi: int) -> list[int]:
    """Indices in [lo, hi) whose STAT record in ``fresh`` differs from ``data`` (records from offset ``at``):
    halving, so k changed records out of n cost about 2k·log(n/k) byte comparisons, not n."""
    w = STAT.size
    if data.startswith(fresh[lo * w:hi * w], at + lo * w):
        return []
    if hi - lo == 1:
        return [lo]
    mid = (lo + hi) // 2
    return _differing(fresh, data, at, lo, mid) + _differing(fresh, data, at, mid, hi)


def _counts_notable(flags: int) -> int:
    """Whether an entry with ``flags`` counts in its block's n_notable (what _emit returns 1 for)."""
    return 1 if (flags & IGNORED and flags & TRACKED) or not flags & (IGNORED | CLEAN) else 0


class _Worker:
    """Walks shards and writes one packed block per directory; the same code runs in-process or forked."""

    def __init__(self, ignore: _Matcher, secrets: _Matcher, cache: stat_cache.StatCache | None,
                 verdicts: _Verdicts, trust: bool, special: frozenset[str]) -> None:
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

    def _error(self, exc: OSError, path: str) -> None:
        # ``path`` in full: calls relative to a directory descriptor carry only the entry's name.
        self.errors.append((exc.errno or 0, exc.strerror or str(exc), path))

    def walk(self, prefix: str, directory: str, recurse: bool) -> None:
        """One directory's files, and with ``recurse`` everything below it."""
        stack = [(prefix, directory)]
        while stack:
            prefix, directory = stack.pop()
            # Listed through a descriptor, each entry's lstat is an fstatat relative to it (~15% cheaper than
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
                        elif recurse and (self.ignore is None or not self.ignore(prefix + de.name + "/")):
                            stack.append((prefix + de.name + "/", directory + "/" + de.name))
                self._directory(prefix, directory, fd, files)
            finally:
                os.close(fd)
            if self.tick is not None:
                self.tick(self.entries)

    def _directory(self, prefix: str, directory: str, fd: int, files: list[os.DirEntry[str]]) -> None:
        self.ndirs += 1
        self.entries += len(files)
        names_b = "\0".join([de.name for de in files]).encode(_ENC, _ERRS)
        at = self.cache.dirs.get(prefix) if self.cache is not None else None
        stats = None
        if at is not None and self.trust:
            data = self.data
            plen, nlen, count, n_tracked, n_notable = DIR.unpack_from(data, at)
            names_at = at + DIR.size + plen
            if count == len(files) and nlen == len(names_b) and data.startswith(names_b, names_at):
                try:
                    stats = [de.stat(follow_symlinks=False) for de in files]
                except OSError:
                    stats = None
                if stats is not None and (not stats or max(max(map(_MTIME, stats)), max(map(_CTIME, stats))) < self.cache.stamp_ns):
                    packed = [STAT.pack(s.st_size, s.st_mtime_ns, s.st_ctime_ns, s.st_ino, s.st_mode) for s in stats]
                    stats_at = names_at + nlen
                    changed = _differing(b"".join(packed), data, stats_at, 0, count)
                    if not changed:
                        # Unchanged since the cache: its block, verdicts included, is still the truth.
                        self.blocks += data[at:stats_at + count * (STAT.size + FACT.size)]
                        self.tracked_seen += n_tracked
                        if n_notable or prefix in self.special_dirs:
                            self._cached_notables(prefix, names_at, nlen, count)
                        return
                    self.changed += 1
                    if self._patch(prefix, directory, fd, files, stats, packed, at, changed):
                        return
                    self._entries(prefix, directory, fd, files, at, stats)
                    return
        self.changed += 1
        self._entries(prefix, directory, fd, files, at, stats)

    def _cached_notables(self, prefix: str, names_at: int, nlen: int, count: int, skip: frozenset[int] = frozenset()) -> None:
        """The notable entries of an unchanged directory (or of its unchanged entries), from its cached block."""
        data = self.data
        names = data[names_at:names_at + nlen].decode(_ENC, _ERRS).split("\0")
        stats_at = names_at + nlen
        facts_at = stats_at + count * STAT.size
        for i, name in enumerate(names):
            if i in skip:
                continue
            packed = data[stats_at + i * STAT.size:stats_at + (i + 1) * STAT.size]
            self._emit(prefix + name, packed, data[facts_at + i * FACT.size:facts_at + (i + 1) * FACT.size],
                       STAT.unpack(packed)[4])

    def _patch(self, prefix: str, directory: str, fd: int, files: list[os.DirEntry[str]], stats: list[os.stat_result],
               packed: list[bytes], at: int, changed: list[int]) -> bool:
        """Same names, none racy, only the entries ``changed`` have other lstats: the cached block with just
        those redone (a 1%-changed tree touches ~half its directories, for one or two files each). False
        when an entry vanished meanwhile: then the whole directory is looked at again."""
        data = self.data
        plen, nlen, count, n_tracked, n_notable = DIR.unpack_from(data, at)
        names_at = at + DIR.size + plen
        stats_at = names_at + nlen
        facts_at = stats_at + count * STAT.size
        redone = []
        for i in changed:
            de = files[i]
            entry = self._entry(prefix + de.name, de.name, stats[i], packed[i], fd, directory, i, stats_at, facts_at)
            if entry is None:
                return False
            redone.append((i, entry))
        facts = bytearray(data[facts_at:facts_at + count * FACT.size])
        if n_notable or prefix in self.special_dirs:
            self._cached_notables(prefix, names_at, nlen, count, skip=frozenset(changed))
        for i, (fact, expected_old) in redone:
            old_flags = data[facts_at + i * FACT.size + 1]
            flags = fact[1]
            n_tracked += (flags & TRACKED) - (old_flags & TRACKED)
            n_notable -= _counts_notable(old_flags)
            facts[i * FACT.size:(i + 1) * FACT.size] = fact
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
            plen, nlen, count, _, _ = DIR.unpack_from(data, at)
            names_at = at + DIR.size + plen
            stats_at = names_at + nlen
            facts_at = stats_at + count * STAT.size
            if count:
                old = {n: i for i, n in enumerate(data[names_at:stats_at].decode(_ENC, _ERRS).split("\0"))}
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
            packed = STAT.pack(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_mode)
            entry = self._entry(rel, de.name, st, packed, fd, directory, old.get(de.name), stats_at, facts_at)
            if entry is None:
                continue
            fact, expected_old = entry
            n_tracked += fact[1] & TRACKED
            if not fact[1] & CLEAN or rel in special or rel in dirty:  # else _emit would return 0 at once
                n_notable += self._emit(rel, packed, fact, st.st_mode, expected_old)
            names.append(de.name)
            stats += packed
            facts += fact
        self.tracked_seen += n_tracked
        self.blocks += stat_cache.dir_block(os.fsencode(prefix), "\0".join(names).encode(_ENC, _ERRS),
                                            bytes(stats), bytes(facts), n_tracked, n_notable)

    def _entry(self, rel: str, name: str, st: os.stat_result, packed: bytes, fd: int, directory: str, j: int | None,
               stats_at: int, facts_at: int) -> tuple[bytes, bytes] | None:
        """(FACT, expected OLD) of one entry; ``j``: its record in the cached block, if it had one. None when it
        vanished (or could not be read: the error is recorded)."""
        data, trust = self.data, self.trust
        mode = st.st_mode
        # Racy-clean: a cached digest is trusted only for an entry older than the walk that wrote it.
        same = (j is not None and data.startswith(packed, stats_at + j * STAT.size)
                and st.st_mtime_ns < self.cache.stamp_ns and st.st_ctime_ns < self.cache.stamp_ns)
        if same and trust:  # unchanged entry in a changed directory: its cached fact and verdict stand
            return data[facts_at + j * FACT.size:facts_at + (j + 1) * FACT.size], _NO_OLD
        kind = KIND_FILE if stat.S_ISREG(mode) else KIND_SYMLINK if stat.S_ISLNK(mode) else KIND_OTHER
        flags = 0
        digest = _ZERO
        if self.ignore is not None and self.ignore(rel):
            flags = IGNORED
        elif self.secret is not None and self.secret(rel):
            flags = SECRET  # existence and mode only: a secret's content is never read, not even to hash it
        elif kind != KIND_OTHER:
            if same and data[facts_at + j * FACT.size] == kind:
                digest = data[facts_at + j * FACT.size + 2:facts_at + (j + 1) * FACT.size]
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
        expected_old = _NO_OLD
        files_v, dirty = self.verdicts.files, self.verdicts.dirty
        if files_v is not None:  # the parsed ledger decides
            raw = files_v.get(rel)
            if raw is not None:
                flags |= TRACKED
                if flags & (IGNORED | SECRET):
                    pass
                elif type(raw) is Entry:  # the common case: compare packed bytes, build nothing
                    if kind == KIND_FILE and raw.packed == _entry_prefix(mode) + digest:
                        flags |= CLEAN
                elif raw == canonical(kind, mode, digest):
                    flags |= CLEAN
        elif (raw := dirty.get(rel)) is not None:
            flags |= TRACKED
            if not flags & (IGNORED | SECRET) and raw == canonical(kind, mode, digest):
                flags |= CLEAN
        elif trust and j is not None and data[facts_at + j * FACT.size + 1] & TRACKED:
            # Clean when cached and not in dirty: the cached fact is the ledger entry.
            o_kind = data[facts_at + j * FACT.size]
            o_mode = STAT.unpack_from(data, stats_at + j * STAT.size)[4]
            o_digest = data[facts_at + j * FACT.size + 2:facts_at + (j + 1) * FACT.size]
            flags |= TRACKED
            if not flags & (IGNORED | SECRET) and canonical(o_kind, o_mode, o_digest) == canonical(kind, mode, digest):
                flags |= CLEAN
            expected_old = OLD.pack(o_kind, 1, o_mode, o_digest)
        return FACT.pack(kind, flags, digest), expected_old

    def _emit(self, rel: str, packed: bytes, fact: bytes, mode: int, expected_old: bytes = _NO_OLD) -> int:
        """Hand a notable entry to the parent; 1 when it counts as not clean for its directory's block.

        Notable: not clean, or a generated path, or in dirty (so the parent knows it was seen); a tracked
        ignored entry only so it can be counted as seen.
        """
        kind, flags, digest = FACT.unpack(fact)
        if flags & IGNORED:
            if not flags & TRACKED:
                return 0
        elif flags & CLEAN and rel not in self.special and rel not in self.verdicts.dirty:
            return 0
        if flags & CLEAN:
            expected_old = OLD.pack(kind, 1, mode, digest)  # a clean entry's fact is its ledger entry
        self.notable_names.append(rel)
        self.notable += packed
        self.notable += fact
        self.notable += expected_old
        return 0 if flags & CLEAN else 1

    def result(self) -> tuple[Any, ...]:
        """(blocks, notable names, notable records, counters, errors)."""
        names = "\0".join(self.notable_names).encode(_ENC, _ERRS)
        counters = (self.ndirs, self.tracked_seen, self.hashed, self.changed, len(self.notable_names))
        return bytes(self.blocks), names, bytes(self.notable), counters, self.errors


_PART_HEADER = struct.Struct("<QQQQ5Q")


def _send(fd: int, part: tuple[Any, ...]) -> None:
    """A worker's result down a pipe: lengths and counters, then the blobs, then the (rare) errors as text."""
    errors = "\n".join(f"{e}\t{msg}\t{name}" for e, msg, name in part[4]).encode("utf-8", "surrogateescape")
    blobs = [part[0], part[1], part[2], errors]
    with open(fd, "wb", closefd=True) as out:
        out.write(_PART_HEADER.pack(*(len(b) for b in blobs), *part[3]))
        for b in blobs:
            out.write(b)


def _receive(fh: Any) -> tuple[Any, ...]:
    def exactly(n: int) -> bytes:
        buf = bytearray(n)
        view, got = memoryview(buf), 0
        while got < n:
            k = fh.readinto(view[got:])
            if not k:
                raise EOFError("tree walk worker exited early")
            got += k
        return buf  # type: ignore[return-value]  (bytes-like is enough: no copy of multi-MB blobs)

    *lengths, = _PART_HEADER.unpack(exactly(_PART_HEADER.size))
    blocks, names, notable, errors = (exactly(n) for n in lengths[:4])
    errs = [(int(e), msg, name) for e, msg, name in
            (line.split("\t", 2) for line in bytes(errors).decode("utf-8", "surrogateescape").splitlines())]
    return blocks, bytes(names), notable, tuple(lengths[4:]), errs


def _shards(root: str, ignore: _Matcher, want: int) -> list[tuple[str, str, bool]]:
    """Breadth-first from the root until there are ``want`` subtrees: (prefix, path, recurse) each.

    Directories listed on the way become files-only shards; the rest are whole subtrees.
    """
    from collections import deque

    pending: deque[tuple[str, str]] = deque([("", root)])
    shards: list[tuple[str, str, bool]] = []
    while pending and len(pending) < want:
        prefix, directory = pending.popleft()
        shards.append((prefix, directory, False))
        try:
            with os.scandir(directory) as it:
                for de in it:
                    if not prefix and de.name == LEDGER_DIR:
                        continue
                    if de.is_dir(follow_symlinks=False) and not ignore(prefix + de.name + "/"):
                        pending.append((prefix + de.name + "/", de.path))
        except OSError:
            pass  # the worker's own scandir of it reports the error
    return shards + [(prefix, directory, True) for prefix, directory in pending]


def worker_count() -> int:
    """Processes worth forking: the CPUs this process may run on, and only if forking is safe."""
    if not hasattr(os, "fork") or not sys.platform.startswith("linux"):
        return 1  # macOS frameworks are not fork-safe; elsewhere there is no fork
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() > 1:
        return 1  # a fork while another thread holds a lock could deadlock the child
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 16))


def _run_forked(worker: _Worker, shards: list[tuple[str, str, bool]], n: int,
                progress: Progress | None) -> list[tuple[Any, ...]]:
    """Run shards in ``n`` forked workers that pull shard numbers from one pipe; return their results."""
    import mmap
    import select

    queue_r, queue_w = os.pipe()
    # All shard numbers are written before any fork; the pipe holds 64 KiB, so at most 16384 shards.
    os.write(queue_w, b"".join(_SHARD_ID.pack(i) for i in range(len(shards))))
    os.close(queue_w)
    counters = mmap.mmap(-1, 8 * n)
    children: list[tuple[int, int]] = []
    try:
        for k in range(n):
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:  # child: never returns
                code = 1
                try:
                    os.close(r)
                    for _, other in children:
                        os.close(other)
                    if progress is not None:
                        worker.tick = lambda done, k=k: struct.pack_into("<Q", counters, 8 * k, done)
                    while len(msg := os.read(queue_r, _SHARD_ID.size)) == _SHARD_ID.size:
                        worker.walk(*shards[_SHARD_ID.unpack(msg)[0]])
                    _send(w, worker.result())
                    code = 0
                finally:
                    os._exit(code)
            os.close(w)
            children.append((pid, r))
    finally:
        os.close(queue_r)

    results = []
    failed = False
    for pid, r in children:
        with open(r, "rb", buffering=0, closefd=True) as fh:
            if progress is not None:
                while not select.select([fh], [], [], 0.1)[0]:
                    progress(sum(struct.unpack_from(f"<{n}Q", counters)))
            try:
                results.append(_receive(fh))
            except EOFError:
                failed = True
        _, status = os.waitpid(pid, 0)
        failed = failed or status != 0
    counters.close()
    if failed:
        raise RuntimeError("a tree walk worker process failed")
    return results


def iter_blocks(blocks: bytes) -> Iterator[tuple[str, list[str], memoryview, memoryview]]:
    """(prefix, names, packed stats, packed facts) of each directory block."""
    view = memoryview(blocks)
    at = 0
    while at < len(blocks):
        plen, nlen, count, _, _ = DIR.unpack_from(blocks, at)
        at += DIR.size
        prefix = os.fsdecode(bytes(view[at:at + plen]))
        at += plen
        names = str(view[at:at + nlen], _ENC, _ERRS).split("\0") if count else []
        at += nlen
        stats = view[at:at + count * STAT.size]
        at += count * STAT.size
        facts = view[at:at + count * FACT.size]
        at += count * FACT.size
        yield prefix, names, stats, facts


_MODE = struct.Struct("<32xI")


class TreeSnapshot:
    """One observation of a tree.

    ``notable``: facts of entries that are not clean against the ledger (every entry when there is no
    ledger), plus ``special`` paths; ``secrets``: existence and mode of secret paths; ``tracked`` and
    ``clean``: which notable (or secret, or ignored) paths are in the ledger and equal to it;
    ``expected_old``: ledger entries known from an entry's clean cached record; ``tracked_seen``: how
    many ledger paths the walk met; ``trusted_meta``: the cache's ledger knowledge when its verdicts
    were used (None when the ledger itself decided). ``files`` decodes every file and symlink, only
    when asked for (an upgrade, an import).
    """

    def __init__(self, blocks: bytes) -> None:
        self.blocks = blocks
        self.notable: dict[str, FileFact] = {}
        self.secrets: dict[str, FileFact] = {}
        self.tracked: set[str] = set()
        self.clean: set[str] = set()
        self.expected_old: dict[str, dict[str, Any]] = {}
        self.tracked_seen = 0
        self.trusted_meta: dict[str, Any] | None = None
        self._files: dict[str, FileFact] | None = None

    @property
    def files(self) -> dict[str, FileFact]:
        if self._files is None:
            items: list[tuple[str, FileFact]] = []
            for prefix, names, stats, facts in iter_blocks(self.blocks):
                for name, (mode,), (kind, flags, digest) in zip(names, _MODE.iter_unpack(stats), FACT.iter_unpack(facts)):
                    if not flags & (IGNORED | SECRET):
                        items.append((prefix + name, _fact(kind, mode, digest, flags)))
            items.sort()
            self._files = dict(items)
        return self._files

    def walked_paths(self) -> set[str]:
        return {prefix + name for prefix, names, _, _ in iter_blocks(self.blocks) for name in names}

    def _add_notable(self, names_b: bytes, records: bytes) -> None:
        record = STAT.size + FACT.size + OLD.size
        for i, rel in enumerate(names_b.decode(_ENC, _ERRS).split("\0")):
            at = i * record
            mode = STAT.unpack_from(records, at)[4]
            kind, flags, digest = FACT.unpack_from(records, at + STAT.size)
            if flags & TRACKED:
                self.tracked.add(rel)
                if flags & CLEAN:
                    self.clean.add(rel)
            o_kind, known, o_mode, o_digest = OLD.unpack_from(records, at + STAT.size + FACT.size)
            if known:
                self.expected_old[rel] = canonical(o_kind, o_mode, o_digest)
            if flags & SECRET:
                self.secrets[rel] = _fact(kind, mode, digest, flags)
            elif not flags & IGNORED:
                self.notable[rel] = _fact(kind, mode, digest, flags)


MetaFn = Callable[[TreeSnapshot], "dict[str, Any] | None"]


def observe_tree(root: Path, *, ignore: Any, secrets: Any, cache_dir: Path | None = None,
                 progress: Progress | None = None, workers: int | None = None, ledger_key: bytes = bytes(32),
                 ledger_files: Callable[[], dict[str, dict[str, Any]]] | None = None,
                 special: Iterable[str] = (), meta: MetaFn | None = None) -> TreeSnapshot:
    """Observe every entry below ``root`` (read-only; only the stat cache in ``cache_dir`` may be written).

    ``cache_dir`` None means no cache at all: everything is hashed and nothing is read or written
    (``trueup plan --no-cache``). ``ledger_key`` names the ledger that verdicts are against and
    ``ledger_files()`` parses its files, called only when the cache's verdicts cannot be trusted;
    without them every entry is untracked. ``meta(snapshot)`` is what the cache should remember about
    the ledger. ``progress`` is called with the number of entries observed so far. ``workers``
    overrides the process count (1 = in-process); the result never depends on it.
    """
    root_s = os.fspath(root)
    stamp = stat_cache.stamp_now()
    skey = spec_key(ignore, secrets)
    cache = stat_cache.load(cache_dir, root) if cache_dir is not None else None
    if cache is not None and cache.spec_key != skey:
        cache = None  # other patterns: stored verdicts and ignore decisions mean something else
    trust = cache is not None and cache.ledger_key == ledger_key and cache.meta is not None
    if trust:
        verdicts = _Verdicts(None, cache.meta.get("dirty", {}))
    else:
        verdicts = _Verdicts(ledger_files() if ledger_files is not None else {}, {})
    ignore_m, secret_m = _Matcher(ignore), _Matcher(secrets)
    n = worker_count() if workers is None else max(1, workers)

    shards = _shards(root_s, ignore_m, want=16 * n if n > 1 else 1)
    worker = _Worker(ignore_m, secret_m, cache, verdicts, trust, frozenset(special))
    if n > 1 and len(shards) >= PARALLEL_MIN_SHARDS:
        parts = _run_forked(worker, shards, n, progress)
    else:
        worker.tick = progress
        for shard in shards:
            worker.walk(*shard)
        parts = [worker.result()]
    cached_dirs = len(cache) if cache is not None else -1
    cached_meta = cache.meta if trust else None
    del worker, cache  # the parent no longer needs the old cache: keep peak memory down

    for part in parts:
        if part[4]:
            errno_, strerror, filename = part[4][0]
            raise OSError(errno_, strerror, filename)

    snapshot = TreeSnapshot(b"".join(part[0] for part in parts))
    for _, names_b, records, _, _ in parts:
        if names_b:
            snapshot._add_notable(names_b, records)
    snapshot.notable = dict(sorted(snapshot.notable.items()))
    snapshot.secrets = dict(sorted(snapshot.secrets.items()))
    ndirs, snapshot.tracked_seen, hashed, changed, _ = (sum(c) for c in zip(*(part[3] for part in parts)))
    snapshot.trusted_meta = cached_meta
    del parts
    if cache_dir is not None:
        new_meta = meta(snapshot) if meta is not None else {"dirty": {}}
        # Nothing hashed, no directory changed or vanished, same verdicts: the cache on disk already says all this.
        if changed or hashed or ndirs != cached_dirs or not trust or new_meta != cached_meta:
            stat_cache.save(cache_dir, root, stat_cache.encode(root, stamp, skey, ledger_key, new_meta,
                                                               snapshot.blocks, ndirs))
    return snapshot
