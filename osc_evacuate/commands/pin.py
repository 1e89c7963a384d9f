"""The compute microversion the user pinned, read from OSC's settings.

--os-compute-api-version (or OS_COMPUTE_API_VERSION) is OSC's own option;
we honour it rather than add one. "2" and "2.0" are OSC's ways of saying
"no particular microversion", so they pin nothing and the core picks the
newest one the options allow.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from osc_lib import exceptions

if TYPE_CHECKING:
    from osc_evacuate.core.api import ComputeAPI
    from osc_evacuate.core.microversion import Microversion

LOG = logging.getLogger(__name__)

OPTION = "--os-compute-api-version"
UNPINNED = frozenset({"", "2", "2.0"})
LATEST = "2.latest"


def pinned_version(
    config: Mapping[str, object], api: ComputeAPI
) -> Microversion | None:
    """The pin, or None; "2.latest" asks the cloud for its newest."""
    value = config.get("compute_api_version")
    text = None if value is None else str(value).strip()
    if text is None or text in UNPINNED:
        LOG.debug("%s %r: no pin", OPTION, text)
        return None
    if text.lower() == LATEST:
        newest = api.version_range().maximum
        LOG.debug("%s %s: the cloud's newest, %s", OPTION, text, newest)
        return newest
    from osc_evacuate.core.microversion import Microversion

    try:
        version = Microversion.parse(text)
    except ValueError:
        raise exceptions.CommandError(
            f"{OPTION} {text} is not a compute microversion (expected 2.<n>)"
        ) from None
    LOG.debug("%s %s: pinned to %s", OPTION, text, version)
    return version
