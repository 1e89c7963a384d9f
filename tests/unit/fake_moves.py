"""Live and cold migrations for the in-memory compute API (fake_compute).

A live migration goes queued, running, completed, one step per servers
read (as the fake's evacuations do), the server moving to the
destination with its last step, in the state it had; one whose server is
in live_fails ends `error` with the server where it was. A cold one goes
pre-migrating, migrating, finished, the server then VERIFY_RESIZE on the
destination; confirmResize makes its record `confirmed` and its status
what it was. An abort cancels a live one not yet completed.
"""

from __future__ import annotations

import dataclasses
import datetime

from osc_evacuate.core.api import EvacuateResponse
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.microversion import Microversion
from osc_evacuate.core.models import Migration, Server
from tests.unit.fake_nova import FakeNova

LIVE_STEPS = ("queued", "running", "completed")
COLD_STEPS = ("pre-migrating", "migrating", "finished")


@dataclasses.dataclass
class Move:
    migration: Migration
    steps: tuple[str, ...]
    before: Server  # as it was when sent
    step: int = 0


class FakeMoves(FakeNova):
    """Mixed into FakeCompute; uses its servers, records and clock."""

    def __init__(self) -> None:
        super().__init__()
        self.moves: dict[int, Move] = {}
        self.live_fails: set[str] = set()  # live migrations that fail
        self.move_errors: list[ComputeAPIError] = []  # raised by the POSTs
        self.abort_errors: list[ComputeAPIError] = []  # raised by aborts
        self.aborts: list[tuple[str, int, Microversion]] = []

    def live_migrate(
        self, server_id: str, version: Microversion, body: dict[str, object]
    ) -> EvacuateResponse:
        self.calls["live_migrate"] += 1
        return self._start(server_id, "live-migration", LIVE_STEPS)

    def migrate(
        self,
        server_id: str,
        version: Microversion,
        body: dict[str, object] | None,
    ) -> EvacuateResponse:
        self.calls["migrate"] += 1
        return self._start(server_id, "migration", COLD_STEPS)

    def _start(
        self, server_id: str, kind: str, steps: tuple[str, ...]
    ) -> EvacuateResponse:
        if self.move_errors:
            raise self.move_errors.pop(0)
        server = self.servers[server_id]
        mig = Migration(
            id=len(self.records) + 1,
            instance_uuid=server_id,
            status=steps[0],
            source_compute=server.host,
            dest_compute=self.destination,
            created_at=_stamp(self.now()),
            updated_at=None,
            migration_type=kind,
        )
        self.records.append(mig)
        self.moves[mig.id] = Move(mig, steps, server)
        task = "migrating" if kind == "live-migration" else "resize_prep"
        self.change(server_id, task_state=task)
        return EvacuateResponse(request_id=f"req-{mig.id}")

    def confirm_resize(self, server_id: str) -> None:
        self.calls["confirm_resize"] += 1
        for move in self.moves.values():
            mig = move.migration
            if mig.instance_uuid == server_id and mig.status == "finished":
                self._set_move(move, "confirmed")
                self.change(
                    server_id,
                    status=move.before.status,
                    vm_state=move.before.vm_state,
                    task_state=None,
                )

    def abort_live_migration(
        self, server_id: str, migration_id: int, version: Microversion
    ) -> None:
        self.calls["abort"] += 1
        self.aborts.append((server_id, migration_id, version))
        if self.abort_errors:
            raise self.abort_errors.pop(0)
        move = self.moves[migration_id]
        if move.migration.status not in ("completed", "cancelled"):
            self._set_move(move, "cancelled")
            self.change(server_id, task_state=None)

    def advance_moves(self) -> None:
        """One step of every move under way (called on a servers read)."""
        for move in self.moves.values():
            mig = move.migration
            if mig.status in ("completed", "finished", "confirmed", "error"):
                continue
            if mig.status == "cancelled":
                continue
            sid = mig.instance_uuid
            if (
                mig.migration_type == "live-migration"
                and sid in self.live_fails
            ):
                self.live_fails.discard(sid)
                self._set_move(move, "error")
                self.change(sid, task_state=None)
                continue
            move.step += 1
            status = move.steps[move.step]
            if move.step == len(move.steps) - 1:
                self._land(move)
            self._set_move(move, status)

    def _land(self, move: Move) -> None:
        sid = move.migration.instance_uuid
        if move.migration.migration_type == "live-migration":
            self.change(sid, host=self.destination, task_state=None)
        else:
            self.change(
                sid,
                host=self.destination,
                status="VERIFY_RESIZE",
                vm_state="resized",
                task_state=None,
            )

    def _set_move(self, move: Move, status: str) -> None:
        new = dataclasses.replace(
            move.migration, status=status, updated_at=_stamp(self.now())
        )
        move.migration = new
        self.records[new.id - 1] = new


def _stamp(value: datetime.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")
