"""`generated` drift (outputs derived from a template by a command) and the regenerate action."""

from __future__ import annotations

import os
import shlex
import subprocess
from typing import Any

from trueup.errors import TrueupError
from trueup.files.accepted import is_accepted
from trueup.files.context import FilesContext
from trueup.files.live import LiveTree
from trueup.files.probe import sha256_file
from trueup.manifest import ComponentSpec, Generated
from trueup.model.facts import ABSENT
from trueup.model.plan import Action, Drift, DriftClass
from trueup.state import atomic
from trueup.state import ledger as ledgers


def diff_generated(spec: ComponentSpec, ledger: dict[str, Any], live: LiveTree) -> list[Drift]:
    items: list[Drift] = []
    for gen in spec.generated:
        template = live.get(gen.template, ABSENT)
        output = live.get(gen.path, ABSENT)
        record = ledger["generated"].get(gen.path)
        if template.type != "file":
            # No action of its own: restoring the template (its file drift) resolves it; once the operator
            # accepted what stands there instead, it is information, or no action could ever clear it.
            items.append(Drift(DriftClass.GENERATED, "template-missing", gen.path, gen.template, None,
                               is_drift=not is_accepted(ledger, gen.template, template)))
            if template.type != "absent":
                # Something else stands where the template was (recommended: accept it), so the output cannot
                # be regenerated: a missing, unrecorded or stale output is reported again once a template file is
                # back; an edited one can still be accepted. An absent template is restored before regenerate.
                if output.type != "absent" and record is not None and output.sha256 != record["output_sha256"] \
                        and not is_accepted(ledger, gen.path, output):
                    items.append(Drift(DriftClass.GENERATED, "edited", gen.path, {"sha256": record["output_sha256"]},
                                       output.to_json()))
                continue
        if output.type == "absent":
            items.append(Drift(DriftClass.GENERATED, "missing", gen.path, {"template": gen.template}, None))
            continue
        if record is None:
            items.append(Drift(DriftClass.GENERATED, "unrecorded", gen.path, {"template": gen.template}, output.to_json()))
            continue
        edited = output.sha256 != record["output_sha256"] and not is_accepted(ledger, gen.path, output)
        if template.type == "file" and (record["template_sha256"] != template.sha256 or record["command"] != gen.command):
            items.append(Drift(DriftClass.GENERATED, "stale", gen.path,
                               {"template_sha256": template.sha256, "command": gen.command},
                               {"template_sha256": record["template_sha256"], "command": record["command"],
                                "edited": edited}))
        elif edited:
            items.append(Drift(DriftClass.GENERATED, "edited", gen.path, {"sha256": record["output_sha256"]},
                               output.to_json()))
    return items


def generate(ctx: FilesContext, gen: Generated) -> None:
    """Run a generator into a temp file, then move it into place and record the hashes."""
    assert ctx.ledger is not None
    output = ctx.path(gen.path)
    template = ctx.path(gen.template)
    if not template.is_file():
        raise TrueupError(f"{ctx.spec.name}: template {gen.template} of {gen.path} is missing",
                          hint="restore the template first (restore-source)")
    record = ctx.ledger["generated"].get(gen.path)
    if (record and record["command"] == gen.command and record["template_sha256"] == sha256_file(template)
            and ctx.fact(gen.path).sha256 == record["output_sha256"]):
        return  # already generated from this template by this command
    tmp = atomic.temp_path_for(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    command = gen.command.replace("{template}", shlex.quote(str(template))).replace("{output}", shlex.quote(str(tmp)))
    try:
        proc = subprocess.run(["/bin/sh", "-c", command], cwd=ctx.root, capture_output=True, timeout=300)
        if proc.returncode != 0 or not tmp.is_file():
            lines = proc.stderr.decode(errors="replace").strip().splitlines()
            raise TrueupError(f"{ctx.spec.name}: generator for {gen.path} failed (exit {proc.returncode})"
                              + (f": {lines[-1]}" if lines else ""), hint=f"check the command in {ctx.spec.origin}")
        with open(tmp, "rb+") as fh:  # the generator wrote it; make it durable before the rename
            os.fsync(fh.fileno())
        live = ctx.fact(gen.path)
        if live.type != "absent" and (record is None or live.sha256 != record["output_sha256"]):
            ctx.backup_local(gen.path, "regenerate")  # the output was edited or never ours: keep a copy
        atomic.commit_temp(tmp, output, 0o644)
    finally:
        tmp.unlink(missing_ok=True)
    ctx.ledger["generated"][gen.path] = {
        "template": gen.template, "command": gen.command, "template_sha256": sha256_file(template),
        "output_sha256": sha256_file(output), "generated_at": ledgers.now_iso(),
    }
    ctx.ledger["accepted"].pop(gen.path, None)
    ctx.notes.append(f"regenerated {gen.path}")


def run_regenerate(action: Action, ctx: FilesContext) -> None:
    by_path = {g.path: g for g in ctx.spec.generated}
    for rel in action.targets:
        if rel not in by_path:
            raise TrueupError(f"{ctx.spec.name}: {rel} is not a generated file in {ctx.spec.origin}")
        generate(ctx, by_path[rel])
