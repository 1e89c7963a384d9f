"""The sandbox's faults, as tests call them through Sandbox (client.py):
rules on the API's requests, slowed spawns, failed and slowed live
migrations (faults.py, migrations.py). No nova import.
"""

from __future__ import annotations

from typing import Any, Literal

from tests.sandbox.control_client import SandboxControl

# Fault rule matchers (keyword arguments of Sandbox.add_fault).
ACTION_PATH = r"^/v2\.1/servers/[^/]+/action$"
EVACUATE_POSTS: dict[str, Any] = {
    "method": "POST",
    "path": ACTION_PATH,
    "body_key": "evacuate",
}

Drop = Literal["drop"]


class SandboxFaults(SandboxControl):
    """Faults: each one ends with reset_faults."""

    # Faults (faults.py; every one ends with reset_faults).
    def add_fault(
        self,
        *,
        service: str | None = None,
        method: str | None = None,
        path: str | None = None,
        query: str | None = None,
        body_key: str | None = None,
        count: int | None = 1,
        skip: int = 0,
        error: int | Drop | None = None,
        lost: int | Drop | None = None,
        delay: float | None = None,
        message: str | None = None,
    ) -> dict[str, Any]:
        """Fault the next ``count`` requests (None: all) that match
        ``method``, ``path`` and ``query`` (regexes searched in the path,
        e.g. ``/v2.1/servers/<id>/action``, and the query string) and
        whose JSON body has the key ``body_key``, after letting ``skip``
        of them through. ``error``: answer that status (or "drop") without
        reaching Nova; ``lost``: Nova acts, then 502, 504 or "drop";
        ``delay``: seconds before Nova sees it. ``service="placement"``
        faults Placement's API instead of Nova's (``path`` then includes
        ``/placement``). The rule, with its id."""
        body: dict[str, Any] = {"count": count, "skip": skip}
        for key, value in (
            ("service", service),
            ("method", method),
            ("path", path),
            ("query", query),
            ("body_key", body_key),
            ("error", error),
            ("lost", lost),
            ("delay", delay),
            ("message", message),
        ):
            if value is not None:
                body[key] = value
        rule: dict[str, Any] = self.control("POST", "faults", body)
        return rule

    def fail_requests(self, error: int | Drop, **match: Any) -> dict[str, Any]:
        """Answer ``error`` (500, 503, 409, 401...) or drop the connection
        without reaching Nova; ``match`` as for add_fault."""
        return self.add_fault(error=error, **match)

    def lose_answers(
        self, lost: int | Drop = "drop", **match: Any
    ) -> dict[str, Any]:
        """Let Nova act, then answer 502 or 504 or drop the connection."""
        return self.add_fault(lost=lost, **match)

    def delay_requests(self, seconds: float, **match: Any) -> dict[str, Any]:
        """Hold matching requests ``seconds`` before Nova sees them."""
        return self.add_fault(delay=seconds, **match)

    def remove_fault(self, rule_id: int) -> dict[str, Any]:
        rule: dict[str, Any] = self.control("DELETE", f"faults/{rule_id}")
        return rule

    def faults(self) -> dict[str, Any]:
        """``{"rules": [...], "slow_spawn": {"seconds": 0.0, "hosts": {}},
        "max_microversion": None, "filled": {}, "down_cell": False}``"""
        result: dict[str, Any] = self.control("GET", "faults")
        return result

    def slow_spawn(
        self, seconds: float, host: str | None = None
    ) -> dict[str, Any]:
        """Make spawns (an evacuation's rebuild, a boot) on ``host``, or on
        every compute, take ``seconds`` more. Crashing the host meanwhile
        ends the spawn; its evacuation stays ``pre-migrating``."""
        body: dict[str, Any] = {"seconds": seconds}
        if host is not None:
            body["host"] = host
        result: dict[str, Any] = self.control("POST", "slow-spawn", body)
        return result

    def fail_live_migrations(
        self,
        host: str,
        count: int | None = 1,
        stage: Literal["during", "pre-check"] = "during",
    ) -> dict[str, Any]:
        """Make the next ``count`` live migrations (None: all) to or from
        ``host`` fail, Nova's own code writing the outcome: ``"during"``,
        the record ends ``failed`` and the server stays on its source;
        ``"pre-check"``, the destination's checks refuse it (os-migrateLive
        answers 400 below 2.34; from 2.34 it answers 202 and the record
        ends ``error``). The live-migration faults
        (live_migration_faults)."""
        result: dict[str, Any] = self.control(
            "POST",
            "live-migration-failures",
            {"host": host, "count": count, "stage": stage},
        )
        return result

    def slow_live_migration(
        self, seconds: float, host: str | None = None
    ) -> dict[str, Any]:
        """Make live migrations to or from ``host`` (every one without
        it) stay ``running`` ``seconds`` first; an abort (record
        ``cancelled``) or a force-complete (``completed``) ends the wait.
        The live-migration faults (live_migration_faults)."""
        body: dict[str, Any] = {"seconds": seconds}
        if host is not None:
            body["host"] = host
        result: dict[str, Any] = self.control(
            "POST", "slow-live-migration", body
        )
        return result

    def live_migration_faults(self) -> dict[str, Any]:
        """``{"failures": [{"host", "stage", "count", "failed"}],
        "slow": {"seconds": 0.0, "hosts": {}}}``"""
        result: dict[str, Any] = self.control("GET", "live-migration-faults")
        return result

    def reset_faults(self) -> dict[str, Any]:
        """No fault rule, slow spawn, cap, fill, down cell or
        live-migration fault; delayed requests go on, slowed live
        migrations complete."""
        result: dict[str, Any] = self.control("POST", "reset-faults")
        return result
