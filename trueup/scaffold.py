"""`trueup init`: a commented trueup.yaml for an install that exists (or one to be made), with defaults fitting it.

It writes only the manifest (never over one that exists) and observes nothing beyond the directory listing:
the first `trueup plan` then finds which commit the install really is and proposes its import.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from trueup.errors import ManifestError, escape
from trueup.manifest import MANIFEST_NAME
from trueup.state.atomic import create_text

# Directories and files an agent component writes at run time: never part of what was installed.
RUNTIME_DIRS = ("node_modules", "data", "logs", "log", "tmp", ".cache", "__pycache__", ".venv")
SECRET_FILES = (".env", ".env.local", "credentials.json", "secrets.json")
_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _origin(path: Path) -> str | None:
    """The install's own git remote, when it is a checkout (``git clone`` installs are common)."""
    if not (path / ".git").exists():
        return None
    try:
        result = subprocess.run(["git", "-C", str(path), "remote", "get-url", "origin"], capture_output=True,
                                text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        home = Path.home()
        return "~/" + str(path.relative_to(home)) if path.is_relative_to(home) else str(path)


def _yaml_str(value: str) -> str:
    """A YAML double-quoted scalar (JSON's escapes are YAML's)."""
    import json

    return json.dumps(value, ensure_ascii=False)


def manifest_text(root: Path, install: Path, source: str, ref: str, name: str) -> str:
    present = {p.name for p in install.iterdir()} if install.is_dir() else set()
    ignore = [f"{d}/" for d in RUNTIME_DIRS if d in present] + (["*.log"] if any(p.endswith(".log") for p in present) else [])
    if (install / ".git").exists():
        ignore.insert(0, ".git/")
    secrets = [f for f in SECRET_FILES if f in present] or [".env"]
    schema = Path(__file__).parent / "schemas" / "workspace.schema.json"
    lines = [
        f"# yaml-language-server: $schema={schema}",
        "# trueup workspace: what should be installed and running here. Reference: README.md, \"trueup.yaml\";",
        "# check it with `trueup validate`, then `trueup plan` (it finds which version the install really is).",
        "version: 1",
        "state_dir: .trueup-state          # trueup's own records (lineage, caches, journal); default ~/.local/state/trueup",
        "components:",
        f"  - name: {_yaml_str(name)}",
        f"    source: {{repo: {_yaml_str(source)}, ref: {_yaml_str(ref)}}}   # git URL or local path; the tag or branch to track",
        "    install:",
        f"      path: {_yaml_str(_shown(install, root))}",
        f"      ignore: [{', '.join(_yaml_str(p) for p in ignore)}]   # written at run time: never hashed, never reported",
        f"      secrets: [{', '.join(_yaml_str(p) for p in secrets)}]   # existence and mode only; content never read",
        "      # backups: [\"*.old\"]          # extra backup patterns; *.bak, *.orig, *~ ... are known already",
        "      # generated:                  # files made from a template by a command (kept fresh by regenerate)",
        "      #   - {path: AGENTS.md, template: CLAUDE.md, command: \"cp {template} {output}\"}",
        "    # runtime: {manager: pm2, service: NAME, command: \"node server/index.js\"}   # what should be running",
        "",
    ]
    return "\n".join(lines)


def init(root: Path, install: Path, source: str | None, ref: str | None) -> Path:
    """Write ``root/trueup.yaml`` for the install at ``install``; refuses to replace one that exists."""
    manifest = root / MANIFEST_NAME
    if manifest.exists():
        raise ManifestError(f"{manifest}: exists already; trueup init never replaces a manifest",
                            hint="edit it, or run trueup init in another directory")
    if install.exists() and not install.is_dir():
        raise ManifestError(f"{escape(str(install))}: is not a directory", hint="give the install directory")
    source = source or _origin(install)
    if not source:
        raise ManifestError(f"{escape(str(install))}: no source given and the directory is not a git checkout",
                            hint="pass --source REPO (a git URL or path) and --ref TAG")
    name = _NAME.sub("-", install.resolve().name).strip("-.") or "component"
    if not create_text(manifest, manifest_text(root, install.resolve(), source, ref or "main", name)):
        raise ManifestError(f"{manifest}: appeared while trueup init ran; it was left as it is")
    return manifest
