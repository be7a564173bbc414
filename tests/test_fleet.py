"""trueup fleet summarises plan documents from several hosts."""

from __future__ import annotations

import json
from pathlib import Path


def test_fleet_summary(installed):
    clean = installed.write_plan(installed.plan(), "host-a.json")
    (installed.install / "server/util.js").write_text("patched\n")
    (installed.install / "x.bak").write_text("old\n")
    drifted_doc = installed.plan()
    drifted_doc["meta"]["host"] = "host-b"
    drifted = installed.write_plan(drifted_doc, "host-b.json")
    code, out, err = installed.run("fleet", str(clean), str(drifted), "--json")
    assert code == 2, err
    rows = {r["host"]: r for r in json.loads(out)}
    assert rows["host-b"]["local_patches"] == 1 and rows["host-b"]["unreviewed_backups"] == 1
    assert rows["host-b"]["status"] == "drifted" and rows["host-b"]["installed"] == "1.0.0"
    code, out, _ = installed.run("fleet", str(clean), str(drifted))
    assert "host-b" in out and "drifted" in out
    assert installed.run("fleet", str(clean))[0] == 0


def _as_host(installed, document: dict, host: str, name: str, directory: str = ".") -> Path:
    document = json.loads(json.dumps(document))
    document["meta"].update(host=host, created_at="2026-11-29T10:00:00Z")
    (installed.root / directory).mkdir(exist_ok=True)
    return installed.write_plan(document, f"{directory}/{name}")


def _marker(path: Path, host: str, since: str = "2026-11-29T11:00:00Z") -> Path:
    marker = path.with_name(path.name.removesuffix(".json") + ".unreachable.json")
    marker.write_text(json.dumps({"format": 1, "host": host, "since": since, "last_attempt": "2026-11-29T12:00:00Z",
                                  "message": "Failed to connect to the host via ssh: Connection refused"}))
    return marker


def test_rows_are_told_apart_when_hostnames_repeat(installed):
    clean = installed.plan()
    a = _as_host(installed, clean, "web-1", "a.json")
    b = _as_host(installed, clean, "web-1", "b.json")
    c = _as_host(installed, clean, "web-1", "b.json", directory="again")
    code, out, err = installed.run("fleet", str(a), str(b), str(c), "--json")
    assert code == 0, err
    labels = {r["label"] for r in json.loads(out)}
    assert labels == {"web-1 (a.json)", f"web-1 ({b})", f"web-1 ({c})"}  # the file name, or its path when that repeats too
    code, out, _ = installed.run("fleet", str(a), str(b))
    assert [line.split()[:2] for line in out.splitlines()[1:3]] == [["web-1", "(a.json)"], ["web-1", "(b.json)"]]
    page = installed.root / "fleet.html"
    assert installed.run("fleet", str(a), str(b), "--html", "-o", str(page))[0] == 0
    assert "<td>web-1 (a.json)</td>" in page.read_text() and "<td>web-1 (b.json)</td>" in page.read_text()


