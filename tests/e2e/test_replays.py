"""Replays and live thumbnails with real pushes (ffmpeg) into the real media server (nginx-rtmp):
every push session is recorded and comes back as a replay that plays (ffprobe) with the URL the
API gives; only that URL plays; a push interrupted and resumed gives two parts; a live room's
thumbnail is a recent frame at a URL that does not change."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from yarl import URL

from shared.cloud import StreamState
from shared.cloud.nginx_rtmp import NginxRtmpCloud
from tests.e2e.conftest import Auth, ffmpeg_push, live_push, until, wait_exit, wait_state
from tests.fixtures import Client, MediaServer, new_user

THUMBNAIL_SECONDS = 10  # the media server's default ONAIR_THUMBNAIL_SECONDS


async def ffprobe_seconds(url: str) -> float:
    proc = await asyncio.create_subprocess_exec(
        "ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode == 0, f"ffprobe could not play {url}: {err.decode()[-300:]}"
    return float(json.loads(out)["format"]["duration"])


async def stop_push(push: subprocess.Popen[bytes]) -> None:
    push.send_signal(signal.SIGINT)  # the encoder ends the stream cleanly, as an app going off air
    assert await wait_exit(push, 10) is not None


async def replays_of(client: Client, auth: Auth, room_id: str, parts: int, seconds: float) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    async def recorded() -> bool:
        nonlocal found
        room = await (await client.get(f"/v1/rooms/{room_id}", headers=auth("viewer"))).json()
        found = room.get("replays") or []
        return len(found) >= parts

    assert await until(recorded, seconds) is not None, f"{len(found)} of {parts} replays after {seconds} s"
    return found


async def thumbnail_age(http: aiohttp.ClientSession, url: str) -> float | None:
    """Seconds since the thumbnail's frame was written, or None when there is none."""
    async with http.get(url) as response:
        if response.status != 200:
            return None
        assert response.content_type == "image/jpeg" and "max-age" in response.headers["Cache-Control"]
        assert (await response.read())[:2] == b"\xff\xd8"
        return time.time() - parsedate_to_datetime(response.headers["Last-Modified"]).timestamp()


async def test_a_show_is_recorded_plays_again_and_had_a_fresh_thumbnail(
    e2e_gateway: tuple[Client, MediaServer], auth: Auth, cloud: NginxRtmpCloud,
    pushes: list[subprocess.Popen[bytes]],
) -> None:
    client, media = e2e_gateway
    pushed_at = time.monotonic()
    anchor, created = await live_push(client, auth, cloud, pushes)
    room_id = created["room"]["id"]
    thumbnail = (await (await client.get(f"/v1/rooms/{room_id}", headers=auth("viewer"))).json())["thumbnail_url"]
    assert thumbnail == f"{media.http_url}/thumbnails/{created['room']['stream_id']}.jpg"
    ages = []
    async with aiohttp.ClientSession() as http:
        first = await until(lambda: _has_thumbnail(http, thumbnail), 15)
        assert first is not None, "no thumbnail within 15 s of the push"
        while time.monotonic() - pushed_at < 20:
            ages.append(await thumbnail_age(http, thumbnail))
            await asyncio.sleep(1)
        listed = await (await client.get(f"/v1/rooms/{room_id}", headers=auth("viewer"))).json()
        assert listed["thumbnail_url"] == thumbnail  # the same URL the whole show
        await stop_push(pushes[-1])
        pushed = time.monotonic() - pushed_at
        closed = time.monotonic()
        assert (await client.post(f"/v1/rooms/{room_id}/close", headers=auth(anchor))).status == 200
        [replay] = await replays_of(client, auth, room_id, 1, 10)
        ready = time.monotonic() - closed
        assert await until(lambda: _gone(http, thumbnail), 5) is not None  # no thumbnail off air
        duration = await ffprobe_seconds(replay["url"])
        print(f"\nreplay of a {pushed:.1f} s push ready {ready:.1f} s after the close, {duration:.1f} s long; "
              f"thumbnail first after {first:.1f} s, oldest {max(a for a in ages if a is not None):.1f} s")
        assert abs(duration - replay["duration_seconds"]) < 0.5 and abs(duration - pushed) <= 1.5
        assert all(age is not None and age <= THUMBNAIL_SECONDS + 5 for age in ages), ages
        await _only_the_signed_url_plays(http, replay["url"])


async def _has_thumbnail(http: aiohttp.ClientSession, url: str) -> bool:
    return await thumbnail_age(http, url) is not None


async def _gone(http: aiohttp.ClientSession, url: str) -> bool:
    async with http.get(url) as response:
        return response.status == 404


