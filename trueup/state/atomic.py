"""Atomic file writes: temp file in the same directory, fsync, rename, fsync of the directory.

Every write trueup makes to a file it manages goes through here, so an interrupted run leaves
each file either old or new, never half-written.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from trueup.state.canonical import canonical_json

TMP_MARKER = ".trueup-tmp."
# ".<name>.trueup-tmp.<pid>-<8 hex>" (older trueups wrote no pid): the writer's pid says, after a crash, whether the
# file can still be in use — a temp file whose writer is dead is an incomplete leftover (files/leftovers.py).
TEMP_NAME = re.compile(r"\.(?P<name>.+)\.trueup-tmp\.(?:(?P<pid>[0-9]+)-)?[0-9a-f]{8}\Z", re.DOTALL)


def temp_path_for(path: Path) -> Path:
    """A temp name beside ``path``, naming the writing process (see TEMP_NAME)."""
    return path.with_name(f".{path.name}{TMP_MARKER}{os.getpid()}-{secrets.token_hex(4)}")


def temp_owner(name: str) -> int | None:
    """The pid in a trueup temp file's or scratch directory's name; None when it is not one or names none."""
    match = TEMP_NAME.match(name) or SCRATCH_NAME.match(name)
    return int(match["pid"]) if match and match["pid"] else None


def owner_alive(pid: int | None) -> bool:
    """Whether the process that made a temp file may still be using it (unknown counts as alive: never removed).

    Our own pid is dead as far as files made before this process began are concerned: pid namespaces (containers)
    hand the same small pids to every run. Callers ask before this process makes any temp file of its own.
    """
    if pid is None:
        return True
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: someone else's live process
        return True
    return True


SCRATCH_DIR = "scratch"
SCRATCH_NAME = re.compile(r"apply-(?P<pid>[0-9]+)-[0-9a-f]{8}\Z")
# Where plan tries a merge on copies to show its result (planner/plan.py): in the cache, named by plan's pid.
DIFF_SCRATCH_NAME = re.compile(r"trueup-diff-merge-(?P<pid>[0-9]+)\Z")


@contextlib.contextmanager
def scratch_dir(state_dir: Path) -> Iterator[Path]:
    """A private working directory for one apply: ``<state_dir>/scratch/apply-<pid>-<hex>``, mode 0700.

    It holds copies of operator files (a three-way merge's ``ours``), so it is never world-readable and never in
    a shared TMPDIR; removed at the end, and — if the process is killed first — by the next run
    (remove_dead_leftovers).
    """
    import shutil

    parent = state_dir / SCRATCH_DIR
    parent.mkdir(parents=True, exist_ok=True)
    os.chmod(parent, 0o700)
    path = parent / f"apply-{os.getpid()}-{secrets.token_hex(4)}"
    path.mkdir(mode=0o700)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def remove_dead_leftovers(state_dir: Path) -> list[str]:
    """Remove what a killed trueup left in its own state dir: temp files (``TEMP_NAME``) and scratch directories
    (an apply's, a plan's merge preview in the cache) whose owner process is dead. Both are provably trueup's (its
    name, its state dir) and incomplete (the writer is gone; a finished temp file is renamed away); none holds the
    only copy of anything (a temp file's target, a merge's inputs, are still where they were). Returns the removed
    paths, relative to ``state_dir``. Temp files without a pid (older trueups) are left alone: nothing proves their
    writer is gone.
    """
    import shutil

    removed: list[str] = []
    if not state_dir.is_dir():
        return removed
    scratch = state_dir / SCRATCH_DIR
    for dirpath, dirnames, filenames in os.walk(state_dir):
        here = Path(dirpath)
        if here == scratch:
            for name in list(dirnames):
                match = SCRATCH_NAME.match(name)
                if match and not owner_alive(int(match["pid"])):
                    shutil.rmtree(here / name, ignore_errors=True)
                    removed.append(os.path.relpath(here / name, state_dir) + "/")
            dirnames[:] = []  # a live apply's scratch is its own
            continue
        if here == state_dir / "cache":
            for name in [d for d in dirnames if DIFF_SCRATCH_NAME.match(d)]:
                dirnames.remove(name)
                if not owner_alive(int(DIFF_SCRATCH_NAME.match(name)["pid"])):  # type: ignore[index]
                    shutil.rmtree(here / name, ignore_errors=True)
                    removed.append(os.path.relpath(here / name, state_dir) + "/")
        # Mirrors of remote sources are git's (it writes no trueup temp files): not walked.
        dirnames[:] = [d for d in dirnames
                       if not (here / d).is_symlink() and not (here == state_dir and d == "sources")]
        for name in filenames:
            if TMP_MARKER in name and TEMP_NAME.match(name) and not owner_alive(temp_owner(name)):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(here / name)
                    removed.append(os.path.relpath(here / name, state_dir))
    return removed


_deferred: set[str] | None = None  # directories whose fsync waits for the end of a batch_dir_syncs block


def fsync_dir(directory: Path) -> None:
    if _deferred is not None:
        _deferred.add(os.fspath(directory))
        return
    _fsync_dir_now(directory)


def _fsync_dir_now(directory: Path | str) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def batch_dir_syncs() -> Iterator[None]:
    """Within the block each directory is fsynced once, at its end, however many files were renamed into it.

    Every file is still written to a temp file, fsynced and renamed into place (each one old or new, never
    half-written); only the durability of the renames waits for the block's end — which comes before
    anything that records them (the ledger) is written.
    """
    global _deferred
    if _deferred is not None:  # nested: the outer block syncs
        yield
        return
    _deferred = set()
    try:
        yield
    finally:
        pending, _deferred = _deferred, None
        _fsync_dirs([d for d in sorted(pending) if os.path.isdir(d)])


def _fsync_dirs(directories: list) -> None:
    """fsync each directory, concurrently when there are several (each waits for a journal commit)."""
    if len(directories) < 4:
        for directory in directories:
            _fsync_dir_now(directory)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(_fsync_dir_now, directories))


def commit_temp(tmp: Path, path: Path, mode: int | None = None) -> None:
    """Move a fully written and fsynced temp file into place."""
    if mode is not None:
        os.chmod(tmp, mode)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def write_chunks(path: Path, chunks: Iterable[bytes], mode: int | None = None, *, durable: bool = True) -> None:
    """Write ``chunks`` to ``path`` atomically; ``mode`` is applied before the rename.

    ``durable=False`` skips the fsyncs: still all-or-nothing for readers, but a crash may lose the new
    content. Only for caches that check themselves and cost nothing but time when lost.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_for(path)
    try:
        with open(tmp, "xb") as fh:
            for chunk in chunks:
                fh.write(chunk)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        if durable:
            commit_temp(tmp, path, mode)
        else:
            if mode is not None:
                os.chmod(tmp, mode)
            os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


