"""host evacuation retire, carried out: read, judge (retire.py), remove,
and verify by reading again.

The order: the orphaned allocations first (each taken out of its
consumer's allocations under the consumer's generation, as Nova's
start-up and audit do), so that Placement lets the providers go; then
DELETE /os-services/{id}, which makes Nova delete the compute nodes'
providers; then each provider is read: gone (Nova deleted it), or
deleted here once nothing is allocated against it, or reported as still
there. The first failure stops the rest: its row says why, the rows
after it say "not done", and running the command again goes on from
there (what was removed is no longer read).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping

from osc_evacuate.core import lifecycle, retire
from osc_evacuate.core.api import RetireAPI
from osc_evacuate.core.errors import ComputeAPIError, Refused
from osc_evacuate.core.retire_models import (
    Outcome,
    Provider,
    Removal,
    Removed,
    Resources,
)

LOG = logging.getLogger(__name__)

Say = Callable[[str], None]


@dataclasses.dataclass(frozen=True)
class Retired:
    plan: retire.Plan
    rows: tuple[Removed, ...]

    @property
    def failed(self) -> bool:
        return any(row.failed for row in self.rows)


class _StillThere(Exception):
    """A removal Nova or Placement answered, that a read shows undone."""


def survey(api: RetireAPI, host: str) -> retire.Plan:
    """Read the host, its records and its providers, and judge them:
    nothing is changed. Refused (NotYet, ServersOnHost) when the host
    cannot be retired, or Placement cannot be read."""
    state = lifecycle.host_state(api, host)
    moves = api.host_migrations(host)
    retire.refuse(state, moves)
    try:
        providers = _providers(api, host)
        allocations = {
            uuid: api.provider_allocations(uuid) for uuid in providers
        }
    except ComputeAPIError as exc:
        raise Refused(
            f"Placement could not be read ({exc}): nothing was removed"
        ) from exc
    consumers = {c for found in allocations.values() for c in found}
    migrations = {m.uuid for m in moves if m.uuid}
    servers = {c: api.get_server(c) for c in sorted(consumers - migrations)}
    facts = retire.Facts(host, providers, moves, servers)
    return retire.plan(state, facts, allocations)


def _providers(api: RetireAPI, host: str) -> dict[str, Provider]:
    """The providers of the host's compute nodes (a node's
    hypervisor_hostname names its provider), with their trees."""
    nodes = sorted({h.node for h in api.hypervisors() if h.host == host})
    roots = {p.root_uuid for n in nodes for p in api.resource_providers(n)}
    found = {p.uuid: p for r in sorted(roots) for p in api.provider_tree(r)}
    LOG.debug("%s: nodes %s, providers %s", host, nodes, sorted(found))
    return found


def carry_out(api: RetireAPI, host: str, dry_run: bool, say: Say) -> Retired:
    """Survey, then (unless dry_run) remove, in order, stopping at the
    first failure."""
    plan = survey(api, host)
    if dry_run:
        would = [Removed(r, Outcome.WOULD) for r in plan.rows]
        return Retired(plan, tuple(would))
    tree = frozenset(r.id for r in plan.providers)
    steps: list[tuple[Removal, Callable[[], Outcome]]] = [
        *((r, _allocation(api, r, tree, say)) for r in plan.allocations),
        (plan.service, _service(api, plan.service, say)),
        *((r, _provider(api, r, say)) for r in plan.providers),
    ]
    rows: list[Removed] = []
    for removal, step in steps:
        if rows and rows[-1].failed:
            rows.append(Removed(removal, Outcome.NOT_DONE))
            continue
        rows.append(_run(removal, step))
    rows += [Removed(r, Outcome.KEPT) for r in plan.records]
    return Retired(plan, tuple(rows))


def _run(removal: Removal, step: Callable[[], Outcome]) -> Removed:
    try:
        outcome = step()
    except (ComputeAPIError, _StillThere) as exc:
        LOG.debug("%s %s: failed: %s", removal.kind.value, removal.id, exc)
        return Removed(removal, Outcome.FAILED, str(exc))
    LOG.debug("%s %s: %s", removal.kind.value, removal.id, outcome.value)
    return Removed(removal, outcome)


def _allocation(
    api: RetireAPI, removal: Removal, tree: frozenset[str], say: Say
) -> Callable[[], Outcome]:
    def step() -> Outcome:
        """Take the host's providers out of the consumer's allocations,
        under the generation just read: a consumer changed meanwhile is
        Placement's 409, and no change (run again to judge it anew)."""
        say(f"Removing the allocations of {removal.id} on the host")
        current = api.consumer_allocations(removal.id)
        keep = _without(current.allocations, tree)
        if len(keep) == len(current.allocations):
            return Outcome.ALREADY
        api.set_consumer_allocations(
            dataclasses.replace(current, allocations=keep)
        )
        return Outcome.DONE

    return step


def _without(
    allocations: Mapping[str, Resources], tree: frozenset[str]
) -> dict[str, Resources]:
    return {rp: r for rp, r in allocations.items() if rp not in tree}


def _service(
    api: RetireAPI, removal: Removal, say: Say
) -> Callable[[], Outcome]:
    def step() -> Outcome:
        say(f"Deleting the nova-compute service of {removal.name}")
        try:
            api.delete_service(removal.id)
        except ComputeAPIError as exc:
            if exc.status == 404:
                return Outcome.ALREADY
            # No answer: Nova may have deleted it all the same.
            if not exc.no_answer or _listed(api, removal.name):
                raise
        if _listed(api, removal.name):
            raise _StillThere("still listed after Nova deleted it")
        return Outcome.DONE

    return step


def _listed(api: RetireAPI, host: str) -> bool:
    return any(s.host == host for s in api.compute_services(None))


def _provider(
    api: RetireAPI, removal: Removal, say: Say
) -> Callable[[], Outcome]:
    def step() -> Outcome:
        """Gone with the service (Nova's cascade); else deleted here once
        nothing is allocated against it; read again either way."""
        if api.resource_provider(removal.id) is None:
            return Outcome.BY_NOVA
        left = api.provider_allocations(removal.id)
        if left:
            shown = ", ".join(sorted(left)[: retire.MOST])
            raise _StillThere(
                f"still there, Nova left it: {len(left)} consumer(s) hold "
                f"allocations against it ({shown})"
            )
        say(f"Deleting resource provider {removal.name}: Nova left it")
        api.delete_resource_provider(removal.id)
        if api.resource_provider(removal.id) is not None:
            raise _StillThere("still there after its deletion")
        return Outcome.DONE

    return step
