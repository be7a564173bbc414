"""The git calls provenance makes, all local and read-only: what a ref is, and whether its signature verifies.

Offline by construction: ``git verify-tag``/``verify-commit`` check a signature with ssh-keygen or gpg against
files named in trueup.yaml (allowed_signers, a revocation list, a GnuPG home); nothing is fetched.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from attrs import frozen

from trueup.errors import GitError, ManifestError
from trueup.provenance.verdicts import (KEY_EXPIRED, KEY_REVOKED, NO_TRUST, SIGNATURE_INVALID, UNSIGNED,
                                        VERIFIED_SIGNED, Signature, read_gpg, read_ssh)

SSH_BLOCK, PGP_BLOCK = b"-----BEGIN SSH SIGNATURE-----", b"-----BEGIN PGP SIGNATURE-----"


@frozen
class RefFacts:
    """What a ref names in the source now: a tag (annotated or not) or another ref, and the commit it reaches."""

    ref: str
    is_tag: bool
    tag_object: str | None  # an annotated tag's object id
    tag_name: str | None  # the name written inside that tag object (must be the ref asked for)
    commit: str | None  # the commit the ref reaches now (None: it resolves to nothing)
    signed_object: bytes  # the tag object (annotated tag) or the commit object: where a signature would be


def _run(repo: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, env=env)


def objects(repo: Path, names: list[str]) -> dict[str, tuple[str, str, bytes] | None]:
    """name → (object id, type, content) through one ``git cat-file --batch``; None for a name that is missing."""
    text = "".join(n + "\n" for n in names).encode("utf-8", "surrogateescape")
    proc = subprocess.run(["git", "-C", str(repo), "cat-file", "--batch"], input=text, capture_output=True)
    if proc.returncode != 0:
        raise GitError(f"git cat-file failed in {repo}: {proc.stderr.decode(errors='replace').strip()[-200:]}")
    out: dict[str, tuple[str, str, bytes] | None] = {}
    data, pos = proc.stdout, 0
    for name in names:
        end = data.index(b"\n", pos)
        header = data[pos:end].split()
        pos = end + 1
        if len(header) != 3:
            out[name] = None
            continue
        size = int(header[2])
        out[name] = (header[0].decode(), header[1].decode(), data[pos:pos + size])
        pos += size + 1
    return out


def header(content: bytes, field: bytes) -> str | None:
    for line in content.split(b"\n\n", 1)[0].split(b"\n"):
        if line.startswith(field + b" "):
            return line[len(field) + 1:].decode(errors="replace")
    return None


def ref_facts(repo: Path, ref: str, commit: str | None = None) -> tuple[RefFacts, str | None]:
    """What ``ref`` is now, and the root tree id of ``commit`` (when given), in one git process."""
    tag_name = f"refs/tags/{ref.removeprefix('refs/tags/')}"
    names = [tag_name, f"{ref}^{{commit}}"] + ([f"{commit}^{{tree}}"] if commit else [])
    found = objects(repo, names)
    tag = found[tag_name]
    reached = found[f"{ref}^{{commit}}"]
    tree = found.get(f"{commit}^{{tree}}") if commit else None
    if tag is not None and tag[1] == "tag":
        facts = RefFacts(ref, True, tag[0], header(tag[2], b"tag"), reached[0] if reached else None, tag[2])
    else:
        facts = RefFacts(ref, tag is not None, None, None, reached[0] if reached else None,
                         reached[2] if reached else b"")
    return facts, tree[0] if tree else None


def trust_files(trust: dict | None, base: Path, origin: str) -> dict[str, Path]:
    """The trust: files, resolved (relative to the workspace); a missing one is a manifest error."""
    from trueup.manifest import resolve_user_path

    out = {}
    for key, value in sorted((trust or {}).items()):
        path = resolve_user_path(value, base)
        if not path.exists():
            raise ManifestError(f"{origin}: trust.{key}: {value} does not exist",
                                hint=f"create it or fix trust.{key} (README: Provenance)")
        out[key] = path
    return out


def verify(repo: Path, facts: RefFacts, trust: dict[str, Path], tmp: Path | None = None) -> Signature:
    """Verify the tag object (or, for any other ref, the commit) the ref names against ``trust``."""
    obj = facts.signed_object
    if facts.commit is None:
        return Signature(UNSIGNED, reason=f"{facts.ref} does not resolve")
    ssh, pgp = SSH_BLOCK in obj, PGP_BLOCK in obj
    if not ssh and not pgp:
        return Signature(UNSIGNED, reason="no signature")
    if facts.tag_object and facts.tag_name != facts.ref.removeprefix("refs/tags/"):
        # A signed tag object copied under another name: its signature is real, but it vouches for another release.
        return Signature(SIGNATURE_INVALID, reason=f"the tag object is named {facts.tag_name!r}, not {facts.ref!r}")
    env = dict(os.environ)
    if tmp is not None:  # git writes the signature to a temp file for ssh-keygen: keep it in trueup's own cache
        tmp.mkdir(parents=True, exist_ok=True)
        env["TMPDIR"] = str(tmp)
    command = ["verify-tag", "--raw", facts.tag_object] if facts.tag_object else ["verify-commit", "--raw", facts.commit]
    if ssh:
        signers = trust.get("allowed_signers")
        if signers is None:
            return Signature(NO_TRUST, reason="SSH-signed, but trust.allowed_signers is not set")
        config = ["-c", "gpg.format=ssh", "-c", f"gpg.ssh.allowedSignersFile={signers}"]
        revocation = ["-c", f"gpg.ssh.revocationFile={trust['revocation']}"] if "revocation" in trust else []
        proc = _run(repo, *config, *revocation, *command, env=env)
        result = read_ssh(proc.returncode, proc.stderr.decode(errors="replace"))
        if proc.returncode != 0 and revocation and result.outcome != KEY_EXPIRED:
            # ssh-keygen says only "Could not verify signature" for a revoked key: the same check without the
            # revocation list tells revoked apart from broken.
            again = _run(repo, *config, *command, env=env)
            unrevoked = read_ssh(again.returncode, again.stderr.decode(errors="replace"))
            if unrevoked.outcome == VERIFIED_SIGNED:
                return Signature(KEY_REVOKED, unrevoked.principal, unrevoked.fingerprint,
                                 f"the key is listed in {trust['revocation'].name}")
        return result
    keyring = trust.get("gpg_keyring")
    if keyring is None:
        return Signature(NO_TRUST, reason="OpenPGP-signed, but trust.gpg_keyring is not set")
    env["GNUPGHOME"] = str(keyring)
    proc = _run(repo, "-c", "gpg.format=openpgp", *command, env=env)
    return read_gpg(proc.returncode, proc.stderr.decode(errors="replace"))
