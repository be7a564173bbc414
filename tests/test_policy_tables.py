"""The policy, written out literally: recommendations, apply order, what counts as drift, what each action is checked against.

Every table here is a decision someone made on purpose. A change to trueup that alters one must alter the
table too, in the same review. Plain values only: snapshots are built by hand (tests/plain.py) and the
planner's loop is driven with them in place of observing a disk.
"""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest
import trueup.config
import trueup.files
import trueup.runtime
from tests.plain import (
    A, B, C, CONFIG_PATH, NEW, OLD, backup, config_snapshot, desired, fact, files_snapshot, ledger, observation,
    pm2_spec, runtime_snapshot, setting, spec,
)
from trueup.config.reconcile import Finding
from trueup.files.secrets import EXPOSING_BITS, diff_secrets
from trueup.manifest import Generated
from trueup.model.keys import encode
from trueup.model.plan import APPLY_ORDER
from trueup.model.recommendations import GATING, RECOMMENDATIONS
from trueup.planner.plan import assess
from trueup.provider import Basis, ObserveContext, basis_preconditions
from trueup.runtime.observation import RuntimeObservation
from trueup.runtime.spec import RuntimeSpec

# --- (a) recommendations -------------------------------------------------------------------------------

# (drift class, kind) → (recommended action, alternatives in order); "type:resolution" where one drift offers a
# type twice (the resolution is the action's details.resolution and part of its id).
EXPECTED_RECOMMENDATIONS = {
    ("local-patch", "modified"): ("accept-local", ("restore-source",)),
    ("local-patch", "merge-conflict"): ("accept-local:keep-local",
                                        ("restore-source:take-new", "accept-local:resolved-by-hand")),
    ("local-patch", "orphaned-patch"): ("accept-local", ("restore-source",)),  # edited, removed upstream: keep or delete
    ("file", "missing"): ("restore-source", ("accept-local",)),
    ("file", "mode-changed"): ("restore-source", ("accept-local",)),
    ("file", "type-changed"): ("accept-local", ("restore-source",)),
    ("file", "untracked"): ("accept-local", ()),
    ("file", "leftover"): ("cleanup-backups", ()),  # a killed run's temp file (files/leftovers.py)
    ("generated", "stale"): ("regenerate", ()),
    ("generated", "missing"): ("regenerate", ()),
    ("generated", "unrecorded"): ("regenerate", ("accept-local",)),
    ("generated", "edited"): ("accept-local", ("regenerate",)),
    ("backup", "unacknowledged"): ("accept-local", ("cleanup-backups",)),
    ("source", "not-installed"): ("upgrade", ()),
    ("source", "outdated"): ("upgrade", ()),
    ("source", "unmanaged"): ("import", ()),
    ("config", "missing"): ("upgrade", ()),
    ("config", "outdated"): ("upgrade", ()),
    ("config", "obsolete"): ("upgrade", ()),
    ("config", "user-modified"): ("accept-local", ("restore-source",)),
    ("config", "obsolete-user-modified"): ("accept-local", ("restore-source",)),
    ("config", "shadowed"): ("accept-local", ("restore-source",)),
    ("runtime", "not-running"): ("restart", ()),  # the manager's restart starts a stopped service
    ("runtime", "errored"): ("restart", ()),
    ("runtime", "unhealthy"): ("restart", ()),  # docker: running, its health check fails
    ("runtime", "stale-process"): ("restart", ()),
    ("runtime", "version-mismatch"): ("restart", ()),
    ("runtime", "env-stale"): ("restart", ()),
    ("runtime", "definition-not-loaded"): ("restart", ()),  # systemd NeedDaemonReload: daemon-reload, then restart
    ("runtime", "unsaved"): ("restart:save", ()),  # pm2 save alone; a healthy process is never restarted for it
}

# Drift an upgrade must not run over unless an action resolving it is approved too.
EXPECTED_GATING = {("local-patch", "modified"), ("local-patch", "merge-conflict"), ("backup", "unacknowledged")}


def offer_name(offer) -> str:
    return str(offer) if not isinstance(offer, tuple) else f"{offer[0]}:{offer[1]}"


