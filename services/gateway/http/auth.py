"""Bearer JWT authentication (HS256): `sub` is the user id, `role: "admin"` marks a moderator;
`exp` is required and at most `max_lifetime_seconds` ahead, `iss` and `aud` are checked when
configured (production requires them)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import jwt
from aiohttp import web

from services.gateway.http.problems import unauthorized


@dataclass(frozen=True)
class Principal:
    user_id: str
    is_admin: bool
    expires_at: float  # the token's `exp` (Unix seconds): a live-update stream ends there


_VERIFIED_MAX = 50_000


@dataclass(frozen=True)
class TokenPolicy:
    """How tokens are checked: HS256 with `secret`; `iss` / `aud` when set; a little clock leeway.

    It keeps the tokens it verified (by the Authorization header as sent, or the token itself when
    it came in the URL), so the hot paths (the list, likes, views) neither re-verify nor re-parse
    the same token on every request. A token is immutable; its expiry is checked on every use,
    against `clock` (Unix seconds; injectable for tests)."""

    secret: str
    issuer: str | None = None
    audience: str | None = None
    leeway_seconds: float = 30.0
    max_lifetime_seconds: float = 24 * 3600.0
    verified: dict[str, Principal] = field(default_factory=dict, compare=False, repr=False)
    clock: Callable[[], float] = field(default=time.time, compare=False, repr=False)

    def current(self, principal: Principal) -> bool:
        return principal.expires_at + self.leeway_seconds > self.clock()


def _bearer_token(request: web.Request, allow_query: bool) -> str:
    header = request.headers.get("Authorization")
    if header is None:
        # Browsers' EventSource cannot set headers: the live-update stream (only it) may carry
        # the token in the URL. Anywhere else a token in a URL ends up in proxy logs.
        return request.query.get("access_token", "") if allow_query else ""
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def authenticate(request: web.Request, policy: TokenPolicy, *, allow_query: bool = False) -> Principal:
    header = request.headers.get("Authorization")
    # Kept by the header as sent (the token itself when it came in the URL): a token seen before
    # is found without parsing the header, on every list page.
    key = header if header is not None else _bearer_token(request, allow_query)
    cached = policy.verified.get(key)
    if cached is not None and policy.current(cached):
        return cached
    token = _bearer_token(request, allow_query) if header is not None else key
    if not token:
        raise unauthorized("a Bearer token is required")
    try:
        claims = jwt.decode(token, policy.secret, algorithms=["HS256"], issuer=policy.issuer,
                            audience=policy.audience, leeway=policy.leeway_seconds,
                            options={"require": ["exp", "sub"], "verify_aud": policy.audience is not None})
    except jwt.PyJWTError as exc:
        raise unauthorized(f"invalid token: {exc}") from exc
    sub, exp = claims["sub"], claims["exp"]
    if not isinstance(sub, str) or not sub or len(sub) > 128:
        raise unauthorized("invalid token: bad subject")
    principal = Principal(user_id=sub, is_admin=claims.get("role") == "admin", expires_at=float(exp))
    if not policy.current(principal):
        raise unauthorized("invalid token: Signature has expired")
    if principal.expires_at > policy.clock() + policy.max_lifetime_seconds + policy.leeway_seconds:
        raise unauthorized("invalid token: it expires later than a token may live")
    if len(policy.verified) >= _VERIFIED_MAX:
        policy.verified.clear()
    policy.verified[key] = principal
    return principal


def mint_token(secret: str, user_id: str, *, admin: bool = False, ttl_seconds: int = 24 * 3600,
               issuer: str | None = None, audience: str | None = None) -> str:
    """A token for development and tests; production tokens come from the identity provider."""
    claims: dict[str, object] = {"sub": user_id, "exp": int(time.time()) + ttl_seconds}
    claims.update({k: v for k, v in (("iss", issuer), ("aud", audience)) if v})
    if admin:
        claims["role"] = "admin"
    return jwt.encode(claims, secret, algorithm="HS256")
