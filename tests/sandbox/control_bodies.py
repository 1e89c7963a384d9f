"""The bodies of the sandbox's control calls (control.py), checked: each
parser returns what the call needs, or raises ValueError (a 400).
"""

from __future__ import annotations

import re
from typing import Any

from tests.sandbox import capacity

# A host name Nova accepts and that is safe in a URL path segment.
HOST = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")

# Longest slow spawn or live migration, in seconds.
MAX_SPAWN_DELAY = 3600.0


def parse_compute(body: Any) -> tuple[str, dict[str, int], str | None]:
    """``{"host": "compute10"}``, and for a new compute optionally
    ``vcpus``, ``memory_mb``, ``local_gb``, ``hypervisor_type``."""
    allowed = {"host", "hypervisor_type", *capacity.SIZE_FIELDS}
    if not isinstance(body, dict) or set(body) - allowed:
        raise ValueError(
            'expected {"host": "<name>"}, optionally with "vcpus", '
            '"memory_mb", "local_gb" and "hypervisor_type"'
        )
    host = body.get("host")
    if not isinstance(host, str) or not HOST.match(host):
        raise ValueError('expected {"host": "<name>"}')
    hypervisor_type = body.get("hypervisor_type")
    if hypervisor_type is not None and not isinstance(hypervisor_type, str):
        raise ValueError("hypervisor_type: expected a string")
    return host, capacity.parse_size(body), hypervisor_type


def parse_size(body: Any) -> dict[str, int]:
    if (
        not isinstance(body, dict)
        or not body
        or (set(body) - set(capacity.SIZE_FIELDS))
    ):
        raise ValueError(
            'expected {"vcpus": 4, "memory_mb": 4096, "local_gb": 40} '
            "(any of them)"
        )
    return capacity.parse_size(body)


def parse_delay(body: Any) -> tuple[float, str | None]:
    if not isinstance(body, dict) or set(body) - {"seconds", "host"}:
        raise ValueError('expected {"seconds": 5, "host": "<optional>"}')
    seconds = body.get("seconds")
    if (
        not isinstance(seconds, int | float)
        or isinstance(seconds, bool)
        or not 0 <= seconds <= MAX_SPAWN_DELAY
    ):
        raise ValueError(
            f"seconds: expected a number in 0..{MAX_SPAWN_DELAY:g}"
        )
    return float(seconds), body.get("host")


def parse_version(body: Any) -> str | None:
    if not isinstance(body, dict) or "version" not in body:
        raise ValueError('expected {"version": "2.60" or null}')
    version = body["version"]
    if version is not None and not isinstance(version, str):
        raise ValueError("version: expected a string or null")
    return version


def parse_image(body: Any) -> tuple[str, dict[str, str]]:
    image = body.get("name") if isinstance(body, dict) else None
    props = body.get("properties", {}) if image else None
    if not isinstance(image, str) or not isinstance(props, dict):
        raise ValueError('expected {"name": "...", "properties": {...}}')
    return image, props


def parse_down(body: Any) -> bool:
    down = body.get("down") if isinstance(body, dict) else None
    if not isinstance(down, bool):
        raise ValueError('expected {"down": true or false}')
    return down
