"""Running parts for integration tests: the rooms service in-process and the real gateway app,
in a bus namespace and database of their own (fresh per session, removed afterwards)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from services.gateway.bootstrap import create_app
from services.gateway.http.auth import mint_token
from services.moderation.bootstrap import ModerationService, running_moderation_service
from services.rooms.bootstrap import RoomsService, running_rooms_service
from shared.bus import EXCHANGES
from shared.cloud import CloudPort, StreamState
from shared.cloud.nginx_rtmp import NginxRtmpCloud
from shared.contracts import Envelope, decode
from shared.settings import CloudSettings, GatewaySettings, ModerationSettings, RoomsSettings
from shared.store import mongo_client

# The aiohttp test client of a gateway app, typed.
Client = TestClient[web.Request, web.Application]

JWT_SECRET = "integration-tests-jwt-secret-0123456789abcdef"


async def delete_namespace(amqp_url: str, namespace: str, queues: list[str]) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        for name in queues:
            channel = await connection.channel()
            try:
                await channel.queue_delete(f"{namespace}.{name}")
            except aio_pika.exceptions.ChannelClosed:
                pass
        channel = await connection.channel()
        for exchange in EXCHANGES:
            await channel.exchange_delete(f"{namespace}.{exchange}")


@pytest.fixture(scope="session")
def namespace() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
async def rooms_settings(amqp_url: str, mongodb_url: str, namespace: str,
                         planned_media: MediaServer) -> AsyncIterator[RoomsSettings]:
    settings = RoomsSettings(amqp_url=amqp_url, mongodb_url=mongodb_url, mongodb_db=f"onair_{namespace}",
                             bus_namespace=namespace, outbox_sweep_seconds=0.5, delivery_limit=3,
                             thumbnail_url_template=f"{planned_media.http_url}/thumbnails/{{stream_id}}.jpg")
    yield settings
    await delete_namespace(amqp_url, namespace, ["rooms.commands", "rooms.requests", "rooms.queries", "dead-letters",
                                                 "events.unrouted", "moderation.requests",
                                                 "status_watcher.events", "moderation.work", "rooms.counters",
                                                 "rooms.alerts"])
    client = mongo_client(mongodb_url)
    await client.drop_database(settings.mongodb_db)
    await client.close()


@pytest.fixture(scope="session")
async def rooms_service(rooms_settings: RoomsSettings, planned_media: MediaServer) -> AsyncIterator[RoomsService]:
    storage = NginxRtmpCloud(CloudSettings(nginx_http_url=planned_media.http_url))  # the e2e media server
    async with running_rooms_service(rooms_settings, storage=storage) as service:
        yield service


# The shared test gateway serves every test's users at test speed: per-user limits are tested on
# gateways of their own (test_limits.py).
GENEROUS_LIMITS: dict[str, Any] = {
    **{f"limit_{action}_burst": 100_000 for action in ("create", "like", "view", "stream", "write", "lookup",
                                                        "moderate")},
    "limit_split": "none",  # several test gateways share a namespace: each applies the whole budget
}


def gateway_settings(amqp_url: str, namespace: str, **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {**GENEROUS_LIMITS, "hooks_port": 0, **overrides}  # hooks on the test server
    return GatewaySettings(amqp_url=amqp_url, bus_namespace=namespace, jwt_secret=JWT_SECRET, **values)


@pytest.fixture(scope="session")
async def gateway(rooms_service: RoomsService, amqp_url: str, namespace: str) -> AsyncIterator[Client]:
    app = create_app(gateway_settings(amqp_url, namespace, max_body_bytes=4096))
    async with TestClient(TestServer(app)) as client:
        await wait_ready(client)
        yield client


async def wait_ready(client: Client, seconds: float = 10) -> None:
    import asyncio

    for _ in range(int(seconds * 20)):
        if (await client.get("/readyz")).status == 200:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("gateway never became ready")


@pytest.fixture
def auth() -> Callable[..., dict[str, str]]:
    def headers(user: str, *, admin: bool = False) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(JWT_SECRET, user, admin=admin)}"}

    return headers


@asynccontextmanager
async def spy_queue(amqp_url: str, exchange: str, routing_keys: list[str]) -> AsyncIterator[aio_pika.abc.AbstractQueue]:
    """A private queue that gets a copy of what is published to `exchange` with these keys."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True)
        for key in routing_keys:
            await queue.bind(exchange, routing_key=key)
        yield queue


async def received(queue: aio_pika.abc.AbstractQueue, seconds: float = 0.5) -> list[Envelope]:
    """Every message that arrives on `queue` within `seconds`, decoded."""
    import asyncio

    out: list[Envelope] = []
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        message = await queue.get(fail=False)
        if message is None:
            await asyncio.sleep(0.05)
            continue
        out.append(decode(message.body)[0])
        await message.ack()
    return out


def new_user() -> str:
    return f"user-{uuid.uuid4().hex[:10]}"


# --- the local media server (nginx + RTMP module), for end-to-end pushes ------------------

REPO = Path(__file__).resolve().parents[1]
MEDIA_HOOK_TOKEN = "e2e-media-hook-token"


class MediaServer:
    def __init__(self, rtmp_port: int, http_port: int) -> None:
        self.rtmp_port, self.http_port = rtmp_port, http_port

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"


