"""The caller's side of a served plan: while `trueup watch` serves the workspace, `trueup plan` is answered by it.

Like git's fsmonitor daemon answering `git status`: the watcher already holds the stat cache, its events since
then and the source's answers in memory, so its plan of a 10k-file tree costs ~15 ms, while a new process pays
~0.1 s for the interpreter and the imports a plan needs before it looks at one file (docs/performance.md). This
module (and trueup/launch.py, the console script, which asks it first) is all a served `trueup plan` imports: the
standard library, no typer, no attrs. It imports nothing of trueup: the manifest finds its workspace with
find_root, and the watcher's side (trueup/watch/serve.py) speaks its protocol.

Served: `trueup plan` with components, -o/--out, --json, --detailed-exitcode, --strict, -w/--workspace — whatever
else is asked (another command, --no-cache, --read-only, --help, a global option) runs as always. The watcher runs
the very command in its process, in the caller's directory, with the caller's colour settings, and hands back
its output and exit code; the caller prints them. No watcher, a socket left by one that died, a watcher of another
workspace, an answer slower than ANSWER_WITHIN_S or malformed: the command runs here as always.
TRUEUP_NO_SERVE=1 turns this off.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys

MANIFEST_NAME = "trueup.yaml"
PROTOCOL = 1
ANSWER_WITHIN_S = 30.0  # a watcher busy with a long cycle (a fetch, a heal) is waited for this long at most
_VALUED = {"-o", "--out", "-w", "--workspace"}
_FLAGS = {"--json", "--detailed-exitcode", "--strict"}
_COLOUR_ENV = ("NO_COLOR", "FORCE_COLOR", "TERM")


def find_root(explicit: str | os.PathLike | None) -> str:
    """--workspace, else TRUEUP_WORKSPACE, else the nearest directory at or above the current one with a
    trueup.yaml (as git finds its repository): the search stops at the filesystem root and at $HOME, so a
    trueup.yaml above the home directory is never picked up by accident. Nothing found: the current directory
    (whose missing trueup.yaml is then the error)."""
    chosen = explicit or os.environ.get("TRUEUP_WORKSPACE")
    if chosen:
        return os.path.realpath(os.path.expanduser(os.fspath(chosen)))
    here = os.path.realpath(os.getcwd())
    home = os.path.realpath(os.path.expanduser("~"))
    directory = here
    while True:
        if os.path.isfile(os.path.join(directory, MANIFEST_NAME)):
            return directory
        parent = os.path.dirname(directory)
        if directory == home or parent == directory:
            return here
        directory = parent


def socket_path(root: str) -> str:
    """Where the watcher of the workspace at ``root`` listens: one socket per workspace, in a directory only this
    user can enter (the runtime dir, else the temp dir)."""
    return socket_paths(root)[0]


def socket_paths(root: str) -> list[str]:
    """Where a watcher of ``root`` may listen, first where one started here would: a watcher started by a service
    manager may have had no XDG_RUNTIME_DIR or TMPDIR where the caller has one, or the other way round."""
    name = hashlib.sha256(os.fsencode(root)).hexdigest()[:24]
    bases = (os.environ.get("XDG_RUNTIME_DIR"), os.environ.get("TMPDIR"), "/tmp")
    return list(dict.fromkeys(os.path.join(b, f"trueup-{os.getuid()}", f"{name}.sock") for b in bases if b))


def servable(argv: list[str]) -> tuple[str, list[str]] | None:
    """(the --workspace a servable `trueup plan` names or '', its other arguments), or None when it is not one."""
    if not argv or argv[0] != "plan" or os.environ.get("TRUEUP_NO_SERVE"):
        return None
    workspace, rest, args = "", [], iter(argv[1:])
    for arg in args:
        name, eq, value = arg.partition("=")
        if name in _VALUED and name.startswith("--") and eq:
            pass
        elif arg in _VALUED:
            value = next(args, None)
            if value is None:
                return None  # a usage error: the CLI says it
        elif arg in _FLAGS or not arg.startswith("-") or arg == "-":
            rest.append(arg)
            continue
        else:
            return None
        if name in ("-w", "--workspace"):
            workspace = value
        else:
            rest += [name, value]
    return workspace, rest


def _ours(path: str) -> bool:
    """Whether the socket and its directory are this user's alone: in a shared temp dir another user could have
    made the directory first, and a plan answered by them could say anything."""
    try:
        d, f = os.lstat(os.path.dirname(path)), os.lstat(path)
    except OSError:
        return False
    uid = os.getuid()
    return d.st_uid == uid and not d.st_mode & 0o077 and f.st_uid == uid


def peer_uid(conn) -> int | None:
    """The user id of the process at the other end (Linux's SO_PEERCRED), None where it cannot be asked."""
    import socket
    import struct

    try:
        _, uid, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    except (AttributeError, OSError):
        return None
    return uid


def _colour(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def ask(argv: list[str]) -> int | None:
    """The exit code of ``argv`` as the watcher ran it (its output printed here), or None: run it here."""
    parsed = servable(argv)
    if parsed is None:
        return None
    try:
        root = find_root(parsed[0] or None)
        path = next((p for p in socket_paths(root) if os.path.exists(p) and _ours(p)), None)
        if path is None:
            return None
        import socket  # only when a watcher may answer: ~3 ms of every other command's start

        request = {"protocol": PROTOCOL, "root": root, "cwd": os.getcwd(), "argv": argv,
                   "tty": {"stdout": _colour(sys.stdout), "stderr": _colour(sys.stderr)},
                   "env": {k: os.environ[k] for k in _COLOUR_ENV if k in os.environ}}
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(ANSWER_WITHIN_S)
            conn.connect(path)
            if peer_uid(conn) not in (None, os.getuid()):
                return None  # someone else's process: never trust what it says the plan is
            conn.sendall(json.dumps(request).encode() + b"\n")
            conn.shutdown(socket.SHUT_WR)
            data = b"".join(iter(lambda: conn.recv(1 << 16), b""))
        answer = json.loads(data)
        if answer.get("protocol") != PROTOCOL or not isinstance(answer.get("code"), int):
            return None
        out, err = answer["stdout"], answer["stderr"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # no watcher (or one that died, or refused): the command runs here
    sys.stdout.write(out)
    sys.stderr.write(err)
    return answer["code"]
