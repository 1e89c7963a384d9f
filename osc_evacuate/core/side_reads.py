"""The reads of Glance and Placement the plan makes: the servers' images
(for a vTPM in their properties) and each provider's free room (for the
capacity check). A constant number of requests, whatever the servers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from osc_evacuate.core import parse
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.models import Image, Room
from osc_evacuate.core.rules import features
from osc_evacuate.core.transport import Transport

LOG = logging.getLogger(__name__)

# Image ids per Glance list request (id=in:a,b,...): the URL stays short.
IMAGES_PER_REQUEST = 100


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
    """Placement's free room of every resource provider that can take the
    smallest demand, by provider name; None when Placement cannot be read."""
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
    names = {
        p["uuid"]: p["name"] for p in providers.get("resource_providers") or []
    }
    found = {}
    summaries = candidates.get("provider_summaries") or {}
    for uuid, summary in summaries.items():
        name = names.get(uuid)
        if name is None:
            continue
        found[name] = Room(
            node=name,
            resources={
                rc: (float(v["capacity"]), float(v["used"]))
                for rc, v in (summary.get("resources") or {}).items()
            },
        )
    LOG.debug(
        "Placement: %d providers, %d with room for %s",
        len(names),
        len(found),
        wanted,
    )
    return found
