"""The desired runtime of one component, as declared by the manifest's ``runtime:`` block."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any

from attrs import field, frozen

from trueup.errors import ManifestError, TrueupError
from trueup.runtime.transport import SshTarget

MANAGERS = ("pm2", "systemd", "launchd", "docker", "external")
SCOPES = ("system", "user")


def _tuple(value: Any) -> tuple:
    return tuple(value or ())


@frozen
class RuntimeSpec:
    """What should be running: manager, service name, where and how; paths absolute once loaded."""

    manager: str
    service: str | None = None
    cwd: str | None = None
    command: str | None = None
    health_url: str | None = None
    health_version_field: str = "version"
    host: str | None = None
    image: str | None = None
    definition: str | None = None
    env_file: str | None = None
    scope: str = "system"  # systemd: system units or `systemctl --user`
    pm2: str | None = None  # pm2 binary; default $TRUEUP_PM2, then `pm2` on PATH
    pm2_home: str | None = None  # PM2_HOME for the pm2 commands; default $PM2_HOME
    ssh_options: tuple[str, ...] = field(default=(), converter=_tuple)
    check_cwd: bool = True  # docker: only when the manifest names a cwd (the install path means nothing inside)
    orchestrator: str | None = None  # docker: "external" = an orchestrator owns the container; skipped
    # docker: a compose service, found by its com.docker.compose.project/.service labels; with its compose file
    # the file declares the image and the restart action recreates the service (compose up -d --no-deps)
    compose_project: str | None = None
    compose_file: str | None = None

    @property
    def command_words(self) -> tuple[str, ...]:
        return tuple(shlex.split(self.command)) if self.command else ()

    @property
    def is_external(self) -> bool:
        return self.manager == "external" or self.orchestrator == "external"

    @classmethod
    def from_manifest(cls, block: dict[str, Any], *, install_path: Path, workspace: Path) -> RuntimeSpec:
        """Validate ``block`` lightly (the schema does the rest) and resolve its paths.

        ``cwd`` is relative to the workspace and defaults to the install path; ``env_file`` is relative
        to ``cwd``; ``~`` means this machine's home. With ``host`` the paths are the remote host's, so
        ``~`` is refused there: this machine cannot know the remote home without asking it.
        """
        manager = block.get("manager")
        if manager not in MANAGERS:
            raise ManifestError(f"runtime.manager: {manager!r} is not one of {', '.join(MANAGERS)}")
        compose = block.get("compose") or {}
        if compose and (manager != "docker" or not isinstance(compose, dict)
                        or not compose.get("project") or not compose.get("service")):
            raise ManifestError("runtime.compose: a docker runtime's {project, service[, file]}",
                                hint="e.g. compose: {project: apps, service: honcho-api, file: deploy/compose.yml}")
        if compose.get("file") and block.get("image"):
            raise ManifestError("runtime.image: with compose.file the compose file declares the image",
                                hint="remove image (or compose.file, to check the image without recreating)")
        service = block.get("service") or compose.get("service")
        if manager != "external" and not service:
            raise ManifestError(f"runtime.service: required for manager {manager}")
        scope = block.get("scope", "system")
        if scope not in SCOPES:
            raise ManifestError(f"runtime.scope: {scope!r} is not one of {', '.join(SCOPES)}")
        host = block.get("host")
        if host:
            try:
                SshTarget.parse(host)
            except TrueupError as exc:
                raise ManifestError(f"runtime.host: {exc.message}") from None
        health = block.get("health") or {}
        if not isinstance(health, dict):
            raise ManifestError("runtime.health: expected a mapping with url and version_field")

        def resolve(key: str, value: str | None, base: Path) -> str | None:
            if value is None:
                return None
            if value.startswith("~"):
                if host:
                    raise ManifestError(
                        f"runtime.{key}: {value!r} uses ~ with host {host}; write the remote path out in full"
                    )
                value = os.path.expanduser(value)
            return os.path.normpath(os.path.join(base, value))

        cwd = resolve("cwd", block.get("cwd"), workspace) or os.path.normpath(
            os.path.join(workspace, install_path)
        )
        ssh_options = block.get("ssh_options") or ()
        if isinstance(ssh_options, str):
            ssh_options = shlex.split(ssh_options)
        return cls(
            manager=manager,
            service=service,
            cwd=cwd,
            command=block.get("command"),
            health_url=health.get("url"),
            health_version_field=health.get("version_field", "version"),
            host=host,
            image=block.get("image"),
            definition=resolve("definition", block.get("definition"), workspace),
            env_file=resolve("env_file", block.get("env_file"), Path(cwd)),
            scope=scope,
            pm2=block.get("pm2"),
            pm2_home=resolve("pm2_home", block.get("pm2_home"), workspace),
            ssh_options=ssh_options,
            check_cwd=manager != "docker" or "cwd" in block,
            orchestrator=block.get("orchestrator"),
            compose_project=compose.get("project"),
            compose_file=resolve("compose.file", compose.get("file"), workspace),
        )
