"""approve: what it checks at once (gates, types), what --type and --with-gates choose, and what it reports."""

from __future__ import annotations

import json

from trueup.model.plan import APPLY_ORDER


def _approved(path) -> set[str]:
    return {a["id"] for a in json.loads(path.read_text())["actions"] if a["approved"]}


def _gated_upgrade(installed):
    (installed.install / "server/util.js").write_text("patched\n")
    (installed.install / "x.bak").write_text("debris\n")
    installed.manifest(ref="v2")
    doc = installed.plan()
    return doc, installed.write_plan(doc)


def test_approving_a_gated_upgrade_says_so_at_once_naming_the_gates(installed):
    doc, path = _gated_upgrade(installed)
    upgrade = installed.action(doc, "upgrade")
    accept_patch = installed.action(doc, "accept-local", "server/util.js")
    accept_bak = installed.action(doc, "accept-local", "x.bak")
    code, out, err = installed.run("approve", str(path), upgrade["id"])
    assert code == 3 and err.count("\n") == 1
    assert f"upgrade {upgrade['id']} of app is gated by 2 unapproved drifts" in err
    assert f"app/local-patch/modified/server/util.js ({accept_patch['id']} accept-local)" in err
    assert f"app/backup/unacknowledged/x.bak ({accept_bak['id']} accept-local)" in err
    assert f"--with-gates {upgrade['id']}" in err
    assert _approved(path) == set()  # nothing was written
    # With one gate handled by hand, the message names only the other.
    code, out, err = installed.run("approve", str(path), upgrade["id"], accept_bak["id"])
    assert code == 3 and "gated by 1 unapproved drift:" in err
    assert accept_patch["id"] in err and accept_bak["id"] not in err


def test_with_gates_approves_the_recommended_action_of_each_gate(installed):
    doc, path = _gated_upgrade(installed)
    upgrade = installed.action(doc, "upgrade")
    restore = installed.action(doc, "restore-source", "server/util.js")
    # A gate already covered by an alternative keeps it: restore-source, not the recommended accept-local.
    assert installed.run("approve", str(path), restore["id"])[0] == 0
    code, out, err = installed.run("approve", str(path), "--with-gates", upgrade["id"])
    assert code == 0, err
    assert _approved(path) == {upgrade["id"], restore["id"], installed.action(doc, "accept-local", "x.bak")["id"]}
    code, out, err = installed.run("apply", str(path))
    assert code == 0, err
    assert installed.ledger()["version"] == "2.0.0"


def test_unknown_type_is_one_line_listing_the_types(installed):
    (installed.install / "x.bak").write_text("debris\n")
    path = installed.write_plan(installed.plan())
    code, out, err = installed.run("approve", str(path), "--type", "cleanup")
    assert code == 1 and err.count("\n") == 1
    assert "unknown action type 'cleanup'" in err and "types: " + ", ".join(map(str, APPLY_ORDER)) in err
    assert _approved(path) == set()


def test_type_approves_alternatives_in_every_group_that_offers_them(installed):
    for name in ("a.bak", "b.bak", "c.bak"):
        (installed.install / name).write_text("debris\n")
    doc = installed.plan()
    path = installed.write_plan(doc)
    cleanup = {n: installed.action(doc, "cleanup-backups", n) for n in ("a.bak", "b.bak", "c.bak")}
    assert not any(a["recommended"] for a in cleanup.values())
    # A group already covered (a.bak's backup accepted) is left alone.
    accept_a = installed.action(doc, "accept-local", "a.bak")
    assert installed.run("approve", str(path), accept_a["id"])[0] == 0
    code, out, err = installed.run("approve", str(path), "--type", "cleanup-backups")
    assert code == 0, err
    assert _approved(path) == {accept_a["id"], cleanup["b.bak"]["id"], cleanup["c.bak"]["id"]}
    assert installed.run("apply", str(path))[0] == 0
    assert (installed.install / "a.bak").exists()
    assert not (installed.install / "b.bak").exists() and not (installed.install / "c.bak").exists()


def test_approve_reports_what_it_added_this_time(installed):
    (installed.install / "server/util.js").write_text("patched\n")
    (installed.install / "x.bak").write_text("debris\n")
    doc = installed.plan()
    path = installed.write_plan(doc)
    accept = installed.action(doc, "accept-local", "server/util.js")
    code, out, err = installed.run("approve", str(path), accept["id"])
    assert code == 0 and out.startswith(f"1 action approved in {path} (1 approved in all):")
    assert f"+ {accept['id']} accept-local app: server/util.js" in out
    code, out, err = installed.run("approve", str(path), "--all")
    assert code == 0 and out.startswith(f"1 action approved in {path} (2 approved in all):")
    assert accept["id"] not in out and installed.action(doc, "accept-local", "x.bak")["id"] in out
    code, out, err = installed.run("approve", str(path), "--all")
    assert code == 0 and out.startswith(f"Nothing new approved in {path} (2 approved in all).")


def test_approve_of_a_many_path_action_points_at_the_full_list(installed):
    installed.manifest(ref="v2")
    doc = installed.plan()
    path = installed.write_plan(doc)
    upgrade = installed.action(doc, "upgrade")
    assert len(upgrade["targets"]) > 3
    code, out, _ = installed.run("approve", str(path), upgrade["id"])
    assert code == 0 and f"upgrade app: {len(upgrade['targets'])} paths" in out
    assert f"Every approved action and path: trueup show {path}" in out
    code, out, _ = installed.run("show", str(path))
    assert all(t in out for t in upgrade["targets"])  # the review lists them all
