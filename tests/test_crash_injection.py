"""Crash injection (issue 17): `trueup apply` of an upgrade is killed by strace at chosen system calls of its
mutating phase — the backup, the merge's scratch files, the batch of new files, the ledger write — and after
each crash: no operator byte is lost, the next plan reports what was left (leftovers) instead of failing, and
one round of approve --all + apply converges to a clean plan, leaving no temp file, scratch directory,
redundant backup or `.trueup-new` equal to the live file.

A trace of one uninjected apply picks the crash points, so they follow the code as it changes: strace counts
an injected system call per traced thread; only apply's main thread is traced.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import V1, V2, copy_tree
from tests.helpers import Project
from trueup.state.atomic import TEMP_NAME

STRACE = shutil.which("strace") or "/usr/bin/strace"
pytestmark = pytest.mark.skipif(not os.access(STRACE, os.X_OK), reason="strace is not installed (crash injection "
                                                                        "kills apply at chosen system calls with it)")
REPO = Path(__file__).resolve().parents[1]
EXTRA_V1 = {f"lib/m{i}.js": f"exports.v = {i};\n" for i in range(12)}
EXTRA_V2 = {**{f"lib/m{i}.js": f"exports.v = {i * 10};\n" for i in range(12)}, "lib/added.js": "exports.added = 1;\n"}
EDITED = "const a = 1; // mine\nconst b = 2;\nconst c = 3;\nconsole.log(a + b + c);\n"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def files_below(root: Path) -> dict[str, bytes]:
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink():
                out[str(path.relative_to(root))] = path.read_bytes()
    return out


def temp_files(root: Path) -> list[str]:
    return sorted(p for p in files_below(root) if TEMP_NAME.match(p.rpartition("/")[2]))


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """v1 installed; the operator edited a file the upgrade merges and one it keeps, and added one."""
    root = tmp_path_factory.mktemp("crash-template")
    project = Project(root)
    project.source({"v1": {**V1, **EXTRA_V1}, "v2": {**V2, **EXTRA_V2}})
    project.manifest(ref="v1")
    assert project.run("plan", "-o", str(root / "install.json"))[0] == 0
    assert project.run("apply", str(root / "install.json"), "--approve-all")[0] == 0
    (project.install / "server/index.js").write_text(EDITED)
    (project.install / "server/util.js").write_text("module.exports = {mine: true};\n")
    (project.install / "notes.txt").write_text("mine\n")
    project.manifest(ref="v2")
    return root


def fresh(template: Path, where: Path) -> Project:
    copy_tree(template, where)
    project = Project(where)
    assert project.run("plan", "-o", str(where / "plan.json"))[0] == 0
    return project


def apply_under_strace(project: Project, *strace_args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    # Without -f: only apply's main thread is traced, so git's processes and the write pool's threads neither count
    # towards n nor are killed (strace counts an injected call per traced thread).
    return subprocess.run([STRACE, "-qq", *strace_args, "--", sys.executable, "-m", "trueup", "apply",
                           str(project.root / "plan.json"), "--approve-all", "--workspace", str(project.root)],
                          capture_output=True, text=True, env=env, timeout=60)


MAIN_CALL = re.compile(r"^(rename|fsync|unlink|write)\((.*)")


def crash_points(project: Project) -> list[tuple[str, int, str]]:
    """(system call, n, what) for each crash: the n-th such call of apply's main thread."""
    trace = project.root / "trace.txt"
    done = apply_under_strace(project, "-y", "-e", "trace=rename,fsync,unlink,write", "-o", str(trace))
    assert done.returncode == 0, done.stderr
    counts: dict[str, int] = {}
    calls = []
    for line in trace.read_text().splitlines():
        match = MAIN_CALL.match(line)
        if match:
            counts[match[1]] = counts.get(match[1], 0) + 1
            calls.append((match[1], counts[match[1]], match[2]))

    def first(call: str, needle: str, last: bool = False) -> tuple[str, int, str]:
        found = [(c, n, needle) for c, n, args in calls if c == call and needle in args]
        assert found, f"no {call} of {needle} in apply's trace"
        return found[-1] if last else found[0]

    if os.environ.get("TRUEUP_CRASH_SWEEP") == "1":  # every mutating call of the workspace (minutes, not CI)
        return [(c, n, args[:80]) for c, n, args in calls
                if str(project.root) in args and (c != "write" or "/." in args)]
    renames = [(c, n, args) for c, n, args in calls if c == "rename" and "/installed/" in args]
    points = [
        first("write", "/scratch/"),  # the merge's copies in the scratch directory
        first("fsync", ".trueup-local-"),  # the backup of the edited file, written but not yet in place
        first("rename", ".trueup-local-"),
        first("rename", "/server/.index.js.trueup-tmp."),  # the merge result
        (*renames[len(renames) // 2][:2], "a new file of the batch"),
        first("unlink", "/installed/app/docs/old.md"),  # a file the source removed
        first("write", "/.trueup/.install.json.trueup-tmp."),  # the ledger-write window: written...
        first("fsync", "/.trueup/.install.json.trueup-tmp."),  # ...synced...
        first("rename", "/.trueup/.install.json.trueup-tmp."),  # ...renamed into place
        first("rename", "/.trueup-state/cache/", last=True),  # after the ledger: the state dir's caches
    ]
    return points


def test_no_crash_loses_a_byte_and_every_crash_converges(template, tmp_path):
    probe = fresh(template, tmp_path / "probe")
    points = crash_points(probe)
    ledger_before = json.loads((Path(template) / "installed/app/.trueup/install.json").read_text())
    recorded = {p: e["sha256"] for p, e in ledger_before["files"].items()}
    recorded.update({p: g["output_sha256"] for p, g in ledger_before.get("generated", {}).items()})
    before = files_below(Path(template) / "installed/app")
    operator = {p: sha(data) for p, data in before.items()
                if not p.startswith(".trueup/") and recorded.get(p) != sha(data)}
    assert set(operator) == {"server/index.js", "server/util.js", "notes.txt"}

    leftovers_total = state_total = losses = 0
    for index, (call, n, what) in enumerate(points):
        project = fresh(template, tmp_path / f"crash-{index}")
        install, state = project.install, project.root / ".trueup-state"
        done = apply_under_strace(project, "-e", f"trace={call}", "-e", f"inject={call}:signal=KILL:when={n}")
        assert done.returncode != 0, f"{call} #{n} ({what}) did not crash apply"
        if "/scratch/" in what:
            assert list((state / "scratch").iterdir()), "the scratch directory was not left behind"

        present = {sha(data) for p, data in files_below(install).items() if not TEMP_NAME.match(p.rpartition("/")[2])}
        lost = sorted(p for p, digest in operator.items() if digest not in present)
        losses += len(lost)
        assert not lost, f"crash at {call} #{n} ({what}) lost {lost}"

        state_leftovers = temp_files(state)
        state_total += len(state_leftovers)
        code, out, err = project.run("plan", "--json", "--detailed-exitcode")
        assert code in (0, 2), f"plan after the crash at {call} #{n} ({what}): {err}"
        assert not temp_files(state), f"{call} #{n} ({what}): the plan left {state_leftovers} of a dead apply"
        found = [d for c in json.loads(out)["components"] for d in c["drift"] if d["kind"] == "leftover"]
        assert {d["path"] for d in found} == set(temp_files(install)), f"{call} #{n} ({what})"
        leftovers_total += len(found)

        assert project.run("plan", "-o", str(project.root / "recover.json"))[0] == 0
        code, out, err = project.run("apply", str(project.root / "recover.json"), "--approve-all")
        assert code == 0, f"recovery after {call} #{n} ({what}): {out}{err}"
        code, out, err = project.run("plan", "--detailed-exitcode")
        assert code == 0, f"not converged after the crash at {call} #{n} ({what}):\n{out}{err}"

        after = files_below(install)
        assert not temp_files(install) and not temp_files(state), f"{call} #{n} ({what})"
        assert not list((state / "scratch").iterdir()), f"{call} #{n} ({what}): scratch left"
        ledger = json.loads((install / ".trueup/install.json").read_text())
        for path, data in after.items():
            original = path.partition(".trueup-")[0].rstrip(".") if ".trueup-" in path else None
            if original and original in after and path.endswith(".trueup-new"):
                assert data != after[original], f"{call} #{n} ({what}): {path} equals the live file"
            if original and ".trueup-local-" in path and original in ledger["files"]:
                assert sha(data) != ledger["files"][original]["sha256"], \
                    f"{call} #{n} ({what}): {path} backs up the new version"
        kept = {sha(data) for data in after.values()}
        assert all(digest in kept for digest in operator.values()), f"{call} #{n} ({what}) lost bytes in recovery"
        shutil.rmtree(project.root)
    print(f"crash points: {len(points)}; leftovers reported: {leftovers_total}; state-dir temp files removed: "
          f"{state_total}; operator files lost: {losses}")
