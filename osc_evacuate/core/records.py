"""The evacuation records of the hosts evacuated, kept between polls.

A poll asks Nova only for the records changed since the poll before
(`changes-since`, from 2.59), so what it reads follows what changed, not
the number of servers or the host's history. Nova compares changes-since
with a record's `updated_at`, which stays NULL until the record first
changes: a record just made (`accepted`) is invisible to it. So a source
host's records are read in full, and the copy kept replaced, when:

- nothing is known of them yet (the first poll), or Nova's time is not
  known (its answers carry no Date: no window to ask from);
- a pending row of that host has had no record for NEW_RECORD_GRACE
  seconds since it was first polled: its request was sent, or sent again
  after NoValidHost, and the record has not changed since Nova made it
  (a record Nova's conductor takes up changes at once, and shows in the
  next changes read; so polls while requests are still going out do not
  read the host's every record each time);
- a row of that host has shown no change for FULL_READ_AFTER seconds, and
  the last full read is as old. A host whose clock runs behind the API's by
  more than the overlap stamps its change before the window; this bounds
  how long such a change can go unseen (verdict.STUCK_AFTER is far longer).

The choice is choose_read, a pure function tested from a table. Below
2.59 Nova drops changes-since and answers every record: merging that is
still right, only not cheaper.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import logging
from collections.abc import Iterable

from osc_evacuate.core.models import Migration

LOG = logging.getLogger(__name__)

# Seconds a row's record may show no change, and the least time between
# two full reads of its host, before its host's records are read in full.
FULL_READ_AFTER = 30.0
# Seconds a polled row may show no record before its host's records are
# read in full: the conductor takes a new record up (and so stamps its
# updated_at) within about a second, even on a busy Nova.
NEW_RECORD_GRACE = 5.0


class Read(enum.Enum):
    FULL = "full"  # every record from the host
    CHANGES = "changes"  # those changed since the window


@dataclasses.dataclass(frozen=True)
class ReadChoice:
    read: Read
    why: str


def choose_read(
    *,
    window: bool,
    last_full: float | None,
    now: float,
    rows_without_record: int,
    longest_idle: float,
    full_read_after: float = FULL_READ_AFTER,
) -> ReadChoice:
    """How to read one source host's records this poll.

    window: a changes-since window is known; last_full: when the host's
    records were last read in full (monotonic), None if never;
    rows_without_record: its pending rows with no record yet; longest_idle:
    seconds the idlest of its pending rows has shown no record change.
    """
    if last_full is None:
        return ReadChoice(Read.FULL, "nothing read yet")
    if not window:
        return ReadChoice(Read.FULL, "no window: Nova's time not known")
    if rows_without_record:
        return ReadChoice(
            Read.FULL,
            f"{rows_without_record} row(s) without a record: a new record "
            "is invisible to changes-since until it first changes",
        )
    if longest_idle >= full_read_after and now - last_full >= full_read_after:
        return ReadChoice(
            Read.FULL,
            f"a record unchanged for {longest_idle:.0f} s: read all again, "
            "in case its change was stamped before the window",
        )
    return ReadChoice(Read.CHANGES, "every pending row has its record")


# A cache's key: the source host (None: every host), the migration type.
Key = tuple[str | None, str]


@dataclasses.dataclass
class RecordCache:
    """What the polls have read of each source host's records."""

    # Each window starts this far before Nova's time of the last poll.
    overlap: datetime.timedelta
    # Nova's time before the last answered poll's first records read.
    since: datetime.datetime | None = None
    # By source host (None: every host) and migration type.
    _records: dict[Key, dict[int, Migration]] = dataclasses.field(
        default_factory=dict
    )
    _full_at: dict[Key, float] = dataclasses.field(default_factory=dict)

    def last_full(self, source: Key) -> float | None:
        return self._full_at.get(source)

    def keep(
        self,
        source: Key,
        records: Iterable[Migration],
        read: Read,
        now: float,
    ) -> None:
        """Keep what a read answered: a full read replaces the host's copy
        (a record gone from it was deleted with its server), a changes read
        updates the records it names."""
        found = {m.id: m for m in records}
        if read is Read.FULL:
            self._records[source] = found
            self._full_at[source] = now
        else:
            self._records.setdefault(source, {}).update(found)
        LOG.debug(
            "%s records of %s: %d read (%s), %d kept",
            source[1],
            source[0] or "every host",
            len(found),
            read.value,
            len(self._records[source]),
        )

    def advance(self, mark: datetime.datetime | None) -> None:
        """The next changes read starts at mark (Nova's time before this
        poll's records reads), less the overlap; None: no window."""
        self.since = None if mark is None else mark - self.overlap

    def by_server(self) -> dict[str, list[Migration]]:
        found: dict[str, list[Migration]] = {}
        for records in self._records.values():
            for record in records.values():
                found.setdefault(record.instance_uuid, []).append(record)
        return found
