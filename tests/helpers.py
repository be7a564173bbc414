"""Test helpers: build file trees, tagged git sources and manifests; run trueup in-process."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from trueup.cli import main
from trueup.demo import make_tagged_repo


def build_tree(root: Path, files: dict[str, Any]) -> None:
    """{path: text | bytes | (text, mode)} → files under root (copier's build_file_tree)."""
    for rel, content in files.items():
        mode = None
        if isinstance(content, tuple):
            content, mode = content
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        if mode is not None:
            os.chmod(path, mode)


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path below root with its type, mode and content hash: to prove nothing changed."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            rel = str(path.relative_to(root))
            if path.is_symlink():
                out[rel] = ("link", os.readlink(path))
            elif path.is_file():
                out[rel] = ("file", oct(st.st_mode), hashlib.sha256(path.read_bytes()).hexdigest())
            else:
                out[rel] = ("dir", oct(st.st_mode))
    return out


class Project:
    """A workspace in a temp dir: source repo at src/app, install at installed/app, state in .trueup-state."""

    def __init__(self, root: Path, name: str = "app") -> None:
        self.root = root
        self.name = name
        self.repo = root / "src" / name
        self.install = root / "installed" / name

    def source(self, versions: dict[str, dict[str, Any]]) -> None:
        staging = self.root / ".staging"
        pairs = []
        for tag, files in versions.items():
            build_tree(staging / tag, files)
            pairs.append((tag, staging / tag))
        make_tagged_repo(self.repo, pairs)

    def manifest(self, ref: str = "v1", *, extra: dict | None = None, install: dict | None = None, **top) -> None:
        component = {
            "name": self.name,
            "source": {"repo": f"src/{self.name}", "ref": ref},
            "install": {"path": f"installed/{self.name}", "ignore": ["data/**"], "secrets": [".env"],
                        "generated": [{"path": "AGENTS.md", "template": "CLAUDE.md",
                                       "command": "sed s/Claude/Agent/ {template} > {output}"}],
                        **(install or {})},
            **(extra or {}),
        }
        document = {"version": 1, "state_dir": ".trueup-state", **top, "components": [component]}
        with open(self.root / "trueup.yaml", "w") as fh:
            YAML().dump(document, fh)

    def run(self, *args: str) -> tuple[int, str, str]:
        import contextlib
        import io

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([*args[:1], "--workspace", str(self.root), *args[1:]] if args and args[0] in WS_COMMANDS
                        else list(args))
        return code, out.getvalue(), err.getvalue()

    def plan(self, *extra: str) -> dict:
        code, out, err = self.run("plan", "--json", *extra)
        assert code in (0, 2), err
        return json.loads(out)

    def ledger(self) -> dict:
        return json.loads((self.install / ".trueup" / "install.json").read_text())

    def kinds(self, document: dict | None = None) -> set[tuple[str, str, str | None]]:
        document = document or self.plan()
        return {(d["class"], d["kind"], d["path"]) for c in document["components"] for d in c["drift"]}

    def action(self, document: dict, type_: str, target: str | None = None) -> dict:
        for action in document["actions"]:
            if action["type"] == type_ and (target is None or target in action["targets"]):
                return action
        raise AssertionError(f"no {type_} action for {target} in {[(a['type'], a['targets']) for a in document['actions']]}")

    def write_plan(self, document: dict, name: str = "plan.json") -> Path:
        from trueup.state.canonical import canonical_json

        path = self.root / name
        path.write_text(canonical_json(document))
        return path

    def plan_and_apply_all(self) -> str:
        """plan -o plan.json, then apply it with every recommended action approved; what apply printed."""
        plan_file = self.root / "plan.json"
        code, out, err = self.run("plan", "-o", str(plan_file))
        assert code in (0, 2), err
        code, out, err = self.run("apply", str(plan_file), "--approve-all")
        assert code == 0, out + err
        return out

    def apply_ids(self, document: dict, *ids: str) -> tuple[int, str, str]:
        path = self.write_plan(document)
        return self.run("apply", str(path), *[f"--approve={i}" for i in ids])


WS_COMMANDS = {"plan", "apply", "show"}


def installed_project(root: Path, versions: dict[str, dict[str, Any]] | None = None) -> Project:
    """A Project under ``root`` with a v1/v2 source (default: the conftest's), installed at v1 by trueup and clean."""
    from tests.conftest import V1, V2

    project = Project(root)
    project.source(versions or {"v1": V1, "v2": V2})
    project.manifest(ref="v1")
    plan_file = str(root / "install-plan.json")
    assert project.run("plan", "-o", plan_file)[0] == 0
    assert project.run("apply", plan_file, "--approve-all")[0] == 0
    return project