def test_the_same_file_passed_twice_is_counted_once(installed, monkeypatch):
    path = _as_host(installed, installed.plan(), "web-1", "web-1.json", "plans")
    monkeypatch.chdir(installed.root / "plans")
    link = installed.root / "link.json"
    link.symlink_to(path)
    code, out, err = installed.run("fleet", str(path), "web-1.json", "./web-1.json", str(link), "../plans", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert len(rows) == 1 and rows[0]["label"] == "web-1"


def _fleet_dir(installed) -> Path:
    """Four hosts: clean, drifted with a long name, unreachable with a last known plan, never reached."""
    clean = installed.plan()
    (installed.install / "server/util.js").write_text("patched\n")
    (installed.install / "x.bak").write_text("old\n")
    drifted = installed.plan()
    _as_host(installed, clean, "web-1", "web-1.json", "plans")
    _as_host(installed, drifted, "ip-10-0-113-27.eu-west-1.compute.internal", "ip-10-0-113-27.json", "plans")
    _marker(_as_host(installed, clean, "db-2", "db-2.json", "plans"), "db-2")
    _marker(installed.root / "plans" / "db-3.json", "db-3")
    return installed.root / "plans"


def test_unreachable_hosts_keep_their_last_plan_marked_stale_exit_8_or_5(installed):
    plans = _fleet_dir(installed)
    code, out, err = installed.run("fleet", *sorted(str(p) for p in plans.glob("*.json")), "--json")
    assert code == 8, err  # partial: two hosts answered
    rows = {r["label"]: r for r in json.loads(out)}
    assert rows["db-2"]["stale"] and rows["db-2"]["installed"] == "1.0.0" and rows["db-2"]["unreachable"]["since"] == "2026-11-29T11:00:00Z"
    assert rows["db-3"]["status"] == "unreachable" and rows["db-3"]["plan"] is None
    assert not rows["web-1"]["stale"]
    # Only unreachable hosts: 5. A marker given alone brings the last known plan beside it.
    code, out, _ = installed.run("fleet", str(plans / "db-2.unreachable.json"), str(plans / "db-3.unreachable.json"), "--json")
    assert code == 5 and {r["label"] for r in json.loads(out)} == {"db-2", "db-3"}
    assert installed.run("fleet", str(plans / "web-1.json"))[0] == 0


def test_a_damaged_marker_is_one_clear_line(installed):
    plans = _fleet_dir(installed)
    (plans / "db-2.unreachable.json").write_text('{"host": "db-2"}')
    code, out, err = installed.run("fleet", str(plans))
    assert code == 1 and "db-2.unreachable.json: not an unreachable-host marker of format 1" in err
    assert len(err.strip().splitlines()) == 1
    (plans / "db-2.unreachable.json").write_text(json.dumps({"format": 1, "host": "db-2", "since": "2026-11-29",
                                                           "message": "refused\x1b[2J\nforged line"}))
    code, out, _ = installed.run("fleet", str(plans))
    assert code == 8 and "refused\\x1b[2J\\nforged line" in out and "\x1b" not in out
    (installed.root / "empty").mkdir()
    code, _, err = installed.run("fleet", str(installed.root / "empty"))
    assert code == 1 and "empty: no plan files (*.json) in this directory" in err


def test_fleet_table_fits_80_columns_and_keeps_whole_names_when_piped(installed, update_golden):
    from tests.test_golden import check
    from trueup.fleet import summarise
    from trueup.fleet_table import table

    plans = _fleet_dir(installed)
    rows = summarise([plans])
    lines = [text for text, _ in table(rows, 80)]
    assert max(map(len, lines[:len(rows) + 3])) <= 80  # the table and its legend; notes below are whole sentences
    assert any(line.startswith("ip-10-0-11…") for line in lines)
    check("fleet-table-80.txt", "\n".join(lines).replace(str(installed.root), "<dir>") + "\n", update_golden)
    # Piped (what `trueup fleet … | grep` reads): one row a line, every name whole.
    code, out, _ = installed.run("fleet", str(plans))
    assert code == 8
    check("fleet-table-piped.txt", out.replace(str(installed.root), "<dir>"), update_golden)
    assert "ip-10-0-113-27.eu-west-1.compute.internal  app" in out


def test_plan_read_only_writes_nothing_at_all(installed):
    """What the Ansible module runs in check mode: not even trueup's own stat cache, lineage or history."""
    from tests.helpers import snapshot

    (installed.install / "server/util.js").write_text("patched\n")
    before = snapshot(installed.root)
    code, out, err = installed.run("plan", "--read-only", "--json", "--detailed-exitcode")
    assert code == 2, err
    assert json.loads(out)["summary"]["drift"] == 1
    assert snapshot(installed.root) == before
    installed.run("plan", "--json")
    assert snapshot(installed.root) != before  # a plain plan does keep its cache and history


def test_a_provenance_column_appears_only_when_some_row_has_verdicts(installed):
    from trueup.fleet import summarise
    from trueup.fleet_table import table

    rows = summarise([_fleet_dir(installed)])
    assert "provenance" not in table(rows, 80)[0][0]
    rows[0]["provenance"] = {"verified-signed": 1}
    lines = [text for text, _ in table(rows, 80)]
    assert lines[0].split()[-1] == "provenance" and lines[1].split()[-1] == "signed"
    assert lines[1].startswith("db-2 (stale)")  # shortening never cuts the stale mark
    assert max(map(len, lines[:len(rows) + 3])) <= 80


def test_exit_code_follows_plan_0_2_8_5():
    from trueup.fleet import exit_code

    def row(plan, *, stale=False, status="clean", drift=0):
        return {"plan": plan, "marker": None if plan else "x.unreachable.json", "stale": stale, "status": status,
                "drift": drift}

    assert exit_code([row("a"), row("b")]) == 0
    assert exit_code([row("a"), row("b", drift=1)]) == 2
    assert exit_code([row("a", status="unreachable", drift=1), row("a")]) == 8  # a host's plan observed only part
    assert exit_code([row("a", drift=1), row("b", stale=True)]) == 8
    assert exit_code([row("b", stale=True), row(None, stale=True, status="unreachable")]) == 5