def test_recommendations_table():
    actual = {(str(cls), kind): (offer_name(rec), tuple(offer_name(a) for a in alts))
              for (cls, kind), (rec, alts) in RECOMMENDATIONS.items()}
    assert actual == EXPECTED_RECOMMENDATIONS


def test_gating_table():
    assert {(str(cls), kind) for cls, kind in GATING} == EXPECTED_GATING


# --- (b) apply order -----------------------------------------------------------------------------------


def test_apply_order():
    # Records first, then content, then what depends on content: an upgrade may change a generator's
    # template (so regenerate follows it), a restart must run the new code (so it comes last).
    assert [str(t) for t in APPLY_ORDER] == [
        "import", "accept-local", "restore-source", "cleanup-backups", "upgrade", "regenerate", "restart",
    ]


# --- (c) what counts as drift --------------------------------------------------------------------------

# (class, kind) → is_drift, for every kind the diff functions produce (require_verified off).
EXPECTED_IS_DRIFT = {
    ("source", "not-installed"): True,
    ("source", "unmanaged"): True,
    ("source", "outdated"): True,
    ("provenance", "unverified"): False,  # drift only with require_verified (see below)
    ("provenance", "commit-missing"): False,
    ("local-patch", "modified"): True,
    ("local-patch", "merge-conflict"): True,
    ("local-patch", "orphaned-patch"): True,
    ("file", "missing"): True,
    ("file", "mode-changed"): True,
    ("file", "type-changed"): True,
    ("file", "untracked"): True,
    ("file", "leftover"): True,
    ("file", "secret"): False,  # secrets are listed, never counted
    ("file", "secret-exposed"): False,
    ("backup", "unacknowledged"): True,
    ("backup", "acknowledged"): False,
    ("backup", "removed"): False,
    ("generated", "stale"): True,
    ("generated", "edited"): True,
    ("generated", "missing"): True,
    ("generated", "unrecorded"): True,
    ("generated", "template-missing"): True,
    ("config", "collision"): True,
    ("config", "missing"): True,
    ("config", "outdated"): True,
    ("config", "user-modified"): True,
    ("config", "obsolete"): True,
    ("config", "obsolete-user-modified"): True,
    ("config", "shadowed"): True,
    ("runtime", "skipped"): False,  # unobserved is unknown, not drifted
    ("runtime", "unreachable"): False,
    ("runtime", "not-running"): True,
    ("runtime", "errored"): True,
    ("runtime", "stale-process"): True,
    ("runtime", "version-mismatch"): True,
    ("runtime", "env-stale"): True,
    ("runtime", "unsaved"): True,
    ("runtime", "orphan"): True,
    ("runtime", "cwd-mismatch"): True,
    ("runtime", "command-mismatch"): True,
    ("runtime", "image-drift"): True,
    ("runtime", "definition-target-missing"): True,
    ("runtime", "definition-not-loaded"): True,  # systemd: unit file edited, not daemon-reloaded
    ("runtime", "duplicate-definition"): True,  # another definition runs the same command
    ("runtime", "missing"): True,  # docker: no such container
    ("runtime", "restarting"): True,  # docker: a restart loop
    ("runtime", "unhealthy"): True,
}

GEN = "cp {template} {output}"


