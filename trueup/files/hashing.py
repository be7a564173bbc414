"""Content hashing of files: one open, reads sized from the stat we already have, 1 MiB streaming.

For small files the cost is the open/read/close system calls and interpreter work, not SHA-256 (hashlib
uses the CPU's SHA extensions), so a read of exactly ``size + 1`` bytes (one call that also proves EOF)
beats a buffered file object (docs/performance.md, "Numbers behind the code").
"""

from __future__ import annotations

import hashlib
import os

CHUNK = 1 << 20  # stream in 1 MiB chunks: memory never grows with file size
O_NOFOLLOW = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
O_FOLLOW = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)


def digest_fd(fd: int, size_hint: int, buf: memoryview | None = None, *, first: bytes | None = None) -> bytes:
    """Raw SHA-256 of everything readable from ``fd``; ``size_hint`` (from lstat) only sizes the first read.

    ``first``: bytes already read from ``fd`` (they are hashed first and reading goes on from there).
    """
    if first is not None:
        h = hashlib.sha256(first)
    elif size_hint < CHUNK:
        # size + 1 bytes: a regular file returning exactly ``size`` has hit EOF in this one call.
        data = os.read(fd, size_hint + 1)
        if len(data) == size_hint:
            return hashlib.sha256(data).digest()
        h = hashlib.sha256(data)  # it changed size since lstat: hash what is really there
    else:
        h = hashlib.sha256()
    if buf is None:
        while chunk := os.read(fd, CHUNK):
            h.update(chunk)
        return h.digest()
    # A reused buffer: no 1 MiB allocation (an mmap/munmap pair) per chunk of a big file.
    with open(fd, "rb", buffering=0, closefd=False) as fh:
        while n := fh.readinto(buf):
            h.update(buf[:n])
    return h.digest()


def digest_path(path: str | os.PathLike[str], size_hint: int = 0, buf: memoryview | None = None,
                *, follow: bool = False, dir_fd: int | None = None) -> bytes:
    """Raw SHA-256 of a file's content (``path`` relative to ``dir_fd`` if given); a final symlink is
    refused (ELOOP) unless ``follow``."""
    fd = os.open(path, O_FOLLOW if follow else O_NOFOLLOW, dir_fd=dir_fd)
    try:
        return digest_fd(fd, size_hint, buf)
    finally:
        os.close(fd)


def sha256_raw(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def digest_at(name: str, size: int, dir_fd: int, buf: memoryview | None = None) -> bytes:
    """Raw SHA-256 of the regular file ``name`` in the directory ``dir_fd`` (a final symlink is refused).

    One call for the common small file (open, one read of size + 1, close): per-file interpreter work is
    what a cold plan of 100k small files costs, so this path avoids the layers digest_path goes through.
    """
    if size >= CHUNK:
        return digest_path(name, size, buf, dir_fd=dir_fd)
    fd = os.open(name, O_NOFOLLOW, dir_fd=dir_fd)
    try:
        data = os.read(fd, size + 1)
        if len(data) == size:
            return hashlib.sha256(data).digest()
        return digest_fd(fd, 0, buf, first=data)  # it changed size since lstat: hash what is really there
    finally:
        os.close(fd)
