"""One command, many spellings (trueup/runtime/commands.py): what counts as running the declared command, and when
two definitions run the same one. The real-manager versions are in test_systemd_user.py."""

from __future__ import annotations

import pytest

from trueup.runtime.commands import command_matches, same_command


@pytest.mark.parametrize("actual", [
    ["/bin/sh", "./bin/run", "--port", "1"],  # relative, as a unit's ExecStart often has it
    ["/bin/sh", "bin/run", "--port", "1"],
    ["/bin/sh", "/srv/app/bin/run", "--port", "1"],  # absolute, as PM2 reports a script
    ["/bin/sh", "/srv/app/bin/../bin/run", "--port", "1"],
])
def test_one_file_by_any_spelling_is_the_declared_command(actual):
    for declared in (("sh", "bin/run", "--port", "1"), ("sh", "./bin/run", "--port", "1"),
                     ("sh", "/srv/app/bin/run", "--port", "1")):
        assert command_matches(declared, actual, "/srv/app"), (declared, actual)


def test_another_file_or_other_arguments_are_another_command():
    assert not command_matches(("sh", "bin/run"), ["/bin/sh", "bin/other"], "/srv/app")
    assert not command_matches(("sh", "/srv/app/bin/run"), ["/bin/sh", "bin/run"], "/srv/elsewhere")
    assert not command_matches(("sh", "bin/run", "--port", "1"), ["/bin/sh", "bin/run", "--port", "2"], "/srv/app")


def test_two_definitions_run_the_same_command_from_wherever_they_were_written():
    assert same_command(["/usr/bin/node", "server/index.js"], "/srv/app", ["node", "/srv/app/server/index.js"], "/")
    assert same_command(["/opt/w.sh"], "/a", ["/opt/w.sh"], "/b")
    assert not same_command(["/usr/bin/node", "server/index.js"], "/srv/app", ["node", "server/index.js"], "/srv/other")
    assert not same_command(["/opt/a/w.sh"], None, ["/opt/b/w.sh"], None)  # same name, another file
    assert not same_command(["/opt/w.sh"], None, ["/opt/w.sh", "--v2"], None)
