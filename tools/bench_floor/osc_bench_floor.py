"""``openstack bench floor <host>``: the least an OSC command can do to
evacuate a host, for osc-evacuate's benchmark (tools/bench.py's "osc
floor" way).

Through OSC's own authenticated session and the compute endpoint of the
catalog, it does what the benchmark's raw sequential way does
(tools/bench_client.py raw --parallel 1), and what it needs to know the
ids: one ``GET /servers/detail?all_tenants=1&host=<host>``; the evacuate
POSTs one after another (compute 2.94, ``{"evacuate": {}}``); then one
``GET /os-migrations?source_compute=<host>&migration_type=evacuation``
each 0.5 s until every server's record is done. It prints nothing and
exits 0; its run ends when the process exits, as osc-evacuate's does.

It registers with OSC as a plugin (the ``openstack.cli.extension`` entry
point: the module attributes below) whose command group is
``openstack.bench_floor.v1``. It has no client of its own: the command
uses OSC's session.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from osc_lib.command import command

API_NAME = "bench_floor"
# OSC reads the version from this option of the cloud's configuration; no
# one sets it, and DEFAULT_API_VERSION picks the command group's v1.
API_VERSION_OPTION = "os_bench_floor_api_version"
DEFAULT_API_VERSION = "1"
API_VERSIONS = ("1",)

EVACUATE = "compute 2.94"  # as every way of the benchmark: ends ACTIVE
READ = "compute 2.80"  # as tools/bench_client.py reads
DONE = ("done", "completed")
FAILED = ("error", "failed")


def make_client(instance: Any) -> None:
    """No client: the command speaks through OSC's session."""
    return None


def build_option_parser(
    parser: argparse.ArgumentParser,
) -> argparse.ArgumentParser:
    """No global option."""
    return parser


class Floor(command.Command):
    """Evacuate every server of a host, doing the least an OSC command
    can: list them, evacuate them one after another, read the host's
    evacuation records until every one is done."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = super().get_parser(prog_name)
        parser.add_argument("host", help="the failed compute host")
        parser.add_argument(
            "--interval",
            type=float,
            default=0.5,
            help="seconds between reads of the records (default: 0.5)",
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> None:
        from keystoneauth1 import adapter

        manager = self.app.client_manager
        nova = adapter.Adapter(
            manager.session,
            service_type="compute",
            interface=manager.interface,
            region_name=manager.region_name,
        )
        host = parsed_args.host
        servers = get(
            nova, "/servers/detail", {"all_tenants": 1, "host": host}
        )["servers"]
        for server in servers:
            nova.post(
                f"/servers/{server['id']}/action",
                json={"evacuate": {}},
                headers={"OpenStack-API-Version": EVACUATE},
            )
        wait(nova, host, {s["id"] for s in servers}, parsed_args.interval)


def get(nova: Any, path: str, params: dict[str, Any]) -> Any:
    return nova.get(
        path, params=params, headers={"OpenStack-API-Version": READ}
    ).json()


def wait(nova: Any, host: str, wanted: set[str], interval: float) -> None:
    """One read of the host's evacuation records each interval, until
    every wanted server's is done (a failed one: an error)."""
    query = {"source_compute": host, "migration_type": "evacuation"}
    while True:
        records = get(nova, "/os-migrations", query)["migrations"]
        status = {
            m["instance_uuid"]: m["status"]
            for m in records
            if m["instance_uuid"] in wanted
        }
        failed = sorted(i for i, s in status.items() if s in FAILED)
        if failed:
            raise RuntimeError(f"evacuation failed: {', '.join(failed)}")
        if all(status.get(i) in DONE for i in wanted):
            return
        time.sleep(interval)
