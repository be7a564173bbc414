"""Capture ``systemctl --user show`` from a real user manager into fixtures/runtime/systemd/captured/ (run as root):

    .venv/bin/python -m tests.runtime.systemd_captures fixtures/runtime/systemd/captured

Every property is kept, as systemd printed it; only the temp directory the manager ran in is replaced by
``@ROOT@`` so the files do not depend on where they were made. The tests read them as regression fixtures.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.runtime.systemd_manager import UserSystemd, missing_requirement


def _show(manager: UserSystemd, unit: str, root: Path) -> str:
    text = manager.systemctl("show", "--timestamp=us+utc", "--", unit).stdout
    return text.replace(str(root), "@ROOT@")


def capture(out: Path) -> None:
    reason = missing_requirement()
    if reason:
        sys.exit(reason)
    out.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="sdcap"))
    manager = UserSystemd.start(root / "m")
    base = manager.root
    try:
        app = base / "app"
        (app / "bin").mkdir(parents=True)
        wrapper = app / "bin" / "recruit-wrapper"
        wrapper.write_text("#!/bin/sh\nexec sleep 100000\n")
        wrapper.chmod(0o755)
        extra = f"EnvironmentFile=-{app}/.env\nEnvironment=PORT=3020\n"
        unit = manager.write_unit("recruit.service", f"{wrapper} --health-path /health", cwd=app, extra=extra)
        manager.systemctl("daemon-reload")
        manager.systemctl("start", "recruit.service")
        files = {"active.show": _show(manager, "recruit.service", base)}
        time.sleep(0.01)
        manager.write_unit("recruit.service", f"{wrapper} --health-path /healthz", cwd=app, extra=extra)
        files["need-daemon-reload.show"] = _show(manager, "recruit.service", base)
        manager.systemctl("daemon-reload")
        files["reloaded-old-process.show"] = _show(manager, "recruit.service", base)
        manager.systemctl("stop", "recruit.service")
        files["inactive.show"] = _show(manager, "recruit.service", base)
        unit.unlink()
        manager.start_unit("gone.service", f"{app}/bin/moved-wrapper --health-path /health", cwd=app)
        deadline = time.monotonic() + 10
        while manager.show("gone.service", "ActiveState")["ActiveState"] != "failed" and time.monotonic() < deadline:
            time.sleep(0.05)
        files["failed-program-missing.show"] = _show(manager, "gone.service", base)
        files["not-found.show"] = _show(manager, "no-such-unit.service", base)
        version = subprocess.run(["systemctl", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
        for name, text in files.items():
            (out / name).write_text(text)
        (out / "VERSION").write_text(version + "\n")
    finally:
        manager.stop()


if __name__ == "__main__":
    capture(Path(sys.argv[1]))
