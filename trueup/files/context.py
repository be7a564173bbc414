"""The apply context of file actions: every path checked against the install root, every write atomic and verified."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from attrs import define

from trueup.errors import TrueupError
from trueup.files.paths import safe_target
from trueup.files.probe import observe_in_root, sha256_bytes
from trueup.model.facts import FileFact
from trueup.provider import ApplyContext
from trueup.state import atomic
from trueup.state import ledger as ledgers


@define
class FilesContext(ApplyContext):
    """An ApplyContext with safe write helpers (apply gives every action of a component this one)."""

    @property
    def root(self) -> Path:
        return self.spec.install_path

    def path(self, rel: str) -> Path:
        return safe_target(self.root, rel)

    def fact(self, rel: str) -> FileFact:
        self.path(rel)
        return observe_in_root(self.root, rel)

    def backup_local(self, rel: str, reason: str, *, acknowledged: bool = True,
                     from_commit: str | None = None, to_commit: str | None = None) -> str | None:
        """Save what is at ``rel`` beside it as ``<rel>.trueup-local-<hash>`` and record it in the ledger."""
        live = self.fact(rel)
        if live.type == "absent":
            return None
        tag = (live.sha256 or secrets.token_hex(4))[:8]
        backup_rel = f"{rel}.trueup-local-{tag}"
        source, target = self.path(rel), self.path(backup_rel)
        if live.type == "file":
            if not target.exists():
                with open(source, "rb") as fh:
                    atomic.write_chunks(target, iter(lambda: fh.read(1 << 20), b""), int(live.mode, 8))
        else:
            os.replace(source, target)  # a link or a directory moves away whole; rename is atomic
            atomic.fsync_dir(target.parent)
        assert self.ledger is not None
        ledgers.record_backup(self.ledger, path=backup_rel, original=rel, reason=reason, sha256=live.sha256 if live.type == "file" else None,
                              acknowledged=acknowledged, from_commit=from_commit, to_commit=to_commit)
        self.notes.append(f"saved local {rel} as {backup_rel}")
        return backup_rel

    def write_verified(self, rel: str, data: bytes, expected: dict[str, Any], *, beside: bool = False) -> None:
        """Write source bytes after checking them against the hash the plan recorded."""
        actual = sha256_bytes(data)
        if actual != expected["sha256"]:
            raise TrueupError(f"{self.spec.name}: source content of {rel} is {actual[:12]}, the plan recorded "
                              f"{expected['sha256'][:12]}; nothing more was written",
                              hint="the source repository changed under the same commit id; run trueup plan again")
        target = self.path(rel)
        if expected.get("type") == "symlink":
            tmp = atomic.temp_path_for(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(data, tmp)
            atomic.commit_temp(tmp, target)
        else:
            atomic.write_bytes(target, data, int(expected.get("mode") or "0644", 8))

    def remove_file(self, rel: str) -> None:
        target = self.path(rel)
        atomic.remove(target)
        parent = target.parent
        while parent != self.root and parent.is_relative_to(self.root):  # drop directories the removal emptied
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent
