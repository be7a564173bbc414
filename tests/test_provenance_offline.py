"""`trueup verify` is offline by construction: it passes inside a network namespace with no network at all."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest

from tests.provenance_keys import git
from tests.test_provenance_signatures import TRUST, install, signed_project

REMOTE = "https://git.example.invalid/app.git"  # never reachable: verify must not even try


def _unshare_works() -> str | None:
    try:
        proc = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True)
    except FileNotFoundError:
        return "unshare is not installed"
    return None if proc.returncode == 0 else f"unshare -n failed: {proc.stderr.strip()[:120]}"


@pytest.mark.skipif(_unshare_works() is not None, reason=str(_unshare_works()))
def test_verify_inside_unshare_n(tmp_path):
    project, _ = signed_project(tmp_path)
    install(project)
    # The same source as a remote one, whose mirror trueup already holds (as a past plan would have left it).
    mirror = project.root / ".trueup-state" / "sources" / (hashlib.sha256(REMOTE.encode()).hexdigest()[:16] + ".git")
    git(project.root, "clone", "-q", "--mirror", str(project.repo), str(mirror))
    project.manifest(ref="r1", extra={"trust": TRUST, "require": "signed"})
    doc = project.root / "trueup.yaml"
    doc.write_text(doc.read_text().replace("repo: src/app", f"repo: {REMOTE}"))
    proc = subprocess.run(["unshare", "-n", sys.executable, "-m", "trueup", "verify", "--json", "--workspace",
                           str(project.root)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)["components"][0]
    assert result["verdict"] == "verified-signed" and result["signer"] == "alice@example.com"
    # and the namespace really had no network: the same git fetch fails there
    fetch = subprocess.run(["unshare", "-n", "git", "-C", str(mirror), "ls-remote", "https://github.com/git/git"],
                           capture_output=True, text=True)
    assert fetch.returncode != 0