def files_scenarios():
    """(spec, snapshot) pairs that between them make every files drift kind."""
    # Tracked paths edited, deleted, chmodded, replaced by a directory; an untracked file; backups acknowledged,
    # new and deleted; two secrets; an install trueup cannot vouch for (unverified).
    tracked = ledger(
        files={"mod.js": fact().to_json(), "gone.js": fact().to_json(), "chmod.sh": fact().to_json(),
               "typed": fact().to_json(), "T.md": fact().to_json()},
        backups=[backup("ack.bak", acknowledged=True), backup("gone.bak", acknowledged=True)],
        generated={"OUT.md": {"template": "T.md", "command": GEN, "template_sha256": A, "output_sha256": B}},
        provenance={"status": "local/unverified", "repo": "src/app", "commit": OLD, "verified_by": "import"},
    )
    live = {"mod.js": fact(B), "chmod.sh": fact(mode="0755"), "typed": fact(None, "0755", "dir"), "T.md": fact(),
            "OUT.md": fact(B), "new.txt": fact(C), "ack.bak": fact(A), "fresh.orig": fact(C)}
    secrets = {".env": fact(None, "0600"), "other.env": fact(None, "0640")}
    yield spec(secrets=(".env", "other.env")), files_snapshot(tracked, live, commit=OLD, secrets=secrets)

    # Generated outputs: stale (template changed), edited, missing, unrecorded, and one whose template is gone.
    generated = spec(generated=tuple(Generated(out, tpl, GEN) for out, tpl in [
        ("S.md", "T.md"), ("E.md", "T.md"), ("M.md", "T.md"), ("U.md", "T.md"), ("X.md", "NO.md")]))
    record = {"template": "T.md", "command": GEN, "template_sha256": A, "output_sha256": B}
    led = ledger(files={"T.md": fact().to_json()},
                 generated={"S.md": {**record, "template_sha256": C}, "E.md": record,
                            "X.md": {**record, "template": "NO.md"}})
    live = {"T.md": fact(), "S.md": fact(B), "E.md": fact(C), "U.md": fact(), "X.md": fact(B)}
    yield generated, files_snapshot(led, live, commit=OLD)

    yield spec(), files_snapshot(None, {}, install_exists=False)  # not-installed
    yield spec(), files_snapshot(None, {"x": fact()})  # unmanaged
    split = {"package.json": "2.0.0", "VERSION": "2.1.0"}
    yield spec(generated=()), files_snapshot(ledger(), {}, declarations=split, install_exists=True)  # outdated
    yield spec(generated=()), files_snapshot(ledger(), {}, commit=OLD, installed_commit_exists=False,
                                             install_exists=True)  # commit-missing
    yield spec(generated=()), conflicted()  # merge-conflict (the file edited again since)
    # orphaned-patch: an upgrade kept gone.js, edited locally and removed from the source (edited again since).
    orphan = {"fact": fact(B).to_json(), "accepted_at": "t", "orphaned": {"from_commit": OLD, "to_commit": NEW}}
    yield spec(generated=()), files_snapshot(ledger(accepted={"gone.js": orphan}), {"gone.js": fact(C)}, commit=OLD)
    # leftover: a killed run's temp file beside its target (files/leftovers.py observes these).
    temp = {".a.js.trueup-tmp.1-0123abcd": fact(C)}
    yield spec(generated=()), attrs.evolve(files_snapshot(ledger(), temp, commit=OLD), leftovers=temp)


def conflicted():
    """An upgrade's merge of c.js conflicted: the live file kept (accepted), the new version C beside it;
    the operator has edited c.js again since."""
    record = {"path": "c.js.trueup-new", "original": "c.js", "reason": "merge-conflict", "acknowledged": False,
              "sha256": C, "from_commit": OLD, "to_commit": NEW}
    led = ledger(files={"c.js": fact(C).to_json()}, accepted={"c.js": {"fact": fact(B).to_json()}}, backups=[record],
                 source={"repo": "src/app", "ref": "v2", "commit": NEW})
    return files_snapshot(led, {"c.js": fact(A), "c.js.trueup-new": fact(C)}, commit=NEW)


def test_a_merge_conflict_is_one_drift_item():
    # Not also local-patch/modified (c.js edited since) nor backup/unacknowledged (c.js.trueup-new): one group.
    [item] = trueup.files.diff(spec(generated=()), conflicted())
    assert (str(item.cls), item.kind, item.path, item.expected["beside"]) == (
        "local-patch", "merge-conflict", "c.js", "c.js.trueup-new")
    assert item.actual["edited"] is True and item.actual["beside_edited"] is False


# Warnings: shown in every view and counted, never drift. (provider, class, kind) for each one a provider makes.
EXPECTED_WARNINGS = {
    ("files", "source", "version-disagreement"),  # the source's version files disagree: nobody here can change it
    ("config", "config", "registry-corrupt"), ("config", "config", "registry-missing"),
    ("config", "config", "registry-key-missing"), ("config", "config", "formatting"),
}