_BATCH = 256  # files open at once in write_files (descriptors are a bounded resource)


def write_files(items: list[tuple[Path, bytes, int]]) -> None:
    """Write many files, each one atomically as write_bytes does (temp file beside it, fsync, rename), but
    fsynced concurrently: fsync releases the GIL and a journaling filesystem commits many in one go, where
    one after another each waits for its own commit. Each directory is fsynced once, after its renames."""
    from concurrent.futures import ThreadPoolExecutor

    dirs: set[Path] = set()
    with ThreadPoolExecutor(max_workers=16) as pool:
        for start in range(0, len(items), _BATCH):
            opened: list[tuple[Path, Path, int]] = []
            try:
                for path, data, mode in items[start:start + _BATCH]:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    tmp = temp_path_for(path)
                    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
                    opened.append((tmp, path, fd))
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view):]
                    os.fchmod(fd, mode)
                list(pool.map(os.fsync, [fd for _, _, fd in opened]))
                for tmp, path, fd in opened:
                    os.close(fd)
                    fd = -1
                    os.replace(tmp, path)
                    dirs.add(path.parent)
                opened = []
            finally:
                for tmp, _, fd in opened:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
                    tmp.unlink(missing_ok=True)
    if _deferred is not None:
        _deferred.update(os.fspath(d) for d in dirs)
    else:
        _fsync_dirs(sorted(dirs))


def write_bytes(path: Path, data: bytes, mode: int | None = None) -> None:
    write_chunks(path, [data], mode)


def write_text(path: Path, text: str, mode: int | None = None) -> None:
    write_bytes(path, text.encode("utf-8"), mode)


def create_text(path: Path, text: str) -> bool:
    """Write ``path`` atomically only if nothing is there yet; False (and nothing written) if something is.

    A hard link of the finished temp file is all-or-nothing and fails if the name exists, so two writers
    racing to create the file leave exactly one's content, whole.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_for(path)
    try:
        with open(tmp, "xb") as fh:
            fh.write(text.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        fsync_dir(path.parent)
        return True
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: Path, document: Any, mode: int | None = None) -> None:
    write_text(path, canonical_json(document), mode)


def remove(path: Path) -> None:
    """Unlink a file and make the removal durable."""
    path.unlink()
    fsync_dir(path.parent)
