"""Real signing material for the provenance tests: ssh-keygen keys, allowed_signers files, git-signed tags."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from trueup.demo import GIT_ENV


def keypair(directory: Path, name: str) -> Path:
    """An ed25519 key made by ssh-keygen (no passphrase); returns the private key's path (``.pub`` beside it)."""
    directory.mkdir(parents=True, exist_ok=True)
    key = directory / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True)
    return key


def fingerprint(key: Path) -> str:
    out = subprocess.run(["ssh-keygen", "-l", "-f", f"{key}.pub"], check=True, capture_output=True, text=True).stdout
    return out.split()[1]


def allowed_signers(path: Path, *entries: tuple[str, Path, str]) -> Path:
    """(principal, private key, options such as 'valid-before="20200101"') → an OpenSSH allowed_signers file."""
    lines = []
    for principal, key, options in entries:
        opts = ",".join(o for o in ('namespaces="git"', options) if o)
        lines.append(f"{principal} {opts} {Path(f'{key}.pub').read_text().strip()}\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines))
    return path


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV}).stdout.strip()


def signed_tag(repo: Path, tag: str, target: str, key: Path | None, *, force: bool = False) -> str:
    """``git tag -s`` with gpg.format=ssh (an annotated unsigned tag when ``key`` is None); returns the tag object."""
    sign = ["-c", "gpg.format=ssh", "-c", f"user.signingkey={key}", "tag", "-s"] if key else ["tag", "-a"]
    git(repo, *sign, *(["-f"] if force else []), "-m", f"release {tag}", tag, target)
    return git(repo, "rev-parse", f"refs/tags/{tag}")
