"""The benchmark's own clients (tools/bench.py runs each as a process, so
that its CPU time and memory are measured like a CLI's):

- ``poll``: what an operator scripts after ``nova host-evacuate`` or a loop
  of ``openstack server evacuate``: one GET per server still on its way,
  once a second, until every server has left the host with no task under
  way;
- ``raw``: the floor, the least a client can send: the evacuate POSTs
  (``--parallel`` at a time, 1 for one after another), then one read of
  the host's evacuation records per interval until every one is done.

Both print one JSON object: when each poll round began (time.monotonic(),
which the sandbox's request log also reads), and when the last server was
seen done.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import sys
import time
from typing import Any

import requests

READ = "compute 2.80"


class Nova:
    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/") + "/v2.1"
        self.session = requests.Session()
        self.session.headers.update(
            {"X-Auth-Token": token, "Accept": "application/json"}
        )

    def get(self, path: str, **params: Any) -> Any:
        resp = self.session.get(
            self.url + path,
            params=params,
            headers={"OpenStack-API-Version": READ},
            timeout=60,
        )
        resp.raise_for_status()
        return resp.json()

    def evacuate(self, server_id: str, version: str) -> None:
        resp = self.session.post(
            f"{self.url}/servers/{server_id}/action",
            json={"evacuate": {}},
            headers={"OpenStack-API-Version": f"compute {version}"},
            timeout=60,
        )
        resp.raise_for_status()


def poll(nova: Nova, source: str, ids: list[str], interval: float) -> Any:
    rounds, waiting = [], set(ids)
    while waiting:
        rounds.append(time.monotonic())
        for sid in sorted(waiting):
            server = nova.get(f"/servers/{sid}")["server"]
            moved = server.get("OS-EXT-SRV-ATTR:host") != source
            idle = server.get("OS-EXT-STS:task_state") is None
            if moved and idle and server["status"] in ("ACTIVE", "SHUTOFF"):
                waiting.discard(sid)
        if waiting:
            time.sleep(interval)
    return {"rounds": rounds, "done_at": time.monotonic()}


def raw(
    nova: Nova,
    source: str,
    ids: list[str],
    parallel: int,
    interval: float,
    version: str,
) -> Any:
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
        list(pool.map(lambda sid: nova.evacuate(sid, version), ids))
    submitted = time.monotonic()
    rounds, wanted = [], set(ids)
    while True:
        rounds.append(time.monotonic())
        records = nova.get(
            "/os-migrations",
            source_compute=source,
            migration_type="evacuation",
        )["migrations"]
        done = {
            m["instance_uuid"]
            for m in records
            if m["status"] in ("done", "completed")
        }
        if wanted <= done:
            break
        time.sleep(interval)
    return {
        "rounds": rounds,
        "done_at": time.monotonic(),
        "submit_seconds": submitted - started,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["poll", "raw"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True, help="a Keystone token")
    parser.add_argument("--source", required=True)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--microversion", default="2.94")
    parser.add_argument("ids", nargs="+")
    args = parser.parse_args()
    nova = Nova(args.url, args.token)
    if args.mode == "poll":
        out = poll(nova, args.source, args.ids, args.interval)
    else:
        out = raw(
            nova,
            args.source,
            args.ids,
            args.parallel,
            args.interval,
            args.microversion,
        )
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
