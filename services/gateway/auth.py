"""Bearer JWT authentication (HS256): `sub` is the user id, `role: "admin"` marks a moderator."""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt
from aiohttp import web

from services.gateway.problems import unauthorized


@dataclass(frozen=True)
class Principal:
    user_id: str
    is_admin: bool


# Verified tokens, so the hot paths (likes, views) do not re-verify the same token on every
# tap. A token is immutable; its expiry is checked on every use.
_verified: dict[tuple[str, str], tuple[Principal, float]] = {}
_VERIFIED_MAX = 50_000


def _bearer_token(request: web.Request) -> str:
    header = request.headers.get("Authorization")
    if header is None:
        # Browsers' EventSource cannot set headers: the live-update stream may carry it in the URL.
        return request.query.get("access_token", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def authenticate(request: web.Request, secret: str) -> Principal:
    token = _bearer_token(request)
    if not token:
        raise unauthorized("a Bearer token is required")
    cached = _verified.get((secret, token))
    if cached is not None and cached[1] > time.time():
        return cached[0]
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp", "sub"]})
    except jwt.PyJWTError as exc:
        raise unauthorized(f"invalid token: {exc}") from exc
    sub = claims["sub"]
    if not isinstance(sub, str) or not sub or len(sub) > 128:
        raise unauthorized("invalid token: bad subject")
    principal = Principal(user_id=sub, is_admin=claims.get("role") == "admin")
    if len(_verified) >= _VERIFIED_MAX:
        _verified.clear()
    _verified[(secret, token)] = (principal, float(claims["exp"]))
    return principal


def mint_token(secret: str, user_id: str, *, admin: bool = False, ttl_seconds: int = 24 * 3600) -> str:
    """A token for development and tests; production tokens come from the identity provider."""
    claims: dict[str, object] = {"sub": user_id, "exp": int(time.time()) + ttl_seconds}
    if admin:
        claims["role"] = "admin"
    return jwt.encode(claims, secret, algorithm="HS256")
