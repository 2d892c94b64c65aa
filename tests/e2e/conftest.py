"""Helpers and fixtures of the end-to-end tier: encoders (ffmpeg), rooms, media-server state."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from services.moderation.bootstrap import ModerationService
from shared.cloud import StreamState
from shared.cloud.nginx_rtmp import NginxRtmpCloud
from shared.settings import CloudSettings
from tests.fixtures import Client, MediaServer, SwitchableCloud, new_user

Auth = Callable[..., dict[str, str]]


def ffmpeg_push(url: str) -> subprocess.Popen[bytes]:
    """An anchor's encoder: a test pattern with sound, pushed as FLV over RTMP."""
    return subprocess.Popen(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re",
         "-f", "lavfi", "-i", "testsrc=size=320x240:rate=15", "-f", "lavfi", "-i", "sine=frequency=440",
         "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "15", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-b:a", "64k", "-f", "flv", url],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


@pytest.fixture
async def pushes() -> AsyncIterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(5)
        if proc.stderr:
            proc.stderr.close()


@pytest.fixture
async def cloud(e2e_gateway: tuple[Client, MediaServer]) -> AsyncIterator[NginxRtmpCloud]:
    _, media = e2e_gateway
    adapter = NginxRtmpCloud(CloudSettings(nginx_http_url=media.http_url))
    yield adapter
    await adapter.close()


@pytest.fixture
async def media_moderation(moderation_cloud: SwitchableCloud, moderation_service: ModerationService,
                           e2e_gateway: tuple[Client, MediaServer],
                           second_media_server: MediaServer) -> AsyncIterator[NginxRtmpCloud]:
    """Moderation's cloud: both media-server processes, as a headless Service lists the pods."""
    _, media = e2e_gateway
    adapter = NginxRtmpCloud(CloudSettings(nginx_http_url=f"{media.http_url},{second_media_server.http_url}"))
    moderation_cloud.target = adapter
    yield adapter
    moderation_cloud.target = None
    await adapter.close()


async def until(check: Callable[[], Awaitable[bool]], seconds: float) -> float | None:
    """Seconds until `check()` is true, or None when it never was within `seconds`."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if await check():
            return time.monotonic() - started
        await asyncio.sleep(0.02)
    return None


async def wait_state(cloud: NginxRtmpCloud, stream: str, want: StreamState, seconds: float) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if (await cloud.stream_states([stream, "other"]))[stream] is want:
            return True
        await asyncio.sleep(0.2)
    return False


async def wait_exit(proc: subprocess.Popen[bytes], seconds: float) -> int | None:
    deadline = asyncio.get_running_loop().time() + seconds
    while proc.poll() is None and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.1)
    return proc.poll()


async def new_room(client: Client, auth: Auth) -> tuple[str, dict[str, Any]]:
    user = new_user()
    response = await client.post("/v1/rooms", json={"title": "e2e", "cover_url": "https://x/c.jpg"},
                                 headers=auth(user))
    assert response.status == 201
    return user, await response.json()


async def live_push(client: Client, auth: Auth, cloud: NginxRtmpCloud,
                    pushes: list[subprocess.Popen[bytes]]) -> tuple[str, dict[str, Any]]:
    """A room whose anchor pushes a real stream and has activated it: (anchor, the created room
    with its push URL). The encoder is the last of `pushes`."""
    user, created = await new_room(client, auth)
    pushes.append(ffmpeg_push(created["push_url"]))
    assert await wait_state(cloud, created["room"]["stream_id"], StreamState.ONLINE, 10), "the push never showed"
    response = await client.post(f"/v1/rooms/{created['room']['id']}/activate", headers=auth(user))
    assert response.status == 200
    return user, created