@pytest.fixture(scope="session")
def planned_media() -> MediaServer:
    """The e2e media server's ports, chosen before anything that points at it starts (the rooms
    service's thumbnail URLs and recording storage, the gateway's signed URLs)."""
    from tests.conftest import free_port

    return MediaServer(free_port(), free_port())


@asynccontextmanager
async def media_server_process(client: Client, workdir: Path, node: str,
                               ports: MediaServer | None = None) -> AsyncIterator[MediaServer]:
    """One private nginx-rtmp process (scripts/media_server.sh) whose hooks call `client`'s gateway."""
    import asyncio
    import os
    import subprocess

    from tests.conftest import free_port, wait_for_port

    media = ports or MediaServer(free_port(), free_port())
    env = {**os.environ, "ONAIR_MEDIA_DIR": str(workdir), "ONAIR_RTMP_PORT": str(media.rtmp_port),
           "ONAIR_MEDIA_HTTP_PORT": str(media.http_port), "ONAIR_RTMP_BIND": "127.0.0.1", "ONAIR_MEDIA_NODE": node,
           "ONAIR_HOOKS_URL": str(client.make_url("")).rstrip("/"), "ONAIR_MEDIA_HOOK_TOKEN": MEDIA_HOOK_TOKEN}
    with open(workdir / "stderr.log", "wb") as stderr:
        proc = subprocess.Popen(["bash", str(REPO / "scripts/media_server.sh")], env=env,
                                stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            await asyncio.to_thread(wait_for_port, media.http_port, 30, "nginx")
            yield media
        finally:
            proc.terminate()
            proc.wait(10)


@pytest.fixture(scope="session")
async def e2e_gateway(rooms_service: RoomsService, amqp_url: str, namespace: str, planned_media: MediaServer,
                      tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Client, MediaServer]]:
    """A gateway whose push/play URLs point at a private nginx-rtmp that calls its hooks. Its ports
    are chosen first (the gateway signs URLs for them), then the process is started on them."""
    import shutil


    if shutil.which("nginx") is None or shutil.which("ffmpeg") is None:
        pytest.fail("e2e tests need nginx, libnginx-mod-rtmp and ffmpeg (make test installs them as root)")
    planned = planned_media
    settings = gateway_settings(
        amqp_url, namespace, push_domain=f"127.0.0.1:{planned.rtmp_port}",
        play_domain=f"127.0.0.1:{planned.rtmp_port}", play_http_base=planned.http_url,
        media_hook_token=MEDIA_HOOK_TOKEN,
    )
    async with TestClient(TestServer(create_app(settings), host="127.0.0.1")) as client:
        await wait_ready(client)
        async with media_server_process(client, tmp_path_factory.mktemp("nginx"), "media-a",
                                        ports=planned) as media:
            yield client, media


@pytest.fixture(scope="session")
async def second_media_server(e2e_gateway: tuple[Client, MediaServer],
                              tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[MediaServer]:
    """Another media-server process behind the same gateway (as a second replica in a cluster)."""
    client, _ = e2e_gateway
    async with media_server_process(client, tmp_path_factory.mktemp("nginx-b"), "media-b") as media:
        yield media


# --- moderation, with a cloud the tests point at the fake Tencent API or the media server ---


class SwitchableCloud(CloudPort):
    """Forwards to whichever real adapter a test plugs in (fake Tencent API, local nginx). With
    none plugged in, nobody pushes anywhere: every action succeeds with nothing to do (the rooms
    other tests close are cut at once, not retried into the next test's cloud)."""

    name = "switchable"

    def __init__(self) -> None:
        self.target: CloudPort | None = None

    def _to(self) -> CloudPort:
        return self.target or _NOTHING_PUSHED

    async def stream_states(self, streams: Sequence[str]) -> dict[str, StreamState]:
        return await self._to().stream_states(streams)

    async def forbid(self, stream: str, *, reason: str, resume_at: datetime) -> None:
        await self._to().forbid(stream, reason=reason, resume_at=resume_at)

    async def drop(self, stream: str) -> None:
        await self._to().drop(stream)

    async def resume(self, stream: str) -> None:
        await self._to().resume(stream)


class _NothingPushed(CloudPort):
    name = "nothing-pushed"

    async def stream_states(self, streams: Sequence[str]) -> dict[str, StreamState]:
        return dict.fromkeys(streams, StreamState.OFFLINE)

    async def forbid(self, stream: str, *, reason: str, resume_at: datetime) -> None:
        pass

    async def drop(self, stream: str) -> None:
        pass

    async def resume(self, stream: str) -> None:
        pass


_NOTHING_PUSHED = _NothingPushed()


@pytest.fixture(scope="session")
async def moderation_cloud() -> SwitchableCloud:
    return SwitchableCloud()


@pytest.fixture(scope="session")
async def moderation_service(rooms_service: RoomsService, rooms_settings: RoomsSettings,
                             moderation_cloud: SwitchableCloud) -> AsyncIterator[ModerationService]:
    settings = ModerationSettings(amqp_url=rooms_settings.amqp_url, mongodb_url=rooms_settings.mongodb_url,
                                  mongodb_db=rooms_settings.mongodb_db, bus_namespace=rooms_settings.bus_namespace,
                                  moderation_delivery_limit=3, request_timeout_seconds=5)
    async with running_moderation_service(settings, cloud=moderation_cloud) as service:
        yield service
