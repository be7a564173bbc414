"""`trueup show --html` and `trueup fleet --html` in a real headless browser (Debian's chromium).

chromium loads the file with no network at all, runs its script, and prints the resulting DOM; the test
checks the page says what the plan JSON says, that text from the plan stays text (a path named `<script>`),
that nothing on the page refers to the network, and that the script raised nothing. A screenshot is taken.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/ensure-chromium installs it)")


def _browser(page: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--disable-dev-shm-usage", "--host-resolver-rules=MAP * ~NOTFOUND", "--enable-logging=stderr",
                           "--v=0", *extra, page.as_uri()], capture_output=True, text=True, timeout=120)


def test_plan_page_in_chromium(installed, tmp_path):
    evil = installed.install / "server" / "<img src=x onerror=alert(1)>.js"  # a file name is text, never markup
    evil.write_text("x\n")
    target = installed.install / "server" / "index.js"
    target.write_text(target.read_text().replace("const b = 2;", "const b = 20;"))
    plan_file = installed.root / "plan.json"
    assert installed.run("plan", "-o", str(plan_file))[0] == 0
    page = tmp_path / "plan.html"
    code, out, err = installed.run("show", str(plan_file), "--html", "-o", str(page))
    assert code == 0 and out == "", err
    html = page.read_text()
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;.js" in html
    assert not re.search(r'(src|href)="(https?:)?//', html)  # self-contained: nothing fetched

    dom = _browser(page, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'data-ready="1"' in dom.stdout, dom.stderr[-2000:]  # the script ran to its end
    document = json.loads(plan_file.read_text())
    summary = document["summary"]
    assert (f'{summary["drift"]} drift items, {summary["actions"]} actions (0 approved), '
            f'{summary["warnings"]} warnings') in dom.stdout
    assert "&lt;img src=x onerror=alert(1)&gt;.js" in dom.stdout and "<img" not in dom.stdout  # still text
    assert '<span class="add">+const b = 20;</span>' in dom.stdout  # the diff is on the page
    assert '<svg class="sparkline"' in dom.stdout  # history's trend, drawn inline (the install's plans, then this)
    assert not re.search(r"Uncaught|CONSOLE\(\d+\).*[Ee]rror", dom.stderr), dom.stderr[-2000:]

    shot = tmp_path / "plan.png"
    taken = _browser(page, f"--screenshot={shot}", "--window-size=1280,1600")
    assert taken.returncode == 0 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_fleet_page_in_chromium(installed, tmp_path):
    plans = []
    for host in ("a", "b"):
        path = installed.root / f"{host}.json"
        assert installed.run("plan", "-o", str(path))[0] == 0
        plans.append(str(path))
    page = tmp_path / "fleet.html"
    code, _, err = installed.run("fleet", *plans, "--html", "-o", str(page))
    assert code == 0, err
    dom = _browser(page, "--dump-dom")
    assert 'data-ready="1"' in dom.stdout and dom.stdout.count("<tr>") == 3  # header + one row per plan
