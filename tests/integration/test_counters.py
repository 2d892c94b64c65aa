"""Viewer and like counts: exact under redelivery and retries, coalesced, and streamed live."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import jwt
import pytest

from services.rooms.bootstrap import RoomsService
from services.rooms.counters import apply_counter_batch
from shared.bus import Bus
from shared.contracts import CounterEntry, RecordCounters, wrap
from shared.settings import RoomsSettings
from tests.fixtures import JWT_SECRET, Client, new_user

Auth = Callable[..., dict[str, str]]


async def live_room(gateway: Client, auth: Auth) -> tuple[str, str]:
    user = new_user()
    response = await gateway.post("/v1/rooms", json={"title": "t", "cover_url": "https://x/c.jpg"}, headers=auth(user))
    room_id = (await response.json())["room"]["id"]
    assert (await gateway.post(f"/v1/rooms/{room_id}/activate", headers=auth(user))).status == 200
    return user, room_id


async def counts(gateway: Client, auth: Auth, room_id: str) -> tuple[int, int]:
    room = await (await gateway.get(f"/v1/rooms/{room_id}", headers=auth("viewer"))).json()
    return room["viewers"], room["likes"]


async def settle(gateway: Client, auth: Auth, room_id: str, want: tuple[int, int], seconds: float = 5) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await counts(gateway, auth, room_id) == want:
            return True
        await asyncio.sleep(0.05)
    return False


@pytest.fixture
async def bus(rooms_settings: RoomsSettings) -> AsyncIterator[Bus]:
    client = Bus(rooms_settings.amqp_url, namespace=rooms_settings.bus_namespace)
    await client.connect(attempts=3)
    yield client
    await client.close()


async def test_concurrent_likes_and_views_add_up_exactly(gateway: Client, auth: Auth) -> None:
    _, room_id = await live_room(gateway, auth)
    likes = [gateway.post(f"/v1/rooms/{room_id}/likes", headers=auth(new_user())) for _ in range(60)]
    batched = [gateway.post(f"/v1/rooms/{room_id}/likes", json={"count": 7}, headers=auth("fan")) for _ in range(10)]
    views = [gateway.post(f"/v1/rooms/{room_id}/viewers", headers=auth(new_user())) for _ in range(25)]
    responses = await asyncio.gather(*likes, *batched, *views)
    assert {r.status for r in responses} == {202}
    assert await settle(gateway, auth, room_id, (25, 60 + 70)), await counts(gateway, auth, room_id)


async def test_counts_trail_the_truth_by_about_a_second(gateway: Client, auth: Auth) -> None:
    _, room_id = await live_room(gateway, auth)
    assert (await gateway.post(f"/v1/rooms/{room_id}/likes", headers=auth("fan"))).status == 202
    assert await settle(gateway, auth, room_id, (0, 1), seconds=1.0)


async def test_only_live_rooms_take_likes_and_views(gateway: Client, auth: Auth) -> None:
    user = new_user()
    response = await gateway.post("/v1/rooms", json={"title": "t", "cover_url": "https://x/c.jpg"}, headers=auth(user))
    room_id = (await response.json())["room"]["id"]
    for path in ("likes", "viewers"):
        assert (await gateway.post(f"/v1/rooms/{room_id}/{path}", headers=auth("fan"))).status == 409  # unactive
        assert (await gateway.post(f"/v1/rooms/0123abcd/{path}", headers=auth("fan"))).status == 404
        assert (await gateway.post(f"/v1/rooms/{room_id}/{path}")).status == 401
    await gateway.post(f"/v1/rooms/{room_id}/activate", headers=auth(user))
    await gateway.post(f"/v1/rooms/{room_id}/close", headers=auth(user))
    await asyncio.sleep(0.2)  # the gateway learns of the close from the room.closed event
    response = await gateway.post(f"/v1/rooms/{room_id}/likes", headers=auth("fan"))
    assert response.status == 409 and (await response.json())["room_status"] == "closed"
    for body in ({"count": 0}, {"count": 51}, {"count": "many"}, {"extra": 1}):
        response = await gateway.post(f"/v1/rooms/{room_id}/likes", json=body, headers=auth("fan"))
        assert response.status == 422, body


async def test_a_batch_delivered_twice_counts_once(gateway: Client, auth: Auth, bus: Bus) -> None:
    _, room_id = await live_room(gateway, auth)
    command = RecordCounters(entries=[CounterEntry(room_id=room_id, likes=5, viewers=2)])
    for _ in range(3):  # a retrying gateway publishes the same message id again
        await bus.publish_command(command, message_id="batch-dup-1-" + room_id)
    assert await settle(gateway, auth, room_id, (2, 5))
    await asyncio.sleep(0.5)
    assert await counts(gateway, auth, room_id) == (2, 5)


async def test_a_crash_between_the_write_and_the_ack_counts_once(
    gateway: Client, auth: Auth, bus: Bus, rooms_service: RoomsService
) -> None:
    _, room_id = await live_room(gateway, auth)
    command = RecordCounters(entries=[CounterEntry(room_id=room_id, likes=3)])
    envelope = wrap(command, message_id="batch-crash-" + room_id)
    await apply_counter_batch([(envelope, command)], counters=rooms_service.counters,  # written, then the process
                              events=rooms_service.bus)  # "dies" before its ack
    await bus.publish_command(command, message_id=envelope.id)  # so the broker delivers it again
    mixed = RecordCounters(entries=[CounterEntry(room_id=room_id, likes=4)])
    await bus.publish_command(mixed)  # and new traffic arrives in the same batch window
    assert await settle(gateway, auth, room_id, (0, 7))
    await asyncio.sleep(0.5)
    assert await counts(gateway, auth, room_id) == (0, 7)


async def test_a_client_retry_with_an_idempotency_key_counts_once(gateway: Client, auth: Auth) -> None:
    _, room_id = await live_room(gateway, auth)
    headers = {**auth("fan"), "Idempotency-Key": "tap-42"}
    for _ in range(3):
        assert (await gateway.post(f"/v1/rooms/{room_id}/likes", json={"count": 3}, headers=headers)).status == 202
    assert await settle(gateway, auth, room_id, (0, 3))
    await asyncio.sleep(0.5)
    assert await counts(gateway, auth, room_id) == (0, 3)


async def test_idempotency_keys_are_scoped_to_the_user_and_the_room(gateway: Client, auth: Auth) -> None:
    """Two users who happen to send the same key are two requests: every accepted like counts."""
    _, room_id = await live_room(gateway, auth)
    _, other_room = await live_room(gateway, auth)
    sends = [gateway.post(f"/v1/rooms/{room}/likes", json={"count": 50},
                          headers={**auth(user), "Idempotency-Key": "same-key"})
             for user, room in [("fan-a", room_id), ("fan-b", room_id), ("fan-a", other_room)]]
    assert [r.status for r in await asyncio.gather(*sends)] == [202, 202, 202]
    assert await settle(gateway, auth, room_id, (0, 100))
    assert await settle(gateway, auth, other_room, (0, 50))


@pytest.mark.parametrize("key", ["", "x" * 65, "has space", "ünïcode", "a/b", "k" * 8000])
async def test_malformed_idempotency_keys_are_refused_before_anything_counts(
    gateway: Client, auth: Auth, key: str
) -> None:
    _, room_id = await live_room(gateway, auth)
    for route in ("likes", "viewers"):
        response = await gateway.post(f"/v1/rooms/{room_id}/{route}", headers={**auth("fan"), "Idempotency-Key": key})
        assert response.status == 422 and (await response.json())["errors"][0]["field"] == "Idempotency-Key"
    created = await gateway.post("/v1/rooms", json={"title": "t", "cover_url": "https://x/c.jpg"},
                                 headers={**auth(f"anchor-{room_id}"), "Idempotency-Key": key})
    assert created.status == 422
    await asyncio.sleep(0.6)
    assert await counts(gateway, auth, room_id) == (0, 0)


async def read_events(response: Any, until: Callable[[list[tuple[str, dict[str, Any]]]], bool],
                      seconds: float = 10) -> list[tuple[str, dict[str, Any]]]:
    events: list[tuple[str, dict[str, Any]]] = []
    name = None
    deadline = time.monotonic() + seconds
    while not until(events) and time.monotonic() < deadline:
        line = (await asyncio.wait_for(response.content.readline(), deadline - time.monotonic())).decode().strip()
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and name:
            events.append((name, json.loads(line.split(":", 1)[1])))
        elif line == "" and not response.content.at_eof():
            name = None
        if response.content.at_eof():
            break
    return events


async def test_live_updates_show_counts_rising_then_the_close(gateway: Client, auth: Auth) -> None:
    anchor, room_id = await live_room(gateway, auth)
    stream = await gateway.get(f"/v1/rooms/{room_id}/events", headers=auth("viewer"))
    assert stream.status == 200 and stream.content_type == "text/event-stream"
    first = await read_events(stream, lambda e: len(e) >= 1)
    name, data = first[0]
    assert name == "counters" and data.pop("viewers_now") in (0, 1)  # this stream counts once reported
    assert data == {"viewers": 0, "likes": 0, "viewers_added": 0, "likes_added": 0}

    for _ in range(3):
        await asyncio.gather(*[gateway.post(f"/v1/rooms/{room_id}/likes", headers=auth("fan")) for _ in range(10)])
        await asyncio.sleep(0.3)
    rising = await read_events(stream, lambda e: any(d["likes"] == 30 for _, d in e))
    likes = [d["likes"] for name, d in rising if name == "counters"]
    assert likes == sorted(likes) and likes[-1] == 30 and len(likes) >= 2
    assert sum(d["likes_added"] for name, d in rising if name == "counters") == 30

    await gateway.post(f"/v1/rooms/{room_id}/close", headers=auth(anchor))
    final = await read_events(stream, lambda e: any(name == "closed" for name, _ in e))
    assert final[-1][0] == "closed" and final[-1][1]["close_reason"] == "anchor"
    stream.close()


async def test_live_updates_reject_strangers_and_unknown_rooms(gateway: Client, auth: Auth) -> None:
    assert (await gateway.get("/v1/rooms/0123abcd/events", headers=auth("viewer"))).status == 404
    assert (await gateway.get("/v1/rooms/0123abcd/events")).status == 401


async def test_a_live_update_stream_ends_when_its_token_does(gateway: Client, auth: Auth) -> None:
    _, room_id = await live_room(gateway, auth)
    short = jwt.encode({"sub": "viewer", "exp": int(time.time()) + 2}, JWT_SECRET, algorithm="HS256")
    stream = await gateway.get(f"/v1/rooms/{room_id}/events", params={"access_token": short})
    assert stream.status == 200
    events = await read_events(stream, lambda e: any(name == "expired" for name, _ in e), seconds=10)
    names = [name for name, _ in events]  # counters (the snapshot, maybe viewers_now moving), then expired
    assert names[-1] == "expired" and set(names[:-1]) == {"counters"}
    stream.close()


async def test_hot_counts_people_not_taps(gateway: Client, auth: Auth) -> None:
    """One account tapping 30 times against fifteen people liking once each, through the gateway,
    the counter pipeline and rooms: the fifteen score 15 likers, the clicker 1."""
    _, clicked = await live_room(gateway, auth)
    _, liked = await live_room(gateway, auth)
    clicker = auth(new_user())
    for _ in range(30):
        assert (await gateway.post(f"/v1/rooms/{clicked}/likes", json={"count": 50}, headers=clicker)).status == 202
    people = [gateway.post(f"/v1/rooms/{liked}/likes", headers=auth(new_user())) for _ in range(15)]
    assert {r.status for r in await asyncio.gather(*people)} == {202}
    assert await settle(gateway, auth, clicked, (0, 1500)) and await settle(gateway, auth, liked, (0, 15))

    async def scores() -> dict[str, float]:
        found: dict[str, float] = {}
        cursor: str | None = None
        while True:
            params = {"sort": "hot", "limit": "50", **({"cursor": cursor} if cursor else {})}
            page = await (await gateway.get("/v1/rooms", params=params, headers=auth("viewer"))).json()
            found |= {r["id"]: r["hot_score"] for r in page["rooms"] if r["id"] in (clicked, liked)}
            if not (cursor := page["next_cursor"]):
                return found

    deadline = time.monotonic() + 10  # a ranking is cut at most every 5 s
    while (ranked := await scores()).get(liked, 0) < 14.9 and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    assert ranked[liked] > 14.9 and ranked[clicked] < 1.1, ranked
