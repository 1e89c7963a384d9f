"""``python -m tests.sandbox --state-dir DIR``: run the sandbox cloud.

Prints ``SANDBOX READY <base-url>`` on stdout once it serves, writes
DIR/clouds.yaml, DIR/sandbox.json and logs to DIR/sandbox.log (Keystone,
a process of its own, to DIR/keystone/keystone.log). Stops on SIGTERM,
SIGINT or ``POST /_sandbox/shutdown``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# Neither imports nova (see main) nor keystone.
from tests.sandbox import identity
from tests.sandbox.accounts import DEFAULT_TOKEN_LIFETIME


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.sandbox")
    parser.add_argument("--state-dir", required=True, type=Path)
    parser.add_argument("--computes", type=int, default=3)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--driver",
        default="fake.FakeDriver",
        help="virt driver (fake.MediumFakeDriver holds 15 m1.tiny a host)",
    )
    parser.add_argument(
        "--parent-pid",
        type=int,
        default=None,
        help="exit when this process is gone (the test runner)",
    )
    parser.add_argument(
        "--token-lifetime",
        type=int,
        default=DEFAULT_TOKEN_LIFETIME,
        help="seconds a Keystone token is valid (Keystone's [token] "
        "expiration; 60 makes clients log in again during a long wait)",
    )
    parser.add_argument(
        "--debug", action="store_true", help="DEBUG logging (large)"
    )
    return parser.parse_args(argv)


def prepare_environment(state_dir: Path) -> None:
    """Set what Nova reads at import time; call before importing nova."""
    # Eventlet mode: the threading mode deadlocks with in-process services.
    os.environ["OS_NOVA_DISABLE_EVENTLET_PATCHING"] = "0"
    # oslotest would otherwise kill the "test" after its timeout.
    os.environ.pop("OS_TEST_TIMEOUT", None)
    # The test fixtures create temporary files and directories: keep them
    # in the state directory.
    tmp = state_dir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    os.environ["TMPDIR"] = str(tmp)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    state_dir: Path = args.state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    prepare_environment(state_dir)

    # Keystone first, in its own process: it gets ready while this one
    # imports and starts Nova. Its catalog needs the sandbox's URL, so
    # the sandbox's socket is bound now.
    listener = identity.listen(args.port)
    keystone = identity.Keystone(
        state_dir, identity.url_of(listener), args.token_lifetime
    )
    keystone.start()

    # The first nova import must be nova.tests.functional: it applies the
    # eventlet monkey-patching before anything else is loaded.
    import nova.tests.functional  # noqa: F401

    from tests.sandbox import server

    return server.run(
        state_dir=state_dir,
        computes=args.computes,
        listener=listener,
        keystone=keystone,
        driver=args.driver,
        parent_pid=args.parent_pid,
        debug=args.debug,
    )


if __name__ == "__main__":
    sys.exit(main())
