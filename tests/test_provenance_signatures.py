"""Provenance with real keys: ssh-keygen keys, tags signed by git (gpg.format=ssh), verified offline by trueup.

Each case installs through trueup's real plan/apply and checks both the ledger's record and `trueup verify`.
"""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import V1, V2
from tests.helpers import Project, snapshot
from tests.provenance_keys import allowed_signers, fingerprint, git, keypair, signed_tag
from trueup.planner.document import plan_hash
from trueup.provenance.report import fleet_counts

TRUST = {"allowed_signers": "trust/allowed_signers"}


def _manifest_digest(project: Project) -> str:
    from trueup.manifest import load_workspace

    return load_workspace(project.root).components[0].digest


def signed_project(tmp_path, *, require: str = "any", signer: str = "alice", options: str = "",
                   revoked: bool = False) -> tuple[Project, dict]:
    """v1/v2 source with r1 (at v1) signed by ``signer``; allowed_signers holds alice; installed at r1."""
    project = Project(tmp_path)
    project.source({"v1": V1, "v2": V2})
    keys = {name: keypair(tmp_path / "keys", name) for name in ("alice", "mallory")}
    allowed_signers(tmp_path / "trust/allowed_signers", ("alice@example.com", keys["alice"], options))
    trust = dict(TRUST)
    if revoked:
        shutil.copy(f"{keys['alice']}.pub", tmp_path / "trust/revoked_keys")
        trust["revocation"] = "trust/revoked_keys"
    signed_tag(project.repo, "r1", "v1", keys[signer])
    project.manifest(ref="r1", extra={"trust": trust, "require": require})
    return project, keys


def install(project: Project) -> dict:
    doc = project.plan()
    code, out, err = project.apply_ids(doc, project.action(doc, "upgrade")["id"])
    assert code == 0, out + err
    return project.ledger()["provenance"]


def verify(project: Project, *args: str) -> tuple[int, dict]:
    code, out, err = project.run("verify", "--workspace", str(project.root), "--json", *args)
    assert code in (0, 2), err
    return code, json.loads(out)["components"][0]


def test_good_signature_is_recorded_and_verifies(tmp_path):
    project, keys = signed_project(tmp_path)
    record = install(project)
    assert record["verdict"] == "verified-signed"
    assert record["signer"] == "alice@example.com"
    assert record["fingerprint"] == fingerprint(keys["alice"])
    assert record["tag_object"] == git(project.repo, "rev-parse", "refs/tags/r1")
    assert record["tree"] == git(project.repo, "rev-parse", "v1^{tree}")
    before = snapshot(project.root)
    code, result = verify(project)
    assert snapshot(project.root) == before  # verify writes nothing: not the install, not the state dir
    assert code == 0
    assert result["verdict"] == "verified-signed"
    # the install's bytes are bound to the signed tree itself: its git tree id is the commit's
    assert result["tree"] == git(project.repo, "rev-parse", "v1^{tree}")
    assert result["signer"] == "alice@example.com" and result["differing"] == {}
    code, out, _ = project.run("verify", "--workspace", str(project.root))
    assert code == 0 and "app: verified-signed" in out and "alice@example.com" in out
    # plan carries the verdict (show prints it; fleet counts it per host)
    doc = project.plan()
    assert doc["components"][0]["facts"]["provenance"]["verdict"] == "verified-signed"
    assert fleet_counts(doc) == {"verified-signed": 1}
    code, out, _ = project.run("show", str(project.write_plan(doc)))
    assert "provenance: verified-signed (r1, signed by alice@example.com" in out


def test_signer_not_in_allowed_signers(tmp_path):
    project, keys = signed_project(tmp_path, signer="mallory")
    assert install(project)["verdict"] == "signer-untrusted"
    code, result = verify(project)
    assert code == 2
    assert result["verdict"] == "signer-untrusted"
    assert result["fingerprint"] == fingerprint(keys["mallory"])
    warnings = project.plan()["components"][0]["warnings"]
    assert [w["kind"] for w in warnings if w["class"] == "provenance"] == ["signer-untrusted"]


def test_expired_key(tmp_path):
    project, _ = signed_project(tmp_path, options='valid-before="20200101"')
    assert install(project)["verdict"] == "key-expired"
    code, result = verify(project)
    assert code == 2 and result["verdict"] == "key-expired"
    assert "valid-before" in result["reason"]


def test_revoked_key(tmp_path):
    project, keys = signed_project(tmp_path, revoked=True)
    assert install(project)["verdict"] == "key-revoked"
    code, result = verify(project)
    assert code == 2 and result["verdict"] == "key-revoked"
    assert result["fingerprint"] == fingerprint(keys["alice"])


