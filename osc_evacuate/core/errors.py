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


class ComputeAPIError(EvacuateError):
    """Nova answered with an error status, or did not answer at all."""

    def __init__(
        self,
        message: str,
        status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status  # None: no answer (connection lost, timeout)
        self.request_id = request_id

    @property
    def no_answer(self) -> bool:
        return self.status is None

    @property
    def transient(self) -> bool:
        """Worth the same request again after a pause."""
        if self.status is None or self.status >= 500:
            return True
        # Nova's 409s are permanent (vm_state, locked) unless another
        # operation is still running on the server.
        return self.status == 409 and "task_state" in self.message

    def __str__(self) -> str:
        code = f"HTTP {self.status}" if self.status else "no answer"
        return f"{self.message} ({code})"
