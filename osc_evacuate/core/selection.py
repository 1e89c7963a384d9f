"""Which servers the filters that need more than the server itself let
through: --exclude-image (its image, by name or id) and --evacuable-mark
(InstanceHA's evacuable tag on flavors, images and host aggregates).

The mark, as InstanceHA reads it:

- flavors and images, fail-open: while no flavor or image of the cloud
  carries the mark, it lets every server through; once one does, only a
  server whose flavor or image carries it;
- aggregates, fail-closed: only a server whose host is in an aggregate
  that carries the mark.

Each row says which mark let it in (selected_by), or which filter left it
out (skipped). Pure: the cloud's marks come in as a MarkScene, read by
selection_reads.py.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence

from osc_evacuate.core.models import (
    Action,
    Aggregate,
    EvacuableMark,
    Flavor,
    Image,
    MarkPlace,
    PlannedRow,
    Server,
    ServerFilter,
)
from osc_evacuate.core.plan import skipped

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class MarkScene:
    """Where the cloud carries the mark: whether any flavor and any image
    does, and its aggregates (those the mark is looked for on)."""

    flavors_marked: bool = False
    images_marked: bool = False
    aggregates: tuple[Aggregate, ...] = ()


@dataclasses.dataclass(frozen=True)
class Seen:
    """What the plan read of one server: its flavor and image."""

    flavor: Flavor | None
    image: Image | None


def by_image(
    exclude: frozenset[str], server: Server, image: Image | None
) -> str | None:
    """Why --exclude-image leaves the server out (its image's id or
    name), or None."""
    if server.image_id and server.image_id in exclude:
        return f"excluded by --exclude-image {server.image_id}"
    if image is not None and image.name in exclude:
        return f"excluded by --exclude-image {image.name}"
    return None


def _flavor_or_image(
    mark: EvacuableMark, seen: Seen, scene: MarkScene
) -> tuple[bool, str]:
    """The fail-open half: (let through, why)."""
    places = mark.places
    looked = [
        p.value for p in (MarkPlace.FLAVOR, MarkPlace.IMAGE) if p in places
    ]
    anywhere = (MarkPlace.FLAVOR in places and scene.flavors_marked) or (
        MarkPlace.IMAGE in places and scene.images_marked
    )
    if not anywhere:
        return True, f"no {' or '.join(looked)} of the cloud carries {mark}"
    carriers = []
    flavor, image = seen.flavor, seen.image
    if (
        MarkPlace.FLAVOR in places
        and flavor
        and mark.carried_by(flavor.extra_specs)
    ):
        carriers.append(f"flavor {flavor.name}".rstrip())
    if (
        MarkPlace.IMAGE in places
        and image
        and mark.carried_by(image.properties)
    ):
        carriers.append(f"image {image.name or image.id}")
    if not carriers:
        verb = "carry" if len(looked) > 1 else "carries"
        return False, f"its {' and '.join(looked)} {verb} no {mark}"
    return True, f"{' and '.join(carriers)} carries {mark}"


def _aggregate(
    mark: EvacuableMark, host: str | None, scene: MarkScene
) -> tuple[bool, str]:
    """The fail-closed half: (let through, why)."""
    carriers = sorted(
        a.name
        for a in scene.aggregates
        if host in a.hosts and mark.carried_by(a.metadata)
    )
    if not carriers:
        return False, f"{host} is in no aggregate that carries {mark}"
    return True, f"aggregate {', '.join(carriers)} carries {mark}"


def by_mark(
    mark: EvacuableMark, server: Server, seen: Seen, scene: MarkScene
) -> tuple[bool, str]:
    """Whether the mark lets the server through, and why, in words."""
    said = []
    if mark.places & {MarkPlace.FLAVOR, MarkPlace.IMAGE}:
        ok, why = _flavor_or_image(mark, seen, scene)
        if not ok:
            return False, why
        said.append(why)
    if MarkPlace.AGGREGATE in mark.places:
        ok, why = _aggregate(mark, server.host, scene)
        if not ok:
            return False, why
        said.append(why)
    return True, "; ".join(said)


def select(
    rows: Sequence[PlannedRow],
    filters: ServerFilter,
    seen: Mapping[str, Seen],
    scene: MarkScene | None,
) -> list[PlannedRow]:
    """The rows, those to send judged by --exclude-image and the mark:
    skipped with the filter that left them out, or said let in."""
    out = []
    for row in rows:
        if row.action is not Action.SUBMITTED:
            out.append(row)
            continue
        what = seen.get(row.id, Seen(None, None))
        why = by_image(filters.exclude_images, row.before, what.image)
        if why is None and filters.mark is not None:
            assert scene is not None  # read with the mark
            ok, said = by_mark(filters.mark, row.before, what, scene)
            if ok:
                LOG.debug("%s: let in: %s", row.id, said)
                out.append(dataclasses.replace(row, selected_by=said))
                continue
            why = f"excluded by --evacuable-mark {filters.mark}: {said}"
        if why is not None:
            LOG.debug("%s: %s", row.id, why)
            out.append(skipped(row, why, filtered=True))
        else:
            out.append(row)
    return out
