"""The stat cache never changes a plan: ``trueup plan`` equals ``trueup plan --no-cache`` after any history.

A real component (nested directories, one wide directory, a symlink, a tracked secret, a tracked file
under the ignored ``data/``, a generated file and its template) is installed, then operated on in rounds
of random edits: same-size and resized rewrites (some with the mtime put back), restores to what the
ledger says, deletions of files and whole directories, untracked and backup files, mode changes, files
replaced by symlinks or directories, directories replaced by symlinks, the generated output touched,
the source ref switched, and applies (approve --all, or a random action per group), which rewrite the
ledger and so invalidate every cached verdict. After each round the cached plan must equal the
uncached plan (everything but ``meta``), and a second cached plan, which must take the warm path
(trusted verdicts, nothing hashed), must equal the first.

Racy-clean: the cache trusts nothing changed within ``stat_cache.RACY_SLACK_NS`` (2 s) of its walk, so
in-process the slack is 0 and the test sleeps past the kernel's coarse timestamp tick between edits and
plans (as test_stat_cache.test_cache_never_changes_results does); otherwise no verdict would ever be
trusted and the property would prove nothing.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import Project, build_tree
from trueup.demo import make_tagged_repo
from trueup.files import fork
from trueup.files import observation as observe
from trueup.files import hashing
from trueup.state import stat_cache

# Past the kernel's coarse file-time tick (a few ms): edits land before the next walk's stamp, and
# after the previous walk's, so with RACY_SLACK_NS = 0 the cache may trust them and is never fooled.
SETTLE = 0.02

WIDE = {f"server/lib/m{i:02d}.js": f"module.exports = {i};\n" for i in range(12)}  # one directory with many files
V1 = {
    "package.json": '{"name": "app", "version": "1.0.0"}\n',
    "README.md": "# app\n\nRuns the app.\n",
    ".env": "TOKEN=s3cret\n",  # tracked and secret: existence and mode only
    "CLAUDE.md": "Claude is the agent.\n",  # template of the generated AGENTS.md
    "bin/run": ("#!/bin/sh\nexec node server/index.js\n", 0o755),
    "server/index.js": "const a = 1;\nconsole.log(a);\n",
    "server/util.js": "module.exports = {};\n",
    **WIDE,
    "docs/guide/deep.md": "deep docs\n",
    "docs/guide/api/ref.md": "reference\n",
    "data/seed.json": '{"seed": 1}\n',  # tracked, but under the ignored data/**
}
V2 = {
    **{k: v for k, v in V1.items() if k not in ("docs/guide/api/ref.md", "server/lib/m11.js")},
    "package.json": '{"name": "app", "version": "2.0.0"}\n',
    "server/index.js": "const a = 2;\nconsole.log(a);\n",
    "server/lib/m00.js": "module.exports = 100;\n",
    "server/new.js": "exports.n = 1;\n",
    "CLAUDE.md": "Claude is the agent.\nClaude is careful.\n",
}
LINKS = {"v1": {"link.js": "server/index.js"}, "v2": {"link.js": "server/util.js", "docs/latest": "guide"}}

TRACKED = sorted({*V1, *V2, *LINKS["v1"], *LINKS["v2"]})
FILES = sorted({*V1, *V2})
UNTRACKED = ["notes.txt", "server/lib/extra.js", "newdir/sub/x.txt", "docs/guide/api/new.md", "ünï côdé.txt",
             "data/cache.db", "data/sub/deep.bin"]
BACKUPS = ["package.json.bak", "server/index.js.orig", "server/lib/m03.js.bak", "CLAUDE.md~", "docs/guide/deep.md.rej"]
DIRS = ["server", "server/lib", "docs", "docs/guide", "docs/guide/api", "bin", "data", "newdir"]
GENERATED = "AGENTS.md"

# Every content the install may hold, by sha256: what "restore to the ledger's entry" writes back.
CONTENT: dict[str, bytes] = {}
LINK_TARGETS: dict[str, str] = {}


def _remember(data: bytes) -> bytes:
    CONTENT[hashlib.sha256(data).hexdigest()] = data
    return data


for _files in (V1, V2):
    for _value in _files.values():
        _remember((_value[0] if isinstance(_value, tuple) else _value).encode())
for _links in LINKS.values():
    for _target in _links.values():
        LINK_TARGETS[hashlib.sha256(os.fsencode(_target)).hexdigest()] = _target

# ---------------------------------------------------------------------------------------------- operations

data_st = st.binary(min_size=0, max_size=48) | st.sampled_from(sorted(CONTENT.values()))
operation = st.one_of(
    st.tuples(st.just("edit"), st.sampled_from(FILES), data_st, st.sampled_from(["same-size", "same-size-utime", "resize"])),
    st.tuples(st.just("restore"), st.sampled_from(TRACKED), st.booleans()),
    st.tuples(st.just("delete"), st.sampled_from(TRACKED + UNTRACKED + BACKUPS + [GENERATED])),
    st.tuples(st.just("rmdir"), st.sampled_from(DIRS)),
    st.tuples(st.just("mkdir"), st.sampled_from(DIRS + ["empty", "docs/empty"])),
    st.tuples(st.just("add"), st.sampled_from(UNTRACKED + BACKUPS), data_st),
    st.tuples(st.just("chmod"), st.sampled_from(FILES + UNTRACKED[:2] + BACKUPS[:2]),
              st.sampled_from([0o600, 0o640, 0o644, 0o755])),
    st.tuples(st.just("symlink"), st.sampled_from(FILES + UNTRACKED[:2]),
              st.sampled_from(["server/index.js", "nowhere", "../etc"])),
    st.tuples(st.just("file-to-dir"), st.sampled_from(FILES)),
    st.tuples(st.just("dir-to-symlink"), st.sampled_from(DIRS[:6]), st.sampled_from(["..", "server", "/tmp"])),
    st.tuples(st.just("generated"), st.sampled_from(["touch", "edit", "restore-mtime"])),
    st.tuples(st.just("ref"), st.sampled_from(["v1", "v2"])),
    st.tuples(st.just("apply"), st.none() | st.lists(st.integers(0, 3), min_size=1, max_size=12)),
)
rounds_st = st.lists(st.lists(operation, min_size=1, max_size=6), min_size=1, max_size=4)


def _is_file(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def _clear(path: Path) -> None:
    """Remove whatever is at ``path`` (a symlink is removed, never followed)."""
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def _make_room(install: Path, rel: str) -> None:
    """Every parent of ``rel`` a real directory: a file or symlink in the way is removed."""
    current = install
    for part in rel.split("/")[:-1]:
        current = current / part
        if current.is_symlink() or (current.exists() and not current.is_dir()):
            current.unlink()
        current.mkdir(exist_ok=True)


def _write(install: Path, rel: str, data: bytes) -> None:
    _make_room(install, rel)
    path = install / rel
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.is_symlink():
        path.unlink()
    path.write_bytes(_remember(data))


def _apply(project: Project, choice: list[int] | None) -> str:
    """Approve everything recommended (``choice`` None) or one action per group; apply. Rewrites the ledger."""
    time.sleep(SETTLE)
    plan_file = project.root / "p.json"
    code, _, err = project.run("plan", "-o", str(plan_file))
    assert code == 0, err
    if choice is None:
        code, _, err = project.run("approve", str(plan_file), "--all")
        assert code == 0, err
        time.sleep(SETTLE)
        code, out, err = project.run("apply", str(plan_file))
    else:
        document = json.loads(plan_file.read_text())
        groups: dict[str, list[str]] = {}
        for action in document["actions"]:
            groups.setdefault(action["group"], []).append(action["id"])
        ids = [sorted(ids)[choice[i % len(choice)] % len(ids)] for i, (_, ids) in enumerate(sorted(groups.items()))]
        time.sleep(SETTLE)
        code, out, err = project.run("apply", str(plan_file), *[f"--approve={i}" for i in ids])
    # Some combinations cannot be carried out (a target below a symlinked directory: refused, exit 3; a template
    # whose absence was accepted: exit 1): apply then stops with one clear line, which is fine here.
    assert code == 0 or (code in (1, 3) and err.startswith("trueup: error: ") and err.count("\n") == 1), out + err
    time.sleep(SETTLE)
    return "applied" if code == 0 else "refused"


def act(project: Project, op: tuple) -> str | None:
    install = project.install
    kind, rel = op[0], op[1]
    path = install / rel if isinstance(rel, str) else None
    if kind == "edit":
        data, how = op[2], op[3]
        if not _is_file(path):
            return None
        st_ = path.lstat()
        if how == "resize":
            new = data if len(data) != st_.st_size else data + b"+"
            path.write_bytes(_remember(new))  # same inode, truncated and rewritten
            return None
        old = path.read_bytes()
        if not old:
            return None
        pad = (data or b"\x01") * (len(old) // max(len(data), 1) + 1)
        with open(path, "r+b") as fh:  # in place: same inode, same size, every byte different
            fh.write(_remember(bytes(o ^ (p | 1) for o, p in zip(old, pad))))
        if how == "same-size-utime":
            os.utime(path, ns=(st_.st_atime_ns, st_.st_mtime_ns))  # only ctime tells
    elif kind == "restore":
        entry = project.ledger()["files"].get(rel)
        if entry is None:
            return None
        before = path.lstat() if _is_file(path) else None
        if entry["type"] == "symlink":
            if entry["sha256"] not in LINK_TARGETS:
                return None
            _make_room(install, rel)
            _clear(path)
            os.symlink(LINK_TARGETS[entry["sha256"]], path)
            return None
        if entry["sha256"] not in CONTENT:
            return None
        data = CONTENT[entry["sha256"]]
        if before is not None and before.st_size == len(data):
            with open(path, "r+b") as fh:  # the nastiest restore: in place, same size
                fh.write(data)
        else:
            _write(install, rel, data)
        os.chmod(path, int(entry["mode"], 8))
        if op[2] and before is not None:
            os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    elif kind == "delete":
        if path.is_symlink() or _is_file(path):
            path.unlink()
    elif kind == "rmdir":
        _clear(path)
    elif kind == "mkdir":
        _make_room(install, rel + "/x")
    elif kind == "add":
        _write(install, rel, op[2])
    elif kind == "chmod":
        if _is_file(path):
            os.chmod(path, op[2])
    elif kind == "symlink":
        _make_room(install, rel)
        _clear(path)
        os.symlink(op[2], path)
    elif kind == "file-to-dir":
        _make_room(install, rel)
        _clear(path)
        path.mkdir()
        (path / "inner.txt").write_bytes(b"now a directory\n")
    elif kind == "dir-to-symlink":
        _make_room(install, rel)
        _clear(path)
        os.symlink(op[2], path)
    elif kind == "generated":
        path = install / GENERATED
        if not _is_file(path):
            return None
        if rel == "touch":
            os.utime(path)  # same content, new times
        elif rel == "edit":
            with open(path, "ab") as fh:
                fh.write(b"edited by hand\n")
        else:
            st_ = path.lstat()
            old = path.read_bytes()
            path.write_bytes(old.upper() if old.upper() != old else old.lower())
            os.utime(path, ns=(st_.st_atime_ns, st_.st_mtime_ns))
    elif kind == "ref":
        project.manifest(ref=rel)
    elif kind == "apply":
        return _apply(project, rel)
    return None


# ------------------------------------------------------------------------------------ plans and instruments

class Instruments:
    """Every tree walk of a plan: was the cache's verdicts trusted, and how many files were hashed."""

    def __init__(self) -> None:
        self.hashed: list[str] = []
        self.walks: list[tuple[bool, bool]] = []  # (with cache, verdicts trusted)
        self.forks = 0  # walks split over forked workers, whose hashing the spy cannot see


