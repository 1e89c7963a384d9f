"""The drain job: carry out a drain's plan (drain_plan.plan_drain).

carry_out disables the hosts' nova-compute (so that the scheduler puts
nothing new there), sends a live or a cold migration for each row, and
with --wait proves every one (drain_verdict.py's table): a cold one is
confirmed once it is finished; a live one that fails is migrated cold
with --cold-fallback. What is drain's own is here: its requests (live or
cold, by the row), those handlers, the final read of the hosts (any
server still there, or arrived since, is a row of its own and a
failure), and what Ctrl-C does: abort the live migrations still under
way, where the microversion allows.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
from collections.abc import Mapping

from osc_evacuate.core import drain_verdict
from osc_evacuate.core.api import ComputeAPI, EvacuateResponse
from osc_evacuate.core.clock import Clock, SystemClock
from osc_evacuate.core.errors import ComputeAPIError, Refused
from osc_evacuate.core.journal import Journal
from osc_evacuate.core.microversion import Microversion
from osc_evacuate.core.models import (
    COLD_MIGRATION,
    LIVE_MIGRATION,
    Action,
    DrainOptions,
    DrainRequest,
    Method,
    Plan,
    PlannedRow,
    Report,
    Result,
    RetryPolicy,
    ServerOutcome,
)
from osc_evacuate.core.refusals import capacity_refusal
from osc_evacuate.core.retry import retrying
from osc_evacuate.core.rules import features, migrate
from osc_evacuate.core.run import JobRun, ProgressCallback
from osc_evacuate.core.submit import Sent, Submitter
from osc_evacuate.core.verdict import Kind
from osc_evacuate.core.waiter import Ending, Handler

LOG = logging.getLogger(__name__)

# Seconds that aborting live migrations may take after Ctrl-C.
ABORT_ON_INTERRUPT = 5.0
ABORTABLE = frozenset({"queued", "preparing", "running"})
LEFT = "still on the host when the drain ended"


@dataclasses.dataclass(frozen=True)
class DrainSubmission:
    """A drain's requests: os-migrateLive or migrate, by the row."""

    version: Microversion
    options: DrainOptions
    retry: RetryPolicy = dataclasses.field(default_factory=RetryPolicy)

    def send(self, api: ComputeAPI, row: ServerOutcome) -> EvacuateResponse:
        if row.method is Method.LIVE:
            body = migrate.live_body(self.version, self.options)
            return api.live_migrate(row.id, self.version, body)
        cold = migrate.cold_body(self.version, self.options)
        return api.migrate(row.id, self.version, cold)

    def record_type(self, row: ServerOutcome) -> str:
        return LIVE_MIGRATION if row.method is Method.LIVE else COLD_MIGRATION


def carry_out(
    api: ComputeAPI,
    plan: Plan,
    request: DrainRequest,
    clock: Clock | None = None,
    on_progress: ProgressCallback = lambda rows: None,
    journal: Journal | None = None,
) -> Report:
    """Refuse what does not fit, disable the hosts, then migrate and (with
    --wait) prove, and read the hosts once more."""
    why = capacity_refusal(plan, request.ignore_capacity)
    if why is not None:
        raise Refused(why)
    for change in plan.service_changes:
        assert plan.service_version is not None  # set with the changes
        LOG.debug("disabling %s: %s", change.host, change.request.body)
        api.update_service(plan.service_version, change.request)
    run = DrainRun(
        api, plan, request, clock or SystemClock(), on_progress, journal
    )
    try:
        polls = run.go()
    except KeyboardInterrupt:
        LOG.debug("interrupted: aborting live migrations under way")
        run.interrupted()
        return run.report(0, interrupted=True)
    return run.final_read(run.report(polls))


