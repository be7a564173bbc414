"""Pure helpers: the selector language and path-token normalization."""

from __future__ import annotations

import os

import pytest

from trueup.errors import ManifestError
from trueup.config.normalize import normalize_text
from trueup.config.selectors import matches, parse_selector


def test_selector_tokens_and_exact_matching():
    selector = parse_selector("hooks.*[].hooks")
    assert selector == ("hooks", "*", "[]", "hooks")
    assert matches(selector, ("hooks", "SessionStart", "[]", "hooks"))
    assert not matches(selector, ("hooks", "SessionStart", "hooks"))  # `*` is one mapping key, not a list item
    assert not matches(selector, ("hooks", "SessionStart", "[]", "hooks", "[]", "hooks"))  # no prefix matching
    assert matches(parse_selector(r"a\.b.c"), ("a.b", "c"))
    assert not matches(parse_selector(r"\*"), ("x",))
    with pytest.raises(ManifestError):
        parse_selector("a..b")


def test_path_tokens_normalize_to_one_spelling(tmp_path):
    home = tmp_path / "home"
    (home / "zylos").mkdir(parents=True)
    (home / "zylos" / "real.js").write_text("")
    os.symlink(home / "zylos" / "real.js", home / "zylos" / "link.js")
    spellings = [
        "node ~/zylos/real.js --x",
        f'node "{home}/zylos/real.js" --x',
        "node $HOME/zylos//real.js --x",
        "node ${HOME}/zylos/./real.js --x",
        "node ~/zylos/link.js --x",  # an existing symlink resolves to its target
    ]
    assert {normalize_text(s, home) for s in spellings} == {"node ~/zylos/real.js --x"}
    assert normalize_text("node ~/s/heartbeat.js", home) != normalize_text("node ~/s/heartbeat-v2.js", home)
    # a path that does not exist is normalized lexically only
    assert normalize_text("run /opt/../opt/tool", home) == "run /opt/tool"
