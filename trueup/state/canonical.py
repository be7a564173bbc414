"""The one serialisation trueup writes and hashes: sorted keys, two-space indent (compact for hashes), UTF-8.

Plans, ledgers and registries are written this way and plan_hash is taken over the compact form, so anyone
can recompute it (README). The bytes are json.dumps's; orjson writes them when it can say the same thing
(a document without floats), which is ~20x faster at 10,000 plan items (docs/performance.md).
"""

from __future__ import annotations

import json
import re
from typing import Any


def canonical_json(document: Any) -> str:
    """The one serialisation trueup writes and hashes: sorted keys, two-space indent, final newline."""
    from trueup.state.ledger_entry import json_default

    files = document.get("files") if type(document) is dict else None
    if type(files) is not dict or len(files) < 64:
        return indented_json(document, json_default) + "\n"
    # A ledger: json's indenting encoder is pure Python (its C encoder cannot indent), about 60 µs per file
    # entry; the same text built entry by entry costs a few. The bytes are identical (tests/test_ledger_json.py).
    text = json.dumps({**document, "files": _FILES_MARK}, indent=2, sort_keys=True, ensure_ascii=False,
                      default=json_default)
    mark = json.dumps(_FILES_MARK)
    assert text.count(mark) == 1
    return text.replace(mark, _files_json(files, json_default), 1) + "\n"


_FILES_MARK = "\x00trueup-ledger-files\x00"

# One token of compact JSON: a run of strings and scalars (a key with its value or its ": "), or one structural
# character. Strings are matched whole, so brackets and commas inside them are never taken for structure.
_JSON_TOKEN = re.compile(r'(?:"[^"\\]*+(?:\\.[^"\\]*+)*+"|[^"{}\[\],]++)++|[{}\[\],]')
_NEWLINES = ["\n" + "  " * depth for depth in range(64)]
_COMMAS = [",\n" + "  " * depth for depth in range(64)]


def _has_float(document: Any) -> bool:
    """Whether a float (or a value only ``default`` can encode, which might hold one) sits anywhere in ``document``:
    orjson writes some floats (1e-05) and NaN differently from json. Scalars are never pushed: ~0.1 s at 24 MB."""
    from trueup.state.ledger_entry import Entry  # a compact ledger entry: a sha256, a mode, no float

    if type(document) not in (dict, list, tuple):
        return type(document) is float
    stack = [document]
    pop, push = stack.pop, stack.append
    while stack:
        item = pop()
        for value in (item.values() if type(item) is dict else item):
            kind = type(value)
            if kind is str or kind is int or kind is bool or value is None or kind is Entry:
                continue
            if kind is dict or kind is list or kind is tuple:
                push(value)
            else:
                return True  # a float, or something only default knows: json decides
    return False


def compact_json(document: Any, default: Any = None) -> str:
    """``json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=default)``, faster:
    orjson for documents without floats (the same bytes: tests/test_properties.py), json otherwise."""
    import orjson

    if not _has_float(document):
        try:
            return orjson.dumps(document, default=default, option=orjson.OPT_SORT_KEYS).decode()
        except (TypeError, orjson.JSONEncodeError):
            pass
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=default)


def indented_json(document: Any, default: Any = None) -> str:
    """``json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, default=default)``, faster.

    orjson writes exactly these bytes for documents without floats (tests/test_properties.py): ~20× faster
    on a 10,000-item plan (docs/performance.md). What it cannot write the same (a float, an int key, an int
    beyond 64 bits, a lone surrogate) takes the path below.
    """
    import orjson  # here, not at the top: a plan that writes nothing does not pay for the import

    if not _has_float(document):
        try:
            return orjson.dumps(document, default=default, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
        except (TypeError, orjson.JSONEncodeError):
            pass
    return _indented_json(document, default)


def _indented_json(document: Any, default: Any = None) -> str:
    """The same as indented_json through json's C encoder and a token-by-token indenter.

    json's indenting encoder is pure Python (its C encoder cannot indent); this encodes compactly in C — the same
    keys, scalars and separators — and only inserts the newlines and indentation, token by token. That is only
    10–15% faster (a 17 MB plan: 0.53 s against 0.62 s; the tokenising regex and the per-token loop are most of
    it); the bytes are identical (tests/test_properties.py).
    """
    compact = json.dumps(document, sort_keys=True, ensure_ascii=False, default=default, separators=(",", ": "))
    out: list[str] = []
    append = out.append
    depth = 0
    opened = False  # the previous token opened a container: "{}" and "[]" stay on one line
    for token in _JSON_TOKEN.findall(compact):
        if token == ",":
            append(_COMMAS[depth] if depth < 64 else ",\n" + "  " * depth)
            continue
        if opened:
            opened = False
            if token == "}" or token == "]":
                depth -= 1
                append(token)
                continue
            append(_NEWLINES[depth] if depth < 64 else "\n" + "  " * depth)
        if token == "{" or token == "[":
            depth += 1
            append(token)
            opened = True
        elif token == "}" or token == "]":
            depth -= 1
            append(_NEWLINES[depth] if depth < 64 else "\n" + "  " * depth)
            append(token)
        else:
            append(token)
    return "".join(out)


def _files_json(files: dict[str, Any], default: Any) -> str:
    """``files`` as json.dumps(indent=2, sort_keys=True) writes it two levels deep in a document."""
    from trueup.state.ledger_entry import Entry

    if not files:
        return "{}"
    parts = []
    for key in sorted(files):
        value = files[key]
        name = json.dumps(key, ensure_ascii=False)
        if type(value) is Entry:
            fact = value.to_json()
            parts.append(f'    {name}: {{\n      "mode": "{fact["mode"]}",\n      "sha256": "{fact["sha256"]}",\n'
                         f'      "type": "file"\n    }}')
        else:
            body = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=default)
            parts.append(f"    {name}: " + body.replace("\n", "\n    "))
    return "{\n" + ",\n".join(parts) + "\n  }"
