"""The `--watch` rows of benchmarks/run.py: trueup watch on the generated tree (issue 15's targets).

- edit → alert: a real `trueup watch --json` process; each edit rewrites one random file, the time is from the
  write's return to the alert line read from the watcher's stdout (p50, p99, max); each edit is then put back
  and its `cleared` line awaited, so every edit is a new alert.
- `trueup plan` while the watcher runs, answered by it (trueup/served.py), and by itself.
- a plan fed by the watcher's events (in the watcher's process, as each watch cycle plans: make_plan with the
  monitor's hint, one file edited before each) against `git status --porcelain` on the source checkout of the
  same tree (wall of the whole command, median).
"""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and ".trueup" not in p.parts)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def edit_to_alert(ws: Path, trueup: str, edits: int, seed: int = 15) -> dict:
    proc = subprocess.Popen([trueup, "watch", "--json", "--interval", "3600", "-w", str(ws)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
    try:
        proc.stderr.readline()  # started; its first cycle (a full walk) runs now
        rng = random.Random(seed)
        files = _files(ws / "installed" / "big")
        latencies = []
        for i in range(edits + 1):  # the first edit also waits out the first cycle: not counted
            target = rng.choice(files)
            original = target.read_bytes()
            target.write_bytes(original + f"\nedit {i}\n".encode())
            start = time.perf_counter()
            alert = json.loads(proc.stdout.readline())
            took = time.perf_counter() - start
            assert alert["event"] == "drift" and alert["path"] == str(target.relative_to(ws / "installed" / "big")), alert
            if i:
                latencies.append(took)
            target.write_bytes(original)
            cleared = json.loads(proc.stdout.readline())
            assert cleared["event"] == "cleared", cleared
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    return {"edits": edits, "p50_ms": 1000 * _pct(latencies, 0.5), "p99_ms": 1000 * _pct(latencies, 0.99),
            "max_ms": 1000 * max(latencies)}


def plan_with_events(ws: Path, runs: int, seed: int = 16) -> dict:
    from trueup.manifest import load_workspace
    from trueup.planner.plan import make_plan
    from trueup.watch.monitor import Monitor

    workspace = load_workspace(ws)
    monitor = Monitor(list(workspace.components), workspace.state_dir / "cache")
    rng = random.Random(seed)
    files = _files(ws / "installed" / "big")
    walls = []
    try:
        for i in range(runs + 1):
            hints = monitor.take()
            start = time.perf_counter()
            make_plan(workspace, None, quiet=True, changed=hints)
            if i:  # the first plan walks everything: the monitor has no token yet
                walls.append(time.perf_counter() - start)
            monitor.done(True)
            target = rng.choice(files)
            target.write_bytes(target.read_bytes() + b"\n")
            time.sleep(0.05)
    finally:
        monitor.close()
    return {"median_s": statistics.median(walls), "walls": walls}


def served_plan(ws: Path, trueup: str, runs: int) -> dict:
    """`trueup plan --json` (the warm rows' command) while `trueup watch` runs and answers it, and by itself
    (TRUEUP_NO_SERVE=1): wall of the whole command, median; one file edited before each."""
    import os

    from trueup.served import socket_path

    proc = subprocess.Popen([trueup, "watch", "--interval", "3600", "-w", str(ws)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    rng = random.Random(17)
    files = _files(ws / "installed" / "big")
    walls: dict[str, list[float]] = {"served": [], "alone": []}
    try:
        proc.stderr.readline()
        while not os.path.exists(socket_path(os.path.realpath(ws))):
            time.sleep(0.05)
        # Not interleaved: a plan by itself writes the stat cache the watcher keeps in memory, and its next cycle
        # (or answer) then walks everything once, as after any other writer (README, Watch).
        for how, env in (("served", {}), ("alone", {"TRUEUP_NO_SERVE": "1"})):
            for i in range(runs + 1):
                target = rng.choice(files)
                original = target.read_bytes()
                target.write_bytes(original + b"\n")
                start = time.perf_counter()
                subprocess.run([trueup, "plan", "--json"], cwd=ws, env={**os.environ, **env}, capture_output=True)
                if i:  # the first: the watcher's first cycle (a full walk) may still run
                    walls[how].append(time.perf_counter() - start)
                target.write_bytes(original)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    return {how: statistics.median(w) for how, w in walls.items()}


def git_status(src: Path, runs: int) -> float:
    walls = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        subprocess.run(["git", "status", "--porcelain"], cwd=src, capture_output=True, check=True)
        walls.append(time.perf_counter() - start)
    return statistics.median(walls[1:])


def bench(ws: Path, trueup: str, runs: int, edits: int = 100) -> list[str]:
    """The report lines of the --watch section for the workspace ``ws`` (benchmarks/run.py built it)."""
    alert = edit_to_alert(ws, trueup, edits)
    plan = plan_with_events(ws, runs)
    git = git_status(ws / "src" / "big", runs)
    served = served_plan(ws, trueup, runs)
    return [
        f"- edit → alert ({alert['edits']} edits, one file each): p50 **{alert['p50_ms']:.0f} ms**, "
        f"p99 **{alert['p99_ms']:.0f} ms**, max {alert['max_ms']:.0f} ms",
        f"- plan fed by the watcher's events (in its process): median **{plan['median_s'] * 1000:.0f} ms**; "
        f"`git status --porcelain`: {git * 1000:.0f} ms → **{plan['median_s'] / git:.2f}×**",
        f"- `trueup plan --json` answered by the watcher (a new process, one file edited before it): median "
        f"**{served['served'] * 1000:.0f} ms** (**{served['served'] / git:.2f}×** `git status`); by itself "
        f"{served['alone'] * 1000:.0f} ms ({served['alone'] / git:.2f}×)",
    ]
