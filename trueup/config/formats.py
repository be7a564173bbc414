"""Load and dump json, yaml and lines config files so that what a change does not touch stays as it was.

JSON: key order, indentation, separators, ASCII escaping and the final newline are detected and reused.
YAML: ruamel.yaml round-trip keeps comments, order and quoting; indentation is detected.
lines: only the block between this component's BEGIN/END markers is ever rebuilt.
"""

from __future__ import annotations

import datetime
import io
import json
import re
from typing import Any

from attrs import define, frozen
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from trueup.errors import TrueupError

FORMATS = ("json", "yaml", "lines")


class ConfigParseError(TrueupError):
    """A config file does not parse; the message carries a position, never file content."""


@frozen
class JsonStyle:
    indent: str | None = "  "
    item_sep: str = ","
    key_sep: str = ": "
    ensure_ascii: bool = False
    newline: str = "\n"
    final_newline: bool = True


@frozen
class YamlStyle:
    mapping: int = 2
    sequence: int = 2
    offset: int = 0
    explicit_start: bool = False
    final_newline: bool = True


@define
class LinesDoc:
    """A lines file cut at this component's markers; ``block`` is None when the markers are absent."""

    before: list[str]
    block: list[str] | None
    after: list[str]
    begin: str
    end: str
    newline: str = "\n"


@define
class Document:
    """A parsed config file being read or edited; ``data`` is a mapping (json/yaml) or a LinesDoc."""

    format: str
    data: Any
    style: Any


def begin_marker(component: str) -> str:
    return f"# BEGIN trueup managed: {component}"


def end_marker(component: str) -> str:
    return f"# END trueup managed: {component}"


def to_plain(value: Any) -> Any:
    """ruamel's round-trip types (and anything json gave us) as plain JSON-like Python values."""
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if value is None or type(value) in (str, int, float, bool):
        return value
    if isinstance(value, bool) or type(value).__name__ == "ScalarBoolean":
        return bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return str(value)


# --- json -----------------------------------------------------------------------------------------


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ConfigParseError(f"duplicate key {key!r}")
        seen[key] = value
    return seen


def _json_style(text: str) -> JsonStyle:
    newline = "\r\n" if "\r\n" in text else "\n"
    body = text.strip()
    indent_match = re.search(r"\n([ \t]+)\S", body)
    ascii_only = not any(ord(c) > 127 for c in text)
    common = dict(
        ensure_ascii=ascii_only and "\\u" in text,
        newline=newline,
        final_newline=text.endswith("\n"),
    )
    if indent_match:
        return JsonStyle(indent=indent_match.group(1), **common)
    if "\n" in body:  # multi-line without indentation: keep lines, no indent
        return JsonStyle(indent="", **common)
    return JsonStyle(
        indent=None,
        item_sep=", " if re.search(r",\s", body) or "," not in body else ",",
        key_sep=": " if re.search(r":\s", body) or ":" not in body else ":",
        **common,
    )


