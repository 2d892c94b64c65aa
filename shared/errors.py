"""Failures that cross service boundaries, in the two kinds the consumer boundary knows.

- DomainError: the request is understood and refused (unknown room, wrong anchor, illegal
  transition). Permanent: it is answered (request/reply) or dead-lettered, never retried.
- anything else raised by a handler is treated as transient and retried up to the queue's
  delivery limit, after which the broker dead-letters the message.
"""

from __future__ import annotations

from typing import Any

from shared.contracts import ErrorCode, ReplyError


class DomainError(Exception):
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


class BusUnavailable(Exception):
    """The broker cannot be reached or refused the message (unroutable, nacked)."""


class RequestTimedOut(Exception):
    """No reply arrived within the request timeout."""