def test_version_disagreement_is_a_warning_not_drift():
    split = files_snapshot(ledger(), {}, commit=OLD, declarations={"package.json": "2.0.0", "VERSION": "2.1.0"},
                           install_exists=True)
    assert trueup.files.diff(spec(generated=()), split) == []
    [warning] = trueup.files.warnings(spec(generated=()), split)
    assert ("files", str(warning.cls), warning.kind) in EXPECTED_WARNINGS
    assert warning.details == {"version": "2.0.0", "declarations": {"VERSION": "2.1.0", "package.json": "2.0.0"}}


def test_config_warning_kinds():
    import inspect
    import re

    from trueup.config import assess

    made = set(re.findall(r'warn\("([a-z-]+)"', inspect.getsource(assess._warnings)))
    assert {("config", "config", k) for k in made} == {w for w in EXPECTED_WARNINGS if w[0] == "config"}


def files_drift(require_verified: bool = False):
    return [d for s, snap in files_scenarios()
            for d in trueup.files.diff(s, snap, require_verified=require_verified)]


def config_drift():
    template, live = setting("a", 1), setting("a", 2)
    findings = [Finding("collision", "setting:c", template=template, collided=(live, live)),
                Finding("missing", "setting:m", template=template),
                Finding("outdated", "setting:o", template=template, live=live),
                Finding("user-modified", "setting:u", template=template, live=live),
                Finding("obsolete", "setting:x", live=live),
                Finding("obsolete-user-modified", "setting:y", live=live),
                Finding("shadowed", "setting:s", template=template, live=live)]
    return trueup.config.diff(spec(), config_snapshot(findings))


def runtime_drift():
    installed = ledger(installed_at="2026-06-01T00:00:00Z", version="2.0.0")
    stale = {"started_at": "2026-01-02T00:00:00.000Z", "health": {"error": None, "url": "u", "version": "1.0.0"},
             "env_files": [{"path": "/ws/installed/app/.env", "mtime": "2026-03-01T00:00:00.000Z"}],
             "saved": "not-saved", "cwd": "/elsewhere", "command": ["node", "/elsewhere/main.js"],
             "orphans": [{"cwd": "/x", "name": "old", "pid": 7, "script": "/x/s.js"}]}
    docker = RuntimeSpec.from_manifest({"manager": "docker", "service": "app", "image": "app@sha256:" + A},
                                       install_path=Path("installed/app"), workspace=Path("/ws"))
    cases = [
        (pm2_spec(), observation(**stale)),
        (pm2_spec(), observation(status="stopped", state="stopped")),
        (pm2_spec(), observation(need_daemon_reload=True, unit_file="/u/app.service", duplicates=[
            {"definition": "/u/old-app.service", "state": "active/running", "unit": "old-app.service"}])),
        (pm2_spec(), observation(status="errored", state="errored")),
        (pm2_spec(), observation(program_check={"path": "/ws/installed/app/server/index.js", "exists": False,
                                                "executable": False})),
        (docker, RuntimeObservation("docker", "app", "local", True, facts={
            "present": True, "status": "running", "image_digests": ["app@sha256:" + B], "image_id": "sha256:" + C}),
         ),
        (docker, RuntimeObservation("docker", "app", "local", True, facts={"present": False, "status": "absent"})),
        (docker, RuntimeObservation("docker", "app", "local", True, facts={
            "present": True, "status": "errored", "state": "restarting", "restart_count": 4,
            "image_digests": ["app@sha256:" + A], "image_id": "sha256:" + C})),
        (docker, RuntimeObservation("docker", "app", "local", True, facts={
            "present": True, "status": "errored", "state": "running", "health_status": "unhealthy",
            "image_digests": ["app@sha256:" + A], "image_id": "sha256:" + C})),
        (pm2_spec(), observation(skipped=True)),
        (pm2_spec(), observation(reachable=False)),
    ]
    return [d for rspec, obs in cases for d in trueup.runtime.diff(spec(), (rspec, obs, installed))]


