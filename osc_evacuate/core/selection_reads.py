"""What the filters that need more than the server read before they
judge (selection.py): the servers' images and flavors, and, with
--evacuable-mark, where the cloud carries the mark.

Read only when such a filter is given, and at plan time only: the
cloud's flavors and images a page at a time, its aggregates at once. A
read that fails refuses the run: which servers the mark lets through
cannot be judged without it, and neither guess is safe.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from osc_evacuate.core import selection
from osc_evacuate.core.api import ComputeAPI
from osc_evacuate.core.errors import ComputeAPIError, Refused
from osc_evacuate.core.models import (
    Action,
    EvacuableMark,
    MarkPlace,
    PlannedRow,
    ServerFilter,
)

LOG = logging.getLogger(__name__)


def select(
    api: ComputeAPI, rows: Sequence[PlannedRow], filters: ServerFilter
) -> list[PlannedRow]:
    """The rows, judged by --exclude-image and --evacuable-mark."""
    if not filters.by_reads:
        return list(rows)
    todo = [r.before for r in rows if r.action is Action.SUBMITTED]
    try:
        missing = {
            s.flavor_id for s in todo if s.flavor is None and s.flavor_id
        }
        flavors = api.flavors(missing) if missing else {}
        wanted = {s.image_id for s in todo if s.image_id}
        images = api.images(wanted) if wanted else {}
        scene = _scene(api, filters.mark) if filters.mark else None
    except ComputeAPIError as exc:
        raise Refused(
            f"the servers' images, flavors or the cloud's marks cannot be "
            f"read, so the filters cannot be judged: {exc}"
        ) from exc
    seen = {
        s.id: selection.Seen(
            s.flavor or flavors.get(s.flavor_id or ""),
            images.get(s.image_id or ""),
        )
        for s in todo
    }
    return selection.select(rows, filters, seen, scene)


def _scene(api: ComputeAPI, mark: EvacuableMark) -> selection.MarkScene:
    """Where the cloud carries the mark, read only where it is looked
    for."""
    places = mark.places
    flavors = MarkPlace.FLAVOR in places and any(
        mark.carried_by(f.extra_specs) for f in api.all_flavors()
    )
    images = MarkPlace.IMAGE in places and any(
        mark.carried_by(i.properties) for i in api.all_images()
    )
    aggregates = (
        tuple(api.aggregates()) if MarkPlace.AGGREGATE in places else ()
    )
    LOG.debug(
        "%s: on a flavor: %s, on an image: %s; aggregates carrying it: %s",
        mark,
        flavors,
        images,
        [a.name for a in aggregates if mark.carried_by(a.metadata)],
    )
    return selection.MarkScene(flavors, images, aggregates)
