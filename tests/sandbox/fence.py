"""A fence agent for the sandbox's computes, in fence-agents' manner.

``python -m tests.sandbox.fence --url <sandbox> -o off -n compute01``
powers the compute off (its nova-compute stops, as on a dead host);
``-o status`` exits 0 when it runs, 2 when it is off (fence-agents'
convention), 1 when the sandbox does not answer; ``-o on`` starts it.
What it does is printed, as fence agents print ``Success: Powered OFF``
and ``Status: ON``. For --fence-command and --fence-check in tests and the
runbook: a real cloud's operator gives fence_ipmilan, fence_redfish...
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request

OFF, ON, STATUS = "off", "on", "status"
EXIT_ON, EXIT_FAILED, EXIT_OFF = 0, 1, 2


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.sandbox.fence")
    parser.add_argument("--url", required=True, help="the sandbox's base URL")
    parser.add_argument(
        "-o", "--action", choices=(OFF, ON, STATUS), default=OFF
    )
    parser.add_argument("-n", "--plug", required=True, help="the host")
    return parser.parse_args(argv)


def call(url: str, method: str, path: str) -> object:
    request = urllib.request.Request(
        f"{url}/_sandbox/{path}",
        method=method,
        data=b"" if method == "POST" else None,
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read() or b"null")


def running(url: str, host: str) -> bool | None:
    computes = call(url, "GET", "computes")
    assert isinstance(computes, list)
    for compute in computes:
        if compute["host"] == host:
            return bool(compute["running"])
    return None


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        state = running(args.url, args.plug)
        if state is None:
            print(f"Failed: no compute {args.plug}")
            return EXIT_FAILED
        if args.action == STATUS:
            print(f"Status: {'ON' if state else 'OFF'}")
            return EXIT_ON if state else EXIT_OFF
        wanted = args.action == ON
        if state != wanted:
            verb = "start" if wanted else "stop"
            call(args.url, "POST", f"computes/{args.plug}/{verb}")
    except (urllib.error.URLError, OSError) as exc:
        print(f"Failed: {exc}")
        return EXIT_FAILED
    print(f"Success: Powered {args.action.upper()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