def flags(items) -> dict[tuple[str, str], bool]:
    out: dict[tuple[str, str], bool] = {}
    for item in items:
        key = (str(item.cls), item.kind)
        assert out.setdefault(key, item.is_drift) == item.is_drift, f"{key} is drift in one place, info in another"
    return out


def test_is_drift_of_every_kind_each_diff_produces():
    assert flags(files_drift() + config_drift() + runtime_drift()) == EXPECTED_IS_DRIFT


def test_provenance_counts_as_drift_only_with_require_verified():
    strict = {k: v for k, v in flags(files_drift(require_verified=True)).items() if k[0] == "provenance"}
    assert strict == {("provenance", "unverified"): True, ("provenance", "commit-missing"): True}
    others = {k: v for k, v in flags(files_drift(require_verified=True)).items() if k[0] != "provenance"}
    assert others == {k: v for k, v in flags(files_drift()).items() if k[0] != "provenance"}


def test_every_recommendation_resolves_drift_that_is_counted():
    # A recommendation for an informational kind would be an action nobody needs; one for a kind no diff
    # produces is dead policy.
    counted = {k for k, is_drift in EXPECTED_IS_DRIFT.items() if is_drift}
    assert set(EXPECTED_RECOMMENDATIONS) <= counted


# Which secret modes are exposed: any bit for group or others.
@pytest.mark.parametrize(("mode", "kind"), [
    ("0600", "secret"), ("0400", "secret"), ("0700", "secret"), ("0000", "secret"),
    ("0640", "secret-exposed"), ("0620", "secret-exposed"), ("0610", "secret-exposed"),
    ("0604", "secret-exposed"), ("0602", "secret-exposed"), ("0601", "secret-exposed"),
    ("0644", "secret-exposed"), ("0666", "secret-exposed"),
])
def test_secret_exposure_by_mode(mode, kind):
    [item] = diff_secrets({".env": fact(None, mode)})
    assert (item.kind, item.is_drift, item.actual) == (kind, False, {"type": "file", "mode": mode})


def test_exposing_bits():
    assert EXPOSING_BITS == 0o077
    # A secret that is not a regular file has no meaningful mode to expose.
    [item] = diff_secrets({".env": fact(None, "0777", "symlink")})
    assert item.kind == "secret"


# --- (d) what each action is checked against ---------------------------------------------------------

COMPONENT_KEYS = {"manifest", "ledger", "source:commit"}


def plan_with(monkeypatch, component, files_snap, config_snap=(), runtime_snap=None):
    """The planner's loop (assess) over hand-built snapshots: observe replaced, diff/propose/merge real."""
    basis = Basis(source=None, commit=files_snap.source.commit, version=files_snap.source.version,
                  ledger=files_snap.ledger,
                  preconditions=basis_preconditions(component, files_snap.ledger_digest, files_snap.source.commit))
    monkeypatch.setattr(trueup.files, "observe", lambda s, ctx: (files_snap, basis))
    monkeypatch.setattr(trueup.config, "observe", lambda s, ctx: config_snap)
    monkeypatch.setattr(trueup.runtime, "observe", lambda s, ctx: runtime_snap)
    return assess(component, ObserveContext(workspace=None), require_verified=False)


def keys_of(action) -> set[str]:
    return {encode(k) for k in action.preconditions}


def drifted_install():
    """Installed at OLD, source at NEW, with one drift for every files/config/runtime action type."""
    conflict = {"path": "c.js.trueup-new", "original": "c.js", "reason": "merge-conflict", "acknowledged": False,
                "sha256": C}
    led = ledger(
        files={"mod.js": fact().to_json(), "gone.js": fact().to_json(), "T.md": fact().to_json(),
               "old.js": fact().to_json(), "typed": fact().to_json(), "c.js": fact(C).to_json()},
        generated={"OUT.md": {"template": "T.md", "command": GEN, "template_sha256": C, "output_sha256": B}},
        accepted={"c.js": {"fact": fact(B).to_json()}}, backups=[conflict],
    )
    live = {"mod.js": fact(B), "T.md": fact(), "old.js": fact(), "OUT.md": fact(B), "x.bak": fact(C),
            "typed": fact(None, None, "symlink"), "c.js": fact(B), "c.js.trueup-new": fact(C)}
    files_snap = files_snapshot(led, live, wanted={"mod.js": desired("mod.js"), "new.js": desired("new.js")},
                                removed=("old.js",))
    config_snap = config_snapshot([Finding("missing", "setting:m", template=setting("m", 1)),
                                   Finding("user-modified", "setting:u", template=setting("u", 1),
                                           live=setting("u", 2))])
    stale = observation(started_at="2025-12-01T00:00:00.000Z")
    return files_snap, config_snap, runtime_snapshot(stale, led)