class DrainRun(JobRun):
    rules = drain_verdict.RULES
    record_types = (LIVE_MIGRATION, COLD_MIGRATION)
    noun = "migration"

    def __init__(
        self,
        api: ComputeAPI,
        plan: Plan,
        request: DrainRequest,
        clock: Clock,
        on_progress: ProgressCallback,
        journal: Journal | None,
    ) -> None:
        submission = DrainSubmission(plan.microversion, request.options)
        submitter = Submitter(
            api, submission, clock, request.max_parallel, journal
        )
        super().__init__(
            api, plan, request.wait, clock, on_progress, submitter
        )
        self.request = request

    def handlers(self) -> Mapping[Kind, Handler]:
        return {
            Kind.CONFIRM: self._confirm,
            Kind.FALLBACK: self._fall_back,
            Kind.RESUBMIT: self.send_again,
        }

    def _confirm(self, row: ServerOutcome) -> Ending | None:
        """confirmResize: a cold migration ends confirmed."""
        LOG.debug("confirming %s's cold migration", row.id)
        try:
            retrying(
                lambda: self.api.confirm_resize(row.id),
                self.clock,
                self.submitter.submission.retry,
            )
        except ComputeAPIError as exc:
            return Result.FAILED, f"confirmResize failed: {exc}"
        return None

    def _fall_back(self, row: ServerOutcome) -> Ending | None:
        """A live migration failed: migrate it cold, which stops and
        starts it again; the row says so."""
        why = row.migration.status if row.migration else "failed"
        record = row.migration.id if row.migration else "?"
        self.ledger.put(
            dataclasses.replace(
                row,
                method=Method.COLD,
                fell_back=f"live migration {record} {why}",
            )
        )
        return self.send_again(self.ledger[row.id])

    def sent(self, sent: Sent) -> Ending | None:
        """As any job; and with --cold-fallback, a live migration Nova
        refuses outright (before 2.34 its pre-checks answer 400) is sent
        again cold at once, the row saying so."""
        ending = super().sent(sent)
        row = self.ledger[sent.server_id]
        if not (
            ending is not None
            and sent.refused
            and self.request.cold_fallback
            and row.method is Method.LIVE
        ):
            return ending
        # Nova may keep a record of the refusal (in error): it is not the
        # cold migration's, which is told apart by being new.
        try:
            refused = retrying(
                lambda: self.api.migrations(
                    LIVE_MIGRATION,
                    source_host=row.before.host,
                    instance_uuid=row.id,
                ),
                self.clock,
                self.submitter.submission.retry,
            )
        except ComputeAPIError as exc:
            LOG.debug("%s: records not read, not migrated cold", row.id)
            return Result.FAILED, f"{sent.error}; not migrated cold: {exc}"
        LOG.debug("%s: live migration refused; migrating it cold", row.id)
        self.ledger.put(
            dataclasses.replace(
                row,
                set_aside=frozenset(m.id for m in refused),
                method=Method.COLD,
                fell_back=f"live migration refused: {sent.error}",
            )
        )
        again = self.submitter.send(
            self.ledger[row.id], self.ledger[row.id].known_migrations
        )
        return None if again is None else self.sent(again)

    def interrupted(self) -> None:
        """Ctrl-C: say what it left each row at; ask Nova to abort the
        live migrations still under way (2.24+; queued ones from 2.65),
        at the run's microversion (a pin holds here too), waiting at most
        ABORT_ON_INTERRUPT seconds for its answers."""
        super().interrupted()
        version = self.plan.microversion
        if not features.LIVE_ABORT.covers(version):
            return
        queued = features.LIVE_ABORT_QUEUED.covers(version)
        under_way = [
            row
            for row in self.ledger.rows()
            if row.migration is not None
            and row.migration.migration_type == LIVE_MIGRATION
            and row.migration.status in ABORTABLE
            and (queued or row.migration.status != "queued")
        ]
        if not under_way:
            return
        answers = _abort_all(self.api, under_way, version)
        for row in under_way:
            assert row.migration is not None  # under way: a record
            self.ledger.put(
                dataclasses.replace(
                    row,
                    error=_aborted(
                        row.migration.id,
                        row.id in answers,
                        answers.get(row.id),
                    ),
                )
            )

    def final_read(self, report: Report) -> Report:
        """With --wait: every server still on the hosts is a failure of
        the drain, a row of its own if it arrived meanwhile."""
        if self.wait is None:
            return report
        ours = {r.id for r in report.rows}
        rows = list(report.rows)
        left = []
        for host in self.plan.sources:
            for server in self.api.servers_on_host(host):
                left.append(server.id)
                if server.id in ours:
                    continue
                LOG.debug("%s arrived on %s during the drain", server.id, host)
                rows.append(
                    ServerOutcome(
                        PlannedRow(server, Action.NONE, Result.FAILED),
                        Result.FAILED,
                        error=f"arrived during the drain: {LEFT}",
                    )
                )
        LOG.debug("left on the hosts: %s", left or "nothing")
        return dataclasses.replace(report, rows=tuple(rows), left=tuple(left))


def _abort_all(
    api: ComputeAPI, rows: list[ServerOutcome], version: Microversion
) -> dict[str, str | None]:
    """Ask Nova to abort each row's live migration, in a thread of its
    own so that a hung answer cannot hold up the exit: by server, None
    where Nova took the abort, else why not; a row missing had no
    answer in time."""

    def abort_each() -> dict[str, str | None]:
        answers: dict[str, str | None] = {}
        for row in rows:
            assert row.migration is not None  # under way: a record
            try:
                api.abort_live_migration(row.id, row.migration.id, version)
            except ComputeAPIError as exc:
                LOG.debug("abort of %s failed: %s", row.id, exc)
                answers[row.id] = str(exc)
            else:
                answers[row.id] = None
        return answers

    pool = concurrent.futures.ThreadPoolExecutor(1)
    future = pool.submit(abort_each)
    pool.shutdown(wait=False)
    try:
        return future.result(timeout=ABORT_ON_INTERRUPT)
    except concurrent.futures.TimeoutError:
        LOG.debug("aborts unanswered after %.0f s", ABORT_ON_INTERRUPT)
        return {}


def _aborted(record: int, answered: bool, why_not: str | None) -> str:
    """What the row says of its live migration after Ctrl-C."""
    rerun = "run the command again to move it"
    if answered and why_not is None:
        return (
            f"interrupted: Nova took the abort of live migration {record} "
            f"(it reads cancelled once stopped); {rerun}"
        )
    if not answered:
        return (
            f"interrupted: no answer in time to the abort of live "
            f"migration {record}, which may still complete; {rerun}"
        )
    return (
        f"interrupted: the abort of live migration {record} failed "
        f"({why_not}); it may still complete; {rerun}"
    )
