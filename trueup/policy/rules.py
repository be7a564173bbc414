"""The policy as trueup.yaml declares it, parsed into frozen rules; every problem is one line naming the field."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from attrs import field, frozen

from trueup.errors import ManifestError, escape
from trueup.errors import value as quoted
from trueup.model.plan import ActionType, DriftClass
from trueup.policy.windows import Window, check_cron, check_timezone

EFFECTS = ("auto", "require-approval", "deny")
ENFORCEMENTS = ("enforce", "warn", "dry-run")
# The provenance verdicts a rule can name: the provenance provider's (facts.provenance.verdict: verified-signed,
# pinned-unsigned, mismatch, …) where it ran, else the ledger's (verified, unverified, commit-missing), or none.
WILDCARD = "*"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def duration(text: str) -> timedelta:
    """'7d', '30m', '12h', '2w', '45s' (the schema's pattern) as a timedelta."""
    found = re.fullmatch(r"([0-9]+)([smhdw])", text)
    if not found:
        raise ValueError(f"{text!r} is not a duration")
    return timedelta(seconds=int(found.group(1)) * _UNITS[found.group(2)])


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


@frozen
class Limits:
    max_actions_per_run: int | None = None
    per_component_per_day: int | None = None
    cooldown: timedelta | None = None


@frozen
class Soak:
    runs: int | None = None
    age: timedelta | None = None


@frozen
class FlapGuard:
    heals: int
    within: timedelta


@frozen
class Match:
    """Each field given must match (any of its values); an empty field matches everything."""

    action: tuple[str, ...] = ()
    cls: tuple[str, ...] = ()
    kind: tuple[str, ...] = ()
    component: tuple[str, ...] = ()
    path: tuple[str, ...] = ()
    host: tuple[str, ...] = ()
    provenance: tuple[str, ...] = ()

    def names(self, action_type: str) -> bool:
        """Whether this match names ``action_type`` itself (a wildcard or no action field does not)."""
        return action_type in self.action


@frozen
class Rule:
    index: int  # 1-based position in policy.rules: what explain, approvals and the journal name
    name: str
    match: Match
    effect: str
    enforcement: str = "enforce"
    windows: tuple[Window, ...] = ()
    soak: Soak | None = None
    limits: Limits = field(factory=Limits)

    @property
    def label(self) -> str:
        return f"rule {self.index} ({self.name})"


@frozen
class Policy:
    rules: tuple[Rule, ...] = ()
    windows: tuple[Window, ...] = ()
    limits: Limits = field(factory=Limits)
    flap_guard: FlapGuard | None = None


class PolicyError(ManifestError):
    """trueup.yaml's policy: is not usable (what the schema cannot say: a cron expression, a time zone, a glob)."""


def _fail(where: str, location: str, problem: str, hint: str) -> None:
    raise PolicyError(f"{where}: {escape(location)[:120]}: {problem}", hint=hint)


def _window(raw: dict[str, Any], where: str, location: str) -> Window:

    window = Window(cron=raw["cron"], length=duration(raw["duration"]), mode=raw.get("mode", "allow"),
                    timezone=raw.get("timezone", "UTC"))
    problem = check_cron(window.cron)
    if problem:
        _fail(where, f"{location}.cron", f"{quoted(window.cron)} is not a cron expression ({problem})",
              "write five fields: minute hour day-of-month month day-of-week, such as '0 2 * * *'")
    if not check_timezone(window.timezone):
        _fail(where, f"{location}.timezone", f"{quoted(window.timezone)} is not a known time zone",
              "use an IANA name such as UTC or Europe/Berlin")
    return window


def _limits(raw: dict[str, Any] | None) -> Limits:
    raw = raw or {}
    return Limits(max_actions_per_run=raw.get("max_actions_per_run"),
                  per_component_per_day=raw.get("per_component_per_day"),
                  cooldown=duration(raw["cooldown"]) if raw.get("cooldown") else None)


def _match(raw: dict[str, Any] | None, where: str, location: str) -> Match:
    import pathspec

    raw = raw or {}
    match = Match(action=_strings(raw.get("action")), cls=_strings(raw.get("class")), kind=_strings(raw.get("kind")),
                  component=_strings(raw.get("component")), path=_strings(raw.get("path")),
                  host=_strings(raw.get("host")), provenance=_strings(raw.get("provenance")))
    known_types = [str(t) for t in ActionType]
    for name in match.action:
        if name != WILDCARD and name not in known_types:
            _fail(where, f"{location}.action", f"{quoted(name)} is not an action type",
                  "use one of: " + ", ".join(known_types) + " (or '*')")
    known_classes = [str(c) for c in DriftClass]
    for name in match.cls:
        if name != WILDCARD and name not in known_classes:
            _fail(where, f"{location}.class", f"{quoted(name)} is not a drift class", "use one of: " + ", ".join(known_classes))
    for pattern in match.path:
        try:
            pathspec.GitIgnoreSpec.from_lines([pattern])
        except ValueError:
            _fail(where, f"{location}.path", f"{quoted(pattern)} is not a gitignore pattern",
                  "escape a literal backslash or '!' with a backslash")
    return match


def parse(raw: dict[str, Any], where: str = "trueup.yaml") -> Policy:
    """The schema-valid ``policy:`` mapping as a Policy; what the schema cannot check is checked here."""
    rules = []
    for position, item in enumerate(raw.get("rules") or ()):
        location = f"policy.rules[{position}]"
        soak = item.get("soak")
        rules.append(Rule(
            index=position + 1, name=item.get("name") or f"rule-{position + 1}",
            match=_match(item.get("match"), where, f"{location}.match"), effect=item["effect"],
            enforcement=item.get("enforcement", "enforce"),
            windows=tuple(_window(w, where, f"{location}.windows[{i}]") for i, w in enumerate(item.get("windows") or ())),
            soak=Soak(runs=soak.get("runs"), age=duration(soak["age"]) if soak.get("age") else None) if soak else None,
            limits=_limits(item.get("limits"))))
    guard = raw.get("flap_guard")
    return Policy(rules=tuple(rules),
                  windows=tuple(_window(w, where, f"policy.windows[{i}]") for i, w in enumerate(raw.get("windows") or ())),
                  limits=_limits(raw.get("limits")),
                  flap_guard=FlapGuard(heals=guard["heals"], within=duration(guard["within"])) if guard else None)
