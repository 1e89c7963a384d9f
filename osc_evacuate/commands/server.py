"""openstack server evacuate <server> (replaces OSC's, a superset of it)

Its result is one server: our columns (what was done, and what proves it),
then stock OSC's columns of the server as it is after the evacuation
(osc_columns.py), so that scripts written for OSC's command keep working.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from osc_evacuate.commands import (
    base,
    exit_codes,
    options,
    osc_columns,
    plan_view,
)
from osc_evacuate.core.errors import ComputeAPIError

if TYPE_CHECKING:
    from osc_evacuate.core.api import ComputeAPI
    from osc_evacuate.core.host_lock import Claim
    from osc_evacuate.core.journal import Journal
    from osc_evacuate.core.models import (
        Plan,
        Request,
        ServerDetail,
        ServerOutcome,
    )

LOG = logging.getLogger(__name__)


class EvacuateServer(base.ShowOne):
    _description = (
        "Evacuate a server to a different host.\n\n"
        "This command is used to recreate a server after the host it was on "
        "has failed. It can only be used if the compute service that "
        "manages the server is down. This command should only be used by an "
        "admin after they have confirmed that the instance is not running "
        "on the failed host.\n\n"
        "If the server instance was created with an ephemeral root disk on "
        "non-shared storage the server will be rebuilt using the original "
        "glance image preserving the ports and any attached data volumes.\n"
        "\nIf the server uses boot for volume or has its root disk on shared "
        "storage the root disk will be preserved and reused for the "
        "evacuated instance on the new host."
    )

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "server",
            metavar="<server>",
            help="Server (name or ID)",
        )
        parser.add_argument(
            "--host",
            metavar="<host>",
            default=None,
            help=(
                "Set the preferred host on which to rebuild the evacuated "
                "server. The host will be validated by the scheduler "
                "unless --force. (supported by --os-compute-api-version "
                "2.29 or above)"
            ),
        )
        secret = parser.add_mutually_exclusive_group()
        secret.add_argument(
            "--password",
            metavar="<password>",
            type=options.Secret,
            default=None,
            help=(
                "Set the password on the evacuated instance. This option is "
                "mutually exclusive with the --shared-storage option. "
                "This option requires cloud support."
            ),
        )
        options.add_shared_storage(secret)
        options.add_force(parser, "--host")
        options.add_wait_options(parser)
        options.add_plan_options(parser)
        return parser

    def destination(self, parsed_args: argparse.Namespace) -> str | None:
        host: str | None = parsed_args.host
        return host

    def password(self, parsed_args: argparse.Namespace) -> str | None:
        secret: options.Secret | None = parsed_args.password
        return secret

    def claim(self, plan: Plan) -> Claim:
        """Its host shared, so that runs for its other servers go on
        beside this one; the server for this run alone."""
        from osc_evacuate.core.host_lock import Claim

        servers = tuple(r.id for r in plan.rows)
        return Claim(plan.sources, servers, shared=True)

    def plan(
        self,
        parsed_args: argparse.Namespace,
        api: ComputeAPI,
        request: Request,
        journal: Journal,
    ) -> Plan:
        from osc_evacuate.core import server_plan

        name = parsed_args.server
        return server_plan.plan_server(api, name, request, self.clock, journal)

    def take_action(
        self, parsed_args: argparse.Namespace
    ) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        LOG.debug("evacuate server %s", parsed_args.server)
        ran = self.evacuate(parsed_args)
        if ran.report is None:
            return show_plan(ran.plan)
        (row,) = ran.report.rows
        self.exit_code = exit_codes.exit_code([row], ran.report.interrupted)
        shown = Shown()
        if not ran.report.interrupted:
            api = self.app.client_manager.evacuate
            shown = read_back(api, row)
            if row.after is None and shown.detail is not None:
                row = dataclasses.replace(row, after=shown.detail.server)
        return show(row, shown, parsed_args.password is None)


@dataclasses.dataclass(frozen=True)
class Shown:
    """The server as it is after the run, for stock OSC's columns."""

    detail: ServerDetail | None = None
    image_name: str | None = None


def read_back(api: ComputeAPI, row: ServerOutcome) -> Shown:
    """The server as it is now, and its image's name; empty where Nova or
    Glance won't say.

    The evacuation was sent by then: a failed read must not turn into
    exit 1, which says nothing was evacuated.
    """
    LOG.debug("read %s back as it is now", row.before.id)
    try:
        detail = api.show_server(row.before.id)
    except ComputeAPIError as exc:
        LOG.warning(
            "the evacuation of %s was sent, but reading the server back "
            "failed: %s",
            row.before.id,
            exc,
        )
        return Shown()
    if detail is None:
        return Shown()
    image = osc_columns.image_id(detail.body)
    if image is None:
        return Shown(detail)
    try:
        found = api.images([image]).get(image)
    except ComputeAPIError as exc:
        # Stock OSC shows the id alone then, too.
        LOG.debug("image %s: its name not known: %s", image, exc)
        found = None
    return Shown(detail, found.name if found else None)


def show_plan(plan: Plan) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """The plan for the server: a run's fields, as a run would leave them,
    then the plan's own."""
    (planned,) = plan.rows
    row = plan_view.as_run(planned)
    names, values = show(row, Shown(), reveal_password=False)
    shown = dict(zip(names, values, strict=True))
    shown.update(Action=plan_view.action(row), Result=plan_view.result(row))
    return (
        (*shown, *plan_view.PLAN_COLUMNS),
        (*shown.values(), *plan_view.plan_values(plan, row)),
    )


def show(
    row: ServerOutcome, shown: Shown, reveal_password: bool
) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    now = row.after or row.before
    fields: list[tuple[str, Any]] = [
        ("ID", row.before.id),
        ("Name", now.name),
        ("Project", now.project_id),
        ("Status", now.status),
        ("Task State", now.task_state),
        ("Host", now.host),
        ("Status Before", row.before.status),
        ("Source Host", row.before.host),
        ("Action", row.action.value),
        ("Migration Status", row.migration.status if row.migration else None),
        ("Destination", row.destination),
        ("Result", row.result.value),
        ("Error", row.error),
        ("Seconds", row.seconds),
        ("Request ID", row.request_id),
    ]
    # Nova generates a password before 2.14; one the user gave is not shown.
    if row.admin_pass and reveal_password:
        LOG.debug("showing the password Nova generated")
        fields.append(("Admin Password", row.admin_pass))
    if shown.detail is not None:
        fields += osc_columns.stock_fields(
            shown.detail.body, shown.image_name, [n for n, _ in fields]
        )
    names, values = zip(*fields, strict=True)
    return names, values
