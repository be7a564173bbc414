"""Run a manager's command locally or on another host through the system OpenSSH client.

ssh runs non-interactively (BatchMode: never a password prompt) with a short connect timeout, so an
unreachable host becomes one clear reason instead of a hang.
"""

from __future__ import annotations

import base64
import os
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from attrs import frozen

from trueup.errors import EXIT_UNREACHABLE, TrueupError
from trueup.runtime.times import iso_from_ms

SSH_OPTIONS_ENV = "TRUEUP_SSH_OPTIONS"
SSH_EXIT_CONNECT = 255  # ssh's own failure (connect, auth, host key); anything else is the remote command's
BASE_SSH_OPTIONS = (
    "-o", "BatchMode=yes",
    "-o", "ConnectTimeout=5",
    "-o", "StrictHostKeyChecking=accept-new",
)


class Unreachable(TrueupError):
    """A runtime host or service manager could not be asked (ssh failed, manager missing or hung)."""

    exit_code = EXIT_UNREACHABLE


@frozen
class SshTarget:
    """``ssh://user@host:port`` taken apart."""

    host: str
    user: str | None = None
    port: int | None = None

    @classmethod
    def parse(cls, url: str) -> SshTarget:
        parts = urlsplit(url)
        if parts.scheme != "ssh" or not parts.hostname or parts.path not in ("", "/"):
            raise TrueupError(f"runtime host {url!r}: expected ssh://[user@]host[:port]")
        try:
            port = parts.port
        except ValueError:
            raise TrueupError(f"runtime host {url!r}: port is not a number") from None
        return cls(host=parts.hostname, user=parts.username, port=port)

    def __str__(self) -> str:
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        return f"ssh://{user}{self.host}{port}"


@frozen
class CommandResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def first_error_line(self) -> str:
        for line in (self.stderr + "\n" + self.stdout).splitlines():
            if line.strip():
                return line.strip()
        return f"exit status {self.returncode}"


@frozen
class Transport:
    """Where manager commands run: here (``target`` None) or on ``target`` over ssh."""

    target: SshTarget | None = None
    ssh_options: tuple[str, ...] = ()

    @classmethod
    def for_host(cls, host: str | None, extra_options: Sequence[str] = ()) -> Transport:
        if not host:
            return cls()
        env_options = tuple(shlex.split(os.environ.get(SSH_OPTIONS_ENV, "")))
        return cls(target=SshTarget.parse(host), ssh_options=tuple(extra_options) + env_options)

    @property
    def is_local(self) -> bool:
        return self.target is None

    def describe(self) -> str:
        return "local" if self.target is None else str(self.target)

    def ssh_argv(self, remote_command: str) -> list[str]:
        assert self.target is not None
        argv = ["ssh", *BASE_SSH_OPTIONS, *self.ssh_options]
        if self.target.port:
            argv += ["-p", str(self.target.port)]
        if self.target.user:
            argv += ["-l", self.target.user]
        # "--" ends option parsing so a host name can never be read as an option.
        return [*argv, "--", self.target.host, remote_command]

    def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        timeout: float = 15,
    ) -> CommandResult:
        """Run ``argv``; raise Unreachable when the host or the program itself cannot be reached."""
        program = argv[0]
        if self.target is None:
            full_env = {**os.environ, **(env or {})}
            cmd = list(argv)
        else:
            # The remote side gets a shell string: quote every word, pass env through `env K=V`.
            words = ["env", *(f"{k}={v}" for k, v in sorted((env or {}).items())), *argv] if env else list(argv)
            cmd = self.ssh_argv(shlex.join(words))
            full_env = None
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=timeout, env=full_env, stdin=subprocess.DEVNULL
            )
        except FileNotFoundError:
            raise Unreachable(f"{cmd[0]}: command not found on {self.describe()}") from None
        except subprocess.TimeoutExpired:
            raise Unreachable(f"{program}: no answer within {timeout:g}s on {self.describe()}") from None
        result = CommandResult(proc.returncode, proc.stdout, proc.stderr)
        if self.target is not None and proc.returncode == SSH_EXIT_CONNECT:
            raise Unreachable(f"{self.describe()}: {result.first_error_line()}")
        return result

    def read_bytes(self, path: str, *, timeout: float = 15) -> bytes | None:
        """The content of ``path`` on the target; None when it does not exist."""
        if self.target is None:
            try:
                with open(path, "rb") as fh:
                    return fh.read()
            except (FileNotFoundError, IsADirectoryError):
                return None
        # base64 carries binary files (e.g. binary plists) through ssh unchanged; exit 3 = no such file.
        result = self.run(["sh", "-c", 'test -f "$1" || exit 3; base64 < "$1"', "sh", path], timeout=timeout)
        if result.returncode == 3:
            return None
        if not result.ok:
            raise Unreachable(f"cannot read {path} on {self.describe()}: {result.first_error_line()}")
        return base64.b64decode("".join(result.stdout.split()))

    def path_facts(self, paths: Sequence[str], *, timeout: float = 15) -> dict[str, dict]:
        """For each path: ``exists``, ``executable`` and ``mtime`` (ISO) — one round trip for all of them."""
        out: dict[str, dict] = {}
        if self.target is None:
            for path in paths:
                try:
                    st = os.stat(path)
                except OSError:
                    out[path] = {"exists": False, "executable": False, "mtime": None}
                    continue
                is_exec = os.path.isfile(path) and os.access(path, os.X_OK)
                out[path] = {"exists": True, "executable": is_exec, "mtime": iso_from_ms(st.st_mtime_ns // 1_000_000)}
            return out
        # One line per path: "<exists> <executable> <mtime seconds>"; GNU stat first, BSD stat as fallback.
        script = (
            'for p in "$@"; do '
            'if [ -e "$p" ]; then e=1; else e=0; fi; '
            'if [ -f "$p" ] && [ -x "$p" ]; then x=1; else x=0; fi; '
            'm=$(stat -c %Y -- "$p" 2>/dev/null || stat -f %m -- "$p" 2>/dev/null || echo -); '
            'echo "$e $x $m"; done'
        )
        result = self.run(["sh", "-c", script, "sh", *paths], timeout=timeout)
        lines = result.stdout.splitlines()
        if not result.ok or len(lines) != len(paths):
            raise Unreachable(f"cannot stat files on {self.describe()}: {result.first_error_line()}")
        for path, line in zip(paths, lines):
            exists, executable, mtime = (line.split() + ["-", "-", "-"])[:3]
            out[path] = {
                "exists": exists == "1",
                "executable": executable == "1",
                "mtime": iso_from_ms(int(mtime) * 1000) if mtime.isdigit() else None,
            }
        return out