def test_unsigned_tag_under_require_signed_is_never_installed(tmp_path):
    project, _ = signed_project(tmp_path, require="signed")
    signed_tag(project.repo, "u1", "v2", None)
    project.manifest(ref="u1", extra={"trust": TRUST, "require": "signed"})
    doc = project.plan()
    assert [a["type"] for a in doc["actions"]] == []
    warning = next(w for w in doc["components"][0]["warnings"] if w["class"] == "provenance")
    assert warning["kind"] == "require-unmet" and "u1 is unsigned" in warning["message"]
    # the signed tag is installable under the same requirement
    project.manifest(ref="r1", extra={"trust": TRUST, "require": "signed"})
    assert install(project)["verdict"] == "verified-signed"
    # an upgrade to the unsigned tag is withheld too, and an upgrade forged into the plan is refused at apply
    project.manifest(ref="u1", extra={"trust": TRUST, "require": "signed"})
    held = project.plan()
    assert not [a for a in held["actions"] if a["type"] == "upgrade"]
    project.manifest(ref="u1", extra={"trust": TRUST})
    upgrade = project.action(project.plan(), "upgrade")
    project.manifest(ref="u1", extra={"trust": TRUST, "require": "signed"})
    upgrade["preconditions"]["manifest"] = _manifest_digest(project)  # forged into the require: signed plan
    held["actions"].append(upgrade)
    held["plan_hash"] = plan_hash(held)  # anyone can recompute the hash
    code, out, err = project.apply_ids(held, upgrade["id"])
    assert code == 3 and "not an action trueup proposes" in err, err
    assert project.ledger()["source"]["ref"] == "r1"


def test_tag_moved_after_install_is_drift_never_auto_approved(tmp_path):
    project, keys = signed_project(tmp_path)
    install(project)
    old = git(project.repo, "rev-parse", "r1^{commit}")
    new = git(project.repo, "rev-parse", "v2^{commit}")
    signed_tag(project.repo, "r1", "v2", keys["alice"], force=True)  # re-created on another commit, validly signed
    doc = project.plan()
    moved = [d for d in doc["components"][0]["drift"] if d["class"] == "provenance"]
    assert moved == [{"class": "provenance", "kind": "moved-tag", "path": None, "expected": old,
                      "actual": {"tag": "r1", "installed": old, "now": new}}]
    upgrade = project.action(doc, "upgrade")
    assert upgrade["recommended"] is False and upgrade["group"] == "app/provenance/moved-tag"
    assert "moved" in upgrade["reason"]
    code, result = verify(project)
    assert code == 2 and result["moved"] == {"tag": "r1", "installed": old, "now": new}
    # the installed bytes are still those of the tag object installed, which is still signed
    assert result["verdict"] == "verified-signed"
    # approve --all leaves it alone: nothing applied, the drift stays
    path = project.write_plan(doc)
    assert project.run("approve", str(path), "--all")[0] == 0
    assert not any(a["approved"] for a in json.loads(path.read_text())["actions"] if a["type"] == "upgrade")
    # the way out: the operator approves that upgrade by its id
    code, out, err = project.apply_ids(project.plan(), upgrade["id"])
    assert code == 0, out + err
    assert project.run("plan", "--detailed-exitcode")[0] == 0
    assert verify(project)[1]["verdict"] == "verified-signed"


def test_install_edited_after_verified_install_is_a_mismatch_naming_files(tmp_path):
    project, _ = signed_project(tmp_path)
    install(project)
    (project.install / "server/util.js").write_text("module.exports = {evil: true};\n")
    (project.install / "server/extra.js").write_text("require('child_process');\n")
    (project.install / "docs/old.md").chmod(0o755)
    (project.install / "data").mkdir()
    (project.install / "data/ignored.db").write_text("runtime data is not compared\n")
    code, result = verify(project)
    assert code == 2
    assert result["verdict"] == "mismatch"
    assert result["differing"] == {"docs/old.md": "mode-changed", "server/extra.js": "not-in-source",
                                   "server/util.js": "modified"}
    code, out, _ = project.run("verify", "--workspace", str(project.root))
    assert "! server/util.js (modified)" in out and "! server/extra.js (not-in-source)" in out


def test_accepted_local_patch_stays_verified_and_is_listed(tmp_path):
    project, _ = signed_project(tmp_path, require="signed")
    install(project)
    (project.install / "server/index.js").write_text("// hot fix\n")
    doc = project.plan()
    mismatch = [d for d in doc["components"][0]["drift"] if d["class"] == "provenance"]
    assert mismatch[0]["kind"] == "mismatch" and mismatch[0]["actual"] == {"server/index.js": "modified"}
    path = project.write_plan(doc)
    assert project.run("approve", str(path), "--all")[0] == 0
    assert project.run("apply", str(path))[0] == 0
    assert project.run("plan", "--detailed-exitcode")[0] == 0
    code, result = verify(project)
    assert code == 0
    assert result["verdict"] == "verified-signed" and result["accepted"] == ["server/index.js"]
    assert result["tree"] == git(project.repo, "rev-parse", "v1^{tree}")
    code, out, _ = project.run("verify", "--workspace", str(project.root))
    assert "= server/index.js (accepted local patch)" in out


def test_missing_trust_file_is_one_clear_line(tmp_path):
    project, _ = signed_project(tmp_path)
    project.manifest(ref="r1", extra={"trust": {"allowed_signers": "trust/nope"}})
    code, out, err = project.run("verify", "--workspace", str(project.root))
    assert code == 1 and "Traceback" not in err
    assert "trust.allowed_signers: trust/nope does not exist" in err and len(err.strip().splitlines()) == 1


