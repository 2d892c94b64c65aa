"""Go-live alerts with a real push (ffmpeg into nginx-rtmp) through the real rooms service and
bus: a follower's `/v1/me/events` gets `followed_live` once when the anchor goes live, not again
when the push drops and comes back within the grace; someone who unfollowed gets nothing; the
bus carries the followers for a notification service."""

from __future__ import annotations

import asyncio
import subprocess
import time

import aiohttp

from shared.cloud import StreamState
from shared.cloud.nginx_rtmp import NginxRtmpCloud
from shared.settings import RoomsSettings
from tests.e2e.conftest import Auth, ffmpeg_push, new_room, wait_state
from tests.fixtures import Client, MediaServer, new_user, received, spy_queue


async def events_of(stream: aiohttp.ClientResponse, seconds: float, *, first_only: bool = False) -> list[str]:
    """The names of the events that arrive within `seconds` (or the first one)."""
    names: list[str] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0 and not (first_only and names):
        try:
            line = await asyncio.wait_for(stream.content.readline(), left)
        except TimeoutError:
            break
        if line.startswith(b"event: "):
            names.append(line.removeprefix(b"event: ").strip().decode())
    return names


async def test_a_followed_anchor_going_live_alerts_once_and_not_after_a_reconnect(
    e2e_gateway: tuple[Client, MediaServer], auth: Auth, cloud: NginxRtmpCloud, rooms_settings: RoomsSettings,
    pushes: list[subprocess.Popen[bytes]],
) -> None:
    client, _ = e2e_gateway
    fan, quitter = new_user(), new_user()
    anchor, created = await new_room(client, auth)
    for user in (fan, quitter):
        assert (await client.put(f"/v1/me/following/{anchor}", headers=auth(user))).status == 200
    assert (await client.delete(f"/v1/me/following/{anchor}", headers=auth(quitter))).status == 200
    fan_events = await client.get("/v1/me/events", headers=auth(fan))
    quitter_events = await client.get("/v1/me/events", headers=auth(quitter))
    namespace = rooms_settings.bus_namespace
    async with spy_queue(rooms_settings.amqp_url, f"{namespace}.events", ["anchor.*"]) as bus:
        pushes.append(ffmpeg_push(created["push_url"]))
        stream = created["room"]["stream_id"]
        assert await wait_state(cloud, stream, StreamState.ONLINE, 10)
        activated = time.monotonic()
        assert (await client.post(f"/v1/rooms/{created['room']['id']}/activate", headers=auth(anchor))).status == 200
        assert await events_of(fan_events, 3, first_only=True) == ["followed_live"]
        alerted = time.monotonic() - activated
        print(f"\nfollowed_live {alerted:.2f} s after the activate request (bound 1 s)")
        assert alerted < 1.0
        pushes[-1].kill()  # the app crashed, and comes back within the grace
        assert await wait_state(cloud, stream, StreamState.OFFLINE, 10)
        pushes.append(ffmpeg_push(created["push_url"]))
        assert await wait_state(cloud, stream, StreamState.ONLINE, 10)
        assert await events_of(fan_events, 3) == []
        assert await events_of(quitter_events, 0.5) == []
        carried = [(e.type, e.payload.get("follower_ids")) for e in await received(bus, 1)]
    assert ("anchor.went_live", None) in carried and ("anchor.followers_to_alert", [fan]) in carried
    assert len(carried) == 2  # once: the reconnect announced nothing
    fan_events.close()
    quitter_events.close()