CONFIG_KEYS = {f"config:{CONFIG_PATH}:sha256", f"config:{CONFIG_PATH}:registry"}
RESTART_KEYS = {"runtime:command", "runtime:cwd", "runtime:image_id", "runtime:pid", "runtime:started_at"}

# (type, targets) → precondition keys beyond the component-wide ones.
EXPECTED_KEYS = {
    ("accept-local", ("mod.js",)): {"file:mod.js"},
    ("restore-source", ("mod.js",)): {"file:mod.js"},
    ("restore-source", ("gone.js",)): {"file:gone.js"},
    ("accept-local", ("gone.js",)): {"file:gone.js"},
    ("accept-local", ("typed",)): {"file:typed"},
    ("restore-source", ("typed",)): {"file:typed"},
    ("regenerate", ("OUT.md",)): {"file:OUT.md", "file:T.md"},  # the template too: it is what is run
    ("accept-local", ("x.bak",)): {"file:x.bak"},
    ("cleanup-backups", ("x.bak",)): {"file:x.bak"},
    # keep-local and resolved-by-hand (both accept-local), take-new: the live file and the new version beside it
    ("accept-local", ("c.js", "c.js.trueup-new")): {"file:c.js", "file:c.js.trueup-new"},
    ("restore-source", ("c.js", "c.js.trueup-new")): {"file:c.js", "file:c.js.trueup-new"},
    ("upgrade", ("mod.js", "new.js", "old.js")): {"file:mod.js", "file:new.js", "file:old.js"},
    ("upgrade", ("setting:m",)): CONFIG_KEYS,
    ("accept-local", ("setting:u",)): CONFIG_KEYS,
    ("restore-source", ("setting:u",)): CONFIG_KEYS,
    ("restart", ("app",)): RESTART_KEYS,
}


def test_precondition_keys_of_every_action_of_an_installed_component(monkeypatch):
    component = spec()
    files_snap, config_snap, runtime_snap = drifted_install()
    _, actions = plan_with(monkeypatch, component, files_snap, config_snap, runtime_snap)
    assert {(str(a.type), a.targets): keys_of(a) for a in actions} == {
        key: COMPONENT_KEYS | extra for key, extra in EXPECTED_KEYS.items()}
    for action in actions:  # and the component-wide values are the ones observed
        wide = {encode(k): v for k, v in action.preconditions.items() if encode(k) in COMPONENT_KEYS}
        assert wide == {"manifest": "manifest-digest", "ledger": "ledger-digest", "source:commit": NEW}, action.id


def test_precondition_keys_of_an_install_and_an_import(monkeypatch):
    component = spec(generated=())
    _, [install] = plan_with(monkeypatch, component, files_snapshot(
        None, {}, install_exists=False, wanted={"a.js": desired("a.js")}))
    assert (str(install.type), keys_of(install)) == ("upgrade", COMPONENT_KEYS | {"install:dir"})
    assert install.preconditions[trueup.files.INSTALL_DIR] == "absent-or-empty"
    assert {encode(k): v for k, v in install.preconditions.items()}["ledger"] == "absent"

    _, [adopt] = plan_with(monkeypatch, component, files_snapshot(None, {"a.js": fact()}))
    assert (str(adopt.type), keys_of(adopt)) == ("import", COMPONENT_KEYS | {"tree"})