@contextlib.contextmanager
def instrumented():
    """RACY_SLACK_NS = 0 (tests sleep past the tick instead), a spy on hashing and on tree walks."""
    inst = Instruments()
    saved_slack, real_digest, real_observe = stat_cache.RACY_SLACK_NS, hashing.digest_at, observe.observe_tree
    real_fork = fork.run_forked

    def digest_at(name, size, dir_fd, *a, **kw):  # the walk hashes every file through this one call
        inst.hashed.append(os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), name))
        return real_digest(name, size, dir_fd, *a, **kw)

    def run_forked(*a, **kw):
        inst.forks += 1
        return real_fork(*a, **kw)

    def observe_tree(*a, **kw):
        snapshot = real_observe(*a, **kw)
        inst.walks.append((kw.get("cache_dir") is not None, snapshot.trusted_meta is not None))
        return snapshot

    stat_cache.RACY_SLACK_NS = 0
    hashing.digest_at = digest_at
    observe.observe_tree = observe_tree
    fork.run_forked = run_forked
    try:
        yield inst
    finally:
        stat_cache.RACY_SLACK_NS = saved_slack
        hashing.digest_at = real_digest
        observe.observe_tree = real_observe
        fork.run_forked = real_fork


def measured(project: Project, inst: Instruments, *args: str) -> tuple[dict, bool, list[str]]:
    """(plan document, verdicts trusted, files hashed by the walk, relative to the install)."""
    walks, hashed = len(inst.walks), len(inst.hashed)
    document = project.plan(*args)
    assert len(inst.walks) == walks + 1
    # A tree this small (about ten directories) is walked in-process, so the hashing spy sees every file read.
    assert inst.forks == 0, "the walk forked workers: the hash counts below would be blind"
    return document, inst.walks[-1][1], sorted(os.path.relpath(p, project.install) for p in inst.hashed[hashed:])


