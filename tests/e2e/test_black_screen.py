"""Black-screen detection on the local media server: real pushes, killed and interrupted."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from services.status_watcher.domain import StrikeBook
from services.status_watcher.watch import StatusWatch
from shared.bus import Bus
from shared.clients import RoomsClient
from shared.cloud.nginx_rtmp import NginxRtmpCloud
from shared.leader import LeaderLock
from shared.settings import CloudSettings, RoomsSettings
from tests.e2e.conftest import Auth, ffmpeg_push, new_room, wait_exit
from tests.fixtures import Client, MediaServer

INTERVAL, STRIKES = 1.0, 3


@pytest.fixture
async def watcher(rooms_settings: RoomsSettings, e2e_gateway: tuple[Client, MediaServer]
                  ) -> AsyncIterator[StatusWatch]:
    _, media = e2e_gateway
    bus = Bus(rooms_settings.amqp_url, namespace=rooms_settings.bus_namespace)
    await bus.connect(attempts=3)
    cloud = NginxRtmpCloud(CloudSettings(nginx_http_url=media.http_url))
    watch = StatusWatch(events=bus, rooms=RoomsClient(bus, timeout=5), publisher=bus, cloud=cloud,
                        book=StrikeBook(STRIKES, grace=timedelta(seconds=INTERVAL)), interval=INTERVAL, resync_every=30)
    lock = LeaderLock(rooms_settings.amqp_url, f"{rooms_settings.bus_namespace}.status_watcher.leader")
    task = asyncio.create_task(lock.lead(watch.run))
    yield watch
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await cloud.close()
    await bus.close()


async def live_pushing_room(client: Client, auth: Auth, pushes: list[subprocess.Popen[bytes]]
                            ) -> tuple[str, dict[str, Any], subprocess.Popen[bytes]]:
    user, created = await new_room(client, auth)
    push = ffmpeg_push(created["push_url"])
    pushes.append(push)
    await asyncio.sleep(1.5)  # the SDK reports push-begin, then the app activates
    response = await client.post(f"/v1/rooms/{created['room']['id']}/activate", headers=auth(user))
    assert response.status == 200
    return user, created, push


async def room_status(client: Client, auth: Auth, room_id: str) -> dict[str, Any]:
    return dict(await (await client.get(f"/v1/rooms/{room_id}", headers=auth("viewer"))).json())


async def test_a_dead_push_closes_its_room_and_healthy_ones_stay(
    e2e_gateway: tuple[Client, MediaServer], auth: Auth, watcher: StatusWatch,
    pushes: list[subprocess.Popen[bytes]],
) -> None:
    client, _ = e2e_gateway
    _, dead, dead_push = await live_pushing_room(client, auth, pushes)
    _, healthy, _ = await live_pushing_room(client, auth, pushes)
    _, blip, blip_push = await live_pushing_room(client, auth, pushes)
    await asyncio.sleep(INTERVAL * 2)  # all three are watched and polled online

    dead_push.kill()  # the anchor's app crashes: nobody tells the server
    killed_at = time.monotonic()
    blip_push.kill()  # a short network drop: the SDK reconnects with the same URL
    await wait_exit(blip_push, 2)
    await asyncio.sleep(INTERVAL * 0.8)
    pushes.append(ffmpeg_push(blip["push_url"]))

    deadline = killed_at + STRIKES * INTERVAL + 2
    closed_after = None
    while time.monotonic() < deadline:
        room = await room_status(client, auth, dead["room"]["id"])
        if room["status"] == "closed":
            closed_after = time.monotonic() - killed_at
            break
        await asyncio.sleep(0.1)
    assert closed_after is not None, "the black-screen room was not closed in strikes x interval + 2 s"
    assert room["close_reason"] == "black_screen"

    await asyncio.sleep(STRIKES * INTERVAL + 1)  # long enough to have closed the others, were they struck
    for survivor in (healthy, blip):
        assert (await room_status(client, auth, survivor["room"]["id"]))["status"] == "active"
    print(f"black screen detected and closed {closed_after:.2f} s after the push died")


async def test_a_status_source_outage_closes_nothing(
    e2e_gateway: tuple[Client, MediaServer], auth: Auth, rooms_settings: RoomsSettings,
    pushes: list[subprocess.Popen[bytes]],
) -> None:
    """The watcher cannot reach the media server's /stat: every answer is unknown, no strikes."""
    client, _ = e2e_gateway
    _, room, push = await live_pushing_room(client, auth, pushes)
    push.kill()  # the stream really is gone, but the watcher cannot tell
    bus = Bus(rooms_settings.amqp_url, namespace=rooms_settings.bus_namespace)
    await bus.connect(attempts=3)
    unreachable = NginxRtmpCloud(CloudSettings(nginx_http_url="http://127.0.0.1:1", nginx_timeout_seconds=0.5))
    blind = StatusWatch(events=bus, rooms=RoomsClient(bus, timeout=5), publisher=bus, cloud=unreachable,
                        book=StrikeBook(STRIKES, grace=timedelta(0)), interval=INTERVAL, resync_every=30)
    try:
        await blind.resync()
        for _ in range(STRIKES + 2):
            stats = await blind.poll_once()
            assert stats.struck == 0 and stats.closed == 0 and stats.unknown >= 1
    finally:
        await unreachable.close()
        await bus.close()
    assert (await room_status(client, auth, room["room"]["id"]))["status"] == "active"
