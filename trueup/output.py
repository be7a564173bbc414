"""Lines for a person: plain text in one write, unless the stream is a terminal that shows colour.

rich is imported only for a colour terminal: most runs print to a pipe, a file or CI, and importing rich
costs ~45 ms of a command's start (docs/performance.md, "Numbers behind the code").
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable

# The C0 controls that move the cursor or ring the bell (rich strips the same ones): output stays one line per line.
_CONTROL = {code: None for code in (7, 8, 11, 12, 13)}

Line = tuple[str, "str | None"]  # (text, rich style or None)


def colour(stream) -> bool:
    """Whether styles are shown on ``stream``: a terminal, unless NO_COLOR (no colour, no bold: no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError):
        return False
    return terminal and os.environ.get("TERM", "") not in ("dumb", "unknown")


def print_lines(lines: Iterable[Line], *, stderr: bool = False) -> None:
    """Print every line at once; text is printed as written (no markup, no emoji codes), control codes removed."""
    lines = list(lines)
    if not lines:
        return
    stream = sys.stderr if stderr else sys.stdout
    if not colour(stream):
        stream.write("\n".join(text for text, _ in lines).translate(_CONTROL) + "\n")
        stream.flush()
        return
    from rich.console import Console
    from rich.text import Text

    out = Text()
    for index, (text, style) in enumerate(lines):
        if index:
            out.append("\n")
        out.append(text.translate(_CONTROL), style=style)
    Console(stderr=stderr, highlight=False, soft_wrap=True).print(out, markup=False)


def print_line(text: str, style: str | None = None, *, stderr: bool = False) -> None:
    print_lines([(text, style)], stderr=stderr)


def rich_console(*, stderr: bool = False):
    """A rich Console for what only rich draws (the fleet table), styled exactly where print_lines would style:
    NO_COLOR means no colour and no bold, which rich alone would keep."""
    from rich.console import Console

    styled = colour(sys.stderr if stderr else sys.stdout)
    return Console(stderr=stderr, highlight=False, soft_wrap=True, force_terminal=styled or None,
                   color_system="auto" if styled else None)
