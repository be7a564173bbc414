"""What trueup watch says: one alert per drift item when it first appears, one `cleared` line when it goes.

A drift item is known by (component, class, kind, path), not by its values: a file saved twice is one local
patch, reported once. What was reported is kept in <state_dir>/watch/reported.json so a restart, or the next
`trueup watch --once` from a timer, stays quiet about it too; an item that clears and comes back is new again.
Alerts carry what the plan document carries, which never holds a secret (trueup's plans redact them).
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trueup.errors import ManifestError, escape
from trueup.state.atomic import write_text

REPORTED = Path("watch") / "reported.json"
COMMAND_TIMEOUT_S = 30


def identity(component: str, item: dict[str, Any]) -> str:
    return "\0".join((component, item["class"], item["kind"], item.get("path") or ""))


def current(document: dict[str, Any]) -> dict[str, tuple[dict[str, Any], frozenset[str]]]:
    """Every drift item of the plan by identity: the alert that reports it, and the ids of the actions that
    would resolve it (any of them, recommended or not)."""
    out: dict[str, tuple[dict[str, Any], frozenset[str]]] = {}
    actions = document.get("actions", [])
    for component in document["components"]:
        name = component["name"]
        for item in component["drift"]:
            path = item.get("path")
            resolving = [a for a in actions if a["component"] == name and (path is None or path in a["targets"])]
            recommended = [{"id": a["id"], "type": a["type"]} for a in resolving if a["recommended"]]
            out[identity(name, item)] = ({
                "component": name, "class": item["class"], "kind": item["kind"], "path": path,
                "expected": item.get("expected"), "actual": item.get("actual"), "actions": recommended[:3],
            }, frozenset(a["id"] for a in resolving))
    return out


class Reported:
    """The drift already alerted, by identity → when it was first reported."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / REPORTED
        self.items: dict[str, str] = {}
        try:
            raw = json.loads(self.path.read_text("utf-8"))
            self.items = {k: v for k, v in raw.get("reported", {}).items() if isinstance(v, str)}
        except FileNotFoundError:
            pass
        except (OSError, ValueError, AttributeError):  # ValueError: bad JSON or bad UTF-8
            self.items = {}  # unreadable: alert once more rather than never

    def save(self) -> None:
        write_text(self.path, json.dumps({"reported": self.items}, indent=1, sort_keys=True) + "\n", mode=0o600)


def changes(document: dict[str, Any], reported: Reported, now: datetime,
            healed: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """The alert lines for this plan: `drift` for each item not yet reported, `cleared` for each reported item
    that is gone (not for components the plan could not fully observe: their silence proves nothing).
    ``healed``: ids of actions applied by policy: the drift they resolve is neither alerted nor remembered."""
    at = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    seen = current(document)
    planned = {c["name"] for c in document["components"]}
    unobserved = set(document["summary"].get("unobserved") or [])
    lines = []
    for key, (alert, resolving) in seen.items():
        if key not in reported.items and not resolving & healed:
            reported.items[key] = at
            lines.append({"event": "drift", "at": at, **alert, "plan_hash": document["plan_hash"]})
    for key in sorted(reported.items):
        component, cls, kind, path = key.split("\0")
        if key not in seen and component in planned and component not in unobserved:
            del reported.items[key]
            lines.append({"event": "cleared", "at": at, "component": component, "class": cls, "kind": kind,
                          "path": path or None})
    return lines


class Sinks:
    """Where alert lines go: stdout (as JSON, or one readable line), a file (appended), a command (no shell)."""

    def __init__(self, as_json: bool, alert_file: Path | None, command: str | None) -> None:
        self.as_json = as_json
        self.alert_file = alert_file
        self.argv = shlex.split(command) if command else None
        if command is not None and not self.argv:
            raise ManifestError("--alert-command: empty command", hint="name a program, e.g. --alert-command 'notify-send trueup'")

    def emit(self, line: dict[str, Any]) -> None:
        text = json.dumps(line, sort_keys=True, separators=(",", ":"))
        if self.as_json:
            sys.stdout.write(text + "\n")
        else:
            sys.stdout.write(readable(line) + "\n")
        sys.stdout.flush()
        if self.alert_file is not None:
            # One write of one line in append mode: readers never see half a line, writers never interleave.
            with open(self.alert_file, "a", encoding="utf-8") as fh:
                fh.write(text + "\n")
        if self.argv is not None:
            self._run(text)

    def _run(self, text: str) -> None:
        try:
            done = subprocess.run(self.argv, input=text + "\n", text=True, capture_output=True, timeout=COMMAND_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as exc:
            sys.stderr.write(f"trueup watch: --alert-command {self.argv[0]}: {exc}\n")
            return
        if done.returncode != 0:
            sys.stderr.write(f"trueup watch: --alert-command {self.argv[0]} exited {done.returncode}\n")


def readable(line: dict[str, Any]) -> str:
    """One line a person reads (a path holding a newline is shown escaped: it cannot split the line)."""
    return escape(_readable(line))


def _readable(line: dict[str, Any]) -> str:
    where = f" {line['path']}" if line.get("path") else ""
    if line["event"] == "drift":
        todo = ", ".join(a["type"] for a in line.get("actions", [])) or "no action"
        return f"{line['at']} drift {line['component']}: {line['class']}/{line['kind']}{where} ({todo})"
    if line["event"] == "healed":
        return f"{line['at']} healed {line['component']}: {line['type']} {line['id']} ({line.get('rule') or 'policy'})"
    if line["event"] == "heal-failed":
        return f"{line['at']} heal failed: {line.get('error')}"
    return f"{line['at']} {line['event']} {line['component']}: {line['class']}/{line['kind']}{where}"
