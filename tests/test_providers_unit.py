"""Each provider's pure half — diff(spec, snapshot) and propose(spec, snapshot, drift) — on hand-built snapshots.

No git, no install tree, no service manager: the snapshot is the whole input (tests/plain.py builds them).
"""

from __future__ import annotations

import trueup.config
import trueup.files
import trueup.runtime
from tests.config.harness import Harness
from tests.plain import (
    A, B, C, CONFIG_PATH, NAME, NEW, OLD, backup, config_snapshot, desired, fact, files_snapshot, ledger,
    observation, runtime_snapshot, setting, spec,
)
from trueup.config.reconcile import Finding
from trueup.files.upgrade import upgrade_plan
from trueup.manifest import Generated
from trueup.model.ids import action_id
from trueup.model.keys import INSTALL_DIR, TREE, config_key, file_key, runtime_key
from trueup.model.plan import Drift, TargetKind
from trueup.runtime.drift import restart_preconditions


def summary(items: list[Drift]) -> list[tuple[str, str, str | None, bool]]:
    return [(str(d.cls), d.kind, d.path, d.is_drift) for d in items]


def by_type(actions) -> dict[tuple[str, tuple[str, ...]], object]:
    return {(str(a.type), a.targets): a for a in actions}


# --- files: diff ---------------------------------------------------------------------------------------

GEN = "cp {template} {output}"
GENERATED = {"OUT.md": {"template": "T.md", "command": GEN, "template_sha256": A, "output_sha256": B}}


def clean_install():
    """Installed and untouched at OLD: two files, the template and its generated output."""
    led = ledger(files={"a.js": fact().to_json(), "bin/run": fact(B, "0755").to_json(), "T.md": fact().to_json()},
                 generated=GENERATED)
    live = {"a.js": fact(), "bin/run": fact(B, "0755"), "T.md": fact(), "OUT.md": fact(B)}
    return led, live


def test_files_diff_of_a_clean_install_is_empty():
    led, live = clean_install()
    assert trueup.files.diff(spec(), files_snapshot(led, live, commit=OLD)) == []


def test_files_diff_lists_each_change_once_sorted_with_what_was_expected():
    led, live = clean_install()
    # Tracked but ignored (mutable data) or secret: never compared. (Untracked ignored paths never reach a
    # snapshot at all: the walk leaves them out.)
    led["files"]["data/db"] = fact().to_json()
    led["files"][".env"] = fact().to_json()
    live.update({"a.js": fact(C), "bin/run": fact(B, "0644"), "notes.txt": fact(C), "data/db": fact(C),
                 "a.js.orig": fact(A)})
    items = trueup.files.diff(spec(), files_snapshot(led, live, commit=OLD, secrets={".env": fact(None, "0600")}))
    assert summary(items) == [
        ("backup", "unacknowledged", "a.js.orig", True),
        ("file", "secret", ".env", False),
        ("file", "mode-changed", "bin/run", True),
        ("file", "untracked", "notes.txt", True),
        ("local-patch", "modified", "a.js", True),
    ]
    patch = items[-1]
    assert (patch.expected, patch.actual) == (fact().to_json(), fact(C).to_json())


def test_files_diff_honours_accepted_facts_until_they_change_again():
    led, live = clean_install()
    led["accepted"] = {"a.js": {"fact": fact(C).to_json(), "accepted_at": "t"},
                       "mine.txt": {"fact": fact(C).to_json(), "accepted_at": "t"}}
    live.update({"a.js": fact(C), "mine.txt": fact(C)})
    assert trueup.files.diff(spec(), files_snapshot(led, live, commit=OLD)) == []
    live.update({"a.js": fact(B), "mine.txt": fact(B)})
    assert summary(trueup.files.diff(spec(), files_snapshot(led, live, commit=OLD))) == [
        ("file", "untracked", "mine.txt", True), ("local-patch", "modified", "a.js", True)]


def test_files_diff_backups_by_record():
    led, live = clean_install()
    led["backups"] = [backup("a.js.bak", acknowledged=True, sha256=A), backup("b.js.bak", acknowledged=False),
                      backup("c.js.bak", acknowledged=True), backup("data/d.bak", acknowledged=True)]
    live.update({"a.js.bak": fact(A), "b.js.bak": fact(A)})  # c.js.bak is gone; data/ is ignored
    items = trueup.files.diff(spec(), files_snapshot(led, live, commit=OLD))
    assert summary(items) == [
        ("backup", "acknowledged", "a.js.bak", False),
        ("backup", "unacknowledged", "b.js.bak", True),
        ("backup", "removed", "c.js.bak", False),
    ]
    assert items[1].expected == {"original": "x", "reason": "restore-source"}


