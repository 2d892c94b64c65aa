"""Real RTMP pushes (ffmpeg) into the private nginx-rtmp, through the gateway's publish hook."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from shared.cloud import StreamState
from shared.cloud.nginx_rtmp import NginxRtmpCloud
from shared.settings import GatewaySettings
from shared.signing import tx_secret, tx_time
from tests.e2e.conftest import Auth, ffmpeg_push, live_push, new_room, wait_exit, wait_state
from tests.fixtures import MEDIA_HOOK_TOKEN, Client, MediaServer


async def probe(url: str) -> bytes:
    """What a player finds at `url`: the codecs of its streams (empty if it cannot play)."""
    player = await asyncio.create_subprocess_exec(
        "ffprobe", "-v", "error", "-rw_timeout", "5000000", "-show_entries", "stream=codec_name", "-of", "csv=p=0",
        url, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(player.communicate(), 20)
    return out


async def pushing_live_room(client: Client, auth: Auth, cloud: NginxRtmpCloud,
                            pushes: list[subprocess.Popen[bytes]]) -> dict[str, Any]:
    """A room whose anchor pushes a real stream and has activated it: the room as the API gives it."""
    user, created = await live_push(client, auth, cloud, pushes)
    return dict(await (await client.get(f"/v1/rooms/{created['room']['id']}", headers=auth(user))).json())


async def test_a_room_push_url_works_and_its_play_urls_play(
    e2e_gateway: tuple[Client, MediaServer], auth: Auth, cloud: NginxRtmpCloud,
    pushes: list[subprocess.Popen[bytes]],
) -> None:
    client, _ = e2e_gateway
    room = await pushing_live_room(client, auth, cloud, pushes)
    async with aiohttp.ClientSession() as http:
        for _ in range(60):  # HLS needs a couple of fragments first
            async with http.get(room["play_urls"]["hls"]) as response:
                if response.status == 200 and b"#EXTM3U" in await response.read():
                    break
            await asyncio.sleep(0.25)
        else:
            pytest.fail("the room's HLS play URL never played")
    out = await probe(room["play_urls"]["rtmp"])
    assert b"h264" in out and b"aac" in out


async def test_stop_push_cuts_the_stream(
    e2e_gateway: tuple[Client, MediaServer], auth: Auth, cloud: NginxRtmpCloud,
    pushes: list[subprocess.Popen[bytes]],
) -> None:
    client, _ = e2e_gateway
    _, created = await new_room(client, auth)
    stream = created["room"]["stream_id"]
    push = ffmpeg_push(created["push_url"])
    pushes.append(push)
    assert await wait_state(cloud, stream, StreamState.ONLINE, 10)
    await cloud.stop_push(stream, reason="test", resume_at=datetime.now(UTC) + timedelta(hours=1))
    assert await wait_state(cloud, stream, StreamState.OFFLINE, 2), "still publishing 2 s after the drop"
    assert await wait_exit(push, 5) is not None, "the encoder kept running after the drop"


def _signed(media: MediaServer, stream: str, *, key: str, expires: datetime) -> str:
    t = tx_time(expires)
    return f"rtmp://127.0.0.1:{media.rtmp_port}/live/{stream}?txSecret={tx_secret(key, stream, t)}&txTime={t}"


@pytest.mark.parametrize("forgery", ["wrong key", "expired", "no signature", "unknown stream"])
async def test_forged_or_expired_pushes_are_refused(
    e2e_gateway: tuple[Client, MediaServer], auth: Auth, cloud: NginxRtmpCloud,
    pushes: list[subprocess.Popen[bytes]], forgery: str,
) -> None:
    client, media = e2e_gateway
    _, created = await new_room(client, auth)
    stream = created["room"]["stream_id"]
    key = GatewaySettings().push_key.get_secret_value()
    url = {
        "wrong key": _signed(media, stream, key="not-the-key", expires=datetime.now(UTC) + timedelta(hours=1)),
        "expired": _signed(media, stream, key=key, expires=datetime.now(UTC) - timedelta(seconds=5)),
        "no signature": f"rtmp://127.0.0.1:{media.rtmp_port}/live/{stream}",
        "unknown stream": _signed(media, "onair_nosuchroom", key=key, expires=datetime.now(UTC) + timedelta(hours=1)),
    }[forgery]
    push = ffmpeg_push(url)
    pushes.append(push)
    assert await wait_exit(push, 10) not in (None, 0), "a forged push was not refused"
    assert (await cloud.stream_states([stream]))[stream] is StreamState.OFFLINE


async def test_a_closed_room_stream_cannot_be_pushed_again(
    e2e_gateway: tuple[Client, MediaServer], auth: Auth, cloud: NginxRtmpCloud,
    pushes: list[subprocess.Popen[bytes]],
) -> None:
    client, _ = e2e_gateway
    user, created = await new_room(client, auth)
    response = await client.post(f"/v1/rooms/{created['room']['id']}/close", headers=auth(user))
    assert response.status == 200
    push = ffmpeg_push(created["push_url"])
    pushes.append(push)
    assert await wait_exit(push, 10) not in (None, 0), "a closed room's URL still pushes"


async def test_an_anchor_cannot_push_into_another_room_with_its_own_signature(
    e2e_gateway: tuple[Client, MediaServer], auth: Auth, cloud: NginxRtmpCloud,
    pushes: list[subprocess.Popen[bytes]],
) -> None:
    """The hijack: the victim's stream in the path, the attacker's own valid signature and stream
    name in the query (nginx-rtmp appends the client's query after its own `name`)."""
    client, media = e2e_gateway
    _, victim = await new_room(client, auth)
    _, attacker = await new_room(client, auth)
    victim_stream, attacker_stream = victim["room"]["stream_id"], attacker["room"]["stream_id"]
    signature = attacker["push_url"].split("?", 1)[1]
    hijack = f"rtmp://127.0.0.1:{media.rtmp_port}/live/{victim_stream}?{signature}&name={attacker_stream}"
    push = ffmpeg_push(hijack)
    pushes.append(push)
    assert await wait_exit(push, 10) not in (None, 0), "the hijacking push was not refused"
    states = await cloud.stream_states([victim_stream, attacker_stream])
    assert states == {victim_stream: StreamState.OFFLINE, attacker_stream: StreamState.OFFLINE}
    honest = ffmpeg_push(attacker["push_url"])  # the attacker's own URL, as issued, still works
    pushes.append(honest)
    assert await wait_state(cloud, attacker_stream, StreamState.ONLINE, 10)


@pytest.mark.parametrize("fields", [
    [("name", "S"), ("name", "S"), ("txSecret", "SIG"), ("txTime", "T")],  # a second name, even the same
    [("name", "S"), ("txSecret", "SIG"), ("txSecret", "SIG"), ("txTime", "T")],
    [("name", "S"), ("txSecret", "SIG")],  # no txTime
    [("name", "S"), ("txSecret", "é" * 32), ("txTime", "T")],  # non-ASCII: 403, not a 500
    [("name", "S"), ("txSecret", "SIG"), ("txTime", "\uff26" * 8)],  # full-width letters
])
async def test_the_publish_hook_refuses_any_doubt(
    e2e_gateway: tuple[Client, MediaServer], auth: Auth, fields: list[tuple[str, str]],
) -> None:
    client, _ = e2e_gateway
    _, created = await new_room(client, auth)
    stream = created["room"]["stream_id"]
    query = dict(pair.split("=", 1) for pair in created["push_url"].split("?", 1)[1].split("&"))
    real = {"S": stream, "SIG": query["txSecret"], "T": query["txTime"]}
    form = [(key, real.get(value, value)) for key, value in fields]
    response = await client.post(f"/v1/hooks/nginx-rtmp/publish?token={MEDIA_HOOK_TOKEN}", data=form)
    assert response.status == 403
    honest = [("name", stream), ("txSecret", real["SIG"]), ("txTime", real["T"])]
    assert (await client.post(f"/v1/hooks/nginx-rtmp/publish?token={MEDIA_HOOK_TOKEN}", data=honest)).status == 200


async def test_play_urls_are_enforced_for_rtmp_and_hls(
    e2e_gateway: tuple[Client, MediaServer], auth: Auth, cloud: NginxRtmpCloud,
    pushes: list[subprocess.Popen[bytes]],
) -> None:
    client, media = e2e_gateway
    room = await pushing_live_room(client, auth, cloud, pushes)
    stream = room["stream_id"]
    key = GatewaySettings().play_key.get_secret_value()

    def play(kind: str, *, signing_key: str = key, expires: datetime | None = None, query: str | None = None) -> str:
        t = tx_time(expires or datetime.now(UTC) + timedelta(hours=1))
        signature = query if query is not None else f"txSecret={tx_secret(signing_key, stream, t)}&txTime={t}"
        if kind == "rtmp":
            return f"rtmp://127.0.0.1:{media.rtmp_port}/live/{stream}?{signature}"
        return f"{media.http_url}/live/{stream}.m3u8?{signature}"

    forged = {"wrong key": {"signing_key": "not-the-play-key"},
              "expired": {"expires": datetime.now(UTC) - timedelta(seconds=5)},
              "no signature": {"query": ""}}
    async with aiohttp.ClientSession() as http:
        for _ in range(60):  # the issued URL plays once HLS has a fragment
            async with http.get(room["play_urls"]["hls"]) as response:
                playlist = await response.text()
                if response.status == 200 and ".ts" in playlist:
                    break
            await asyncio.sleep(0.25)
        segment = next(line for line in playlist.splitlines() if ".ts" in line)
        assert "txSecret=" in segment  # segments carry the playlist's signature
        async with http.get(room["play_urls"]["hls"].rsplit("/", 1)[0] + "/" + segment) as response:
            assert response.status == 200
        async with http.get(f"{media.http_url}/live/{segment.split('?')[0]}") as response:
            assert response.status == 403, "a segment without a signature was served"
        for name, forgery in forged.items():
            async with http.get(play("hls", **forgery)) as response:  # type: ignore[arg-type]
                assert response.status == 403, name
    assert b"h264" in await probe(room["play_urls"]["rtmp"])
    for name, forgery in forged.items():
        assert b"h264" not in await probe(play("rtmp", **forgery)), name  # type: ignore[arg-type]
