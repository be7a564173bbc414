"""One workspace lock for apply: flock is the authority, the pid inside explains who holds it."""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from trueup.errors import RefusedError


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def exclusive_lock(state_dir: Path, notify=lambda message: None) -> Iterator[None]:
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / "apply.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd)
            who = f"pid {holder.get('pid')} on {holder.get('host')}" if holder else "another process"
            raise RefusedError(f"another trueup apply holds the lock {path} ({who})",
                               hint="wait for it to finish, then run apply again") from None
        previous = _read(fd)
        if previous.get("pid"):
            # We got the flock, so its holder is gone; a pid left in the file means it died mid-apply.
            state = "dead" if not _alive(int(previous["pid"])) else "exited"
            notify(f"took over the lock left by {state} process {previous['pid']} on {previous.get('host')}")
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode(), 0)
        os.fsync(fd)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _read(fd: int) -> dict:
    try:
        data = os.pread(fd, 4096, 0)
        value = json.loads(data) if data.strip() else {}
        return value if isinstance(value, dict) else {}
    except (OSError, ValueError):
        return {}