async def _only_the_signed_url_plays(http: aiohttp.ClientSession, signed: str) -> None:
    url = URL(signed)
    forged = url.update_query(txSecret="0" * 32)
    expired = url.update_query(txTime=format(int(time.time()) - 60, "X"))
    for refused in (url.with_query(None), forged, expired, url.with_path(url.path.replace(".mp4", "0.mp4"))):
        async with http.get(refused) as response:
            assert response.status == 403, (str(refused), response.status)
    async with http.get(url, headers={"Range": "bytes=0-99"}) as response:
        assert response.status == 206 and len(await response.read()) == 100  # players seek with ranges
    async with http.delete(url) as response:
        assert response.status in (403, 405)  # deleting is not for viewers


async def test_an_interrupted_push_gives_two_parts_and_its_anchor_may_delete_them(
    e2e_gateway: tuple[Client, MediaServer], auth: Auth, cloud: NginxRtmpCloud,
    pushes: list[subprocess.Popen[bytes]],
) -> None:
    client, _ = e2e_gateway
    anchor, created = await live_push(client, auth, cloud, pushes)
    room_id, stream = created["room"]["id"], created["room"]["stream_id"]
    await asyncio.sleep(5)
    pushes[-1].kill()  # the app crashed
    assert await wait_state(cloud, stream, StreamState.OFFLINE, 10)
    pushes.append(ffmpeg_push(created["push_url"]))  # and came back within the grace
    assert await wait_state(cloud, stream, StreamState.ONLINE, 10)
    await asyncio.sleep(5)
    await stop_push(pushes[-1])
    assert (await client.post(f"/v1/rooms/{room_id}/close", headers=auth(anchor))).status == 200
    first, second = await replays_of(client, auth, room_id, 2, 15)
    assert first["started_at"] < second["started_at"]  # in order
    durations = [await ffprobe_seconds(part["url"]) for part in (first, second)]
    assert all(4 <= d <= 7 for d in durations), durations

    page = await (await client.get(f"/v1/anchors/{anchor}/replays", params={"limit": "1"},
                                   headers=auth("viewer"))).json()
    assert [r["id"] for r in page["replays"]] == [second["id"]] and page["next_cursor"]
    rest = await (await client.get(f"/v1/anchors/{anchor}/replays", params={"cursor": page["next_cursor"]},
                                   headers=auth("viewer"))).json()
    assert [r["id"] for r in rest["replays"]] == [first["id"]] and rest["next_cursor"] is None

    someone = new_user()
    assert (await client.delete(f"/v1/replays/{first['id']}", headers=auth(someone))).status == 403
    assert (await client.delete(f"/v1/replays/{first['id']}", headers=auth(anchor))).status == 204
    assert (await client.delete(f"/v1/replays/{first['id']}", headers=auth(anchor))).status == 404
    left = await replays_of(client, auth, room_id, 1, 1)
    assert [r["id"] for r in left] == [second["id"]]
    async with aiohttp.ClientSession() as http:  # its file is deleted by the next sweep, not only hidden
        assert await until(lambda: _file_gone(http, first["url"]), 10) is not None


async def _file_gone(http: aiohttp.ClientSession, url: str) -> bool:
    async with http.get(url) as response:
        return response.status == 404


async def test_a_banned_rooms_replay_is_kept_for_moderators_only(
    e2e_gateway: tuple[Client, MediaServer], auth: Auth, cloud: NginxRtmpCloud,
    media_moderation: NginxRtmpCloud, pushes: list[subprocess.Popen[bytes]],
) -> None:
    client, _ = e2e_gateway
    anchor, created = await live_push(client, auth, cloud, pushes)
    room_id = created["room"]["id"]
    await asyncio.sleep(4)
    banned = await client.post(f"/v1/admin/rooms/{room_id}/ban", json={"reason": "e2e"},
                               headers=auth("mod", admin=True))
    assert banned.status == 202  # the ban cuts the push: its recording ends there

    async def kept_as_evidence() -> bool:
        room = await (await client.get(f"/v1/rooms/{room_id}", headers=auth("mod", admin=True))).json()
        return [r["hidden"] for r in room.get("replays") or []] == [True]

    assert await until(kept_as_evidence, 15) is not None
    seen = await (await client.get(f"/v1/rooms/{room_id}", headers=auth("viewer"))).json()
    listed = await (await client.get(f"/v1/anchors/{anchor}/replays", headers=auth("viewer"))).json()
    assert seen["replays"] == [] and listed["replays"] == []
    moderated = await (await client.get(f"/v1/anchors/{anchor}/replays", headers=auth("mod", admin=True))).json()
    assert len(moderated["replays"]) == 1 and await ffprobe_seconds(moderated["replays"][0]["url"]) > 2
