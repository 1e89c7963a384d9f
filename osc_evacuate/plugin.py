"""OpenStackClient plugin module (entry point openstack.cli.extension).

OSC imports this on every `openstack` run, so it imports nothing heavy: the
transport (core.nova, core.transport and keystoneauth's adapter) is loaded
only when one of our commands asks OSC for the client.

It is imported before OSC logs anything: when the command line is our
``server evacuate`` with --password, that is when the values are taken out
of OSC's log of the command line (see redact.py). Any other command's
logging is left as it is.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from typing import TYPE_CHECKING, Any

from osc_evacuate import redact

if TYPE_CHECKING:
    from osc_evacuate.core.nova import NovaComputeAPI

LOG = logging.getLogger(__name__)

redact.install(sys.argv[1:], sys.argv[0])

# Not "compute": that name is OSC's own. Our commands speak to Nova's compute
# API and honour --os-compute-api-version, so there is no version of ours.
API_NAME = "evacuate"
API_VERSION_OPTION = "os_evacuate_api_version"
DEFAULT_API_VERSION = "1"
API_VERSIONS = ("1",)


def make_client(instance: Any) -> NovaComputeAPI:
    """The compute API (and the image and placement reads) on OSC's
    keystoneauth session, at the endpoints the configuration overrides."""
    from osc_evacuate.core import defaults
    from osc_evacuate.core.attached_reads import SERVICE_TYPES
    from osc_evacuate.core.nova import NovaComputeAPI

    config = instance.get_configuration()
    override = config.get("compute_endpoint_override")
    image = config.get("image_endpoint_override")
    placement = config.get("placement_endpoint_override")
    LOG.debug(
        "Compute API: region %s, interface %s, endpoint %s; images %s; "
        "placement %s",
        instance.region_name,
        instance.interface,
        override or "from the catalog",
        image or "from the catalog",
        placement or "from the catalog",
    )
    pool_connections(instance.session, defaults.CONNECTIONS)
    api = NovaComputeAPI(
        session=instance.session,
        region_name=instance.region_name,
        interface=instance.interface,
        endpoint_override=override,
        image_endpoint_override=image,
        placement_endpoint_override=placement,
        endpoint_overrides={
            kind: config.get(key) for kind, key in SERVICE_TYPES.items()
        },
    )
    _freeze_start_up_heap()
    return api


def pool_connections(session: Any, connections: int) -> None:
    """Keep that many connections to each host on OSC's keystoneauth
    session, where it keeps requests' ten: a run's sends and polls beside
    them are more at once (--max-parallel up to 32), and past its pool
    urllib3 opens a connection it then discards, with a warning on
    stderr for each. keystoneauth's own adapter, its TLS settings kept;
    an adapter of anyone else's is left as it is."""
    from keystoneauth1.session import TCPKeepAliveAdapter

    http = session.session  # the requests.Session under keystoneauth's
    for scheme, adapter in list(http.adapters.items()):
        if type(adapter) is not TCPKeepAliveAdapter:
            LOG.debug("%s: %s left as it is", scheme, type(adapter).__name__)
            continue
        # Its TLS settings, where this keystoneauth has them.
        tls = {
            name: getattr(adapter, name)
            for name in ("tls_ciphers", "tls_min_version")
            if hasattr(adapter, name)
        }
        http.mount(
            scheme, TCPKeepAliveAdapter(pool_maxsize=connections, **tls)
        )
        LOG.debug("%s: %d connections kept to each host", scheme, connections)


def _freeze_start_up_heap() -> None:
    """Leave OSC's start-up objects out of every garbage collection from
    here on (gc.freeze): its 2000 modules are kept to the end anyway.
    Without it each full collection of the run, and the interpreter's
    at exit, walks them all: about 0.3 s of every command's exit on the
    benchmark's machine. Once per process, as OSC builds the client
    once: in OSC's interactive shell the later commands' garbage is
    collected as usual."""
    gc.freeze()
    LOG.debug(
        "%d start-up objects left out of collections", gc.get_freeze_count()
    )


def build_option_parser(
    parser: argparse.ArgumentParser,
) -> argparse.ArgumentParser:
    """No global option of our own: the compute pin is OSC's."""
    return parser
