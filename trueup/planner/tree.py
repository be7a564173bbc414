"""One walk of an install directory: every path's fact, with ignored paths pruned and secrets unhashed.

Scale (docs/performance.md): at 100k files the cost is one lstat per entry and, on a cold cache, one
open/read per file; both are system calls that threads cannot overlap under the GIL (measured 6x
slower than one thread), so the tree is split into shards that forked worker processes take from a
shared queue. Each worker walks, stats, consults the stat cache and hashes its shards, and sends back
packed records; the parent only decodes them. Small trees never fork.
"""

from __future__ import annotations

import os
import re
import stat
import struct
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from attrs import frozen

from trueup.planner import hashing
from trueup.planner.facts import FileFact, format_mode
from trueup.state import stat_cache
from trueup.state.stat_cache import RECORD, STAT

LEDGER_DIR = ".trueup"
KIND_FILE, KIND_SYMLINK, KIND_OTHER = 0, 1, 2
FLAG_HASHED = 1
_ZERO = bytes(32)
_TAILS = [[bytes((kind, flags)) for flags in (0, 1)] for kind in (0, 1, 2)]
# Below this many entries a fork costs more than it saves (measured: ~3 ms per worker).
PARALLEL_MIN_FILES = 2000
_SHARD_ID = struct.Struct("<I")

Progress = Callable[[int], None]


@frozen
class TreeSnapshot:
    """Facts of every file and symlink below a root, keyed by POSIX path relative to it."""

    files: dict[str, FileFact]
    secrets: dict[str, FileFact]


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


class _Worker:
    """Walks shards and turns each entry into a packed record; the same code runs in-process or forked."""

    def __init__(self, root: str, ignore: _Matcher, secrets: _Matcher, cache: stat_cache.StatCache | None) -> None:
        self.root = root
        # None when the spec has no patterns: two calls per file saved on the common manifest.
        self.ignore = None if ignore.never else ignore
        self.secret = None if secrets.never else secrets
        self.cache = cache
        self.names: list[str] = []
        self.records = bytearray()  # packed RECORDs: ~70 bytes a file, not a Python object each
        self.secret_names: list[str] = []
        self.secret_records: list[bytes] = []
        self.hashed = 0
        self.errors: list[tuple[int, str, str]] = []
        self.buf = memoryview(bytearray(hashing.CHUNK))
        self.tick: Callable[[int], None] | None = None

    def entry(self, rel: str, path: str, st: os.stat_result) -> None:
        mode = st.st_mode
        packed = STAT.pack(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, mode)
        if self.secret is not None and self.secret(rel):
            # Existence and mode only: a secret's content is never read, not even to hash it.
            kind = KIND_FILE if stat.S_ISREG(mode) else KIND_SYMLINK if stat.S_ISLNK(mode) else KIND_OTHER
            self.secret_names.append(rel)
            self.secret_records.append(RECORD.pack(0, 0, 0, 0, mode, _ZERO, kind, 0))
            return
        flags = 0
        if stat.S_ISREG(mode):
            kind = KIND_FILE
            digest = None
            if self.cache is not None:
                digest = self.cache.lookup(rel, packed, st.st_mtime_ns, st.st_ctime_ns)
            if digest is None:
                try:
                    digest = hashing.digest_path(path, st.st_size, self.buf)
                except FileNotFoundError:
                    return  # removed while we walked: it is absent now
                flags = FLAG_HASHED
                self.hashed += 1
        elif stat.S_ISLNK(mode):
            kind = KIND_SYMLINK
            try:
                digest = hashing.sha256_raw(os.fsencode(os.readlink(path)))
            except FileNotFoundError:
                return
        else:
            kind, digest = KIND_OTHER, _ZERO
        self.names.append(rel)
        self.records += packed
        self.records += digest
        self.records += _TAILS[kind][flags]

    def loose(self, entries: Iterable[tuple[str, os.DirEntry[str]]]) -> None:
        """Files the parent already listed (the top of the tree); their lstat happens here."""
        for rel, de in entries:
            try:
                st = de.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            except OSError as exc:
                self.errors.append((exc.errno or 0, exc.strerror or str(exc), exc.filename or de.path))
                continue
            try:
                self.entry(rel, de.path, st)
            except OSError as exc:
                self.errors.append((exc.errno or 0, exc.strerror or str(exc), exc.filename or de.path))
        self._progress()

    def tree(self, prefix: str, directory: str) -> None:
        """Everything below one directory: one scandir per directory, the DirEntry's lstat per file."""
        stack = [(prefix, directory)]
        ignore = self.ignore
        while stack:
            prefix, directory = stack.pop()
            try:
                it = os.scandir(directory)
            except OSError as exc:
                self.errors.append((exc.errno or 0, exc.strerror or str(exc), directory))
                continue
            with it:
                for de in it:
                    if not prefix and de.name == LEDGER_DIR:
                        continue
                    rel = prefix + de.name
                    try:
                        if de.is_dir(follow_symlinks=False):
                            if ignore is None or not ignore(rel + "/"):
                                stack.append((rel + "/", de.path))
                            continue
                        if ignore is not None and ignore(rel):
                            continue
                        st = de.stat(follow_symlinks=False)
                        self.entry(rel, de.path, st)
                    except FileNotFoundError:
                        continue
                    except OSError as exc:
                        self.errors.append((exc.errno or 0, exc.strerror or str(exc), exc.filename or de.path))
            if self.tick is not None and len(self.names) & 0xFF == 0:
                self._progress()
        self._progress()

    def _progress(self) -> None:
        if self.tick is not None:
            self.tick(len(self.names) + len(self.secret_names))

    def result(self) -> tuple[bytes, bytes, bytes, bytes, int, list[tuple[int, str, str]]]:
        """(names, records, secret names, secret records, files hashed, errors)."""
        enc = sys.getfilesystemencoding()
        errs = sys.getfilesystemencodeerrors()

        def blob(names: list[str]) -> bytes:
            return ("\0".join(names) + "\0").encode(enc, errs) if names else b""

        return (blob(self.names), bytes(self.records), blob(self.secret_names),
                b"".join(self.secret_records), self.hashed, self.errors)


