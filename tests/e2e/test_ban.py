"""A moderator bans a live room on the local media server: the push is cut and stays out."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator

import pytest

from services.moderation.bootstrap import ModerationService
from shared.cloud import StreamState
from shared.cloud.nginx_rtmp import NginxRtmpCloud
from shared.settings import CloudSettings
from tests.e2e.conftest import Auth, ffmpeg_push, new_room, wait_exit, wait_state
from tests.fixtures import Client, MediaServer, SwitchableCloud


@pytest.fixture
async def nginx_moderation(moderation_cloud: SwitchableCloud, moderation_service: ModerationService,
                           e2e_gateway: tuple[Client, MediaServer]) -> AsyncIterator[NginxRtmpCloud]:
    _, media = e2e_gateway
    adapter = NginxRtmpCloud(CloudSettings(nginx_http_url=media.http_url))
    moderation_cloud.target = adapter
    yield adapter
    moderation_cloud.target = None
    await adapter.close()


async def test_ban_cuts_the_push_within_2s_and_keeps_the_anchor_out(
    e2e_gateway: tuple[Client, MediaServer], auth: Auth, nginx_moderation: NginxRtmpCloud,
    pushes: list[subprocess.Popen[bytes]],
) -> None:
    client, _ = e2e_gateway
    anchor, created = await new_room(client, auth)
    stream, room_id = created["room"]["stream_id"], created["room"]["id"]
    push = ffmpeg_push(created["push_url"])
    pushes.append(push)
    assert await wait_state(nginx_moderation, stream, StreamState.ONLINE, 10)
    assert (await client.post(f"/v1/rooms/{room_id}/activate", headers=auth(anchor))).status == 200

    banned_at = time.monotonic()
    response = await client.post(f"/v1/admin/rooms/{room_id}/ban", json={"reason": "rules"},
                                 headers=auth("mod", admin=True))
    assert response.status == 202
    assert await wait_exit(push, 2) is not None, "the push was not cut within 2 s of the ban"
    print(f"push cut {time.monotonic() - banned_at:.2f} s after the ban was accepted")
    room = await (await client.get(f"/v1/rooms/{room_id}", headers=auth("viewer"))).json()
    assert (room["status"], room["close_reason"]) == ("closed", "banned")

    again = ffmpeg_push(created["push_url"])  # the encoder reconnects with the same URL
    pushes.append(again)
    assert await wait_exit(again, 10) not in (None, 0), "a re-push of the banned stream was accepted"
    assert (await nginx_moderation.stream_states([stream]))[stream] is StreamState.OFFLINE

    for _ in range(50):
        response = await client.post("/v1/rooms", json={"title": "back", "cover_url": "https://x/c.jpg"},
                                     headers=auth(anchor))
        if response.status == 409 and "banned_until" in await response.json():
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail(f"the banned anchor could still create a room ({response.status})")
