#!/usr/bin/python
"""Ansible module trueup_plan: run `trueup plan --json` on the managed host and return its plan."""

from __future__ import annotations

DOCUMENTATION = r"""
module: trueup_plan
short_description: Plan a trueup workspace on the host; changed means drift exists
description:
  - Runs C(trueup plan --json) in a workspace on the managed host and returns the plan document.
  - C(changed) is true when the plan has drift, in check mode and out of it, so C(--check) answers
    "would an apply change anything here?". The module itself changes nothing that trueup observes.
  - In check mode the plan runs with C(--read-only), so trueup writes nothing at all on the host (no stat cache,
    lineage or history); out of check mode it keeps its cache and history in the workspace's state dir, as
    C(trueup plan) does.
  - With the action plugin of this collection and O(dest), the plan is written to C(<dest>/<inventory_hostname>.json)
    on the controller instead of being returned, and an unreachable host is recorded beside it
    (C(<inventory_hostname>.unreachable.json)) for C(trueup fleet).
options:
  workspace:
    description: The directory with trueup.yaml on the host.
    type: path
    required: true
  executable:
    description: The trueup program on the host (a name on PATH or a path).
    type: str
    default: trueup
  components:
    description: Plan only these components (default all).
    type: list
    elements: str
    default: []
  no_cache:
    description: Hash every file (C(--no-cache)).
    type: bool
    default: false
  dest:
    description: A directory on the controller for the plans (relative to the playbook). Handled by the action plugin.
    type: path
attributes:
  check_mode:
    support: full
"""

EXAMPLES = r"""
- name: collect every host's plan for trueup fleet
  trueup.fleet.trueup_plan:
    workspace: /opt/zylos-ops
    dest: plans/
"""

RETURN = r"""
drift:
  description: How many drift items the plan has.
  type: int
  returned: success
exit_code:
  description: The exit code of trueup plan (0; 5 or 8 when a component's runtime host or manager was unreachable).
  type: int
  returned: always
partial:
  description: Whether some component could not be observed (exit 5 or 8).
  type: bool
  returned: success
components:
  description: Per component its name, status and installed version.
  type: list
  returned: success
plan:
  description: The plan document (when no dest is given).
  type: dict
  returned: success, without dest
plan_file:
  description: Where the plan was written on the controller (with dest).
  type: str
  returned: success, with dest
"""

import json

from ansible.module_utils.basic import AnsibleModule

OBSERVED = (0, 2, 5, 8)  # planned; 5 and 8 still write a plan that says what could not be observed


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            workspace=dict(type="path", required=True),
            executable=dict(type="str", default="trueup"),
            components=dict(type="list", elements="str", default=[]),
            no_cache=dict(type="bool", default=False),
            dest=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    executable = p["executable"] if "/" in p["executable"] else module.get_bin_path(p["executable"], required=True)
    argv = [executable, "plan", "--json", "--workspace", p["workspace"]]
    if module.check_mode:
        argv.append("--read-only")
    if p["no_cache"]:
        argv.append("--no-cache")
    argv += ["--", *p["components"]] if p["components"] else []
    # No bytecode writes: check mode promises no writes at all, not even the interpreter's .pyc cache of a module
    # trueup imports lazily (plan's write guard lets those through; Ansible's check mode should not see them).
    rc, out, err = module.run_command(argv, environ_update={"NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1"})
    if rc not in OBSERVED:
        module.fail_json(msg=(err.strip() or out.strip() or f"trueup plan exited {rc}"), exit_code=rc, cmd=argv)
    try:
        document = json.loads(out)
    except ValueError:
        module.fail_json(msg=f"trueup plan printed no plan document (exit {rc})", exit_code=rc, stderr=err, cmd=argv)
    drift = int(document["summary"]["drift"])
    components = [{"name": c["name"], "status": c["status"],
                   "installed": ((c.get("facts") or {}).get("installed") or {}).get("version")}
                  for c in document["components"]]
    module.exit_json(changed=drift > 0, drift=drift, exit_code=rc, partial=rc in (5, 8), components=components,
                     host=document["meta"]["host"], plan=document)


if __name__ == "__main__":
    main()