_PART_HEADER = struct.Struct("<QQQQQQ")


def _send(fd: int, part: tuple[Any, ...]) -> None:
    """A worker's result down a pipe: lengths, then the four blobs, then the (rare) errors as text."""
    errors = "\n".join(f"{e}\t{msg}\t{name}" for e, msg, name in part[5]).encode("utf-8", "surrogateescape")
    blobs = [*part[:4], errors]
    with open(fd, "wb", closefd=True) as out:
        out.write(_PART_HEADER.pack(*(len(b) for b in blobs), part[4]))
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
        return buf  # type: ignore[return-value]  (bytes-like is enough: no copy of ~6 MB blobs)

    *lengths, hashed = _PART_HEADER.unpack(exactly(_PART_HEADER.size))
    names, records, secret_names, secret_records, errors = (exactly(n) for n in lengths)
    errs = [(int(e), msg, name) for e, msg, name in
            (line.split("\t", 2) for line in bytes(errors).decode("utf-8", "surrogateescape").splitlines())]
    return names, records, secret_names, secret_records, hashed, errs


def _bfs(root: str, ignore: _Matcher, want_dirs: int) -> tuple[list[tuple[str, str]], list[tuple[str, os.DirEntry[str]]]]:
    """List the top of the tree breadth-first until there are ``want_dirs`` subtrees to hand out."""
    from collections import deque

    pending: deque[tuple[str, str]] = deque([("", root)])
    loose: list[tuple[str, os.DirEntry[str]]] = []
    while pending and len(pending) < want_dirs:
        prefix, directory = pending.popleft()
        with os.scandir(directory) as it:
            for de in it:
                rel = prefix + de.name
                if not prefix and de.name == LEDGER_DIR:
                    continue
                if de.is_dir(follow_symlinks=False):
                    if not ignore(rel + "/"):
                        pending.append((rel + "/", de.path))
                elif not ignore(rel):
                    loose.append((rel, de))
    return list(pending), loose


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


