"""Small tree builders for the perf tests."""

from __future__ import annotations

import os
from pathlib import Path

import pathspec

IGNORE = pathspec.PathSpec.from_lines("gitignore", ["node_modules/", "*.pyc", "!keep.pyc"])
SECRETS = pathspec.PathSpec.from_lines("gitignore", ["*.secret"])
NOTHING = pathspec.PathSpec.from_lines("gitignore", [])


def build(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def wide_tree(root: Path, dirs: int = 60, per_dir: int = 4) -> None:
    """Enough directories that observe_tree forks workers (it needs more than 16 per worker)."""
    for d in range(dirs):
        for f in range(per_dir):
            data = f"{d}/{f}\n".encode() * (1 + (d * 7 + f) % 900)
            build(root, {f"a{d % 5}/d{d:03d}/f{f}.txt": data})
    build(root, {"top.js": b"x" * 5000, "x.secret": b"pw", "node_modules/m/i.js": b"1",
                 "c/o.pyc": b"2", "c/keep.pyc": b"3", ".trueup/install.json": b"{}"})
    os.symlink("top.js", root / "link")
    os.mkfifo(root / "fifo")


def facts(snapshot) -> tuple[dict, dict]:
    return ({k: v.to_json() for k, v in snapshot.files.items()}, {k: v.to_json() for k, v in snapshot.secrets.items()})
