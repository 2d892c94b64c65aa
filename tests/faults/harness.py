"""What the fault scenarios run on: the four services as real processes (on the parts of
`parts.py`), and a client that counts every like it
sends, as Jepsen's RabbitMQ checker does: each like is an operation with its own Idempotency-Key,
retried until accepted (202) as the API asks of clients; at the end, applied (the rooms' final
counts) must equal accepted: lost = accepted - applied, duplicated = applied - accepted (less the
operations never accepted, which may or may not have applied)."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from services.gateway.http.auth import mint_token
from tests.conftest import free_port
from tests.fixtures import JWT_SECRET

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("rooms", "status_watcher", "moderation", "gateway")


@dataclass
class Service:
    name: str
    ops_port: int
    proc: subprocess.Popen[bytes] | None = None


class Stack:
    """The four services as processes, on the given broker and store, in a namespace of their own."""

    def __init__(self, amqp_url: str, mongodb_url: str, workdir: Path, *, namespace: str | None = None,
                 **env: str) -> None:
        """`namespace`: another stack's, to run a second replica of every service beside it."""
        self.amqp_urls: dict[str, str] = {}  # a service's own broker URL (its user), if not the common one
        self.gateway_port = free_port()
        namespace = namespace or f"faults-{uuid.uuid4().hex[:6]}"
        self.env = {**os.environ, "ONAIR_AMQP_URL": amqp_url, "ONAIR_MONGODB_URL": mongodb_url,
                    "ONAIR_MONGODB_DB": f"onair_{namespace.replace('-', '_')}", "ONAIR_BUS_NAMESPACE": namespace,
                    "ONAIR_GATEWAY_PORT": str(self.gateway_port), "ONAIR_HOOKS_PORT": str(free_port()),
                    "ONAIR_JWT_SECRET": JWT_SECRET,
                    "ONAIR_NGINX_HTTP_URL": f"http://127.0.0.1:{free_port()}",  # no media server: unknown
                    "ONAIR_WATCH_INTERVAL": "3600", "ONAIR_LOG_LEVEL": "WARNING",
                    "ONAIR_LIMIT_LIKE_BURST": "100000", "ONAIR_LIMIT_CREATE_BURST": "100000", **env}
        self.services = {name: Service(name, free_port()) for name in SERVICES}
        self.dir = workdir

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def twin(self, workdir: Path) -> Stack:
        """A second replica of every service, in this stack's namespace and database."""
        twin = Stack(self.env["ONAIR_AMQP_URL"], self.env["ONAIR_MONGODB_URL"], workdir,
                     namespace=self.env["ONAIR_BUS_NAMESPACE"])
        twin.env["ONAIR_MONGODB_DB"] = self.env["ONAIR_MONGODB_DB"]
        return twin

    def start(self, name: str) -> None:
        service = self.services[name]
        log = open(self.dir / f"{name}.log", "ab")
        service.proc = subprocess.Popen([sys.executable, "-m", f"services.{name}"], cwd=REPO, stdout=log,
                                        stderr=subprocess.STDOUT,
                                        env={**self.env, "ONAIR_OPS_PORT": str(service.ops_port),
                                             "ONAIR_AMQP_URL": self.amqp_urls.get(name, self.env["ONAIR_AMQP_URL"])})
        log.close()

    def start_all(self) -> None:
        for name in SERVICES:
            self.start(name)

    def signal(self, name: str, sig: signal.Signals) -> float:
        """Send `sig`; returns the seconds until the process exited (at most 15)."""
        proc = self.services[name].proc
        assert proc is not None
        started = time.monotonic()
        proc.send_signal(sig)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        return time.monotonic() - started

    def stop_all(self) -> None:
        for name in reversed(SERVICES):
            if self.services[name].proc is not None and self.services[name].proc.poll() is None:  # type: ignore[union-attr]
                self.signal(name, signal.SIGTERM)

    async def ready(self, http: aiohttp.ClientSession) -> dict[str, bool]:
        """Every service's /readyz, asked at once."""

        async def one(port: int) -> bool:
            try:
                async with http.get(f"http://127.0.0.1:{port}/readyz",
                                    timeout=aiohttp.ClientTimeout(total=1.5)) as response:
                    return response.status == 200
            except (aiohttp.ClientError, TimeoutError):
                return False

        answers = await asyncio.gather(*(one(s.ops_port) for s in self.services.values()))
        return dict(zip(self.services, answers, strict=True))

    async def not_ready_over(self, http: aiohttp.ClientSession, seconds: float) -> dict[str, float]:
        """Watch /readyz for `seconds` (a fault just injected): when each service first said it
        was not ready, in seconds from now."""
        started, not_ready = time.monotonic(), dict[str, float]()
        while time.monotonic() - started < seconds:
            for name, ready in (await self.ready(http)).items():
                if not ready:
                    not_ready.setdefault(name, time.monotonic() - started)
            await asyncio.sleep(0.1)
        return not_ready

    async def wait_ready(self, http: aiohttp.ClientSession, seconds: float = 60) -> float:
        started = time.monotonic()
        while not all((await self.ready(http)).values()):
            if time.monotonic() - started > seconds:
                raise AssertionError(f"not ready within {seconds} s: {await self.ready(http)}")
            await asyncio.sleep(0.2)
        return time.monotonic() - started


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


@dataclass(frozen=True)
class Outage:
    load: LikeLoad
    not_ready: dict[str, float]  # when each service first said it was not ready, s after the stop
    back: float  # s from the restart until every service was ready again
    settled: float  # s after the load until the counts were exact


async def outage_under_load(stack: Stack, http: aiohttp.ClientSession, *, stop: Callable[[], None],
                            start: Callable[[], None], outage_seconds: float, load_seconds: float,
                            settle_seconds: float = 90) -> Outage:
    """Likes at 100/s into five rooms for `load_seconds`; 5 s in, a part is stopped (`stop`) for
    `outage_seconds` while every service's readiness is watched, then started again."""
    load = LikeLoad(stack.base)
    await load.open_rooms(http, 5)
    driving = asyncio.create_task(load.run(http, seconds=load_seconds, rate=100))
    await asyncio.sleep(5)
    await asyncio.to_thread(stop)
    not_ready = await stack.not_ready_over(http, seconds=outage_seconds)
    await asyncio.to_thread(start)
    back = await stack.wait_ready(http)
    await driving
    return Outage(load, not_ready, back, await load.settle(http, seconds=settle_seconds))


def row(scenario: str, counts: Counts, recovery: str) -> str:
    return (f"| {scenario} | {counts.sent} | {counts.accepted} | {counts.refused} / {counts.no_answer} "
            f"| {counts.applied} | {counts.lost} | {counts.duplicated} | {recovery} |")


HEADER = ("| scenario | sent | accepted | attempts refused / unanswered | applied | lost | duplicated | recovery |\n"
          "|---|---|---|---|---|---|---|---|")
