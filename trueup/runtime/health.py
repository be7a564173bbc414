"""The health endpoint's reported version, fetched from where the service runs."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from typing import Any

from trueup.runtime.transport import Transport

TIMEOUT = 3.0


def _fetch_local(url: str) -> tuple[str | None, str | None]:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:  # noqa: S310 - URL from the manifest
            return response.read(1 << 16).decode("utf-8", "replace"), None
    except urllib.error.HTTPError as exc:
        return None, f"HTTP {exc.code}"
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, ConnectionRefusedError):
            return None, "connection refused"
        if isinstance(reason, (socket.timeout, TimeoutError)):
            return None, "timed out"
        return None, "unreachable"
    except (TimeoutError, socket.timeout):
        return None, "timed out"
    except OSError:
        return None, "unreachable"


def _fetch_remote(url: str, transport: Transport) -> tuple[str | None, str | None]:
    # The URL names the remote host's loopback, so it is fetched there: curl, else wget.
    script = (
        'if command -v curl >/dev/null 2>&1; then exec curl -fsS --max-time "$2" -- "$1"; '
        'elif command -v wget >/dev/null 2>&1; then exec wget -q -O - -T "$2" -- "$1"; '
        "else exit 99; fi"
    )
    result = transport.run(["sh", "-c", script, "sh", url, str(int(TIMEOUT))], timeout=TIMEOUT + 10)
    if result.returncode == 99:
        return None, "neither curl nor wget on the host"
    if not result.ok:
        return None, "unreachable"
    return result.stdout, None


def fetch_health(url: str, version_field: str, transport: Transport) -> dict[str, Any]:
    """``{"url", "version", "error"}``; errors are short fixed phrases so plans stay byte-stable."""
    body, error = _fetch_local(url) if transport.is_local else _fetch_remote(url, transport)
    version = None
    if body is not None:
        try:
            data = json.loads(body)
        except json.JSONDecodeError:
            data, error = None, "not JSON"
        if isinstance(data, dict):
            value = data.get(version_field)
            version = None if value is None else str(value)
            if version is None:
                error = f"no {version_field!r} field"
        elif data is not None:
            error = "not a JSON object"
    return {"error": error, "url": url, "version": version}
