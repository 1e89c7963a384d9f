"""Requests on their way: the workers' messages, taken in the job's thread.

Submitter.start (submit.py) sets worker threads sending and returns a
Sending; the job's thread takes their messages when it is ready for them,
between polls while it waits (so the proof starts with the first accepted
request), or all at once without --wait. Each worker says when it ends,
so the job's thread knows at once that the last request is answered,
never after a timeout.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable

LOG = logging.getLogger(__name__)

# A worker's last message: it has nothing more to send.
FINISHED = object()
# The longest the job's thread blocks at once: it stays awake for Ctrl-C.
_AWAKE = 0.5

Message = object
Inbox = queue.Queue[Message | BaseException]


class Sending:
    def __init__(
        self,
        workers: int,
        inbox: Inbox,
        cancel: threading.Event,
        on_message: Callable[[Message], None],
    ) -> None:
        self._left = workers  # workers that have not said FINISHED
        self._inbox = inbox
        self._cancel = cancel
        self._on_message = on_message

    @property
    def active(self) -> bool:
        """Some request is still to be sent or answered, or some message
        still to be taken."""
        return self._left > 0 or not self._inbox.empty()

    def take(self, seconds: float) -> int:
        """Hand on every message in, then those that come within
        `seconds`; return early once the last worker has ended. How many
        were handed on. A worker's exception is raised here."""
        deadline = time.monotonic() + seconds
        taken = 0
        while self.active:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    item = self._inbox.get(timeout=min(left, _AWAKE))
                except queue.Empty:
                    continue
            taken += self._hand_on(item)
        return taken

    def finish(self) -> None:
        """Hand on every message until the last worker has ended."""
        self.take(math.inf)

    def stop(self) -> None:
        """Ctrl-C or an error: nothing more is sent (the workers check
        before every request, and are daemon threads, so a request still
        on the wire never holds up the exit); the messages already in are
        handed on."""
        self._cancel.set()
        LOG.debug("submission cancelled")
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return
            if not isinstance(item, BaseException):
                self._hand_on(item)

    def _hand_on(self, item: Message | BaseException) -> int:
        if item is FINISHED:
            self._left -= 1
            return 0
        if isinstance(item, BaseException):
            raise item
        self._on_message(item)
        return 1
