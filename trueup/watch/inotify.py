"""Linux inotify through libc, with the one event the watch libraries drop: IN_Q_OVERFLOW.

Why not watchfiles or watchdog: both hide a lost queue. watchfiles (Rust notify) keeps an event only if it
names a path, and notify's "rescan" event (its IN_Q_OVERFLOW) names none, so it is dropped; watchdog defines
IN_Q_OVERFLOW and never acts on it. A monitor that cannot tell it lost events cannot promise a full rescan
afterwards, and a walk trusting it would miss edits. inotify itself is four calls, so trueup makes them.

No thread: the descriptor is non-blocking and the caller select()s on it, so a plan may still fork its
walk workers (trueup.files.fork refuses to fork beside other threads).
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
import sys
from collections.abc import Callable

IN_MODIFY, IN_ATTRIB, IN_CLOSE_WRITE = 0x2, 0x4, 0x8
IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE = 0x40, 0x80, 0x100, 0x200
IN_DELETE_SELF, IN_MOVE_SELF = 0x400, 0x800
IN_Q_OVERFLOW, IN_IGNORED, IN_ISDIR = 0x4000, 0x8000, 0x40000000
IN_ONLYDIR, IN_DONT_FOLLOW = 0x01000000, 0x02000000
# Everything that changes what a walk would see; not IN_ACCESS/IN_OPEN/IN_CLOSE_NOWRITE (reads change nothing).
MASK = (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
        | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW)
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len (then len bytes of NUL-padded name)


class Unavailable(OSError):
    """No inotify here (not Linux), or a limit reached (instances, watches): watch falls back to rescanning."""


def available() -> bool:
    return sys.platform.startswith("linux")


class Inotify:
    """One inotify instance watching whole trees. ``read()`` → (paths that changed, whether events were lost)."""

    def __init__(self) -> None:
        if not available():
            raise Unavailable(errno.ENOSYS, "inotify is Linux only")
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._libc.inotify_add_watch.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32)
        fd = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            raise Unavailable(ctypes.get_errno(), "inotify_init1: " + os.strerror(ctypes.get_errno()))
        self.fd = fd
        self.dirs: dict[int, str] = {}  # watch descriptor → the directory's absolute path
        self.skip: dict[str, Callable[[str], bool]] = {}  # tree root → whether a directory below it is not watched

    def fileno(self) -> int:
        return self.fd

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def add_tree(self, root: str, skip: Callable[[str], bool] = lambda rel: False) -> None:
        """Watch ``root`` and every directory below it except those ``skip(rel + '/')`` names.

        Each directory is watched before it is listed, so a subdirectory made meanwhile is either listed or
        reported (IN_CREATE), never neither.
        """
        self.skip[root] = skip
        self._add(root, root)

    def _add(self, root: str, top: str) -> None:
        stack = [top]
        skip = self.skip[root]
        while stack:
            directory = stack.pop()
            wd = self._libc.inotify_add_watch(self.fd, os.fsencode(directory), MASK)
            if wd < 0:
                err = ctypes.get_errno()
                if err in (errno.ENOENT, errno.ENOTDIR, errno.EACCES):
                    continue  # gone or unreadable meanwhile: its parent's event (or the walk) reports it
                raise Unavailable(err, f"inotify_add_watch {directory}: {os.strerror(err)}"
                                  + (" (raise fs.inotify.max_user_watches)" if err == errno.ENOSPC else ""))
            self.dirs[wd] = directory
            try:
                with os.scandir(directory) as it:
                    for de in it:
                        if de.is_dir(follow_symlinks=False):
                            rel = os.path.relpath(de.path, root)
                            if not skip(rel + "/"):
                                stack.append(de.path)
            except OSError:
                continue

    def _root_of(self, path: str) -> str | None:
        for root in self.skip:
            if path == root or path.startswith(root + "/"):
                return root
        return None

    def read(self) -> tuple[set[str], bool]:
        """Drain what is queued now: (absolute paths events named, True when the kernel dropped events)."""
        paths: set[str] = set()
        lost = False
        while True:
            try:
                buf = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                return paths, lost
            at = 0
            while at < len(buf):
                wd, mask, _, size = _EVENT.unpack_from(buf, at)
                name = buf[at + _EVENT.size:at + _EVENT.size + size].rstrip(b"\0")
                at += _EVENT.size + size
                if mask & IN_Q_OVERFLOW:
                    lost = True
                    continue
                directory = self.dirs.get(wd)
                if directory is None:
                    continue
                if mask & IN_IGNORED:
                    del self.dirs[wd]  # the directory went away (or was unmounted): its watch with it
                    continue
                path = directory + "/" + os.fsdecode(name) if name else directory
                paths.add(path)
                if mask & IN_ISDIR and mask & (IN_CREATE | IN_MOVED_TO):
                    root = self._root_of(path)
                    if root is not None and not self.skip[root](os.path.relpath(path, root) + "/"):
                        self._add(root, path)  # a new directory: watch it (its events may already be missed:
                        # the path names it, and a walk looks at all below a named directory)
