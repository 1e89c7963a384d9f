"""Errors the core raises; each str() is one line fit for the user."""

from __future__ import annotations


class EvacuateError(Exception):
    """Base class: something stopped the evacuation before it started."""


class UsageError(EvacuateError):
    """The options cannot be honoured (before any request is sent)."""


class NotFound(EvacuateError):
    """A named server or host does not exist."""


class Refused(EvacuateError):
    """A pre-flight check refused to evacuate (e.g. the host is up)."""


class NotYet(Refused):
    """The host must not return to service yet, --force or not: Nova has
    to act first (an evacuation from it is still under way, or its
    records wait for its nova-compute to start). host evacuation finish
    gives it an exit code of its own."""


class ComputeAPIError(EvacuateError):
    """Nova answered with an error status, or did not answer at all, or
    the request could not be sent (no token, no endpoint)."""

    def __init__(
        self,
        message: str,
        status: int | None = None,
        request_id: str | None = None,
        sent: bool = True,
        transient: bool | None = None,
    ) -> None:
        """sent: False when the request never left (authentication or the
        catalog failed first), so Nova cannot have acted on it.
        transient: overrides the rule of the status (see transient)."""
        super().__init__(message)
        self.message = message
        self.status = status  # None: no answer (connection lost, timeout)
        self.request_id = request_id
        self.sent = sent
        self._transient = transient

    @property
    def no_answer(self) -> bool:
        """Sent, and no answer came: Nova may have acted on it."""
        return self.sent and self.status is None

    @property
    def transient(self) -> bool:
        """Worth the same request again after a pause.

        No answer, a 5xx, and 429 (slow down) may pass; so may a 409 while
        another operation still runs on the server (task_state). Other
        4xx are Nova's last word: a token it refuses (401), a policy (403),
        a request it cannot parse (400: a page marker deleted with its
        server), a state the server is in (409).
        """
        if self._transient is not None:
            return self._transient
        if self.status is None or self.status >= 500 or self.status == 429:
            return True
        return self.status == 409 and "task_state" in self.message

    def __str__(self) -> str:
        """One line: Nova's message, the status, and the request id an
        operator quotes to find the request in Nova's logs."""
        code = f"HTTP {self.status}" if self.status else "no answer"
        if not self.sent:
            code = "not sent"
        text = f"{self.message} ({code})"
        if self.request_id:
            text += f" (Request-ID: {self.request_id})"
        return text


def one_line(text: object) -> str:
    """Any text (Nova's fault messages have newlines) as one line."""
    return " ".join(str(text).split())
