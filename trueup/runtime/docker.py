"""Docker through ``docker inspect`` JSON: the container's State and Image, the running image, and what the
declared image reference resolves to now on the same engine.

A container's ``Config.Image`` keeps the string given to ``docker run`` (``app:1``) even after that tag moves
to another image, so it says nothing about drift. What runs is the container's ``Image`` (an image id); what
is declared is what ``docker image inspect <declared ref>`` answers now (its ``Id``, its ``RepoDigests``).
The engine is the one ``docker`` talks to: ``DOCKER_HOST`` (or the docker context) of the environment.
"""

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
# Where an image says which version it is; the OCI label first.
VERSION_LABELS = ("org.opencontainers.image.version", "version")


def parse_inspect(text: str) -> dict[str, Any] | None:
    """The first object of ``docker inspect`` output; None for ``[]`` (no such object)."""
    data = json.loads(text or "[]")
    return data[0] if isinstance(data, list) and data else None


def _label_version(image: dict[str, Any] | None) -> str | None:
    labels = ((image or {}).get("Config") or {}).get("Labels") or {}
    return next((str(labels[k]) for k in VERSION_LABELS if labels.get(k)), None)


def ref_tag(ref: str) -> str | None:
    """The tag of an image reference (``registry:5000/app:3.0.6`` → ``3.0.6``); None for digests and bare names."""
    name = ref.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last and "@" not in ref else None


def image_id(value: Any) -> Any:
    """An image id as Docker writes it (``sha256:<hex>``): podman behind a ``docker`` name writes the bare hex, and
    a declared ``sha256:…`` id must still match the image it names."""
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return "sha256:" + value
    return value


def image_summary(image: dict[str, Any] | None) -> dict[str, Any]:
    """An inspected image as drift compares it: id, repo digests, tags and the version its labels say."""
    image = image or {}
    return {
        "digests": sorted(image.get("RepoDigests") or []),
        "id": image_id(image.get("Id")),
        "tags": sorted(image.get("RepoTags") or []),
        "version": _label_version(image),
    }


def docker_facts(container: dict[str, Any] | None, image: dict[str, Any] | None,
                 declared: dict[str, Any] | None = None, declared_ref: str | None = None) -> dict[str, Any]:
    """Facts from the inspected container, its running image and the declared image (pure).

    Counters (RestartCount, health logs) are left out, except the restart count of a container caught in a
    restart loop: that is the drift itself."""
    if container is None:
        return {"present": False, "status": "absent"}
    state = container.get("State") or {}
    config = container.get("Config") or {}
    raw = state.get("Status", "")
    status = STATUS.get(raw, "unknown")
    health = (state.get("Health") or {}).get("Status") or None  # podman reports {"Status": ""} without a check
    if status == "running" and health == "unhealthy":
        status = "errored"
    started = state.get("StartedAt")
    running = image_summary(image)
    facts = {
        "command": [container.get("Path") or "", *(container.get("Args") or [])],
        "config_image": config.get("Image"),
        "container_id": container.get("Id"),
        "cwd": config.get("WorkingDir") or None,
        "health_status": health,
        "image_digests": running["digests"],
        "image_id": image_id(container.get("Image")),
        "image_version": running["version"],
        "pid": state.get("Pid") or None,
        "present": True,
        "started_at": normalize_iso(started) if started and started != ZERO_TIME else None,
        "state": raw,
        "status": status,
    }
    if raw == "restarting":
        facts["restart_count"] = container.get("RestartCount")
    if declared_ref is not None:
        facts["declared_image"] = {"ref": declared_ref, **image_summary(declared)}
    return facts


def image_matches(desired: str, facts: dict[str, Any]) -> bool:
    """Whether the container runs ``desired``: an image id, a digest reference, or a tag.

    A tag matches only when it resolves on this engine to the running image id (``declared_image``, observed
    with the container): never by comparing the string the container was started with."""
    running_id = facts.get("image_id")
    if desired.startswith("sha256:"):
        return running_id == desired
    if "@sha256:" in desired:
        name, digest = desired.split("@", 1)
        if any(d == desired or (d.endswith("@" + digest) and d.split("@")[0] == name)
               for d in facts.get("image_digests", [])):
            return True
    declared = facts.get("declared_image") or {}
    return bool(running_id) and declared.get("ref") == desired and declared.get("id") == running_id


def _short_id(image_id: str | None) -> str:
    return (image_id or "?").removeprefix("sha256:")[:12]


def declared_version(declared: dict[str, Any]) -> str | None:
    return declared.get("version") or ref_tag(declared.get("ref") or "")


