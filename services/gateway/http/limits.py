"""Per-user limits: what one client can take of a gateway process.

Token buckets keyed by (action, user): `burst` requests at once, refilled at `rate` a second.
Sized so that a person tapping never meets them (likes: 10 requests a second, each carrying up to
50 taps the app batched); a script does. Every route that costs a bus round trip or a store read
has one (create, activate and close, look-ups the directory cannot answer, likes, views, streams,
moderators' routes). A refusal says when to come back (`Retry-After`).

Across replicas: the budget is the user's, not each replica's. A shared counter in the store on
every like would put a database round trip on the hottest write (and RabbitMQ is no rate
limiter), so each replica takes its share instead: the budget divided by the gateways alive, which
presence already knows (`share`, `ONAIR_LIMIT_SPLIT=replicas`). That is exact when the load
balancer spreads a user's requests evenly; with affinity by user (`none`), each replica applies
the whole budget, which is then the user's. Buckets live in this process, at most `max_keys` of
them: the least recently used are forgotten first, which only ever forgives.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from services.gateway.http.problems import Problem
from shared.settings import GatewaySettings


@dataclass(frozen=True)
class Limit:
    rate: float  # tokens a second
    burst: float  # bucket size


def one() -> int:
    return 1


class RateLimiter:
    def __init__(self, limits: dict[str, Limit], *, max_keys: int = 200_000, share: Callable[[], int] = one,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """`share()`: over how many replicas each budget is split (1: this one applies it all)."""
        self._limits, self._max_keys, self._share, self._clock = limits, max_keys, share, clock
        self._buckets: OrderedDict[tuple[str, str], tuple[float, float]] = OrderedDict()  # -> (tokens, at)

    def wait_needed(self, action: str, user: str) -> float:
        """0 and one token taken if `user` may `action` now; else the seconds until it may."""
        limit, now, replicas = self._limits[action], self._clock(), max(1, self._share())
        rate, burst = limit.rate / replicas, max(1.0, limit.burst / replicas)
        key = (action, user)
        tokens, at = self._buckets.pop(key, (burst, now))
        tokens = min(burst, tokens + (now - at) * rate)
        if tokens >= 1:
            tokens -= 1
            wait = 0.0
        else:
            wait = (1 - tokens) / rate
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return wait

    def check(self, action: str, user: str) -> None:
        """Raise a 429 problem with `Retry-After` if `user` has used up `action` for now."""
        wait = self.wait_needed(action, user)
        if wait > 0:
            raise too_many(f"too many {action} requests: slow down", wait)


def too_many(detail: str, retry_after: float) -> Problem:
    return Problem(429, "rate-limited", "Too many requests", detail,
                   headers={"Retry-After": str(max(1, math.ceil(retry_after)))})


class StreamSlots:
    """Live-update streams open at once: at most `per_user` for one user (this replica's share of
    it), `total` in this process."""

    def __init__(self, *, per_user: int, total: int, share: Callable[[], int] = one) -> None:
        self._per_user, self._total, self._share = per_user, total, share
        self._open: dict[str, int] = {}
        self.count = 0

    def acquire(self, user: str) -> None:
        if self.count >= self._total:
            raise too_many("this server holds as many live-update streams as it can: retry shortly", 5)
        if self._open.get(user, 0) >= math.ceil(self._per_user / max(1, self._share())):
            raise too_many(f"at most {self._per_user} live-update streams per user", 5)
        self._open[user] = self._open.get(user, 0) + 1
        self.count += 1

    def release(self, user: str) -> None:
        left = self._open.get(user, 0) - 1
        if left > 0:
            self._open[user] = left
        else:
            self._open.pop(user, None)
        self.count -= 1


def limits_from(settings: GatewaySettings) -> dict[str, Limit]:
    return {
        "create": Limit(settings.limit_create_per_second, settings.limit_create_burst),
        "like": Limit(settings.limit_like_per_second, settings.limit_like_burst),
        "view": Limit(settings.limit_view_per_second, settings.limit_view_burst),
        "stream": Limit(settings.limit_stream_per_second, settings.limit_stream_burst),
        "write": Limit(settings.limit_write_per_second, settings.limit_write_burst),
        "lookup": Limit(settings.limit_lookup_per_second, settings.limit_lookup_burst),
        "moderate": Limit(settings.limit_moderate_per_second, settings.limit_moderate_burst),
    }
