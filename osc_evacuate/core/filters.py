"""Which of a host's servers this run evacuates: host evacuate's filters.

Some servers must not be evacuated by the operator's tool: load-balancer
amphorae that their own service recreates, say, or all but those tagged
for HA (Masakari's HA_Enabled=True). The filters choose what this run
sends; every other server of the host still gets its row, skipped with
the filter that left it out, so that the report covers the whole host.
Evacuations already under way or done are reported as they are: a filter
decides what to send, not what Nova already did.

Include filters of different kinds must all hold; --server and --project
match any of theirs; every --tag and --property must hold. An exclude
filter that matches leaves the server out.

Pure: servers in, the reason each is left out (or None) out.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable

from osc_evacuate.core.errors import UsageError
from osc_evacuate.core.models import Server

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ServerFilter:
    servers: frozenset[str] = frozenset()  # ids, resolved from names
    projects: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    properties: tuple[tuple[str, str], ...] = ()
    exclude_tags: frozenset[str] = frozenset()
    exclude_properties: tuple[tuple[str, str], ...] = ()

    @property
    def by_tags(self) -> bool:
        return bool(self.tags or self.exclude_tags)

    def __bool__(self) -> bool:
        return any(dataclasses.astuple(self))

    def left_out(self, server: Server) -> str | None:
        """Why this run does not evacuate the server; None: it does."""
        if self.servers and server.id not in self.servers:
            return "not named by --server"
        if self.projects and server.project_id not in self.projects:
            return (
                f"excluded by --project (its project is {server.project_id})"
            )
        for tag in sorted(self.tags):
            if tag not in server.tags:
                return f"excluded by --tag {tag} (it has no such tag)"
        for key, value in self.properties:
            if server.metadata.get(key) != value:
                return f"excluded by --property {key}={value}"
        for tag in sorted(self.exclude_tags & server.tags):
            return f"excluded by --exclude-tag {tag}"
        for key, value in self.exclude_properties:
            if server.metadata.get(key) == value:
                return f"excluded by --exclude-property {key}={value}"
        return None


def resolve_servers(
    wanted: Iterable[str], on_hosts: Iterable[Server], hosts: Iterable[str]
) -> frozenset[str]:
    """--server names or IDs, as ids of servers on the hosts; a UsageError
    for one that is not there, or a name more than one server has."""
    servers = list(on_hosts)
    found: set[str] = set()
    for name in wanted:
        matches = [s for s in servers if name in (s.id, s.name)]
        by_id = [s for s in matches if s.id == name]
        if by_id:
            matches = by_id
        if not matches:
            where = ", ".join(sorted(hosts))
            raise UsageError(f"--server {name} is not on {where}")
        if len(matches) > 1:
            ids = ", ".join(sorted(s.id for s in matches))
            raise UsageError(
                f"--server {name}: more than one server has that name on "
                f"the host ({ids}); give the ID instead"
            )
        found.add(matches[0].id)
    LOG.debug("--server: %s", sorted(found))
    return frozenset(found)