def drift_summary(desired: str, facts: dict[str, Any]) -> str:
    """One line for image-drift: both versions where labels or tags say, else both ids."""
    declared = facts.get("declared_image") or {"ref": desired}
    running_version, wanted_version = facts.get("image_version"), declared_version(declared)
    running = running_version or f"image {_short_id(facts.get('image_id'))}"
    if desired.startswith("sha256:") or ("@sha256:" in desired and not declared.get("id")):
        return f"{running} running, {desired} declared"
    if not declared.get("id"):
        return f"{running} running; declared {desired} is not on this engine (docker pull it first)"
    if running_version and wanted_version and running_version != wanted_version:
        return f"{running_version} running, {wanted_version} declared ({desired})"
    return f"image {_short_id(facts.get('image_id'))} running, {desired} is now {_short_id(declared.get('id'))}"


def _needs_resolving(ref: str | None) -> bool:
    return bool(ref) and not ref.startswith("sha256:")


def _inspect_image(transport: Transport, ref: str) -> dict[str, Any] | None:
    result = transport.run(["docker", "image", "inspect", "--", ref], timeout=15)
    return parse_inspect(result.stdout) if result.ok else None  # no such image: "[]" and exit 1


# `docker compose` (the v2 plugin) where the engine's CLI has it, else `docker-compose` (v1, Debian's package).
COMPOSE_SH = 'if docker compose version >/dev/null 2>&1; then exec docker compose "$@"; fi; exec docker-compose "$@"'


def compose_argv(spec: RuntimeSpec, *args: str) -> list[str]:
    """A compose command for the spec's project and file, run on the runtime's host (no shell words of ours)."""
    return ["sh", "-c", COMPOSE_SH, "sh", "-p", spec.compose_project or "", "-f", spec.compose_file or "", *args]


def _compose_container(spec: RuntimeSpec, transport: Transport) -> str | None:
    """The container of a compose service, by the labels compose puts on it (its name is compose's business:
    apps_api_1 for v1, apps-api-1 for v2); None when there is none. Replicas: the first by id, every time."""
    result = transport.run(["docker", "ps", "-a", "--no-trunc", "-q",
                            "--filter", f"label=com.docker.compose.project={spec.compose_project}",
                            "--filter", f"label=com.docker.compose.service={spec.service}"], timeout=15)
    if not result.ok:
        raise Unreachable(f"docker ps for compose service {spec.service} failed on {transport.describe()}: "
                          f"{result.first_error_line()}")
    ids = sorted(result.stdout.split())
    return ids[0] if ids else None


def _compose_image(spec: RuntimeSpec, transport: Transport) -> str:
    """The image the compose file declares for the service, as compose resolves it (variables, .env)."""
    from ruamel.yaml import YAML, YAMLError

    result = transport.run(compose_argv(spec, "config"), timeout=60)
    try:
        config = YAML(typ="safe").load(result.stdout) if result.ok else None
        image = config["services"][spec.service].get("image")
    except (YAMLError, KeyError, TypeError, AttributeError):
        image = None
    if not image:
        why = result.first_error_line() if not result.ok else f"no image for service {spec.service} in it"
        raise Unreachable(f"compose file {spec.compose_file} on {transport.describe()}: {why}")
    return str(image)


def observe_docker(spec: RuntimeSpec, transport: Transport) -> dict[str, Any]:
    if spec.compose_project:
        found = _compose_container(spec, transport)
        facts = observe_container(spec, transport, found) if found else docker_facts(None, None)
        if spec.compose_file:
            facts["compose_file"] = spec.compose_file  # the restart recreates the service from it
        return facts
    return observe_container(spec, transport, spec.service)


def observe_container(spec: RuntimeSpec, transport: Transport, name: str) -> dict[str, Any]:
    result = transport.run(["docker", "container", "inspect", "--", name], timeout=15)
    if not result.ok:
        # A missing container prints "[]" and "No such container" and exits 1 (podman: 125). A daemon that does not
        # answer prints "[]" too, with "Cannot connect to the Docker daemon": that is unreachable, not missing.
        if result.stdout.strip() == "[]" and "no such" in result.stderr.lower():
            return docker_facts(None, None)
        raise Unreachable(f"docker inspect {spec.service} failed on {transport.describe()}: {result.first_error_line()}")
    container = parse_inspect(result.stdout)
    image = _inspect_image(transport, container["Image"]) if container and container.get("Image") else None
    wanted = _compose_image(spec, transport) if spec.compose_file and container else spec.image
    declared_ref = wanted if _needs_resolving(wanted) else None
    declared = _inspect_image(transport, declared_ref) if container and declared_ref else None
    facts = docker_facts(container, image, declared, declared_ref)
    if wanted and wanted != spec.image:
        facts["compose_image"] = wanted  # what the compose file declares: the image drift compares against
    return facts


def desired_image(spec: RuntimeSpec, facts: dict[str, Any]) -> str | None:
    """The image the container should run: trueup.yaml's ``image``, or what its compose file declares."""
    return spec.image or facts.get("compose_image")
