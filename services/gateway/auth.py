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


def authenticate(request: web.Request, secret: str) -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise unauthorized("a Bearer token is required")
    try:
        claims = jwt.decode(token.strip(), secret, algorithms=["HS256"], options={"require": ["exp", "sub"]})
    except jwt.PyJWTError as exc:
        raise unauthorized(f"invalid token: {exc}") from exc
    sub = claims["sub"]
    if not isinstance(sub, str) or not sub or len(sub) > 128:
        raise unauthorized("invalid token: bad subject")
    return Principal(user_id=sub, is_admin=claims.get("role") == "admin")


def mint_token(secret: str, user_id: str, *, admin: bool = False, ttl_seconds: int = 24 * 3600) -> str:
    """A token for development and tests; production tokens come from the identity provider."""
    claims: dict[str, object] = {"sub": user_id, "exp": int(time.time()) + ttl_seconds}
    if admin:
        claims["role"] = "admin"
    return jwt.encode(claims, secret, algorithm="HS256")
