"""Stopping at any moment: each service, as a process, stops within 2 s of SIGINT or SIGTERM in
every phase: starting, connecting (a broker that does not answer), running, and reconnecting
(its broker connection cut and nothing answering). A service that hangs its stop leaves an
orphan holding its ports (issue 23: `make run`'s Ctrl-C with the broker away)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import free_port
from tests.faults.harness import REPO, stop_process
from tests.faults.parts import PrivateBroker, TcpProxy
from tests.fixtures import JWT_SECRET

STOP_SECONDS = 2.0
SERVICES = ("rooms", "moderation", "status_watcher", "gateway")


@pytest.fixture
async def proxy(broker: PrivateBroker) -> AsyncIterator[TcpProxy]:
    through = TcpProxy(broker.port)
    await through.start()
    yield through
    await through.stop()


def start(service: str, amqp_port: int, mongodb_url: str, workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    ops = free_port()
    env = {**os.environ, "ONAIR_AMQP_URL": f"amqp://guest:guest@127.0.0.1:{amqp_port}/",
           "ONAIR_MONGODB_URL": mongodb_url, "ONAIR_BUS_NAMESPACE": f"stop-{service}",
           "ONAIR_MONGODB_DB": f"onair_stop_{service}", "ONAIR_OPS_PORT": str(ops),
           "ONAIR_GATEWAY_PORT": str(free_port()), "ONAIR_HOOKS_PORT": str(free_port()),
           "ONAIR_JWT_SECRET": JWT_SECRET, "ONAIR_LOG_LEVEL": "WARNING"}
    log = open(workdir / f"{service}.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", f"services.{service}"], cwd=REPO, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    log.close()
    return proc, ops


async def running(service: str, ops: int, seconds: float = 30) -> None:
    """Ready (the gateway: serving; it is ready only once rooms answers its directory snapshot)."""
    path = "/healthz" if service == "gateway" else "/readyz"
    async with aiohttp.ClientSession() as http:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                async with http.get(f"http://127.0.0.1:{ops}{path}") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError(f"not running within {seconds} s")


@pytest.mark.parametrize("service", SERVICES)
async def test_a_service_stops_within_two_seconds_in_every_phase(service: str, proxy: TcpProxy, mongodb_url: str,
                                                                 tmp_path: Path) -> None:
    nowhere = free_port()  # nothing listens: the broker "does not answer"
    took = {}
    for phase, sig in (("starting", signal.SIGTERM), ("connecting", signal.SIGINT), ("running", signal.SIGINT),
                       ("reconnecting", signal.SIGTERM)):
        proc, ops = start(service, nowhere if phase in ("starting", "connecting") else proxy.port, mongodb_url,
                          tmp_path)
        try:
            if phase == "starting":
                await asyncio.sleep(0.3)  # still importing
            elif phase == "connecting":
                await asyncio.sleep(2.5)
            else:
                await running(service, ops)
            if phase == "reconnecting":
                await proxy.stop()  # cut, and nothing listens any more: it retries
                await asyncio.sleep(2)
            took[phase] = await asyncio.to_thread(stop_process, proc, sig)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if phase == "reconnecting":
            await proxy.start()
    assert all(seconds <= STOP_SECONDS + 0.5 for seconds in took.values()), took
