"""Controller side of trueup_plan: run the module on the host, then keep its plan in `dest` on the controller.

A host that cannot be reached keeps the plan it had (its last known one) and gets a marker beside it, which
`trueup fleet` reads to show that plan marked stale; a host reached again loses its marker.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time

from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.action import ActionBase

MARKER_SUFFIX = ".unreachable.json"  # trueup/fleet.py reads these
MARKER_FORMAT = 1


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _atomic_write(path: str, text: str) -> None:
    """Temp file in the same directory, fsync, rename: a reader never sees half a plan."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".trueup-fleet-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ActionModule(ActionBase):
    _VALID_ARGS = frozenset(("workspace", "executable", "components", "no_cache", "dest"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        args = dict(self._task.args)
        dest = args.pop("dest", None)
        where = None
        if dest:
            directory = self._loader.path_dwim(os.path.expanduser(dest))
            os.makedirs(directory, exist_ok=True)
            # One file per inventory host; a name that could leave the directory is made flat.
            name = re.sub(r"[^A-Za-z0-9._-]", "_", task_vars.get("inventory_hostname", "host")).lstrip(".") or "host"
            where = os.path.join(directory, name)
        try:
            found = self._execute_module(module_name=self._task.resolved_action or "trueup.fleet.trueup_plan",
                                         module_args=args, task_vars=task_vars)
        except AnsibleConnectionFailure as exc:
            if where:
                self._mark_unreachable(where, task_vars, str(exc))
            raise
        if found.get("unreachable") or found.get("failed"):
            # No fresh plan: the last one stays, marked stale (a host whose trueup failed is as unobserved).
            if where:
                self._mark_unreachable(where, task_vars, found.get("msg", "unreachable"),
                                       "unreachable" if found.get("unreachable") else "failed")
            return {**result, **found}
        result.update(found)
        if where and "plan" in result:
            # Checked mode too: collecting plans is what the play is for, and it writes only on the controller.
            _atomic_write(where + ".json", json.dumps(result.pop("plan"), sort_keys=True, indent=2) + "\n")
            result["plan_file"] = where + ".json"
            try:
                os.unlink(where + MARKER_SUFFIX)
            except FileNotFoundError:
                pass
        return result

    @staticmethod
    def _mark_unreachable(where: str, task_vars: dict, message: str, reason: str = "unreachable") -> None:
        """Record (or extend) that no plan came from this host; `since` stays the first failure."""
        path = where + MARKER_SUFFIX
        since = now = _now()
        try:
            with open(path, encoding="utf-8") as fh:
                since = json.load(fh).get("since") or now
        except (OSError, ValueError, AttributeError):
            pass
        marker = {"format": MARKER_FORMAT, "host": task_vars.get("inventory_hostname", "host"), "reason": reason,
                  "since": since, "last_attempt": now, "message": _one_line(message)}
        _atomic_write(path, json.dumps(marker, sort_keys=True, indent=2) + "\n")