def _load_json(raw: bytes) -> Document:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigParseError(f"not UTF-8 (byte {exc.start})") from None
    if not text.strip():
        return Document("json", {}, JsonStyle())
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise ConfigParseError(f"line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if not isinstance(data, dict):
        raise ConfigParseError("top level is not an object")
    return Document("json", data, _json_style(text))


def _dump_json(doc: Document) -> bytes:
    style: JsonStyle = doc.style
    text = json.dumps(
        doc.data,
        indent=style.indent,
        separators=(style.item_sep, style.key_sep),
        ensure_ascii=style.ensure_ascii,
    )
    if style.final_newline:
        text += "\n"
    return text.replace("\n", style.newline).encode("utf-8")


# --- yaml -----------------------------------------------------------------------------------------

_KEY_OPENS_BLOCK = re.compile(r"^(\s*)(?:- )?[^\s#-][^#]*:\s*(#.*)?$")


def _yaml_style(text: str) -> YamlStyle:
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    mapping, offset = None, None
    for parent, child in zip(lines, lines[1:]):
        opener = _KEY_OPENS_BLOCK.match(parent)
        if not opener:
            continue
        parent_indent = len(parent) - len(parent.lstrip())
        if parent.lstrip().startswith("- "):
            continue  # keys inside sequence items are offset by the dash; skip the ambiguity
        child_indent = len(child) - len(child.lstrip())
        if child.lstrip().startswith("- "):
            if offset is None and child_indent >= parent_indent:
                offset = child_indent - parent_indent
        elif mapping is None and child_indent > parent_indent:
            mapping = child_indent - parent_indent
    mapping = mapping or 2
    offset = offset or 0
    return YamlStyle(
        mapping=mapping,
        sequence=max(mapping, offset + 2),
        offset=offset,
        explicit_start=text.lstrip().startswith("---"),
        final_newline=text.endswith("\n"),
    )


def _yaml(style: YamlStyle) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long lines
    yaml.indent(mapping=style.mapping, sequence=style.sequence, offset=style.offset)
    yaml.explicit_start = style.explicit_start
    return yaml


def _load_yaml(raw: bytes) -> Document:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigParseError(f"not UTF-8 (byte {exc.start})") from None
    style = _yaml_style(text)
    try:
        data = _yaml(style).load(text)
    except MarkedYAMLError as exc:
        # The problem text can quote values (a duplicate key's value, say); report only where and what kind.
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1} column {mark.column + 1}: " if mark else ""
        raise ConfigParseError(f"{where}{type(exc).__name__}") from None
    except YAMLError as exc:
        raise ConfigParseError(type(exc).__name__) from None
    if data is None:
        data = CommentedMap()
    if not isinstance(data, dict):
        raise ConfigParseError("top level is not a mapping")
    return Document("yaml", data, style)


def _dump_yaml(doc: Document) -> bytes:
    stream = io.StringIO()
    _yaml(doc.style).dump(doc.data, stream)
    text = stream.getvalue()
    if not doc.style.final_newline:
        text = text.rstrip("\n")
    return text.encode("utf-8")


# --- lines ----------------------------------------------------------------------------------------


def _load_lines(raw: bytes, component: str) -> Document:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigParseError(f"not UTF-8 (byte {exc.start})") from None
    lines = text.splitlines(keepends=True)
    begin, end = begin_marker(component), end_marker(component)
    begins = [i for i, ln in enumerate(lines) if ln.strip() == begin]
    ends = [i for i, ln in enumerate(lines) if ln.strip() == end]
    newline = "\r\n" if "\r\n" in text else "\n"
    if not begins and not ends:
        return Document("lines", LinesDoc(lines, None, [], begin + newline, end + newline, newline), None)
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        line = (begins + ends)[0] + 1
        raise ConfigParseError(f"line {line}: unbalanced or repeated trueup markers for {component!r}")
    b, e = begins[0], ends[0]
    data = LinesDoc(lines[:b], lines[b + 1 : e], lines[e + 1 :], lines[b], lines[e], newline)
    return Document("lines", data, None)


def _dump_lines(doc: Document) -> bytes:
    data: LinesDoc = doc.data
    if data.block is None:
        return "".join(data.before).encode("utf-8")
    before = list(data.before)
    if before and not before[-1].endswith("\n"):
        before[-1] += data.newline
    return "".join([*before, data.begin, *data.block, data.end, *data.after]).encode("utf-8")


def template_lines(raw: bytes) -> list[str]:
    """The managed lines a template ships: every non-blank, non-comment line (markers are comments)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigParseError(f"not UTF-8 (byte {exc.start})") from None
    return [ln.rstrip("\r\n") for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


# --- dispatch -------------------------------------------------------------------------------------


def load(fmt: str, raw: bytes | None, component: str) -> Document:
    """Parse a live file; a missing file is an empty document of its format."""
    raw = b"" if raw is None else raw
    if fmt == "json":
        return _load_json(raw)
    if fmt == "yaml":
        return _load_yaml(raw)
    if fmt == "lines":
        return _load_lines(raw, component)
    raise TrueupError(f"unknown config format {fmt!r}")


def dump(doc: Document) -> bytes:
    if doc.format == "json":
        return _dump_json(doc)
    if doc.format == "yaml":
        return _dump_yaml(doc)
    return _dump_lines(doc)


def new_mapping(doc: Document) -> Any:
    return CommentedMap() if doc.format == "yaml" else {}


def new_list(doc: Document) -> Any:
    return CommentedSeq() if doc.format == "yaml" else []
