"""The evacuation job as the unit tests drive it: plan, then carry out,
with no command in between (the commands confirm and print too)."""

from __future__ import annotations

from collections.abc import Sequence

from osc_evacuate.core.api import ComputeAPI
from osc_evacuate.core.clock import POLL_OVERLAP, Clock
from osc_evacuate.core.evacuation import ProgressCallback, carry_out
from osc_evacuate.core.models import Guard, Plan, Report, Request
from osc_evacuate.core.preflight import plan_hosts
from osc_evacuate.core.server_plan import plan_server

__all__ = [
    "POLL_OVERLAP",
    "Guard",
    "Plan",
    "Report",
    "Request",
    "carry_out",
    "evacuate_host",
    "evacuate_hosts",
    "evacuate_server",
    "plan_hosts",
    "plan_server",
]


def evacuate_hosts(
    api: ComputeAPI,
    hosts: Sequence[str],
    request: Request,
    clock: Clock | None = None,
    on_progress: ProgressCallback = lambda rows: None,
) -> Report:
    plan = plan_hosts(api, hosts, request, clock)
    return carry_out(api, plan, request, clock, on_progress)


def evacuate_host(
    api: ComputeAPI,
    host: str,
    request: Request,
    clock: Clock | None = None,
    on_progress: ProgressCallback = lambda rows: None,
) -> Report:
    return evacuate_hosts(api, [host], request, clock, on_progress)


def evacuate_server(
    api: ComputeAPI,
    name_or_id: str,
    request: Request,
    clock: Clock | None = None,
) -> Report:
    plan = plan_server(api, name_or_id, request, clock)
    return carry_out(api, plan, request, clock)
