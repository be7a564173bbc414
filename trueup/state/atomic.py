"""Atomic file writes: temp file in the same directory, fsync, rename, fsync of the directory.

Every write trueup makes to a file it manages goes through here, so an interrupted run leaves
each file either old or new, never half-written.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

TMP_MARKER = ".trueup-tmp."


def temp_path_for(path: Path) -> Path:
    """A temp name beside ``path``; its `*.trueup-*` suffix makes leftovers visible as backup debris."""
    return path.with_name(f".{path.name}{TMP_MARKER}{secrets.token_hex(4)}")


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


def canonical_json(document: Any) -> str:
    """The one serialisation trueup writes and hashes: sorted keys, two-space indent, final newline."""
    from trueup.state.ledger_entry import json_default

    files = document.get("files") if type(document) is dict else None
    if type(files) is not dict or len(files) < 64:
        return indented_json(document, json_default) + "\n"
    # A ledger: json's indenting encoder is pure Python (its C encoder cannot indent), about 60 µs per file
    # entry; the same text built entry by entry costs a few. The bytes are identical (tests/test_ledger_json.py).
    text = json.dumps({**document, "files": _FILES_MARK}, indent=2, sort_keys=True, ensure_ascii=False,
                      default=json_default)
    mark = json.dumps(_FILES_MARK)
    assert text.count(mark) == 1
    return text.replace(mark, _files_json(files, json_default), 1) + "\n"


_FILES_MARK = "\x00trueup-ledger-files\x00"

# One token of compact JSON: a run of strings and scalars (a key with its value or its ": "), or one structural
# character. Strings are matched whole, so brackets and commas inside them are never taken for structure.
_JSON_TOKEN = re.compile(r'(?:"[^"\\]*+(?:\\.[^"\\]*+)*+"|[^"{}\[\],]++)++|[{}\[\],]')
_NEWLINES = ["\n" + "  " * depth for depth in range(64)]
_COMMAS = [",\n" + "  " * depth for depth in range(64)]


def indented_json(document: Any, default: Any = None) -> str:
    """``json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, default=default)``, faster.

    json's indenting encoder is pure Python (its C encoder cannot indent); this encodes compactly in C — the same
    keys, scalars and separators — and only inserts the newlines and indentation, token by token. That is only
    10–15% faster (a 17 MB plan: 0.53 s against 0.62 s; the tokenising regex and the per-token loop are most of
    it); the bytes are identical (tests/test_properties.py).
    """
    compact = json.dumps(document, sort_keys=True, ensure_ascii=False, default=default, separators=(",", ": "))
    out: list[str] = []
    append = out.append
    depth = 0
    opened = False  # the previous token opened a container: "{}" and "[]" stay on one line
    for token in _JSON_TOKEN.findall(compact):
        if token == ",":
            append(_COMMAS[depth] if depth < 64 else ",\n" + "  " * depth)
            continue
        if opened:
            opened = False
            if token == "}" or token == "]":
                depth -= 1
                append(token)
                continue
            append(_NEWLINES[depth] if depth < 64 else "\n" + "  " * depth)
        if token == "{" or token == "[":
            depth += 1
            append(token)
            opened = True
        elif token == "}" or token == "]":
            depth -= 1
            append(_NEWLINES[depth] if depth < 64 else "\n" + "  " * depth)
            append(token)
        else:
            append(token)
    return "".join(out)


def _files_json(files: dict[str, Any], default: Any) -> str:
    """``files`` as json.dumps(indent=2, sort_keys=True) writes it two levels deep in a document."""
    from trueup.state.ledger_entry import Entry

    if not files:
        return "{}"
    parts = []
    for key in sorted(files):
        value = files[key]
        name = json.dumps(key, ensure_ascii=False)
        if type(value) is Entry:
            fact = value.to_json()
            parts.append(f'    {name}: {{\n      "mode": "{fact["mode"]}",\n      "sha256": "{fact["sha256"]}",\n'
                         f'      "type": "file"\n    }}')
        else:
            body = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=default)
            parts.append(f"    {name}: " + body.replace("\n", "\n    "))
    return "{\n" + ",\n".join(parts) + "\n  }"


def write_json(path: Path, document: Any, mode: int | None = None) -> None:
    write_text(path, canonical_json(document), mode)


def remove(path: Path) -> None:
    """Unlink a file and make the removal durable."""
    path.unlink()
    fsync_dir(path.parent)
