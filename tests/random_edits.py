"""Random edits of an install tree, of every kind an install sees, for the watch tests' randomized properties."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path


def random_edit(root: Path, rng: random.Random, tag: str, ops: tuple[str, ...]) -> None:
    """One edit below ``root`` of a kind drawn from ``ops`` (write, add, remove, chmod, mkdir, rmtree, rename-dir,
    rename-file, backup; repeat a kind to weigh it); ``tag`` makes new names unique. trueup's own ``.trueup/``
    is left alone. A kind with nothing to act on does nothing."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and ".trueup" not in p.parts)
    dirs = sorted(p for p in root.rglob("*") if p.is_dir() and ".trueup" not in p.parts)
    op = rng.choice(ops)
    if op == "write" and files:
        rng.choice(files).write_text(f"edited {tag} {rng.random()}\n")
    elif op == "add":
        (rng.choice([root, *dirs]) / f"new{tag}.txt").write_text("new\n")
    elif op == "remove" and files:
        rng.choice(files).unlink()
    elif op == "chmod" and files:
        target = rng.choice(files)
        target.chmod(target.stat().st_mode ^ 0o100)
    elif op == "mkdir":
        new = rng.choice([root, *dirs]) / f"nd{tag}"
        (new / "inner").mkdir(parents=True)
        (new / "inner" / "x.txt").write_text("x\n")
        (new / "y.txt").write_text("y\n")
    elif op == "rmtree" and dirs:
        shutil.rmtree(rng.choice(dirs))
    elif op == "rename-dir" and len(dirs) > 1:
        a, b = rng.sample(dirs, 2)
        if not str(b).startswith(str(a)):
            a.rename(b / f"moved{tag}")
    elif op == "rename-file" and files and dirs:
        rng.choice(files).rename(rng.choice(dirs) / f"renamed{tag}.txt")
    elif op == "backup" and files:
        target = rng.choice(files)
        if not target.name.endswith(".bak"):
            os.link(target, target.with_name(f"{target.name}.bak{tag}"))