def test_files_diff_of_source_changes():
    led, live = clean_install()
    assert summary(trueup.files.diff(spec(), files_snapshot(led, live))) == [("source", "outdated", None, True)]
    outdated = trueup.files.diff(spec(), files_snapshot(led, live))[0]
    assert outdated.expected == {"commit": NEW, "version": "2.0.0"}
    assert outdated.actual == {"commit": OLD, "version": "1.0.0"}
    assert summary(trueup.files.diff(spec(generated=()), files_snapshot(None, {}, install_exists=False))) == [
        ("source", "not-installed", None, True)]


# --- files: propose ------------------------------------------------------------------------------------


def test_files_propose_alternatives_share_a_group_and_only_drift_gets_actions():
    led, live = clean_install()
    live.update({"a.js": fact(C), "a.js.orig": fact(A)})
    led["backups"] = [backup("ok.bak", acknowledged=True)]
    live["ok.bak"] = fact(A)
    component = spec()
    snap = files_snapshot(led, live, commit=OLD, secrets={".env": fact(None, "0644")})
    drift = trueup.files.diff(component, snap)
    actions = trueup.files.propose(component, snap, drift)
    assert sorted(by_type(actions)) == [
        ("accept-local", ("a.js",)), ("accept-local", ("a.js.orig",)), ("cleanup-backups", ("a.js.orig",)),
        ("restore-source", ("a.js",)),
    ]
    accept, restore = by_type(actions)[("accept-local", ("a.js",))], by_type(actions)[("restore-source", ("a.js",))]
    assert accept.id == action_id(NAME, "accept-local", ("a.js",))
    assert accept.group == restore.group == "app/local-patch/modified/a.js"
    assert (accept.recommended, restore.recommended) == (True, False)
    assert accept.target_kind == restore.target_kind == TargetKind.FILE
    assert accept.preconditions == restore.preconditions == {file_key("a.js"): fact(C).to_json()}
    assert restore.details == {"drift": "local-patch/modified", "restore": fact().to_json()}
    assert accept.details == {"drift": "local-patch/modified"}
    assert accept.reason == "keep a.js as it is and record it as accepted"
    assert all(not a.gated for a in actions)


def test_files_propose_regenerate_names_template_and_command():
    led, live = clean_install()
    live["T.md"] = fact(C)
    led["files"]["T.md"] = fact(C).to_json()
    component = spec()
    snap = files_snapshot(led, live, commit=OLD)
    [regenerate] = trueup.files.propose(component, snap, trueup.files.diff(component, snap))
    assert (str(regenerate.type), regenerate.targets, regenerate.recommended) == ("regenerate", ("OUT.md",), True)
    assert regenerate.preconditions == {file_key("OUT.md"): fact(B).to_json(), file_key("T.md"): fact(C).to_json()}
    assert regenerate.details == {"drift": "generated/stale", "template": "T.md", "command": GEN}


def test_upgrade_plan_decides_each_path():
    led = ledger(files={p: fact().to_json() for p in ("same.js", "edited.js", "gone.js", "dropped.js", "kept.js")})
    live = {"same.js": fact(), "edited.js": fact(B), "dropped.js": fact(), "kept.js": fact(B), "theirs.js": fact(B)}
    wanted = {p: desired(p) for p in ("same.js", "edited.js", "gone.js", "new.js", "theirs.js")}
    snap = files_snapshot(led, live, wanted=wanted, removed=("dropped.js", "kept.js", "vanished.js"))
    led["files"]["vanished.js"] = fact().to_json()
    assert {p: op["op"] for p, op in upgrade_plan(snap).items()} == {
        "same.js": "replace",  # unmodified: replaced
        "edited.js": "merge",  # edited locally: merged three-way
        "gone.js": "add",  # deleted locally: the new version is added
        "new.js": "add",
        "theirs.js": "keep-beside",  # an operator file where the source adds one: never touched
        "dropped.js": "remove",  # unmodified and dropped upstream
        "kept.js": "keep",  # edited and dropped upstream: kept
        "vanished.js": "forget",
    }
    assert upgrade_plan(snap)["new.js"] == {"op": "add", "type": "file", "mode": "0644", "sha256": C}


