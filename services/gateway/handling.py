"""What every view does: who is asking, asking a service over the bus, path ids, retries."""

from __future__ import annotations

import re
import uuid
from typing import TypeVar

from aiohttp import web

from services.gateway.auth import Principal, authenticate
from services.gateway.context import BUS, REQUEST_ID, ROOMS, SETTINGS, TOKENS
from services.gateway.problems import forbidden, validation_failed
from shared.contracts import Contract, Request, Room

# Idempotency-Key values map to stable command ids, so a retried request is the same command.
_IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1d8c59-5a0e-4a57-9a3f-0b8f5f3c2d10")


def principal(request: web.Request, *, allow_query: bool = False) -> Principal:
    return authenticate(request, request.app[TOKENS], allow_query=allow_query)


def moderator(request: web.Request) -> Principal:
    user = principal(request)
    if not user.is_admin:
        raise forbidden("moderators only")
    return user


R = TypeVar("R", bound=Contract)


async def ask(request: web.Request, command: Request[R], *, message_id: str | None = None) -> R:
    """Send a request and wait for its typed answer (DomainError, 503 and 504 are mapped by the middleware)."""
    app = request.app
    return await app[BUS].ask(command, timeout=app[SETTINGS].request_timeout_seconds,
                              correlation_id=request.get(REQUEST_ID), message_id=message_id)


async def room_or_none(request: web.Request, room_id: str) -> Room | None:
    """The room as the rooms service has it (its query queue); None when there is no such room."""
    return await request.app[ROOMS].get(room_id, correlation_id=request.get(REQUEST_ID))


_IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")


def idempotency_key(request: web.Request, user: Principal) -> str | None:
    """The client's Idempotency-Key scoped to (user, route, room): the same key sent by two users,
    or by one user to two rooms or two routes, names different requests. 1-64 characters of
    `[A-Za-z0-9_-]`; anything else is a 422 before anything is published."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if _IDEMPOTENCY_KEY.fullmatch(key) is None:
        raise validation_failed([{"field": "Idempotency-Key", "message": "1-64 characters of A-Z a-z 0-9 _ -",
                                  "code": "idempotency_key"}])
    return f"{user.user_id}:{request.path}:{key}"  # the path names the route and the room


def idempotent_id(request: web.Request, user: Principal) -> str | None:
    """A stable command id for a request with an Idempotency-Key: a retry is the same command."""
    scoped = idempotency_key(request, user)
    return uuid.uuid5(_IDEMPOTENCY_NAMESPACE, scoped).hex if scoped else None


def path_id(request: web.Request, name: str) -> str:
    value = request.match_info[name]
    if not (1 <= len(value) <= 128 and value.isascii() and all(c.isalnum() or c in "-_.:" for c in value)):
        raise web.HTTPNotFound(text=f"no such {name.removesuffix('_id')}")
    return value
