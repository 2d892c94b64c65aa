"""How true the list is, timed with real pushes against a running system (`make run`):

    make run           # in one terminal (default settings: the local media server, 10 s polls)
    make bench-live    # in another: .venv/bin/python -m bench.live_truth --tries 10

Each try pushes a real stream (ffmpeg) into the media server and times, from the moment of the
action, what the list, `GET /v1/rooms/{id}`, the media server's `/stat` and a player (ffprobe
on the room's signed play URL) show:
- encoder killed: until the room is off the list (nginx calls publish_done at once);
- encoder frozen (a phone whose network went: no FIN, no callback at once): until off the list;
- encoder back: until it is listed again (the room never closed);
- anchor close, ban, case ban (the case on an earlier room of the anchor): until the push is
  gone from `/stat` and the encoder has exited; then whether the signed play URLs still play;
- a banned anchor scripting create / activate / push in a loop from the 202: times on air.
Prints median and worst of each, beside the target.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import statistics
import subprocess
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from services.gateway.hooks.tencent import callback_sign
from services.gateway.http.auth import mint_token
from shared.cloud import StreamState
from shared.cloud.nginx_rtmp import NginxRtmpCloud
from shared.settings import CloudSettings, GatewaySettings
from tests.e2e.conftest import ffmpeg_push, until
from tests.e2e.test_media_server import probe

Check = Callable[[], Awaitable[bool]]


class System:
    def __init__(self, http: aiohttp.ClientSession, gateway: str, media: NginxRtmpCloud) -> None:
        self.http, self.gateway, self.media = http, gateway.rstrip("/"), media
        self.settings = GatewaySettings()
        self.encoders: list[subprocess.Popen[bytes]] = []

    def auth(self, user: str, *, admin: bool = False) -> dict[str, str]:
        token = mint_token(self.settings.jwt_secret.get_secret_value(), user, admin=admin)
        return {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, path: str, user: str, *, admin: bool = False,
                   json: Any = None) -> tuple[int, Any]:
        async with self.http.request(method, self.gateway + path, headers=self.auth(user, admin=admin),
                                     json=json) as response:
            return response.status, await response.json(content_type=None)

    def push(self, url: str) -> subprocess.Popen[bytes]:
        encoder = ffmpeg_push(url)
        self.encoders.append(encoder)
        return encoder

    async def live_room(self, anchor: str) -> tuple[dict[str, Any], subprocess.Popen[bytes], str]:
        """A room with a real push on air, activated: (room, encoder, push URL)."""
        status, created = await self.call("POST", "/v1/rooms", anchor,
                                          json={"title": "bench", "cover_url": "https://x/c.jpg"})
        assert status == 201, created
        room = created["room"]
        encoder = self.push(created["push_url"])
        assert await until(lambda: self.online(room["stream_id"]), 15) is not None, "the push never showed"
        status, room = await self.call("POST", f"/v1/rooms/{room['id']}/activate", anchor)
        assert status == 200, room
        return room, encoder, created["push_url"]

    async def online(self, stream: str) -> bool:
        return (await self.media.stream_states([stream]))[stream] is StreamState.ONLINE

    async def listed(self, room_id: str) -> bool:
        _, page = await self.call("GET", "/v1/rooms?limit=50", "viewer")
        return any(room["id"] == room_id for room in page["rooms"])

    async def plays(self, room: dict[str, Any]) -> bool:
        """Does any signed play URL of the room still play (RTMP through ffprobe, or HLS)?"""
        async with self.http.get(room["play_urls"]["hls"]) as response:
            if response.status == 200:
                return True
        return b"h264" in await probe(room["play_urls"]["rtmp"])

    def stop(self) -> None:
        for encoder in self.encoders:
            if encoder.poll() is None:
                encoder.kill()
            encoder.wait(5)


async def _exited(encoder: subprocess.Popen[bytes]) -> bool:
    return encoder.poll() is not None


async def _not(check: Check) -> bool:
    return not await check()


async def gone(system: System, stream: str, encoder: subprocess.Popen[bytes]) -> bool:
    return encoder.poll() is not None and not await system.online(stream)


async def dead_push(system: System, figures: dict[str, list[float]]) -> None:
    anchor = f"bench-{uuid.uuid4().hex[:8]}"
    room, encoder, push_url = await system.live_room(anchor)
    assert await until(lambda: system.listed(room["id"]), 5) is not None
    encoder.kill()
    off = await until(lambda: _not(lambda: system.listed(room["id"])), 60)
    figures["encoder killed: off the list"].append(off if off is not None else float("inf"))
    system.push(push_url)
    back = await until(lambda: system.listed(room["id"]), 30)
    figures["encoder back: listed again"].append(back if back is not None else float("inf"))
    _, now = await system.call("GET", f"/v1/rooms/{room['id']}", "viewer")
    assert now["status"] == "active", now
    await system.call("POST", f"/v1/rooms/{room['id']}/close", anchor)


async def frozen_push(system: System, figures: dict[str, list[float]]) -> None:
    """A phone that loses its network sends no FIN: the push is silent, not closed. Nothing calls
    back at once; nginx drops an idle publisher after 10 s (`drop_idle_publisher`), and the
    watcher's polls are the backstop."""
    anchor = f"bench-{uuid.uuid4().hex[:8]}"
    room, encoder, _ = await system.live_room(anchor)
    assert await until(lambda: system.listed(room["id"]), 5) is not None
    encoder.send_signal(signal.SIGSTOP)
    off = await until(lambda: _not(lambda: system.listed(room["id"])), 60)
    figures["encoder frozen (no FIN): off the list"].append(off if off is not None else float("inf"))
    encoder.kill()
    await system.call("POST", f"/v1/rooms/{room['id']}/close", anchor)


