"""The reads beside the servers and their records that the plan makes:
the servers' flavors (two requests a flavor: Nova shows extra specs
apart), their images in Glance (for a vTPM in their properties) and each
compute node's free room in Placement (for the capacity check). A number
of requests that grows with the flavors and images, never the servers.
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Iterable, Mapping

from osc_evacuate.core import parse
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.microversion import Microversion
from osc_evacuate.core.models import Aggregate, Flavor, Image, Room
from osc_evacuate.core.models.cloud import ServerGroup
from osc_evacuate.core.rules import features
from osc_evacuate.core.transport import Transport

LOG = logging.getLogger(__name__)

# Image ids per Glance list request (id=in:a,b,...): the URL stays short.
IMAGES_PER_REQUEST = 100


def flavors(
    nova: Transport, version: Microversion, flavor_ids: Iterable[str]
) -> dict[str, Flavor]:
    """Nova's flavors of these ids, with their extra specs; a flavor
    deleted since is left out."""
    found = {}
    for fid in sorted(set(flavor_ids)):
        quoted = urllib.parse.quote(fid)
        try:
            raw = nova.get(f"/flavors/{quoted}", version)["flavor"]
            # Nova routes it with an underscore.
            specs = nova.get(f"/flavors/{quoted}/os-extra_specs", version)
        except ComputeAPIError as exc:
            if exc.status != 404:
                raise
            LOG.debug("flavor %s: gone (%s)", fid, exc)
            continue
        raw = {**raw, "extra_specs": specs.get("extra_specs") or {}}
        found[fid] = parse.flavor(raw, raw.get("name") or "")
    return found


def images(glance: Transport, image_ids: Iterable[str]) -> dict[str, Image]:
    """Glance's images of these ids, a request per hundred ids."""
    wanted = sorted(set(image_ids))
    found: dict[str, Image] = {}
    for start in range(0, len(wanted), IMAGES_PER_REQUEST):
        chunk = wanted[start : start + IMAGES_PER_REQUEST]
        query: dict[str, object] = {
            "id": "in:" + ",".join(chunk),
            "limit": len(chunk),
        }
        body = glance.get("/v2/images", None, **query)
        for raw in body.get("images") or []:
            found[raw["id"]] = parse.image(raw)
    LOG.debug("images: %d asked, %d found", len(wanted), len(found))
    return found


def rooms(
    placement: Transport, smallest: Mapping[str, int]
) -> dict[str, Room] | None:
    """Placement's free room of every compute node that can take the
    smallest demand, by node name, each class summed over the node's
    provider tree; None when Placement cannot be read."""
    wanted = ",".join(f"{rc}:{n}" for rc, n in smallest.items() if n)
    version = features.PROVIDER_SUMMARIES.first
    try:
        providers = placement.get("/resource_providers", version)
        candidates = placement.get(
            "/allocation_candidates", version, resources=wanted
        )
    except ComputeAPIError as exc:
        LOG.debug("Placement cannot be read: %s", exc)
        return None
    listed = providers.get("resource_providers") or []
    names = {p["uuid"]: p["name"] for p in listed}
    roots = {
        p["uuid"]: p.get("root_provider_uuid") or p["uuid"] for p in listed
    }
    found: dict[str, dict[str, tuple[float, float]]] = {}
    summaries = candidates.get("provider_summaries") or {}
    for uuid, summary in summaries.items():
        root = summary.get("root_provider_uuid") or roots.get(uuid, uuid)
        name = names.get(root)
        if name is None:
            LOG.debug("Placement: provider %s of no known tree", uuid)
            continue
        into = found.setdefault(name, {})
        for rc, v in (summary.get("resources") or {}).items():
            total, used = into.get(rc, (0.0, 0.0))
            into[rc] = (total + float(v["capacity"]), used + float(v["used"]))
    LOG.debug(
        "Placement: %d providers, %d nodes with room for %s",
        len(names),
        len(found),
        wanted,
    )
    return {name: Room(node=name, resources=r) for name, r in found.items()}


# -- What --evacuable-mark reads: the cloud's flavors, images, aggregates --


def all_flavors(nova: Transport, version: Microversion) -> list[Flavor]:
    """Every flavor, public and private, with its extra specs (in the
    list from 2.61; before, a request per flavor)."""
    raws = list(
        nova.pages(
            "/flavors/detail",
            version,
            "flavors",
            marker_field="id",
            query={"is_public": "None"},
        )
    )
    if not features.FLAVOR_EXTRA_SPECS.covers(version):
        for raw in raws:
            quoted = urllib.parse.quote(str(raw["id"]))
            specs = nova.get(f"/flavors/{quoted}/os-extra_specs", version)
            raw["extra_specs"] = specs.get("extra_specs") or {}
    LOG.debug("flavors: %d", len(raws))
    return [parse.flavor(raw, raw.get("name") or "") for raw in raws]


def all_images(glance: Transport) -> list[Image]:
    """Every image Glance shows, a page at a time (its "next" link)."""
    found: list[Image] = []
    query: dict[str, object] = {"limit": IMAGES_PER_REQUEST}
    while True:
        body = glance.get("/v2/images", None, **query)
        page = [parse.image(raw) for raw in body.get("images") or []]
        found.extend(page)
        if not page or not body.get("next"):
            LOG.debug("images: %d", len(found))
            return found
        query = {"limit": IMAGES_PER_REQUEST, "marker": page[-1].id}


def aggregates(nova: Transport, version: Microversion) -> list[Aggregate]:
    """Every host aggregate, with its hosts and metadata (one request)."""
    body = nova.get("/os-aggregates", version)
    return [parse.aggregate(raw) for raw in body.get("aggregates") or []]


def server_groups(nova: Transport, version: Microversion) -> list[ServerGroup]:
    """Every server group of every project. Nova pages them by offset,
    max_limit (1000) at most: an empty page ends the list (or one seen
    already: an offset ignored)."""
    found: dict[str, ServerGroup] = {}
    while True:
        body = nova.get(
            "/os-server-groups", version, all_projects=True, offset=len(found)
        )
        page = [
            parse.server_group(raw) for raw in body.get("server_groups") or []
        ]
        if not page or page[0].id in found:
            LOG.debug("%d server groups", len(found))
            return list(found.values())
        found.update((group.id, group) for group in page)
