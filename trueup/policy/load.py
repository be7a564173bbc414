"""The workspace's policy: trueup.yaml's ``policy:`` (schema-checked when the manifest loads) parsed into rules."""

from __future__ import annotations

from trueup.errors import ManifestError
from trueup.manifest import Workspace
from trueup.policy.rules import Policy, parse


def load_policy(workspace: Workspace) -> Policy | None:
    """The policy trueup.yaml declares, or None when it declares none (then nothing is approved by rule)."""
    raw = getattr(workspace, "policy", None)
    if raw is None:
        return None
    return parse(raw, workspace.manifest_path.name)


def require_policy(workspace: Workspace) -> Policy:
    policy = load_policy(workspace)
    if policy is None:
        raise ManifestError(f"{workspace.manifest_path.name}: --policy: there is no policy: in it",
                            hint="add policy: with rules (README, Policy), or approve by hand: trueup approve PLAN ID")
    return policy
