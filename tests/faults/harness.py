"""What the fault scenarios run on: the four services as real processes (on the parts of
`parts.py`), an outage under the counted like load of `likes.py`, and the fault table's rows."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.conftest import free_port
from tests.faults.likes import Counts, LikeLoad
from tests.fixtures import JWT_SECRET

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("rooms", "status_watcher", "moderation", "gateway")


@dataclass
class Service:
    name: str
    ops_port: int
    proc: subprocess.Popen[bytes] | None = None


def stop_process(proc: subprocess.Popen[bytes], sig: signal.Signals) -> float:
    """Send `sig`; the seconds until the process exited (killed after 15)."""
    started = time.monotonic()
    proc.send_signal(sig)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    return time.monotonic() - started


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
        return stop_process(proc, sig)

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

    async def why_not_ready(self, http: aiohttp.ClientSession) -> dict[str, str]:
        """What each service's /readyz says (its failing checks), or why it did not answer."""

        async def one(port: int) -> str:
            try:
                async with http.get(f"http://127.0.0.1:{port}/readyz",
                                    timeout=aiohttp.ClientTimeout(total=5)) as response:
                    return f"{response.status} {await response.text()}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                return repr(exc)

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
                raise AssertionError(f"not ready within {seconds} s: {await self.why_not_ready(http)}")
            await asyncio.sleep(0.2)
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
