"""trueup watch remembers its sources' git answers between cycles (trueup/source_memo.py): a plan in which no source
moved runs no git process, and whatever moved a ref — a commit, a moved tag, a reset, pack-refs, a fetch — is seen."""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import V1, V2
from trueup import source_memo
from trueup.demo import git
from trueup.errors import GitError
from trueup.manifest import load_workspace
from trueup.planner.plan import make_plan
from trueup.source import Source
from trueup.state import resident

SLACK_S = 0.02  # a racy slack short enough for tests, still longer than a kernel clock tick


@pytest.fixture
def watching(monkeypatch):
    """As inside trueup watch: answers kept between plans, ref files trusted once SLACK_S old."""
    monkeypatch.setattr(source_memo, "RACY_SLACK_NS", int(SLACK_S * 1e9))
    resident.keep(True)
    yield
    resident.keep(False)


@pytest.fixture
def git_processes(monkeypatch) -> list[list[str]]:
    """Every git process started from now on (counted where subprocess starts them, whoever asks)."""
    started: list[list[str]] = []

    class Counting(subprocess.Popen):
        def __init__(self, args, *rest, **kwargs):
            if args[0] == "git":
                started.append(list(args))
            super().__init__(args, *rest, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", Counting)
    return started


def settle() -> None:
    time.sleep(SLACK_S * 1.5)


def plan(root: Path, **kwargs) -> dict:
    document = make_plan(load_workspace(root), quiet=True, **kwargs)
    document.pop("meta")
    return document


def source_facts(document: dict) -> dict:
    return document["components"][0]["facts"]["source"]


def test_a_plan_in_which_no_source_moved_runs_no_git_process(installed, watching, git_processes):
    (installed.install / "server/index.js").write_text("patched\n")  # a content diff reads the file at the commit
    first = plan(installed.root)
    settle()
    git_processes.clear()
    second = plan(installed.root)
    assert git_processes == []
    assert second == first


def test_a_pending_upgrade_is_planned_again_without_git(installed, watching, git_processes):
    """Tree, diff, renames and file contents of two commits: answers about objects, kept by their ids."""
    installed.manifest(ref="v2")
    first = plan(installed.root)
    assert any(a["type"] == "upgrade" for a in first["actions"])
    settle()
    git_processes.clear()
    assert plan(installed.root) == first
    assert git_processes == []


def test_outside_watch_every_plan_asks_git(installed, git_processes, monkeypatch):
    monkeypatch.setattr(source_memo, "RACY_SLACK_NS", 0)
    plan(installed.root)
    git_processes.clear()
    plan(installed.root)
    assert any(args[3:5] == ["rev-parse", "--verify"] for args in git_processes)


def test_ref_files_younger_than_the_racy_slack_are_not_trusted(installed, watching, git_processes, monkeypatch):
    monkeypatch.setattr(source_memo, "RACY_SLACK_NS", 10**12)  # every file as if written a moment ago
    plan(installed.root)
    git_processes.clear()
    plan(installed.root)
    assert any(args[3:5] == ["rev-parse", "--verify"] for args in git_processes)


def _commit_v3(repo: Path) -> None:
    (repo / "package.json").write_text('{"name": "app", "version": "3.0.0"}\n')
    git(repo, "commit", "-q", "-am", "release v3")


# (ref in trueup.yaml, what moves it between two plans)
MOVES = {
    "commit on the branch": ("main", _commit_v3),
    "tag moved": ("v1", lambda repo: git(repo, "tag", "-f", "v1", "v2")),
    "branch reset": ("main", lambda repo: git(repo, "reset", "-q", "--hard", "v1")),
    "packed tag moved": ("v1", lambda repo: (git(repo, "tag", "-f", "v1", "v2"), git(repo, "pack-refs", "--all"))),
    "tag outranks the branch": ("main", lambda repo: git(repo, "tag", "main", "v1")),
    "HEAD checked out elsewhere": ("HEAD", lambda repo: git(repo, "checkout", "-q", "--detach", "v1")),
    "commit on the branch HEAD names": ("HEAD", _commit_v3),
}


@pytest.mark.parametrize("move", MOVES, ids=list(MOVES))
def test_a_moved_ref_is_seen_by_the_next_plan(project, watching, move):
    ref, act = MOVES[move]
    project.source({"v1": V1, "v2": V2})
    project.manifest(ref=ref)
    if move == "packed tag moved":
        git(project.repo, "pack-refs", "--all")  # v1 read from packed-refs alone, no loose file
    settle()
    before = source_facts(plan(project.root))
    assert before == source_facts(plan(project.root))  # the second plan's answer came from memory
    act(project.repo)
    after = source_facts(plan(project.root))
    assert after["commit"] == git(project.repo, "rev-parse", f"{ref}^{{commit}}").strip() != before["commit"]


def test_replace_refs_change_what_a_commit_reads_as(project, watching):
    project.source({"v1": V1, "v2": V2})
    project.manifest(ref="v1")
    settle()
    assert source_facts(plan(project.root))["version"] == "1.0.0"
    git(project.repo, "replace", git(project.repo, "rev-parse", "v1").strip(), git(project.repo, "rev-parse", "v2").strip())
    settle()  # the new layout is remembered too: that it has replace refs must keep object answers from memory
    seen = source_facts(plan(project.root))
    resident.keep(False)
    assert seen == source_facts(plan(project.root)) and seen["version"] == "2.0.0"


def test_a_fetch_cycle_sees_the_moved_remote_branch(project, watching):
    project.source({"v1": V1, "v2": V2})
    project.manifest(ref="main", extra={"source": {"repo": f"file://{project.repo}", "ref": "main"}})
    old = git(project.repo, "rev-parse", "main").strip()
    assert source_facts(plan(project.root))["commit"] == old  # clones the mirror
    settle()
    assert source_facts(plan(project.root, fetch=False))["commit"] == old
    _commit_v3(project.repo)
    assert source_facts(plan(project.root, fetch=False))["commit"] == old  # watch between polls: the mirror as it is
    assert source_facts(plan(project.root, fetch=True))["commit"] == git(project.repo, "rev-parse", "main").strip()


# Ref operations a property draws from; each leaves the repository valid (a dangling HEAD included).
NAMES = ("v1", "main", "rel")
OPS = st.one_of(
    st.tuples(st.just("tag"), st.sampled_from(NAMES), st.integers(0, 2)),
    st.tuples(st.just("branch"), st.sampled_from(NAMES), st.integers(0, 2)),
    st.tuples(st.just("delete"), st.sampled_from(["refs/tags/" + n for n in NAMES] + ["refs/heads/" + n for n in NAMES])),
    st.tuples(st.just("pack")),
    st.tuples(st.just("detach"), st.integers(0, 2)),
    st.tuples(st.just("attach"), st.sampled_from(NAMES)),
)


def _apply(repo: Path, commits: list[str], op: tuple) -> None:
    kind, *args = op
    if kind == "tag":
        git(repo, "tag", "-f", args[0], commits[args[1]])
    elif kind == "branch":
        git(repo, "update-ref", f"refs/heads/{args[0]}", commits[args[1]])
    elif kind == "delete":
        subprocess.run(["git", "-C", str(repo), "update-ref", "--no-deref", "-d", args[0]], capture_output=True)
    elif kind == "pack":
        git(repo, "pack-refs", "--all")
    elif kind == "detach":
        git(repo, "update-ref", "--no-deref", "HEAD", commits[args[0]])
    else:
        git(repo, "symbolic-ref", "HEAD", f"refs/heads/{args[0]}")


def _answers(source: Source) -> dict[str, object]:
    out: dict[str, object] = {}
    for name in (*NAMES, "HEAD"):
        try:
            out[name] = source.resolve(name)
        except GitError:
            out[name] = None
        out["tag " + name] = source.is_tag(name)
    return out


@settings(max_examples=12, deadline=None)
@given(ops=st.lists(OPS, min_size=1, max_size=6))
def test_remembered_ref_answers_equal_git_s_after_any_ref_operation(ops):
    """Property: after each ref operation, a source in watch answers as a fresh git process does."""
    saved = source_memo.RACY_SLACK_NS
    source_memo.RACY_SLACK_NS = int(SLACK_S * 1e9)
    resident.keep(True)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            repo = Path(tmp) / "repo"
            repo.mkdir()
            git(repo, "init", "-q", "-b", "main")
            commits = []
            for i in range(3):
                (repo / "f").write_text(f"{i}\n")
                git(repo, "add", "f")
                git(repo, "commit", "-q", "-m", f"c{i}")
                commits.append(git(repo, "rev-parse", "HEAD").strip())
            git(repo, "tag", "v1", commits[0])
            source = Source(repo)
            for op in ops:
                settle()  # what the last round read may now be kept
                source.check()
                _answers(source)
                _apply(repo, commits, op)
                source.check()
                remembered = _answers(source)
                resident.keep(False)
                fresh = _answers(source)
                resident.keep(True)
                assert remembered == fresh, op
    finally:
        resident.keep(False)
        source_memo.RACY_SLACK_NS = saved


def test_names_git_may_read_as_objects_are_not_kept(tmp_path, watching, git_processes):
    """An abbreviated id resolves by objects, which a new object can make ambiguous: asked every time."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "commit", "-q", "--allow-empty", "-m", "one")
    short = git(repo, "rev-parse", "--short=8", "HEAD").strip()
    source = Source(repo)
    settle()
    source.check()
    source.resolve(short)
    source.resolve("main")
    git_processes.clear()
    source.check()
    assert source.resolve("main") and git_processes == []
    source.resolve(short)
    assert [args[3:5] for args in git_processes] == [["rev-parse", "--verify"]]
