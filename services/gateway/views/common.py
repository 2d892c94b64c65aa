"""What every view asks first: who is calling (their token) within their limits, which resource
the path names, and which command a retried request repeats (its Idempotency-Key)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from aiohttp import web

from services.gateway.http.auth import Principal, TokenPolicy, authenticate
from services.gateway.http.limits import RateLimiter
from services.gateway.http.problems import forbidden, not_found, validation_failed

# Idempotency-Key values map to stable command ids, so a retried request is the same command.
_IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1d8c59-5a0e-4a57-9a3f-0b8f5f3c2d10")
_IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class Caller:
    """Authentication and per-user limits, as each view applies them."""

    tokens: TokenPolicy
    limits: RateLimiter

    def user(self, request: web.Request, limit: str | None = None, *, allow_query: bool = False) -> Principal:
        """The signed-in user, within their `limit` (an action of `limits.py`) if one is named."""
        user = authenticate(request, self.tokens, allow_query=allow_query)
        if limit is not None:
            self.limits.check(limit, user.user_id)
        return user

    def moderator(self, request: web.Request) -> Principal:
        """A moderator (`role: "admin"`), within the moderators' limit (each route is a round trip)."""
        user = authenticate(request, self.tokens)
        if not user.is_admin:
            raise forbidden("moderators only")
        self.limits.check("moderate", user.user_id)
        return user


def path_id(request: web.Request, name: str) -> str:
    """An id from the path (`room_id`, `case_id`, `anchor_id`); ids are short and plain, so
    anything else names nothing: 404."""
    value = request.match_info[name]
    if not (1 <= len(value) <= 128 and value.isascii() and all(c.isalnum() or c in "-_.:" for c in value)):
        raise not_found(name.removesuffix("_id"))
    return value


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


def command_id(request: web.Request, user: Principal) -> str | None:
    """A stable command id for a request with an Idempotency-Key: a retry is the same command."""
    scoped = idempotency_key(request, user)
    return uuid.uuid5(_IDEMPOTENCY_NAMESPACE, scoped).hex if scoped else None
