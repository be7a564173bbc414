"""History of a real PM2 service: restarts under the same definition, counted into a restart loop."""

from __future__ import annotations

import json

from tests.runtime.support import http_json, wait_for
from tests.runtime.test_e2e_runtime import _installed_and_running


def test_a_pm2_restart_loop_is_seen_and_attributed_outside_trueup(pm2, tmp_path):
    project, port = _installed_and_running(pm2, tmp_path)
    project.plan()
    for i in range(3):
        before = pm2_pid(pm2)
        pm2.run("restart", "recruit")
        wait_for(lambda: pm2_pid(pm2) not in (None, before) and http_json(f"http://127.0.0.1:{port}/health"),
                 "recruit to come back under a new process")
        document = project.plan()
        loops = [w for w in document["meta"]["history"]["warnings"] if w["kind"] == "restart-loop"]
        assert bool(loops) == (i == 2), loops
    assert loops[0]["class"] == "runtime" and loops[0]["details"] == {"restarts": 3, "window": 10,
                                                                      "service": "recruit"}
    code, out, err = project.run("history", "--workspace", str(project.root), "recruit", "recruit", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [r["classes"] for r in rows[-3:]] == [["restarted", "changed-outside-trueup"]] * 3
    running = rows[-4:]  # first seen running, then three restarts
    assert len({r["detail"]["pid"] for r in running}) == 4  # a new process each time
    assert len({r["state"] for r in running}) == 1  # running the same thing: restarts, not changes


def pm2_pid(pm2) -> int | None:
    return next((p.get("pid") for p in pm2.jlist() if p.get("name") == "recruit"), None)