def test_component_wide_preconditions():
    assert {encode(k): v for k, v in basis_preconditions(spec(), "L", NEW).items()} == {
        "manifest": "manifest-digest", "ledger": "L", "source:commit": NEW}


# --- (e) one recommendation per group, the table's ---------------------------------------------------


def test_each_group_recommends_exactly_the_tables_action(monkeypatch):
    files_snap, config_snap, runtime_snap = drifted_install()
    _, actions = plan_with(monkeypatch, spec(), files_snap, config_snap, runtime_snap)
    recommended = {}
    for action in actions:
        if action.recommended:
            assert action.group not in recommended, f"two recommended actions in {action.group}"
            recommended[action.group] = str(action.type)
    assert {a.group for a in actions} == set(recommended), "a group without a recommended action"
    assert recommended == {
        "app/local-patch/modified/mod.js": "accept-local",
        "app/file/missing/gone.js": "restore-source",
        "app/file/type-changed/typed": "accept-local",
        "app/generated/stale/OUT.md": "regenerate",
        "app/backup/unacknowledged/x.bak": "accept-local",
        "app/local-patch/merge-conflict/c.js": "accept-local",  # keep-local
        "app/source/outdated": "upgrade",
        f"app/config/missing/{CONFIG_PATH}": "upgrade",
        f"app/config/user-modified/{CONFIG_PATH}#setting:u": "accept-local",
        "app/runtime/app": "restart",
    }


def test_restart_is_recommended_and_resolves_every_restartable_kind(monkeypatch):
    obs = observation(status="stopped", state="stopped", saved="differs")
    _, actions = plan_with(monkeypatch, spec(), files_snapshot(ledger(), {}, commit=OLD, install_exists=True),
                           runtime_snap=runtime_snapshot(obs))
    [restart] = [a for a in actions if str(a.type) == "restart"]
    assert restart.recommended
    assert restart.details == {"runtime": "pm2", "resolves": ["not-running", "unsaved"], "save": True}


# --- (f) an upgrade of a running service carries the restart it needs --------------------------------


def upgrade_with(monkeypatch, obs):
    led = ledger(files={"mod.js": fact().to_json()})
    files_snap = files_snapshot(led, {"mod.js": fact()}, wanted={"mod.js": desired("mod.js")})
    result, actions = plan_with(monkeypatch, spec(), files_snap, runtime_snap=runtime_snapshot(obs, led))
    return result, {str(a.type): a for a in actions}


def test_an_upgrade_carries_the_restart_it_needs_gated_on_it(monkeypatch):
    # The service runs fine (started after the install): only the upgrade makes it need a restart, so the
    # restart is gated on the upgrade's group, and says which versions it moves between.
    result, actions = upgrade_with(monkeypatch, observation())
    assert [d for d in result.drift if str(d.cls) == "runtime"] == []
    upgrade, restart = actions["upgrade"], actions["restart"]
    assert restart.gated == (upgrade.group,) == ("app/source/outdated",)
    assert restart.recommended and restart.details == {
        "runtime": "pm2", "resolves": [], "save": False,
        "after_upgrade": {"group": "app/source/outdated", "from": {"commit": OLD, "version": "1.0.0"},
                          "to": {"commit": NEW, "version": "2.0.0"}}}
    assert restart.reason == "restart app through pm2 (to run 2.0.0 after the upgrade from 1.0.0)"
    assert keys_of(restart) == COMPONENT_KEYS | RESTART_KEYS


def test_a_restart_with_drift_of_its_own_is_not_gated_on_the_upgrade(monkeypatch):
    _, actions = upgrade_with(monkeypatch, observation(status="stopped", state="stopped"))
    restart = actions["restart"]
    assert restart.gated == () and restart.details["resolves"] == ["not-running"]
    assert restart.details["after_upgrade"]["group"] == "app/source/outdated"


@pytest.mark.parametrize("obs", [observation(reachable=False), observation(skipped=True), observation(present=False)])
def test_no_restart_for_a_service_trueup_cannot_restart(monkeypatch, obs):
    _, actions = upgrade_with(monkeypatch, obs)
    assert "restart" not in actions
