"""Co-owned config files: canonical entries, the ownership registry's forward and reverse passes, redaction."""

from trueup.planner.config.plan import ConfigPlan, config_preconditions, plan_config

__all__ = ["ConfigPlan", "config_preconditions", "plan_config"]
