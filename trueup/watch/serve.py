"""trueup watch answers `trueup plan` for its workspace (trueup/served.py is the caller's side).

Between cycles the watcher accepts one request at a time on a Unix socket only its user can reach, runs the very
command the caller typed — in the caller's directory, for the workspace the caller found, with the caller's colour
settings — and hands back what it printed and its exit code. The plan's file phase is fed by the watcher's events
(as a cycle's is: the kernel queues an event before the write that caused it returns, so a write the caller made
before asking is among them), its sources' answers are the ones it keeps, and it writes what any plan writes (the
plan file, the stat cache, history). A plan that took events is followed at once by a cycle, which alerts on them.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import stat
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trueup.errors import EXIT_DRIFT, EXIT_OK
from trueup.files import changed as hints_for_plans
from trueup.served import PROTOCOL, peer_uid, servable, socket_path
from trueup.watch.monitor import Monitor

MAX_REQUEST = 1 << 20
_COLOUR_ENV = ("NO_COLOR", "FORCE_COLOR", "TERM")


class _Stream(io.StringIO):
    """What the command prints, kept for the caller; a terminal when the caller's stream is one (colour)."""

    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


class Server:
    """The listening socket of one watcher (None-like when another live watcher already serves the workspace)."""

    def __init__(self, root: Path) -> None:
        self.root = os.path.realpath(root)
        self.path = socket_path(self.root)
        self.sock: socket.socket | None = None
        self.note: str | None = None
        try:
            self._listen()
        except OSError as exc:
            self.note = f"not answering trueup plan ({exc.strerror or exc})"

    def _listen(self) -> None:
        directory = os.path.dirname(self.path)
        os.makedirs(directory, mode=0o700, exist_ok=True)
        st = os.lstat(directory)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
            raise OSError(0, f"{directory} is not a directory of this user's alone")
        if os.path.exists(self.path):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                try:
                    probe.connect(self.path)
                except OSError:
                    os.unlink(self.path)  # left by a watcher that died: nobody answers on it
                else:
                    raise OSError(0, "another trueup watch answers for this workspace")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(self.path)
        os.chmod(self.path, 0o600)
        sock.listen(8)
        sock.setblocking(False)
        self.sock, self.ino = sock, os.lstat(self.path).st_ino

    def fileno(self) -> int:
        assert self.sock is not None
        return self.sock.fileno()

    def close(self) -> None:
        if self.sock is None:
            return
        self.sock.close()
        self.sock = None
        with contextlib.suppress(OSError):
            if os.lstat(self.path).st_ino == self.ino:  # ours still, not a newer watcher's
                os.unlink(self.path)

    def serve(self, monitor: Monitor, run_command: Callable[[list[str]], int], verbose: bool = False) -> bool:
        """Answer the request waiting (if one is); True when its plan took file events (a cycle should follow)."""
        assert self.sock is not None
        try:
            conn, _ = self.sock.accept()
        except (BlockingIOError, InterruptedError):
            return False
        started = time.monotonic()
        took = False
        with conn:
            conn.settimeout(5.0)
            if peer_uid(conn) not in (None, os.getuid()):
                return False  # the directory's mode keeps others out; this says so again where it can be asked
            try:
                request = json.loads(_read(conn))
                answer, took = self._answer(request, monitor, run_command)
                conn.sendall(json.dumps(answer).encode())
            except (OSError, ValueError, TypeError, KeyError, AttributeError):
                return took  # the caller runs the command itself when it gets no answer
            except Exception as exc:  # noqa: BLE001 — a caller's plan must never end the watcher (TRUEUP_DEBUG re-raises)
                sys.stderr.write(f"trueup watch: could not answer trueup plan ({type(exc).__name__}: {exc}); "
                                 "the caller plans by itself\n")
                return True
        if verbose:
            sys.stderr.write(f"trueup watch: answered trueup {' '.join(request['argv'][:1])} in "
                             f"{(time.monotonic() - started) * 1000:.0f} ms (exit {answer['code']})\n")
        return took

    def _answer(self, request: dict[str, Any], monitor: Monitor,
                run_command: Callable[[list[str]], int]) -> tuple[dict[str, Any], bool]:
        parsed = servable(request["argv"])
        if request.get("protocol") != PROTOCOL or request.get("root") != self.root or parsed is None:
            raise ValueError("not a request this watcher answers")
        out, err = _Stream(bool(request["tty"]["stdout"])), _Stream(bool(request["tty"]["stderr"]))
        hints = monitor.take()
        code = None
        try:
            with _as_caller(request["cwd"], request["env"]), hints_for_plans.serving(hints), \
                    contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                # The workspace the caller found, resolved: this process's own TRUEUP_WORKSPACE must not decide.
                code = run_command(["plan", "--workspace", self.root, *parsed[1]])
        finally:
            # Exit 0 or 2: the plan observed everything, its stat cache is one the next events are relative to.
            monitor.done(code in (EXIT_OK, EXIT_DRIFT))
        return ({"protocol": PROTOCOL, "code": code, "stdout": out.getvalue(), "stderr": err.getvalue()},
                any(monitor.taken.values()))


def _read(conn: socket.socket) -> bytes:
    data = b""
    while chunk := conn.recv(1 << 16):
        data += chunk
        if len(data) > MAX_REQUEST:
            raise ValueError("request too long")
    return data


@contextlib.contextmanager
def _as_caller(cwd: str, env: dict[str, str]):
    """The caller's directory (its relative -o path) and colour settings, for the length of its command."""
    saved_cwd, saved_env = os.getcwd(), {k: os.environ.get(k) for k in _COLOUR_ENV}
    os.chdir(cwd)
    for key in _COLOUR_ENV:
        if key in env:
            os.environ[key] = env[key]
        else:
            os.environ.pop(key, None)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
