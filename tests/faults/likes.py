"""A client that counts every like it sends, as Jepsen's RabbitMQ checker does: each like is an
operation with its own Idempotency-Key, retried until accepted (202) as the API asks of clients;
at the end, applied (the rooms' final counts) must equal accepted: lost = accepted - applied,
duplicated = applied - accepted (less the operations never accepted, which may or may not have
applied)."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from dataclasses import dataclass, field

import aiohttp

from services.gateway.http.auth import mint_token
from tests.fixtures import JWT_SECRET


def token(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(JWT_SECRET, user)}"}


RETRY_SECONDS = 60.0


@dataclass
class Counts:
    """Likes as operations: `sent` ops, each retried until `accepted`; `refused` and `no_answer`
    count attempts; `indeterminate` ops never accepted (they may or may not have applied)."""

    sent: int = 0
    accepted: int = 0
    refused: int = 0
    no_answer: int = 0
    indeterminate: int = 0
    slowest_refusal: float = 0.0  # seconds: how long the slowest non-202 answer took
    applied: int = 0
    accepted_at: list[float] = field(default_factory=list)  # monotonic times of the 202s

    def longest_without_accepting(self, since: float) -> float:
        """The longest stretch after `since` (a fault) in which no like was accepted."""
        times = [since, *sorted(t for t in self.accepted_at if t > since)]
        return max(b - a for a, b in itertools.pairwise(times)) if len(times) > 1 else float("inf")

    @property
    def lost(self) -> int:
        return max(0, self.accepted - self.applied)

    @property
    def duplicated(self) -> int:
        return max(0, self.applied - self.accepted - self.indeterminate)


@dataclass
class LikeLoad:
    """Likes at a steady rate over a few rooms, each with a unique Idempotency-Key, counted."""

    base: str
    rooms: list[str] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)
    more: list[str] = field(default_factory=list)  # other gateways: likes go to each in turn

    async def open_rooms(self, http: aiohttp.ClientSession, n: int) -> None:
        for _ in range(n):
            anchor = token(f"anchor-{uuid.uuid4().hex[:8]}")
            async with http.post(f"{self.base}/v1/rooms", json={"title": "t", "cover_url": "https://x/c.jpg"},
                                 headers=anchor) as created:
                assert created.status == 201, await created.text()
                room_id = (await created.json())["room"]["id"]
            async with http.post(f"{self.base}/v1/rooms/{room_id}/activate", headers=anchor) as activated:
                assert activated.status == 200, await activated.text()
            self.rooms.append(room_id)

    async def run(self, http: aiohttp.ClientSession, seconds: float, rate: float) -> None:
        fan, tasks = token("fan"), set()
        started, n = time.monotonic(), 0
        gateways = [self.base, *self.more]
        while (now := time.monotonic()) - started < seconds:
            room = self.rooms[n % len(self.rooms)]
            task = asyncio.create_task(self._like(http, gateways[n % len(gateways)], room,
                                                  {**fan, "Idempotency-Key": uuid.uuid4().hex}))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            n += 1
            await asyncio.sleep(max(0.0, started + n / rate - now))
        await asyncio.gather(*tasks)

    async def _like(self, http: aiohttp.ClientSession, base: str, room: str, headers: dict[str, str]) -> None:
        """One like: retried with the same Idempotency-Key until a 202 (a 503 may hide a like the
        broker did take, its confirm lost with the connection: the key makes the retry count
        once), for up to RETRY_SECONDS; never accepted by then, it is indeterminate."""
        self.counts.sent += 1
        deadline, backoff = time.monotonic() + RETRY_SECONDS, 0.25
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                async with http.post(f"{base}/v1/rooms/{room}/likes", headers=headers,
                                     timeout=aiohttp.ClientTimeout(total=15)) as response:
                    if response.status == 202:
                        self.counts.accepted += 1
                        self.counts.accepted_at.append(time.monotonic())
                        return
                    self.counts.refused += 1
                    self.counts.slowest_refusal = max(self.counts.slowest_refusal, time.monotonic() - started)
            except (aiohttp.ClientError, TimeoutError):
                self.counts.no_answer += 1
            await asyncio.sleep(backoff)  # as a well-behaved app backs off (and the client's own
            backoff = min(backoff * 2, 4.0)  # pool is not what is measured)
        self.counts.indeterminate += 1

    async def settle(self, http: aiohttp.ClientSession, seconds: float = 90) -> float:
        """Wait until the rooms' like counts stop moving (and at least reach what was accepted);
        records them as applied. Returns the seconds it took."""
        started, last, steady = time.monotonic(), -1, 0
        while time.monotonic() - started < seconds:
            total = 0
            for room in self.rooms:
                async with http.get(f"{self.base}/v1/rooms/{room}", headers=token("checker")) as response:
                    total += (await response.json())["likes"] if response.status == 200 else 0
            steady = steady + 1 if total == last and total >= self.counts.accepted else 0
            last = total
            if steady >= 5:
                break
            await asyncio.sleep(1)
        self.counts.applied = last
        return time.monotonic() - started
