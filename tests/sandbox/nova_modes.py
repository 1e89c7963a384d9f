"""Modes of the sandbox's Nova a test can turn on: cell1 down (Nova's
DownCellFixture), and an older Nova's maximum microversion.

Import it only from the sandbox process (see cloud.py): it imports nova.
"""

from __future__ import annotations

import logging

from nova import exception as nova_exception
from nova.api.openstack import api_version_request
from nova.api.openstack.compute import versions as nova_versions
from nova.tests import fixtures as nova_fixtures

from tests.sandbox.cloud_base import CloudBase

LOG = logging.getLogger("sandbox.cloud")

# Nova's own newest compute microversion, before any cap.
NOVA_MAX_MICROVERSION: str = api_version_request._MAX_API_VERSION

# The cell that holds every compute (test.TestCase's CELL1_NAME).
COMPUTE_CELL = "cell1"


class NovaModes(CloudBase):
    """A down cell, and a cap on the compute API's microversion."""

    def cell_down(self) -> bool:
        return self._down_cell is not None

    def set_cell_down(self, down: bool) -> bool:
        """Take cell1, which holds every compute, down or up again.

        While down, every cell1 database access through Nova's cell
        targeting fails (as when its database is unreachable): os-services
        lists cell1's computes without ``id`` from 2.69 and leaves them out
        before; server lists and the scheduler lose cell1 too. Heartbeats
        go on (they do not target a cell).
        """
        with self._lock:
            if down and self._down_cell is None:
                fixture = nova_fixtures.DownCellFixture(
                    [self.case.cell_mappings[COMPUTE_CELL]]
                )
                fixture.setUp()
                self._down_cell = fixture
                LOG.info("sandbox: %s is down", COMPUTE_CELL)
            elif not down and self._down_cell is not None:
                self._down_cell.cleanUp()
                self._down_cell = None
                LOG.info("sandbox: %s is up again", COMPUTE_CELL)
        return self.cell_down()

    # The compute API's maximum microversion.
    def max_microversion(self) -> str | None:
        """The cap in force, None when the API is Nova's own."""
        current: str = api_version_request._MAX_API_VERSION
        return None if current == NOVA_MAX_MICROVERSION else current

    def set_max_microversion(self, version: str | None) -> str | None:
        """Play an older Nova: ``version`` becomes the maximum that Nova's
        own code reports (GET / and /v2.1/), accepts, and gives for
        ``latest``; None puts Nova's own back. ValueError if ``version``
        is not a microversion Nova 34 has."""
        value = NOVA_MAX_MICROVERSION
        if version is not None:
            try:
                wanted = api_version_request.APIVersionRequest(version)
            except nova_exception.InvalidAPIVersionString:
                raise ValueError(
                    f"{version!r} is not a microversion like 2.60"
                ) from None
            if not wanted.matches(
                api_version_request.min_api_version(),
                api_version_request.APIVersionRequest(NOVA_MAX_MICROVERSION),
            ):
                raise ValueError(
                    f"{version} is outside 2.1..{NOVA_MAX_MICROVERSION}"
                )
            value = wanted.get_string()
        if value != api_version_request._MAX_API_VERSION:
            # max_api_version() reads this global at every request; the
            # version documents are built from VERSIONS at every request.
            api_version_request._MAX_API_VERSION = value
            nova_versions.VERSIONS["v2.1"]["version"] = value
            LOG.info("sandbox: compute API maximum microversion: %s", value)
        return self.max_microversion()