def _run_forked(worker: _Worker, shards: list[tuple[str, Any]], n: int, progress: Progress | None) -> list[tuple[Any, ...]]:
    """Run shards in ``n`` forked workers that pull shard numbers from one pipe; return their results."""
    import mmap
    import select

    queue_r, queue_w = os.pipe()
    # All shard numbers are written before any fork; the pipe holds 64 KiB, so cap at 8192 shards.
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
                        kind, arg = shards[_SHARD_ID.unpack(msg)[0]]
                        if kind == "tree":
                            worker.tree(*arg)
                        else:
                            worker.loose(arg)
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


def _decode(names_blob: bytes) -> list[str]:
    if not names_blob:
        return []
    return str(memoryview(names_blob)[:-1], sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()).split("\0")


# Only mode, digest and kind: unpacking the other stat fields would make four ints per file for nothing.
_FACT_FIELDS = struct.Struct("<32xI32sBx")
assert _FACT_FIELDS.size == RECORD.size


def _facts(names_blob: bytes, records: bytes, *, hashed: bool) -> Iterable[tuple[str, FileFact]]:
    modes: dict[int, str] = {}
    names = _decode(names_blob)
    for rel, (mode, digest, kind) in zip(names, _FACT_FIELDS.iter_unpack(records)):
        mode_s = modes.get(mode)
        if mode_s is None:
            mode_s = modes[mode] = format_mode(mode)
        if kind == KIND_FILE:
            yield rel, FileFact("file", mode_s, digest.hex() if hashed else None)
        elif kind == KIND_SYMLINK:
            yield rel, FileFact("symlink", None, digest.hex() if hashed else None)
        else:
            yield rel, FileFact("other", mode_s)


def observe_tree(root: Path, *, ignore: Any, secrets: Any, cache_dir: Path | None = None,
                 progress: Progress | None = None, workers: int | None = None) -> TreeSnapshot:
    """Observe every entry below ``root`` (read-only; only the stat cache in ``cache_dir`` may be written).

    ``cache_dir`` None means no cache at all: everything is hashed and nothing is read or written
    (``trueup plan --no-cache``). ``progress`` is called with the number of entries observed so far.
    ``workers`` overrides the process count (1 = in-process); the result never depends on it.
    """
    root_s = os.fspath(root)
    stamp = stat_cache.stamp_now()
    cache = stat_cache.load(cache_dir, root) if cache_dir is not None else None
    ignore_m, secret_m = _Matcher(ignore), _Matcher(secrets)
    n = worker_count() if workers is None else max(1, workers)

    subtrees, loose = _bfs(root_s, ignore_m, want_dirs=16 * n if n > 1 else 1)
    worker = _Worker(root_s, ignore_m, secret_m, cache)
    if n > 1 and (subtrees or len(loose) >= PARALLEL_MIN_FILES):
        per = max(256, len(loose) // 4096)
        shards: list[tuple[str, Any]] = [("loose", loose[i:i + per]) for i in range(0, len(loose), per)]
        shards += [("tree", sub) for sub in subtrees]
        parts = _run_forked(worker, shards, n, progress)
    else:
        worker.tick = progress
        worker.loose(loose)
        for prefix, directory in subtrees:
            worker.tree(prefix, directory)
        parts = [worker.result()]
    old_count = len(cache) if cache is not None else -1
    del worker, loose, cache  # the parent no longer needs the old cache: keep peak memory down

    for part in parts:
        if part[5]:
            errno_, strerror, filename = part[5][0]
            raise OSError(errno_, strerror, filename)

    if cache_dir is not None:
        count = sum(len(part[1]) for part in parts) // RECORD.size
        hashed = sum(part[4] for part in parts)
        # Unchanged set of paths and nothing hashed: the cache on disk already says all this.
        if hashed or count != old_count:
            stat_cache.save(cache_dir, root, stamp, b"".join(p[0] for p in parts), b"".join(p[1] for p in parts))

    # Decode one worker's part at a time and drop its blobs: peak memory is the facts plus one part.
    file_items: list[tuple[str, FileFact]] = []
    secret_items: list[tuple[str, FileFact]] = []
    while parts:
        part = parts.pop()
        file_items.extend(_facts(part[0], part[1], hashed=True))
        secret_items.extend(_facts(part[2], part[3], hashed=False))
        del part
    file_items.sort()
    files = dict(file_items)
    del file_items
    secret_items.sort()
    secret_facts = dict(secret_items)
    return TreeSnapshot(files=files, secrets=secret_facts)
