"""The list is true, with real pushes (ffmpeg) into real media-server processes (nginx-rtmp): a dead
push leaves the list at once and comes back in its place, a close ends the push and its play URLs,
and a ban cuts a push on whichever media-server process it landed."""

from __future__ import annotations

import asyncio
import subprocess
import time
from typing import Any

import aiohttp

from shared.cloud import StreamState
from shared.cloud.nginx_rtmp import NginxRtmpCloud
from tests.e2e.conftest import Auth, ffmpeg_push, live_push, new_room, until, wait_exit, wait_state
from tests.e2e.test_media_server import probe, pushing_live_room
from tests.fixtures import Client, MediaServer

BOUND_SECONDS = 5.0  # a close or a ban: the push gone from every process, its play URLs dead


async def listed(client: Client, auth: Auth, room_id: str) -> bool:
    page = await (await client.get("/v1/rooms", params={"limit": "50"}, headers=auth("viewer"))).json()
    return any(room["id"] == room_id for room in page["rooms"])


async def test_a_dead_push_leaves_the_list_at_once_and_comes_back_in_its_place(
    e2e_gateway: tuple[Client, MediaServer], auth: Auth, cloud: NginxRtmpCloud,
    pushes: list[subprocess.Popen[bytes]],
) -> None:
    client, _ = e2e_gateway
    _, created = await live_push(client, auth, cloud, pushes)
    room_id, push = created["room"]["id"], pushes[-1]
    assert await listed(client, auth, room_id)
    events = await client.get(f"/v1/rooms/{room_id}/events", headers=auth("viewer"))

    push.kill()  # the encoder dies: nginx calls publish_done at once
    gone = await until(lambda: _not(listed(client, auth, room_id)), 5)
    assert gone is not None and gone < 2.0, f"the dead push stayed listed ({gone})"
    room = await (await client.get(f"/v1/rooms/{room_id}", headers=auth("viewer"))).json()
    assert (room["status"], room["stream_state"]) == ("active", "interrupted") and room["interrupted_at"]
    assert "interrupted" in await _next_event(events)

    pushes.append(ffmpeg_push(created["push_url"]))  # the app reconnects within the grace
    back = await until(lambda: listed(client, auth, room_id), 10)
    assert back is not None, "the resumed push was not listed again"
    room = await (await client.get(f"/v1/rooms/{room_id}", headers=auth("viewer"))).json()
    assert (room["status"], room["stream_state"], room["interrupted_at"]) == ("active", "live", None)
    assert "resumed" in await _next_event(events)
    events.close()


async def _not(check: Any) -> bool:
    return not await check


async def _next_event(stream: aiohttp.ClientResponse) -> str:
    """The next named event of a live-update stream (counters skipped)."""
    while True:
        line = (await asyncio.wait_for(stream.content.readline(), 5)).decode()
        if line.startswith("event:") and "counters" not in line:
            return line


async def test_a_close_ends_the_push_and_its_play_urls(
    e2e_gateway: tuple[Client, MediaServer], auth: Auth, cloud: NginxRtmpCloud, media_moderation: NginxRtmpCloud,
    pushes: list[subprocess.Popen[bytes]],
) -> None:
    client, _ = e2e_gateway
    room = await pushing_live_room(client, auth, cloud, pushes)
    assert b"h264" in await probe(room["play_urls"]["rtmp"])
    closed_at = time.monotonic()
    assert (await client.post(f"/v1/rooms/{room['id']}/close", headers=auth(room["anchor_id"]))).status == 200
    assert await wait_exit(pushes[-1], BOUND_SECONDS) is not None, "the closed room's push kept running"
    assert time.monotonic() - closed_at < BOUND_SECONDS
    assert (await cloud.stream_states([room["stream_id"]]))[room["stream_id"]] is StreamState.OFFLINE
    assert b"h264" not in await probe(room["play_urls"]["rtmp"])  # a signed URL of a closed room
    async with aiohttp.ClientSession() as http, http.get(room["play_urls"]["hls"]) as response:
        assert response.status == 403


async def test_a_ban_cuts_a_push_on_another_media_server_process(
    e2e_gateway: tuple[Client, MediaServer], auth: Auth, second_media_server: MediaServer,
    media_moderation: NginxRtmpCloud, pushes: list[subprocess.Popen[bytes]],
) -> None:
    client, media = e2e_gateway
    anchor, created = await new_room(client, auth)
    room_id, stream = created["room"]["id"], created["room"]["stream_id"]
    elsewhere = created["push_url"].replace(f":{media.rtmp_port}/", f":{second_media_server.rtmp_port}/")
    push = ffmpeg_push(elsewhere)  # the anchor's connection reached the second process
    pushes.append(push)
    assert await wait_state(media_moderation, stream, StreamState.ONLINE, 10)
    assert (await client.post(f"/v1/rooms/{room_id}/activate", headers=auth(anchor))).status == 200

    banned_at = time.monotonic()
    response = await client.post(f"/v1/admin/rooms/{room_id}/ban", json={"reason": "rules"},
                                 headers=auth("mod", admin=True))
    assert response.status == 202
    assert await wait_exit(push, BOUND_SECONDS) is not None, "the push on the second process was not cut"
    assert time.monotonic() - banned_at < BOUND_SECONDS
    assert (await media_moderation.stream_states([stream]))[stream] is StreamState.OFFLINE
    room = await (await client.get(f"/v1/rooms/{room_id}", headers=auth("viewer"))).json()
    assert (room["status"], room["close_reason"], room["play_urls"]) == ("closed", "banned", None)


async def test_a_banned_anchor_scripting_its_way_back_is_never_on_air(
    e2e_gateway: tuple[Client, MediaServer], auth: Auth, cloud: NginxRtmpCloud, media_moderation: NginxRtmpCloud,
    pushes: list[subprocess.Popen[bytes]],
) -> None:
    """From the 202 on, every create is refused, the banned room cannot be activated, and its push
    URL is refused by the media server: 20 tries, none on air."""
    client, _ = e2e_gateway
    anchor, created = await live_push(client, auth, cloud, pushes)
    room = created["room"]
    response = await client.post(f"/v1/admin/rooms/{room['id']}/ban", json={"reason": "rules"},
                                 headers=auth("mod", admin=True))
    assert response.status == 202
    for attempt in range(20):
        another = await client.post("/v1/rooms", json={"title": "back", "cover_url": "https://x/c.jpg"},
                                    headers=auth(anchor))
        assert another.status == 409 and "banned_until" in await another.json(), attempt
        activated = await client.post(f"/v1/rooms/{room['id']}/activate", headers=auth(anchor))
        assert activated.status == 409, attempt
    again = ffmpeg_push(created["push_url"])  # the banned room's own push URL, as its encoder retries
    pushes.append(again)
    assert await wait_exit(again, 10) not in (None, 0), "the banned room's push URL still pushes"
    assert not await listed(client, auth, room["id"])
