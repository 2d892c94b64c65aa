"""RFC 9457 problem details: the one error type of the gateway's views (`Problem`), and the one
place where what the layers below raise becomes a problem document (`problem_response`, called
by `serving.py` around every view): a service's refusal (`DomainError`, the directory's
`CursorExpired` among them), the bus's transient failures (503, 504), aiohttp's own errors (413)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web

from services.gateway.directory import CursorExpired
from services.gateway.http.answers import ProblemDetails
from shared.contracts import ErrorCode
from shared.errors import BusUnavailable, DomainError, RequestTimedOut

log = structlog.get_logger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"

_DOMAIN_STATUS = {
    ErrorCode.NOT_FOUND: (404, "not-found", "Not found"),
    ErrorCode.FORBIDDEN: (403, "forbidden", "Forbidden"),
    ErrorCode.CONFLICT: (409, "conflict", "Conflict"),
    ErrorCode.INVALID: (400, "bad-request", "Bad request"),
    ErrorCode.UNAVAILABLE: (503, "unavailable", "Service unavailable"),
}


class Problem(Exception):
    """Raise anywhere in a view to answer with a problem document."""

    def __init__(self, status: int, slug: str, title: str, detail: str, *, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail, self.extra = status, slug, title, detail, extra
        self.headers = headers or {}

    def response(self) -> web.Response:
        # Extension members never override the standard ones (RFC 9457 §3.2).
        body = ProblemDetails(**{**self.extra, "type": f"urn:onair:problem:{self.slug}", "title": self.title,
                                 "status": self.status, "detail": self.detail})
        return web.Response(text=body.model_dump_json(exclude_none=True), status=self.status,
                            content_type=PROBLEM_CONTENT_TYPE, headers=self.headers)


def unauthorized(detail: str) -> Problem:
    return Problem(401, "unauthorized", "Unauthorized", detail)


def forbidden(detail: str) -> Problem:
    return Problem(403, "forbidden", "Forbidden", detail)


def not_found(what: str) -> Problem:
    return Problem(404, "not-found", "Not found", f"no such {what}")


def unavailable(detail: str) -> Problem:
    return Problem(503, "unavailable", "Service unavailable", detail)


def validation_failed(errors: list[dict[str, Any]]) -> Problem:
    return Problem(422, "validation", "Invalid request", "one or more fields are invalid", errors=errors)


def _from_domain(exc: DomainError) -> Problem:
    if isinstance(exc, CursorExpired):
        return Problem(400, "cursor-expired", "Cursor expired", exc.detail)
    status, slug, title = _DOMAIN_STATUS[exc.code]
    return Problem(status, slug, title, exc.detail, **exc.extra)


def _from_http(exc: web.HTTPException) -> Problem:
    kept = {name: exc.headers[name] for name in ("Allow",) if name in exc.headers}  # 405 says what is allowed
    return Problem(exc.status, f"http-{exc.status}", exc.reason, exc.text or exc.reason, headers=kept)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def problem_response(exc: Exception) -> web.Response:
    """The problem document for an exception a view raised (a redirect or other non-error
    HTTPException is raised again: it is an answer, not an error)."""
    if isinstance(exc, Problem):
        return exc.response()
    if isinstance(exc, DomainError):
        return _from_domain(exc).response()
    if isinstance(exc, BusUnavailable):
        log.warning("gateway.bus_unavailable", error=str(exc))
        return unavailable("the message bus is unavailable").response()
    if isinstance(exc, RequestTimedOut):
        log.warning("gateway.reply_timeout", error=str(exc))
        return Problem(504, "timeout", "Gateway timeout", "the service asked did not answer in time").response()
    if isinstance(exc, web.HTTPException):
        if exc.status < 400:
            raise exc
        return _from_http(exc).response()
    log.exception("gateway.unhandled", exc_info=exc)
    return Problem(500, "internal", "Internal server error", "unexpected error").response()
