"""An upgrade touching paths below an ignore pattern (issue 17, found on zylos-core's tags: v0.6.0 starts tracking
``data/instruction-baselines/manifest.json``, ``data/**`` is ignored, and the running service already wrote that
file). Observation and preconditions agree on every path an action touches, ignored or not: the path is observed
as present, the service's bytes are saved as a recorded backup before the source's version replaces them, and the
upgrade is never refused as stale when nothing changed."""

from __future__ import annotations

import hashlib

from tests.conftest import V1, V2

BASELINE = "data/instruction-baselines/manifest.json"
SHIPPED = '{"baselines": []}\n'
SERVICE = '{"baselines": ["written by the service"]}\n'


def upgrade_round(project) -> tuple[dict, dict, int, str]:
    project.manifest(ref="v2")
    doc = project.plan()
    plan_file = project.root / "plan.json"
    assert project.run("plan", "-o", str(plan_file))[0] == 0
    code, out, err = project.run("apply", str(plan_file), "--approve-all")
    return doc, project.action(doc, "upgrade"), code, out + err


def install_v1(project, v1=None, v2=None):
    project.source({"v1": v1 or V1, "v2": v2 or {**V2, BASELINE: SHIPPED}})
    project.manifest(ref="v1")
    plan_file = str(project.root / "install-plan.json")
    assert project.run("plan", "-o", plan_file)[0] == 0
    code, out, err = project.run("apply", plan_file, "--approve-all")
    assert code == 0, out + err


def test_a_file_the_service_wrote_where_the_source_starts_tracking_one(project):
    install_v1(project)
    (project.install / BASELINE).parent.mkdir(parents=True)
    (project.install / BASELINE).write_text(SERVICE)

    doc, upgrade, code, output = upgrade_round(project)
    # Observed as present (the plan's precondition is the service's file, not "absent")...
    key = next(k for k in upgrade["preconditions"] if k.endswith(BASELINE))
    assert upgrade["preconditions"][key]["type"] == "file"
    assert upgrade["preconditions"][key]["sha256"] == hashlib.sha256(SERVICE.encode()).hexdigest()
    assert upgrade["details"]["files"][BASELINE]["op"] == "replace"
    assert upgrade["details"]["files"][BASELINE]["backup"] == "live"
    # ...so apply is not refused as stale, and the service's bytes are a recorded backup before the replace.
    assert code == 0, output
    assert (project.install / BASELINE).read_text() == SHIPPED
    [record] = [b for b in project.ledger()["backups"] if b["original"] == BASELINE]
    assert (project.install / record["path"]).read_text() == SERVICE
    assert record["sha256"] == hashlib.sha256(SERVICE.encode()).hexdigest()
    assert BASELINE in project.ledger()["files"]
    code, out, err = project.run("plan", "--detailed-exitcode")
    assert code == 0, out + err


def test_a_file_the_service_wrote_as_the_source_has_it_is_recorded_without_a_backup(project):
    install_v1(project)
    (project.install / BASELINE).parent.mkdir(parents=True)
    (project.install / BASELINE).write_text(SHIPPED)

    doc, upgrade, code, output = upgrade_round(project)
    assert code == 0, output
    assert upgrade["details"]["files"][BASELINE]["op"] == "add"
    assert project.ledger()["backups"] == []
    assert sorted(p.name for p in (project.install / BASELINE).parent.iterdir()) == ["manifest.json"]
    assert project.run("plan", "--detailed-exitcode")[0] == 0


def test_an_ignored_tracked_file_the_source_removes_is_not_refused_forever(project):
    seed = "data/seed.json"
    install_v1(project, v1={**V1, seed: "[]\n"}, v2=V2)
    (project.install / seed).write_text('["rewritten by the service"]\n')

    doc, upgrade, code, output = upgrade_round(project)
    assert code == 0, output
    assert upgrade["details"]["files"][seed]["op"] == "keep"  # edited, dropped upstream: kept, never deleted
    assert (project.install / seed).read_text() == '["rewritten by the service"]\n'
    plan_file = project.root / "plan2.json"
    project.run("plan", "-o", str(plan_file))
    assert project.run("apply", str(plan_file), "--approve-all")[0] == 0
    code, out, err = project.run("plan", "--detailed-exitcode")
    assert code == 0, out + err
    assert project.ledger()["version"] == "2.0.0"


def test_a_killed_write_below_an_ignored_directory_is_a_reported_leftover(project):
    import subprocess
    import sys

    install_v1(project)
    directory = project.install / "data/instruction-baselines"
    directory.mkdir(parents=True)
    (directory / "manifest.json").write_text(SERVICE)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    temp = f".manifest.json.trueup-tmp.{child.pid}-0a1b2c3d"  # an apply killed while writing the source's version
    (directory / temp).write_text('{"base')
    (directory / f".cache.json.trueup-tmp.{child.pid}-0a1b2c3d").write_text("not trueup's path: not reported")

    project.manifest(ref="v2")
    found = {d["path"] for c in project.plan()["components"] for d in c["drift"] if d["kind"] == "leftover"}
    assert found == {f"data/instruction-baselines/{temp}"}
    doc, upgrade, code, output = upgrade_round(project)
    assert code == 0, output
    assert not (directory / temp).exists()
    assert project.run("plan", "--detailed-exitcode")[0] == 0
