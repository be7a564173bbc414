"""An upgrade's merge is three-way for the executable bit as for the content (issue 17, found on zylos-core's
tags): the operator's bit stays unless the source changed that bit too."""

from __future__ import annotations

import os
import stat

from tests.conftest import V1, V2

INDEX = "server/index.js"
EDITED = "const a = 1; // mine\nconst b = 2;\nconst c = 3;\nconsole.log(a + b + c);\n"


def mode(project, rel: str) -> int:
    return stat.S_IMODE(os.stat(project.install / rel).st_mode)


def upgrade_with(project, *also: tuple[str, str]) -> dict:
    project.manifest(ref="v2")
    doc = project.plan()
    ids = [project.action(doc, "upgrade")["id"], *(project.action(doc, t, p)["id"] for t, p in also)]
    code, out, err = project.apply_ids(doc, *ids)
    assert code == 0, out + err
    return doc


def test_an_edited_file_made_executable_keeps_its_bit_through_the_merge(installed):
    (installed.install / INDEX).write_text(EDITED)
    os.chmod(installed.install / INDEX, 0o755)
    upgrade_with(installed, ("accept-local", INDEX))
    assert (installed.install / INDEX).read_text().startswith("const a = 1; // mine\n")
    assert "const c = 30;" in (installed.install / INDEX).read_text()
    assert mode(installed, INDEX) == 0o755
    assert installed.kinds() == set()  # accepted as merged: the new content with the operator's mode


def test_a_chmod_alone_survives_an_upgrade_and_stays_visible(installed):
    os.chmod(installed.install / INDEX, 0o755)
    doc = upgrade_with(installed)
    assert "const c = 30;" in (installed.install / INDEX).read_text()
    assert mode(installed, INDEX) == 0o755
    # Not silently undone, nor silently accepted: still the operator's open change.
    assert ("file", "mode-changed", INDEX) in installed.kinds()
    assert not [p for p in os.listdir(installed.install / "server") if ".trueup-local-" in p]


def test_an_accepted_chmod_stays_accepted_through_an_upgrade(installed):
    os.chmod(installed.install / INDEX, 0o755)
    doc = installed.plan()
    assert installed.apply_ids(doc, installed.action(doc, "accept-local", INDEX)["id"])[0] == 0
    upgrade_with(installed)
    assert mode(installed, INDEX) == 0o755
    assert installed.kinds() == set()


def test_a_bit_the_source_changed_follows_the_source(project):
    # The source makes bin/run non-executable; the operator edited its content only: the source's bit wins.
    project.source({"v1": V1, "v2": {**V2, "bin/run": ("#!/bin/sh\nexec node server/index.js\n", 0o644)}})
    project.manifest(ref="v1")
    plan_file = str(project.root / "p.json")
    assert project.run("plan", "-o", plan_file)[0] == 0
    assert project.run("apply", plan_file, "--approve-all")[0] == 0
    (project.install / "bin/run").write_text("#!/bin/sh\nexec node server/index.js\n# mine\n")
    upgrade_with(project, ("accept-local", "bin/run"))
    assert mode(project, "bin/run") & 0o111 == 0
    assert (project.install / "bin/run").read_text().endswith("# mine\n")