def body(document: dict) -> dict:
    """Everything but ``meta`` (creation time, host): components, drift, actions, summary, plan_hash."""
    return {k: v for k, v in document.items() if k != "meta"}


def differences(a: dict, b: dict, labels: tuple[str, str] = ("cached", "--no-cache")) -> str:
    lines = [json.dumps(body(d), indent=1, sort_keys=True).splitlines() for d in (a, b)]
    return "\n".join(difflib.unified_diff(*lines, *labels, lineterm="", n=4))


def check(project: Project, inst: Instruments, history: list) -> tuple[bool, list[str]]:
    """Cached plan == --no-cache plan, and the warm re-plan takes the trusted path and equals both.

    Returns whether the cached plan (the first one after the edits) trusted its stored verdicts, and
    which files it hashed.
    """
    time.sleep(SETTLE)
    cached, trusted, hashed = measured(project, inst)
    warm, warm_trusted, warm_hashed = measured(project, inst)
    uncached, _, _ = measured(project, inst, "--no-cache")
    assert body(cached) == body(uncached), (
        f"cached plan differs from --no-cache plan after {history}:\n{differences(cached, uncached)}")
    assert body(warm) == body(cached), (
        f"warm re-plan differs after {history}:\n{differences(warm, cached, ('warm', 'cached'))}")
    assert warm_trusted and warm_hashed == [], (warm_trusted, warm_hashed)
    time.sleep(SETTLE)
    return trusted, hashed


