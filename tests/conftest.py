"""Test infrastructure: real RabbitMQ and a real MongoDB wire-protocol server.

Where they come from, in order:
1. ONAIR_TEST_AMQP_URL / ONAIR_TEST_MONGODB_URL, when set;
2. testcontainers (RabbitMQ, MongoDB) when a Docker engine answers;
3. the local RabbitMQ on 127.0.0.1:5672, and an embedded SecantusDB started here.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

LOCAL_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"

# Running parts (rooms service, gateway, media server) shared by the integration and e2e tiers.
pytest_plugins = ["tests.fixtures"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The tier is the folder: tests/unit, tests/integration, tests/e2e.
    for item in items:
        for tier in ("unit", "integration", "e2e", "deploy", "faults"):
            if f"{os.sep}{tier}{os.sep}" in str(item.fspath):
                item.add_marker(getattr(pytest.mark, tier))


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not port_open("127.0.0.1", port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not open port {port} within {seconds}s")
        time.sleep(0.1)


def docker_available() -> bool:
    """True when a Docker engine answers its ping (testcontainers can then start containers)."""
    if not (os.environ.get("DOCKER_HOST") or Path("/var/run/docker.sock").exists()):
        return False  # no engine endpoint at all (asking the docker library would leak a socket)
    try:
        import docker

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # any failure means: no usable engine
        return False


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    if url := os.environ.get("ONAIR_TEST_AMQP_URL"):
        yield url
    elif port_open("127.0.0.1", 5672):
        yield LOCAL_AMQP_URL
    elif docker_available():
        from testcontainers.rabbitmq import RabbitMqContainer

        with RabbitMqContainer("rabbitmq:3.13-alpine") as rabbit:
            params = rabbit.get_connection_params()
            yield f"amqp://guest:guest@{params.host}:{params.port}/"
    else:
        pytest.fail("no RabbitMQ: set ONAIR_TEST_AMQP_URL or start rabbitmq-server")


@pytest.fixture(scope="session")
def mongodb_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if url := os.environ.get("ONAIR_TEST_MONGODB_URL"):
        yield url
        return
    if docker_available():
        from testcontainers.mongodb import MongoDbContainer

        with MongoDbContainer("mongo:7") as mongo:
            yield mongo.get_connection_url()
        return
    yield from _embedded_secantus(tmp_path_factory.mktemp("secantus"))


def _embedded_secantus(workdir: Path) -> Iterator[str]:
    server = Path(sys.executable).with_name("secantusd-py")
    port = free_port()
    log = open(workdir / "secantusd.log", "wb")
    proc = subprocess.Popen(
        [str(server), "--host", "127.0.0.1", "--port", str(port), "--storage-path", str(workdir / "data"),
         "--log-level", "WARNING"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, 60, "SecantusDB")
        # No retryable writes on the embedded store (see scripts/lib.sh: its registry of them grows).
        yield f"mongodb://127.0.0.1:{port}/?directConnection=true&retryWrites=false"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
