"""Docker through ``docker inspect`` JSON: the container's State and Image, the image's RepoDigests."""

from __future__ import annotations

import json
from typing import Any

from trueup.runtime.spec import RuntimeSpec
from trueup.runtime.times import normalize_iso
from trueup.runtime.transport import Transport, Unreachable

STATUS = {
    "running": "running",
    "created": "stopped",
    "exited": "stopped",
    "paused": "stopped",
    "restarting": "errored",  # a restart loop
    "removing": "stopped",
    "dead": "errored",
}
ZERO_TIME = "0001-01-01T00:00:00Z"


def parse_inspect(text: str) -> dict[str, Any] | None:
    """The first object of ``docker inspect`` output; None for ``[]`` (no such object)."""
    data = json.loads(text or "[]")
    return data[0] if isinstance(data, list) and data else None


def docker_facts(container: dict[str, Any] | None, image: dict[str, Any] | None) -> dict[str, Any]:
    """Facts from inspected container and image (pure). RestartCount and health logs are counters: left out."""
    if container is None:
        return {"present": False, "status": "absent"}
    state = container.get("State") or {}
    config = container.get("Config") or {}
    raw = state.get("Status", "")
    status = STATUS.get(raw, "unknown")
    health = (state.get("Health") or {}).get("Status")
    if status == "running" and health == "unhealthy":
        status = "errored"
    started = state.get("StartedAt")
    return {
        "command": [container.get("Path") or "", *(container.get("Args") or [])],
        "config_image": config.get("Image"),
        "container_id": container.get("Id"),
        "cwd": config.get("WorkingDir") or None,
        "health_status": health,
        "image_digests": sorted((image or {}).get("RepoDigests") or []),
        "image_id": container.get("Image"),
        "pid": state.get("Pid") or None,
        "present": True,
        "started_at": normalize_iso(started) if started and started != ZERO_TIME else None,
        "state": raw,
        "status": status,
    }


def image_matches(desired: str, facts: dict[str, Any]) -> bool:
    """Whether the running image is ``desired``: a digest reference, an image id, or (weakest) a tag."""
    if "@sha256:" in desired:
        digest = desired.split("@", 1)[1]
        name = desired.split("@", 1)[0]
        return any(d == desired or (d.endswith("@" + digest) and d.split("@")[0] == name) for d in facts.get("image_digests", []))
    if desired.startswith("sha256:"):
        return facts.get("image_id") == desired
    return facts.get("config_image") == desired


def observe_docker(spec: RuntimeSpec, transport: Transport) -> dict[str, Any]:
    result = transport.run(["docker", "container", "inspect", "--", spec.service], timeout=15)
    if not result.ok:
        # A missing container prints "[]" on stdout and exits 1; anything else means docker itself failed.
        if result.stdout.strip() == "[]":
            return docker_facts(None, None)
        raise Unreachable(f"docker inspect {spec.service} failed on {transport.describe()}: {result.first_error_line()}")
    container = parse_inspect(result.stdout)
    image = None
    if container and container.get("Image"):
        image_result = transport.run(["docker", "image", "inspect", "--", container["Image"]], timeout=15)
        image = parse_inspect(image_result.stdout) if image_result.ok else None
    return docker_facts(container, image)
