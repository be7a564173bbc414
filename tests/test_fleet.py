"""trueup fleet summarises plan documents from several hosts."""

from __future__ import annotations

import json


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
