"""What a plan reads beside the servers and their records, sent at once:
the flavors Nova did not embed (before 2.47), the servers' images, what
they have attached, and, for the capacity check, Placement's room and the
server groups. None waits for another. The room and the groups depend on
no server, so every plan starts them with its first reads
(host_reads.py), and a plan that judges several times (--spare) reads
each of them once.
"""

from __future__ import annotations

import dataclasses
import logging
import types
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import TypeVar

from osc_evacuate.core import attached, capacity
from osc_evacuate.core.api import ComputeAPI
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.models import Flavor, Image, Room, Server
from osc_evacuate.core.models.cloud import ServerGroup

LOG = logging.getLogger(__name__)

_T = TypeVar("_T")
NO_FLAVORS: Mapping[str, Flavor] = types.MappingProxyType({})


@dataclasses.dataclass(frozen=True)
class RoomReads:
    """The capacity check's reads that depend on no server, under way."""

    _rooms: Future[dict[str, Room] | None]
    _groups: Future[list[ServerGroup] | None]

    def rooms(self) -> dict[str, Room] | None:
        """Placement's room by node; None when Placement cannot say."""
        return self._rooms.result()

    def groups(self) -> list[ServerGroup]:
        """Every server group (none when Nova would not list them)."""
        return self._groups.result() or []


def start_room(api: ComputeAPI, pool: Executor) -> RoomReads:
    """Send the room and server group reads; two threads of the pool."""
    return RoomReads(
        pool.submit(api.rooms, capacity.PROBE),
        pool.submit(read_or_none, "server groups", api.server_groups),
    )


@dataclasses.dataclass(frozen=True)
class Found:
    """What the plan read beside the servers, for judging them."""

    flavors: dict[str, Flavor]
    images: dict[str, Image]
    attached: attached.Attachments
    room: RoomReads


def read(
    api: ComputeAPI,
    judged: Sequence[Server],
    to_send: Sequence[Server],
    room: RoomReads,
    attachments: bool = True,
    known: Mapping[str, Flavor] = NO_FLAVORS,
) -> Found:
    """The flavors (but those known) and images of the servers judged, and
    what those to send have attached (with attachments), at once; the
    room's reads are under way already."""
    with ThreadPoolExecutor(3) as pool:
        flavors = pool.submit(_flavors, api, judged, known)
        images = pool.submit(_images, api, judged)
        found = pool.submit(_attachments, api, to_send if attachments else [])
        return Found(flavors.result(), images.result(), found.result(), room)


def read_or_none(
    what: str, reading: Callable[..., _T | None], *args: object
) -> _T | None:
    """A read the rules can do without: None when Nova says no."""
    try:
        return reading(*args)
    except ComputeAPIError as exc:
        LOG.debug("%s not read, not judged: %s", what, exc)
        return None


def _attachments(
    api: ComputeAPI, servers: Sequence[Server]
) -> attached.Attachments:
    if not servers:
        return attached.NONE
    try:
        return api.attachments(servers)
    except ComputeAPIError as exc:
        LOG.debug("attachments: not read (%s)", exc)
        return attached.NONE


def _flavors(
    api: ComputeAPI, servers: Sequence[Server], known: Mapping[str, Flavor]
) -> dict[str, Flavor]:
    """Flavors Nova did not embed (before 2.47), by id: those known, and
    the others read."""
    wanted = {s.flavor_id for s in servers if s.flavor is None and s.flavor_id}
    found = {fid: known[fid] for fid in wanted & set(known)}
    if not wanted - set(found):
        return found
    try:
        return found | api.flavors(wanted - set(found))
    except ComputeAPIError as exc:
        LOG.debug("flavors %s: not known (%s)", sorted(wanted), exc)
        return found


def _images(api: ComputeAPI, servers: Sequence[Server]) -> dict[str, Image]:
    wanted = {s.image_id for s in servers if s.image_id}
    if not wanted:
        return {}
    try:
        return api.images(wanted)
    except ComputeAPIError as exc:
        # Only a vTPM in an image goes unseen: Nova then refuses it.
        LOG.debug("images: not known (%s)", exc)
        return {}