# ---------------------------------------------------------------------------------------------- fixtures

def make_source(project: Project) -> None:
    """Like Project.source, plus symlinks in the commits."""
    staging = project.root / ".staging"
    pairs = []
    for tag, files in (("v1", V1), ("v2", V2)):
        build_tree(staging / tag, files)
        for rel, target in LINKS[tag].items():
            (staging / tag / rel).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(target, staging / tag / rel)
        pairs.append((tag, staging / tag))
    make_tagged_repo(project.repo, pairs)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """One installed workspace (v1, clean); every example works on a fresh copy of it."""
    root = tmp_path_factory.mktemp("cache-equivalence")
    project = Project(root)
    make_source(project)
    project.manifest(ref="v1")
    plan_file = str(root / "install.json")
    assert project.run("plan", "-o", plan_file)[0] == 0
    code, out, err = project.run("apply", plan_file, "--approve-all")
    assert code == 0, out + err
    assert {"link.js", ".env", "data/seed.json", "server/lib/m11.js"} <= project.ledger()["files"].keys()
    assert _is_file(project.install / GENERATED)
    return root


@contextlib.contextmanager
def fresh(template: Path):
    root = Path(tempfile.mkdtemp(prefix="trueup-cacheq-"))
    shutil.rmtree(root)
    shutil.copytree(template, root, symlinks=True)
    try:
        yield Project(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------------------------------------- the property

@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rounds=rounds_st)
def test_cached_plan_equals_uncached_plan(template, rounds):
    with fresh(template) as project, instrumented() as inst:
        history: list = []
        check(project, inst, history)  # cold: the copied state's cache belongs to another root
        for ops in rounds:
            refused = False
            for op in ops:
                refused |= act(project, op) == "refused"
                history.append(op)
            history.append("plan")
            trusted, _ = check(project, inst, history)
            # The previous round's plans (or apply's own re-plan) left a cache for this very ledger, so the
            # first plan after the edits decided them against trusted verdicts: the path under test.
            assert trusted or refused, f"cached verdicts were not trusted after {history}"


# ---------------------------------------------------------------------------------------------- nastiest cases

