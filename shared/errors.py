"""Failures that cross service boundaries, each of one kind of `shared.failures`.

- DomainError: the request is understood and refused (unknown room, wrong anchor, illegal
  transition). Permanent: it is answered (request/reply) or dead-lettered, never retried.
- BusUnavailable, RequestTimedOut: the broker or the answering service is away. Transient.
"""

from __future__ import annotations

from typing import Any

from shared.contracts import ErrorCode, ReplyError
from shared.failures import Permanent, Transient


class DomainError(Permanent):
    def __init__(self, code: ErrorCode, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.extra = extra

    def to_reply_error(self) -> ReplyError:
        return ReplyError(code=self.code, detail=self.detail, extra=self.extra)

    @classmethod
    def from_reply_error(cls, error: ReplyError) -> DomainError:
        return cls(error.code, error.detail, **error.extra)


class BusUnavailable(Transient):
    """The broker cannot be reached or refused the message (unroutable, nacked)."""


class RequestTimedOut(Transient):
    """No reply arrived within the request timeout."""