async def ended(system: System, figures: dict[str, list[float]], kind: str) -> None:
    anchor = f"bench-{uuid.uuid4().hex[:8]}"
    if kind == "case ban":  # the case is on an earlier room; the anchor moved on to a new one
        first, first_encoder, _ = await system.live_room(anchor)
        t = int(time.time()) + 600
        callback = {"event_type": 317, "streamId": first["stream_id"], "suggestion": "Review", "confidence": 70,
                    "img": f"https://shots.example.com/{uuid.uuid4().hex}.jpg", "screenshotTime": int(time.time()),
                    "t": t, "sign": callback_sign(system.settings.callback_key.get_secret_value(), t)}
        async with system.http.post(system.gateway + "/v1/callbacks/tencent/detection", json=callback) as response:
            assert response.status == 200
        case_id = await open_case(system, first["stream_id"])
        await system.call("POST", f"/v1/rooms/{first['id']}/close", anchor)
        await until(lambda: gone(system, first["stream_id"], first_encoder), 10)
    room, encoder, push_url = await system.live_room(anchor)
    if kind == "anchor close":
        status, _ = await system.call("POST", f"/v1/rooms/{room['id']}/close", anchor)
    elif kind == "ban":
        status, _ = await system.call("POST", f"/v1/admin/rooms/{room['id']}/ban", "mod", admin=True,
                                      json={"reason": "bench"})
    else:
        status, _ = await system.call("POST", f"/v1/admin/cases/{case_id}/resolve", "mod", admin=True,
                                      json={"action": "ban", "reason": "bench"})
    assert status in (200, 202), status
    cut = await until(lambda: gone(system, room["stream_id"], encoder), 30)
    figures[f"{kind}: push gone"].append(cut if cut is not None else float("inf"))
    figures[f"{kind}: play URLs still play"].append(float(await system.plays(room)))
    if kind != "anchor close":
        figures["banned anchor: times on air in 20 tries"].append(await scripted_return(system, anchor, room, push_url))


async def open_case(system: System, stream: str) -> str:
    for _ in range(100):
        _, page = await system.call("GET", "/v1/admin/cases?status=open&limit=100", "mod", admin=True)
        for case in page["cases"]:
            if case["stream_id"] == stream:
                return str(case["id"])
        await asyncio.sleep(0.05)
    raise AssertionError("the detection callback opened no case")


async def scripted_return(system: System, anchor: str, banned: dict[str, Any], push_url: str) -> float:
    """A script that tries to get the banned anchor back on air right after the ban: a new room,
    the banned room's activation, then the banned room's push URL. Counts what got on air."""
    _, after_ban = await system.call("GET", f"/v1/rooms/{banned['id']}", anchor)
    on_air = 0
    for _ in range(20):
        status, body = await system.call("POST", "/v1/rooms", anchor,
                                         json={"title": "back", "cover_url": "https://x/c.jpg"})
        if status == 201:
            encoder = system.push(body["push_url"])
            await system.call("POST", f"/v1/rooms/{body['room']['id']}/activate", anchor)
            await asyncio.sleep(1)
            on_air += encoder.poll() is None and await system.online(body["room"]["stream_id"])
        status, _ = await system.call("POST", f"/v1/rooms/{banned['id']}/activate", anchor)
        on_air += status == 200
    on_air += after_ban["status"] != "closed"
    encoder = system.push(push_url)  # the encoder retries the banned room's URL
    refused = await until(lambda: _exited(encoder), 10)
    on_air += refused is None or await system.online(banned["stream_id"])
    return float(on_air)


async def main(args: argparse.Namespace) -> None:
    media = NginxRtmpCloud(CloudSettings(nginx_http_url=args.media))
    figures: defaultdict[str, list[float]] = defaultdict(list)
    async with aiohttp.ClientSession() as http:
        system = System(http, args.gateway, media)
        try:
            for attempt in range(args.tries):
                await dead_push(system, figures)
                if attempt < args.frozen_tries:
                    await frozen_push(system, figures)
                for kind in ("anchor close", "ban", "case ban"):
                    await ended(system, figures, kind)
                print(f"try {attempt + 1}/{args.tries} done", flush=True)
        finally:
            system.stop()
            await media.close()
    targets = {"frozen": "10 s (one poll interval)", "off the list": "2 s", "listed again": "2 s",
               "push gone": "5 s", "still play": "0 of n",
               "on air": "0"}
    print(f"\n| what ({args.tries} tries) | median | worst | target |\n|---|---|---|---|")
    for name, values in figures.items():
        target = next((t for key, t in targets.items() if key in name), "")
        if "play" in name or "on air" in name:
            median, worst, total = statistics.median(values), max(values), sum(values)
            print(f"| {name} | {median:.0f} | {worst:.0f} (in all {total:.0f}) | {target} |")
        else:
            print(f"| {name} | {statistics.median(values):.2f} s | {max(values):.2f} s | {target} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gateway", default="http://127.0.0.1:8000")
    parser.add_argument("--media", default="http://127.0.0.1:8080", help="the media server's HTTP side(s)")
    parser.add_argument("--tries", type=int, default=10)
    parser.add_argument("--frozen-tries", type=int, default=3, help="frozen encoders (10 s or more each)")
    asyncio.run(main(parser.parse_args()))