def test_same_size_rewrites_and_restores_against_trusted_verdicts(template):
    """In place, same size, mtime put back: only ctime tells. Then restored the same way: clean again."""
    with fresh(template) as project, instrumented() as inst:
        check(project, inst, [])
        steps = [
            ("edit", "server/lib/m05.js", b"x", "same-size-utime"),
            ("edit", "README.md", b"", "same-size"),
            ("chmod", "bin/run", 0o644),
            ("edit", "data/seed.json", b"ignored", "same-size-utime"),
        ]
        for op in steps:
            act(project, op)
        # Trusted verdicts, and exactly the files whose lstat changed were read again (ignored data/ never is).
        assert check(project, inst, steps) == (True, ["README.md", "bin/run", "server/lib/m05.js"])
        kinds = {(d["kind"], d["path"]) for d in project.plan("--no-cache")["components"][0]["drift"]}
        assert kinds == {("modified", "server/lib/m05.js"), ("modified", "README.md"), ("mode-changed", "bin/run")}
        restores = [("restore", "server/lib/m05.js", True), ("restore", "README.md", True), ("chmod", "bin/run", 0o755)]
        for op in restores:
            act(project, op)
        assert check(project, inst, steps + restores) == (True, ["README.md", "bin/run", "server/lib/m05.js"])
        assert project.plan()["components"][0]["drift"] == []


def test_apply_invalidates_verdicts(template):
    """Verdicts cached against one ledger are never reused against the next: accept, then restore."""
    with fresh(template) as project, instrumented() as inst:
        check(project, inst, [])
        history = [("edit", "server/index.js", b"patch", "resize"), ("chmod", "server/lib/m00.js", 0o600),
                   ("add", "notes.txt", b"mine\n"), ("delete", "docs/guide/deep.md")]
        for op in history:
            act(project, op)
        assert check(project, inst, history)[0]
        assert act(project, ("apply", None)) == "applied"  # accepts the patch and the note, restores the rest
        history.append(("apply", None))
        assert project.ledger()["accepted"].keys() == {"server/index.js", "notes.txt"}
        assert check(project, inst, history)[0]  # apply's own re-plan cached verdicts against the new ledger
        # A second patch differs from the accepted one: drift again, judged against the new ledger.
        more = [("edit", "server/index.js", b"again", "same-size"), ("delete", "notes.txt")]
        for op in more:
            act(project, op)
        history += more
        assert check(project, inst, history)[0]
        kinds = {(d["kind"], d["path"]) for d in project.plan("--no-cache")["components"][0]["drift"]}
        assert kinds == {("modified", "server/index.js")}
        # Back to the ledger's own content (the accepted patch undone): no drift at all.
        more = [("restore", "server/index.js", True)]
        act(project, more[0])
        history += more
        assert check(project, inst, history)[0]
        assert project.plan("--no-cache")["components"][0]["drift"] == []
        # An upgrade rewrites most ledger entries (and the symlink's target) under the same stat cache.
        history += [("ref", "v2"), ("apply", None)]
        act(project, ("ref", "v2"))
        assert act(project, ("apply", None)) == "applied"
        assert project.ledger()["source"]["ref"] == "v2"
        assert check(project, inst, history)[0]
        history += [("restore", "server/lib/m00.js", False), ("apply", [1, 0, 2])]
        act(project, history[-2])
        assert act(project, history[-1]) in ("applied", "refused")
        check(project, inst, history)


def test_whole_directories_replaced(template):
    """The wide directory deleted, a directory turned into a symlink, a file into a directory, all at once."""
    with fresh(template) as project, instrumented() as inst:
        check(project, inst, [])
        ops = [("rmdir", "server/lib"), ("dir-to-symlink", "docs/guide", ".."), ("file-to-dir", "server/util.js"),
               ("add", "newdir/sub/x.txt", b"x"), ("mkdir", "empty"), ("symlink", "package.json", "nowhere"),
               ("generated", "touch")]
        for op in ops:
            act(project, op)
        assert check(project, inst, ops)[0]
        # Put the wide directory back file by file: the count of tracked paths seen must add up again.
        back = [("restore", rel, False) for rel in sorted(WIDE)]
        for op in back:
            act(project, op)
        assert check(project, inst, ops + back)[0]
        assert act(project, ("apply", None)) in ("applied", "refused")
        check(project, inst, ops + back + [("apply", None)])
