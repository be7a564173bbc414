"""trueup demo: the bundled example in a scratch directory, installed, drifted by hand, and planned."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "demo"
# Fixed identity and dates make the demo's commits, and so its plan, the same on every machine.
GIT_ENV = {
    "GIT_AUTHOR_NAME": "trueup demo", "GIT_AUTHOR_EMAIL": "demo@trueup.invalid",
    "GIT_COMMITTER_NAME": "trueup demo", "GIT_COMMITTER_EMAIL": "demo@trueup.invalid",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
    "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
}


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env, text=True).stdout


def make_tagged_repo(repo: Path, versions: list[tuple[str, Path]]) -> None:
    """A git repository with one commit per (tag, directory), each commit holding exactly that tree."""
    repo.mkdir(parents=True, exist_ok=True)
    git(repo, "init", "-q", "-b", "main")
    for tag, tree in versions:
        for entry in repo.iterdir():
            if entry.name != ".git":
                shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
        shutil.copytree(tree, repo, dirs_exist_ok=True, symlinks=True)
        # Copied files keep their fixture mtimes, which can fool git's stat check; re-hash from scratch.
        (repo / ".git" / "index").unlink(missing_ok=True)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "--allow-empty", "-m", f"release {tag}")
        git(repo, "tag", tag)


def _command_name() -> str:
    """How the operator can call this trueup: plain `trueup` if that is on PATH, else its full path."""
    import sys

    ours = Path(sys.argv[0]).resolve() if Path(sys.argv[0]).name == "trueup" else None
    found = shutil.which("trueup")
    if ours and found and Path(found).resolve() == ours:
        return "trueup"
    return str(ours) if ours else f"{sys.executable} -m trueup"


def run_demo(directory: Path | None, print_lines, print_document=None) -> int:
    """Make the demo workspace and plan it; ``print_document(scratch, document)`` (``--json``) instead of lines."""
    from trueup.actions.apply import apply_plan
    from trueup.planner import document as plans
    from trueup.manifest import load_workspace
    from trueup.planner import render
    from trueup.planner.plan import make_plan
    from trueup.state.atomic import write_text
    from trueup.state.canonical import canonical_json

    if not FIXTURES.is_dir():
        from trueup.errors import TrueupError

        raise TrueupError(f"the demo fixtures are missing ({FIXTURES})", hint="run the demo from a trueup source checkout")
    scratch = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="trueup-demo-"))
    scratch = scratch.resolve()
    if scratch.exists() and any(scratch.iterdir()):
        from trueup.errors import TrueupError

        raise TrueupError(f"{scratch} is not empty", hint="pass --dir with a new or empty directory")
    scratch.mkdir(parents=True, exist_ok=True)
    make_tagged_repo(scratch / "src" / "recruit",
                     [(tag, FIXTURES / "source" / tag) for tag in ("v0.2.8", "v0.2.9")])

    # Day 1: v0.2.8 is installed by trueup.
    manifest = (FIXTURES / "trueup.yaml").read_text()
    (scratch / "trueup.yaml").write_text(manifest.replace("ref: v0.2.9", "ref: v0.2.8"))
    workspace = load_workspace(scratch)
    first = make_plan(workspace, quiet=True)
    apply_plan(workspace, plans.decode(first, "install"), approve=[], approve_all=True)

    # Days 2-9: someone hot-patches the server and leaves a .bak; the agent rules are edited in place,
    # so the generated AGENTS.md is now stale; a fix is released as v0.2.9.
    install = scratch / "installed" / "recruit"
    index = install / "server" / "index.js"
    shutil.copy2(index, install / "server" / "index.js.bak")
    index.write_text(index.read_text().replace('listen(port, "127.0.0.1")', 'listen(port, "0.0.0.0") // hotfix: reach from LAN'))
    claude = install / "CLAUDE.md"
    claude.write_text(claude.read_text() + "Claude answers in English.\n")
    (scratch / "trueup.yaml").write_text(manifest)

    plan_file = scratch / "plan.json"
    document = make_plan(load_workspace(scratch), quiet=True)
    write_text(plan_file, canonical_json(document))
    if print_document is not None:
        print_document(scratch, document)
        return 0
    print_lines([(f"Demo workspace: {scratch}", "bold"), ("", None)])
    print_lines(render.human(document, "plan.json"))
    trueup = _command_name()
    print_lines([
        ("", None),
        ("Try it:", "bold"),
        (f"  cd {scratch}", None),
        (f"  {trueup} show plan.json --markdown      # the review view for a pull request", None),
        (f"  {trueup} approve plan.json --all        # approve every recommended action", None),
        (f"  {trueup} apply plan.json                # carry them out (refused if the world changed)", None),
        ("  # CLAUDE.md was edited here and upstream at the same place: the merge conflicts, so the upgrade keeps", None),
        ("  # yours and writes v0.2.9's beside it as CLAUDE.md.trueup-new. Plan again to resolve it:", None),
        (f"  {trueup} plan -o plan.json              # one merge-conflict: keep-local, take-new, resolved-by-hand", None),
        (f"  {trueup} approve plan.json --all        # --all keeps your CLAUDE.md (keep-local)", None),
        (f"  {trueup} apply plan.json", None),
        (f"  {trueup} plan --detailed-exitcode       # exit 0: nothing left to do", None),
    ])
    return 0
