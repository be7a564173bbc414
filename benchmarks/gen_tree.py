"""Generate a reproducible tree shaped like an installed agent component (fixed seed).

Many 1-8 KB files about five directories deep, plus a few multi-MB files carrying the rest of the
byte budget. ``--mutate`` rewrites a fraction of the files in place (same size, new bytes), which is
how the benchmark makes "1% changed" and a second commit for the upgrade run.
"""

from __future__ import annotations

import argparse
import os
import random
from pathlib import Path

SMALL_MIN, SMALL_MAX = 1024, 8192
FILES_PER_DIR = 30
FANOUT = 6
DEPTH = 5


def layout(n_files: int, total_bytes: int, seed: int) -> list[tuple[str, int]]:
    """(relative path, size) for every file; the same arguments always give the same list."""
    rng = random.Random(seed)
    n_dirs = max(1, n_files // FILES_PER_DIR)
    dirs: list[str] = []
    frontier = [""]
    # Breadth-first fan-out until there are enough directories, capped at DEPTH levels.
    while len(dirs) < n_dirs and frontier:
        parent = frontier.pop(0)
        for i in range(FANOUT):
            d = f"{parent}d{i:02d}_{rng.randrange(1 << 16):04x}/"
            dirs.append(d)
            if d.count("/") < DEPTH:
                frontier.append(d)
            if len(dirs) >= n_dirs:
                break
    n_big = max(2, n_files // 1000)
    small_sizes = [rng.randint(SMALL_MIN, SMALL_MAX) for _ in range(n_files - n_big)]
    rest = max(n_big * (2 << 20), total_bytes - sum(small_sizes))
    cuts = sorted(rng.random() for _ in range(n_big - 1))
    shares = [b - a for a, b in zip([0.0, *cuts], [*cuts, 1.0])]
    big_sizes = [max(1 << 20, int(rest * s)) for s in shares]
    sizes = small_sizes + big_sizes
    rng.shuffle(sizes)
    exts = [".js", ".py", ".json", ".md", ".ts", ".map", ".txt"]
    out = []
    for i, size in enumerate(sizes):
        d = dirs[rng.randrange(len(dirs))]
        out.append((f"{d}f{i:06d}{rng.choice(exts)}", size))
    return out


def write_tree(root: Path, n_files: int, total_bytes: int, seed: int) -> None:
    rng = random.Random(seed ^ 0x5EED)
    made: set[str] = set()
    for rel, size in layout(n_files, total_bytes, seed):
        path = root / rel
        parent = rel.rpartition("/")[0]
        if parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(parent)
        path.write_bytes(rng.randbytes(size))


def mutate(root: Path, n_files: int, total_bytes: int, seed: int, fraction: float, round_: int,
           undo: Path | None = None) -> int:
    """Rewrite ``fraction`` of the small files with new same-size content; ``round_`` varies the bytes.

    With ``undo``, the files the previous round rewrote are first put back from there and the originals
    of this round's files are saved there, so every round is exactly ``fraction`` changed, not a pile-up.
    """
    if undo is not None:
        undo.mkdir(parents=True, exist_ok=True)
        for saved in sorted(undo.rglob("*")):
            if saved.is_file():
                (root / saved.relative_to(undo)).write_bytes(saved.read_bytes())
                saved.unlink()
    files = [(rel, size) for rel, size in layout(n_files, total_bytes, seed) if size <= SMALL_MAX]
    rng = random.Random(seed * 7919 + round_)
    chosen = rng.sample(files, max(1, int(len(files) * fraction)))
    for rel, size in chosen:
        if undo is not None:
            (undo / rel).parent.mkdir(parents=True, exist_ok=True)
            (undo / rel).write_bytes((root / rel).read_bytes())
        (root / rel).write_bytes(rng.randbytes(size))
    return len(chosen)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("root", type=Path)
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--bytes", type=int, default=200 << 20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--mutate", type=float, help="fraction of files to rewrite in an existing tree")
    ap.add_argument("--round", type=int, default=0, help="which mutation round (new bytes each round)")
    ap.add_argument("--undo", type=Path, help="with --mutate: put back the previous round's files from DIR first")
    args = ap.parse_args()
    if args.mutate is not None:
        n = mutate(args.root, args.files, args.bytes, args.seed, args.mutate, args.round, args.undo)
        print(f"rewrote {n} files")
    else:
        write_tree(args.root, args.files, args.bytes, args.seed)
        os.sync()


if __name__ == "__main__":
    main()