@pytest.mark.skipif(shutil.which("gpg") is None, reason="gpg is not installed")
def test_gpg_signed_tag(tmp_path):
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    env = {"GNUPGHOME": str(home)}
    import os
    import subprocess

    run_env = {**os.environ, **env}
    subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", "Rel Eng <rel@example.com>", "ed25519",
                    "sign", "never"], check=True, capture_output=True, env=run_env)
    project = Project(tmp_path)
    project.source({"v1": V1})
    made = subprocess.run(["git", "-C", str(project.repo), "-c", "user.name=Rel", "-c", "user.email=rel@example.com",
                           "-c", "user.signingkey=rel@example.com", "tag", "-s", "-m", "g1", "g1", "v1"],
                          capture_output=True, text=True, env=run_env)
    assert made.returncode == 0, made.stderr
    project.manifest(ref="g1", extra={"trust": {"gpg_keyring": "gnupg"}, "require": "signed"})
    try:
        record = install(project)
        assert record["verdict"] == "verified-signed" and "rel@example.com" in record["signer"]
        code, result = verify(project)
        assert code == 0 and result["verdict"] == "verified-signed" and len(result["fingerprint"]) == 40
    finally:  # the agent gpg started for this home only
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=run_env, capture_output=True)


def test_moved_tag_without_trust_is_still_caught(installed):
    """No trust: and require: any: plan asks git only once the installed tag resolves elsewhere; a moved lightweight
    tag is the same red flag."""
    old = git(installed.repo, "rev-parse", "v1^{commit}")
    git(installed.repo, "tag", "-f", "v1", "v2")
    doc = installed.plan()
    assert ("provenance", "moved-tag", None) in installed.kinds(doc)
    assert project_upgrade_not_recommended(installed, doc)
    code, result = verify(installed)
    assert code == 2 and result["moved"]["installed"] == old and result["verdict"] == "local-unverified"
    git(installed.repo, "tag", "-f", "v1", old)  # put back: nothing moved
    assert not [d for d in installed.plan()["components"][0]["drift"] if d["class"] == "provenance"]


def test_a_tag_moved_upstream_of_a_remote_source_is_moved_tag_drift_not_a_failed_fetch(project):
    """The mirror follows the remote's tags: a tag moved upstream is the same red flag as a local one (a fetch that
    refused to move it failed every plan of the component, with no way out but deleting the mirror)."""
    project.source({"v1": V1, "v2": V2})
    project.manifest(ref="v1", extra={"source": {"repo": f"file://{project.repo}", "ref": "v1"}})
    install(project)
    old = git(project.repo, "rev-parse", "v1^{commit}")
    git(project.repo, "tag", "-f", "v1", "v2")
    doc = project.plan()
    assert ("provenance", "moved-tag", None) in project.kinds(doc)
    assert project_upgrade_not_recommended(project, doc)
    git(project.repo, "tag", "-f", "v1", old)
    assert not [d for d in project.plan()["components"][0]["drift"] if d["class"] == "provenance"]


def project_upgrade_not_recommended(project: Project, doc: dict) -> bool:
    upgrade = project.action(doc, "upgrade")
    return upgrade["recommended"] is False and upgrade["group"] == "app/provenance/moved-tag"


def test_a_branch_that_moves_is_not_a_moved_tag(project):
    project.source({"v1": V1, "v2": V2})
    project.manifest(ref="main")
    assert install(project)["verdict"] == "local-unverified"  # an unsigned branch pins nothing
    git(project.repo, "commit", "--allow-empty", "-qm", "next")
    kinds = project.kinds()
    assert ("source", "outdated", None) in kinds and not [k for k in kinds if k[0] == "provenance"]


def test_require_signed_added_over_an_unsigned_install_warns_and_verify_fails(tmp_path):
    project, _ = signed_project(tmp_path)
    signed_tag(project.repo, "u1", "v1", None)
    project.manifest(ref="u1", extra={"trust": TRUST})
    assert install(project)["verdict"] == "pinned-unsigned"
    assert verify(project)[0] == 0
    project.manifest(ref="u1", extra={"trust": TRUST, "require": "signed"})
    warnings = [w["message"] for w in project.plan()["components"][0]["warnings"] if w["class"] == "provenance"]
    assert warnings == ["require: signed, but the installed u1 is pinned-unsigned (no signature)"]
    code, result = verify(project)
    assert code == 2 and result["unmet"] == "require: signed, but pinned-unsigned"


def test_a_signed_tag_object_under_another_name_is_signature_invalid(tmp_path):
    project, _ = signed_project(tmp_path)
    # r1's validly signed tag object, published again as r9: the signature is real but vouches for r1
    git(project.repo, "update-ref", "refs/tags/r9", git(project.repo, "rev-parse", "refs/tags/r1"))
    project.manifest(ref="r9", extra={"trust": TRUST})
    assert install(project)["verdict"] == "signature-invalid"
    code, result = verify(project)
    assert code == 2 and result["verdict"] == "signature-invalid"
    assert "named 'r1', not 'r9'" in result["reason"]
