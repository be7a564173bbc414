"""Atomic file writes: temp file in the same directory, fsync, rename, fsync of the directory.

Every write trueup makes to a file it manages goes through here, so an interrupted run leaves
each file either old or new, never half-written.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

TMP_MARKER = ".trueup-tmp."


def temp_path_for(path: Path) -> Path:
    """A temp name beside ``path``; its `*.trueup-*` suffix makes leftovers visible as backup debris."""
    return path.with_name(f".{path.name}{TMP_MARKER}{secrets.token_hex(4)}")


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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


def canonical_json(document: Any) -> str:
    """The one serialisation trueup writes and hashes: sorted keys, two-space indent, final newline."""
    from trueup.state.ledger_entry import json_default

    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, default=json_default) + "\n"


def write_json(path: Path, document: Any, mode: int | None = None) -> None:
    write_text(path, canonical_json(document), mode)


def remove(path: Path) -> None:
    """Unlink a file and make the removal durable."""
    path.unlink()
    fsync_dir(path.parent)
