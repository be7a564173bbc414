"""Splitting a tree walk over forked worker processes: shards, one shared queue, results down pipes.

Threads cannot overlap the walk's system calls under the GIL (slower than one thread: docs/performance.md),
so workers are processes, forked so they inherit the loaded cache and compiled
patterns instead of pickling them.
"""

from __future__ import annotations

import os
import struct
import sys
from typing import Any

from trueup.files.patterns import Matcher
from trueup.files.walk_worker import LEDGER_DIR, Progress, Worker

# Fewer shards than this means a small tree (the top levels ran out of directories), where forking a
# worker costs more than it saves.
PARALLEL_MIN_SHARDS = 16
_SHARD_ID = struct.Struct("<I")
_PART_HEADER = struct.Struct("<QQQQ5Q")


def send(fd: int, part: tuple[Any, ...]) -> None:
    """A worker's result down a pipe: lengths and counters, then the blobs, then the (rare) errors as text."""
    errors = "\n".join(f"{e}\t{msg}\t{name}" for e, msg, name in part[4]).encode("utf-8", "surrogateescape")
    blobs = [part[0], part[1], part[2], errors]
    with open(fd, "wb", closefd=True) as out:
        out.write(_PART_HEADER.pack(*(len(b) for b in blobs), *part[3]))
        for b in blobs:
            out.write(b)


def receive(fh: Any) -> tuple[Any, ...]:
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


def shards(root: str, ignore: Matcher, want: int) -> list[tuple[str, str, bool]]:
    """Breadth-first from the root until there are ``want`` subtrees: (prefix, path, recurse) each.

    Directories listed on the way become files-only shards; the rest are whole subtrees.
    """
    from collections import deque

    pending: deque[tuple[str, str]] = deque([("", root)])
    out: list[tuple[str, str, bool]] = []
    while pending and len(pending) < want:
        prefix, directory = pending.popleft()
        out.append((prefix, directory, False))
        try:
            with os.scandir(directory) as it:
                for de in it:
                    if not prefix and de.name == LEDGER_DIR:
                        continue
                    if de.is_dir(follow_symlinks=False) and not ignore(prefix + de.name + "/"):
                        pending.append((prefix + de.name + "/", de.path))
        except OSError:
            pass  # the worker's own scandir of it reports the error
    return out + [(prefix, directory, True) for prefix, directory in pending]


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


def run_forked(worker: Worker, shards: list[tuple[str, str, bool]], n: int,
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
                    send(w, worker.result())
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
                results.append(receive(fh))
            except EOFError:
                failed = True
        _, status = os.waitpid(pid, 0)
        failed = failed or status != 0
    counters.close()
    if failed:
        raise RuntimeError("a tree walk worker process failed")
    return results