def test_files_propose_upgrade_is_gated_by_drift_it_would_bury():
    led, live = clean_install()
    live.update({"a.js": fact(C), "x.bak": fact(A), "notes.txt": fact(A)})
    component = spec()
    snap = files_snapshot(led, live, wanted={"a.js": desired("a.js"), "T.md": desired("T.md")})
    [upgrade] = [a for a in trueup.files.propose(component, snap, trueup.files.diff(component, snap))
                 if str(a.type) == "upgrade"]
    assert upgrade.gated == ("app/backup/unacknowledged/x.bak", "app/local-patch/modified/a.js")  # not notes.txt
    assert (upgrade.targets, upgrade.group, upgrade.recommended) == (("T.md", "a.js"), "app/source/outdated", True)
    assert upgrade.preconditions == {file_key("T.md"): fact().to_json(), file_key("a.js"): fact(C).to_json()}
    assert upgrade.details["regenerate"] == ["OUT.md"]  # its template changes
    assert upgrade.details["from"] == {"commit": OLD, "version": "1.0.0"}
    assert upgrade.details["to"] == {"commit": NEW, "version": "2.0.0"}
    assert upgrade.reason == "upgrade app from 1.0.0 to 2.0.0"


def test_files_propose_install_and_import():
    component = spec(generated=(Generated("OUT.md", "T.md", GEN), Generated("B.md", "T.md", GEN)))
    snap = files_snapshot(None, {}, install_exists=False, wanted={"T.md": desired("T.md")})
    [install] = trueup.files.propose(component, snap, trueup.files.diff(component, snap))
    assert (str(install.type), install.targets, install.preconditions) == (
        "upgrade", ("T.md",), {INSTALL_DIR: "absent-or-empty"})
    assert install.details["regenerate"] == ["B.md", "OUT.md"] and install.reason == "install app 2.0.0"

    snap = files_snapshot(None, {"a.js": fact(), "b.js": fact(B)})
    [adopt] = trueup.files.propose(component, snap, trueup.files.diff(component, snap))
    assert (str(adopt.type), adopt.targets, adopt.group) == ("import", (), "app/source/unmanaged")
    tree = adopt.preconditions[TREE]
    changed = files_snapshot(None, {"a.js": fact(), "b.js": fact(C)})
    assert trueup.files.propose(component, changed, trueup.files.diff(component, changed))[0].preconditions[TREE] != tree


# --- config --------------------------------------------------------------------------------------------


def test_config_diff_is_every_files_drift_and_nothing_without_config():
    assert trueup.config.diff(spec(), ()) == [] and trueup.config.propose(spec(), (), []) == []
    findings = [Finding("missing", "setting:m", template=setting("m", 1)),
                Finding("collision", "setting:c", template=setting("c", 1), collided=(setting("c", 2),) * 2)]
    items = trueup.config.diff(spec(), config_snapshot(findings))
    assert summary(items) == [("config", "missing", CONFIG_PATH, True), ("config", "collision", CONFIG_PATH, True)]
    assert items[0].expected == {"entry": "setting:m", "value": 1}
    assert items[1].actual == {"entry": "setting:c", "values": [2, 2]}


def test_config_propose_one_upgrade_per_kind_and_a_choice_per_user_entry():
    findings = [
        Finding("missing", "setting:m1", template=setting("m1", 1)),
        Finding("missing", "setting:m2", template=setting("m2", 2)),
        Finding("outdated", "setting:o", template=setting("o", 2), live=setting("o", 1)),
        Finding("obsolete", "setting:x", live=setting("x", 1)),
        Finding("user-modified", "setting:u", template=setting("u", 2), live=setting("u", 3)),
        Finding("obsolete-user-modified", "setting:y", live=setting("y", 3)),
        Finding("collision", "setting:c", template=setting("c", 1), collided=(setting("c", 2),) * 2),
    ]
    snap = config_snapshot(findings)
    actions = trueup.config.propose(spec(), snap, trueup.config.diff(spec(), snap))
    table = {(str(a.type), a.targets): (a.group, a.recommended, [(c["op"], c["entry"]) for c in a.details["changes"]])
             for a in actions}
    assert table == {
        ("upgrade", ("setting:m1", "setting:m2")): (
            f"app/config/missing/{CONFIG_PATH}", True, [("add", "setting:m1"), ("add", "setting:m2")]),
        ("upgrade", ("setting:o",)): (f"app/config/outdated/{CONFIG_PATH}", True, [("update", "setting:o")]),
        ("upgrade", ("setting:x",)): (f"app/config/obsolete/{CONFIG_PATH}", True, [("remove", "setting:x")]),
        ("accept-local", ("setting:u",)): (
            f"app/config/user-modified/{CONFIG_PATH}#setting:u", True, [("accept", "setting:u")]),
        ("restore-source", ("setting:u",)): (
            f"app/config/user-modified/{CONFIG_PATH}#setting:u", False, [("restore", "setting:u")]),
        ("accept-local", ("setting:y",)): (
            f"app/config/obsolete-user-modified/{CONFIG_PATH}#setting:y", True, [("accept", "setting:y")]),
        ("restore-source", ("setting:y",)): (
            f"app/config/obsolete-user-modified/{CONFIG_PATH}#setting:y", False, [("remove", "setting:y")]),
    }  # a collision is reported, never acted on
    for action in actions:
        assert action.target_kind == TargetKind.CONFIG_ENTRY and action.details["config"] == CONFIG_PATH
        assert action.id == action_id(NAME, action.type, [CONFIG_PATH, *action.targets])
        assert set(action.preconditions) == {config_key(CONFIG_PATH, "sha256"), config_key(CONFIG_PATH, "registry")}
    restore = by_type(actions)[("restore-source", ("setting:u",))]
    assert restore.details["changes"] == [{"op": "restore", "entry": "setting:u", "before": 3, "after": 2,
                                          "diff": ["value: 3 → 2"]}]
    assert restore.reason == f"restore-source 1 entry of {CONFIG_PATH}"


