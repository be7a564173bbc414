"""The CLI's edges: python -m trueup, remote (URL) sources mirrored in the state dir, --no-cache."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import V1, V2


def test_python_dash_m_and_usage_errors_exit_1(project):
    proc = subprocess.run([sys.executable, "-m", "trueup", "plan", "--nope"], capture_output=True, text=True)
    assert proc.returncode == 1 and "No such option" in proc.stderr and "--nope" in proc.stderr and "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "trueup", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "plan" in proc.stdout and "apply" in proc.stdout


def test_console_script_flushes_everything_before_its_fast_exit(installed):
    (installed.install / "server/util.js").write_text("patched\n")
    proc = subprocess.run([sys.executable, "-m", "trueup", "plan", "--json", "--detailed-exitcode"],
                          capture_output=True, text=True, cwd=installed.root)
    assert proc.returncode == 2, proc.stderr  # drift, and the exit code survives os._exit
    document = json.loads(proc.stdout)  # the whole document reached the pipe
    assert document["summary"]["drift"] >= 1 and proc.stdout.endswith("}\n")


def test_url_source_is_mirrored_into_the_state_dir(project):
    project.source({"v1": V1, "v2": V2})
    url = f"file://{project.repo}"
    project.manifest(ref="v1", extra={"source": {"repo": url, "ref": "v1"}})
    doc = project.plan()
    assert doc["components"][0]["status"] == "not-installed"
    mirrors = list((project.root / ".trueup-state" / "sources").iterdir())
    assert len(mirrors) == 1 and mirrors[0].name.endswith(".git")
    path = project.write_plan(doc)
    assert project.run("apply", str(path), "--approve-all")[0] == 0
    assert project.ledger()["source"]["repo"] == url
    project.manifest(ref="v2", extra={"source": {"repo": url, "ref": "v2"}})
    assert ("source", "outdated", None) in project.kinds()


def test_no_cache_gives_the_same_plan(installed):
    (installed.install / "server/util.js").write_text("patched\n")
    cached, uncached = installed.plan(), installed.plan("--no-cache")
    for doc in (cached, uncached):
        doc.pop("meta")
    assert json.dumps(cached, sort_keys=True) == json.dumps(uncached, sort_keys=True)


class _CountingStream:
    """A non-terminal stdout that counts writes."""

    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def test_plan_lines_go_out_in_one_write_as_written(monkeypatch):
    """Thousands of plan lines are one write, not one rich print each; text is printed as written (a path with
    ':smile:' in it stays so, no markup), only the cursor-moving control codes removed."""
    from trueup import cli

    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)
    lines = [(f"  ~ server/file{i}.js", "yellow") for i in range(2000)]
    lines += [("emoji :smile: and a bell\x07 [bold]not markup[/]", "bold"), ("", None), ("é\u2028ü", None)]
    stream = _CountingStream()
    monkeypatch.setattr(sys, "stdout", stream)
    cli._print_lines(lines)
    assert len(stream.writes) == 1
    expected = "".join(f"  ~ server/file{i}.js\n" for i in range(2000))
    assert stream.writes[0] == expected + "emoji :smile: and a bell [bold]not markup[/]\n\né\u2028ü\n"