def test_config_snapshot_shape_matches_what_plan_config_makes(tmp_path, monkeypatch):
    """The hand-built ConfigFindings above has the shape the real one has: same keys, same groups."""
    item = {"path": "~/.app/settings.json", "format": "json", "template": "settings.json"}
    harness = Harness(tmp_path, item, component=NAME)
    monkeypatch.setenv("HOME", str(harness.home))
    harness.write_live({"theme": "mine"})
    plan = harness.plan({"theme": "dark", "model": "opus"})
    snap = ((item, plan),)
    actions = trueup.config.propose(spec(), snap, trueup.config.diff(spec(), snap))
    # theme is the user's, never overwritten by an upgrade; it hides the framework's value, so it is reported
    assert [(str(a.type), a.targets, a.group) for a in actions] == [
        ("upgrade", ("setting:model",), f"app/config/missing/{CONFIG_PATH}"),
        ("accept-local", ("setting:theme",), f"app/config/shadowed/{CONFIG_PATH}#setting:theme"),
        ("restore-source", ("setting:theme",), f"app/config/shadowed/{CONFIG_PATH}#setting:theme")]
    assert set(plan.preconditions) == {config_key(CONFIG_PATH, "sha256"), config_key(CONFIG_PATH, "registry")}
    assert plan.preconditions[config_key(CONFIG_PATH, "sha256")].startswith("sha256:")


# --- runtime -------------------------------------------------------------------------------------------


def test_runtime_diff_and_propose_without_a_runtime():
    assert trueup.runtime.diff(spec(), None) == [] and trueup.runtime.propose(spec(), None, []) == []


def test_runtime_propose_one_restart_for_everything_a_restart_fixes():
    obs = observation(started_at="2025-12-01T00:00:00.000Z", saved="not-saved", command=["node", "/ws/other.js"])
    snap = runtime_snapshot(obs)
    drift = trueup.runtime.diff(spec(), snap)
    assert [d.kind for d in drift] == ["command-mismatch", "stale-process", "unsaved"]
    [restart] = trueup.runtime.propose(spec(), snap, drift)
    assert (str(restart.type), restart.targets, restart.target_kind) == ("restart", ("app",), TargetKind.SERVICE)
    assert (restart.group, restart.recommended) == ("app/runtime/app", True)
    assert restart.id == action_id(NAME, "restart", ("app",))
    assert restart.details == {"runtime": "pm2", "resolves": ["stale-process", "unsaved"], "save": True}
    assert restart.reason == "restart app through pm2 (stale-process, unsaved)"
    assert restart.preconditions == restart_preconditions(obs)
    assert restart.preconditions[runtime_key("pid")] == 10


def test_runtime_propose_nothing_a_restart_cannot_do():
    # Only a redefinition fixes a moved cwd; an unobserved service is unknown; a service the manager does
    # not know cannot be restarted (trueup restarts, it does not define).
    moved = runtime_snapshot(observation(cwd="/elsewhere"))
    unreachable = runtime_snapshot(observation(reachable=False))
    skipped = runtime_snapshot(observation(skipped=True))
    undefined = runtime_snapshot(observation(present=False, status="absent", pid=None))
    for snap in (moved, unreachable, skipped, undefined):
        drift = trueup.runtime.diff(spec(), snap)
        assert drift and trueup.runtime.propose(spec(), snap, drift) == [], [d.kind for d in drift]
    assert [(d.kind, d.is_drift) for d in trueup.runtime.diff(spec(), unreachable)] == [("unreachable", False)]
    assert [d.kind for d in trueup.runtime.diff(spec(), undefined)] == ["not-running"]


def test_runtime_propose_ignores_drift_of_other_classes_and_information():
    snap = runtime_snapshot(observation())
    assert trueup.runtime.diff(spec(), snap) == []
    foreign = [Drift(trueup.runtime.DriftClass.FILE, "missing", "a.js"),
               Drift(trueup.runtime.DriftClass.RUNTIME, "stale-process", None, is_drift=False)]
    assert trueup.runtime.propose(spec(), snap, foreign) == []
