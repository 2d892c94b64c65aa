"""The gateway's views through aiohttp, on fakes of their ports (tests/fakes/gateway.py): what
each route answers, that answers match the models the OpenAPI document is made from, and that
every route is described. No broker: the integration tier runs the same routes on the real bus."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from services.gateway.handlers import RoomEvents
from services.gateway.http.answers import (
    LIVE_EVENTS,
    BanAccepted,
    CountAccepted,
    CreatedRoom,
    ReplayList,
    RoomList,
    RoomView,
)
from services.gateway.http.auth import mint_token
from services.gateway.http.follow_answers import FollowedLiveEvent
from services.gateway.http.openapi import OPERATIONS, STREAMS
from services.gateway.http.serving import build_app
from shared.contracts import AnchorWentLive, Replay, Room
from shared.settings import GatewaySettings
from tests.fakes.gateway import FakeGateway, fake_gateway
from tests.fixtures import JWT_SECRET

SECRET = JWT_SECRET
Client = TestClient[Any, Any]


@pytest.fixture
async def served() -> AsyncIterator[tuple[Client, FakeGateway]]:
    fake = fake_gateway(GatewaySettings(jwt_secret=SECRET, hooks_port=0))
    fake.gateway.directory.begin_snapshot()
    fake.gateway.directory.finish_snapshot([])
    app = build_app([*fake.gateway.routes, *fake.gateway.hook_routes], max_body_bytes=4096)
    async with TestClient(TestServer(app)) as client:
        yield client, fake


def auth(user: str, *, admin: bool = False) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(SECRET, user, admin=admin)}"}


async def live_room(client: Client, anchor: str = "anchor") -> dict[str, Any]:
    created = await client.post("/v1/rooms", json={"title": "hi", "cover_url": "https://x/c.jpg"},
                                headers=auth(anchor))
    assert created.status == 201
    body = await created.json()
    CreatedRoom.model_validate(body)
    assert "txSecret=" in body["push_url"] and body["room"]["play_urls"] is None
    activated = await client.post(f"/v1/rooms/{body['room']['id']}/activate", headers=auth(anchor))
    assert activated.status == 200
    return dict(await activated.json())


async def test_a_created_and_activated_room_is_listed_as_the_model_says(served: tuple[Client, FakeGateway]) -> None:
    client, fake = served
    room = await live_room(client)
    RoomView.model_validate(room)
    assert room["play_urls"] is not None and room["viewers_now"] == 0
    for query in ("", "?sort=hot", "?sort=new&limit=1"):
        page = await client.get(f"/v1/rooms{query}", headers=auth("viewer"))
        assert page.status == 200
        listed = RoomList.model_validate_json(await page.read())  # extra members are refused
        assert [r.id for r in listed.rooms] == [room["id"]]
    assert fake.rooms.asked == 0  # the list and the room's view come from the directory
    assert (await client.get(f"/v1/rooms/{room['id']}", headers=auth("viewer"))).status == 200


async def test_a_retried_create_is_the_same_room(served: tuple[Client, FakeGateway]) -> None:
    client, _ = served
    body = {"title": "hi", "cover_url": "https://x/c.jpg"}
    headers = {**auth("anchor"), "Idempotency-Key": "k-1"}
    first = await (await client.post("/v1/rooms", json=body, headers=headers)).json()
    again = await (await client.post("/v1/rooms", json=body, headers=headers)).json()
    assert first["room"]["id"] == again["room"]["id"]


async def test_likes_count_only_on_live_rooms_and_ask_rooms_once(served: tuple[Client, FakeGateway]) -> None:
    client, fake = served
    room = await live_room(client)
    liked = await client.post(f"/v1/rooms/{room['id']}/likes", json={"count": 3}, headers=auth("fan"))
    assert liked.status == 202
    assert CountAccepted.model_validate(await liked.json()).accepted == {"likes": 3}
    assert fake.counters.added == [{"room_id": room["id"], "viewers": 0, "likes": 3, "key": None, "liker": "fan"}]
    unactive = await (await client.post("/v1/rooms", json={"title": "t", "cover_url": "https://x/c.jpg"},
                                        headers=auth("other"))).json()
    for _ in range(3):
        refused = await client.post(f"/v1/rooms/{unactive['room']['id']}/likes", headers=auth("fan"))
        assert refused.status == 409 and (await refused.json())["type"] == "urn:onair:problem:room-not-live"
    assert fake.rooms.asked == 1  # the status is kept: taps do not each ask rooms
    unknown = await client.post("/v1/rooms/nope/viewers", headers=auth("fan"))
    assert unknown.status == 404 and len(fake.counters.added) == 1


async def test_refusals_are_problems_with_the_right_status(served: tuple[Client, FakeGateway]) -> None:
    client, _ = served
    room = await live_room(client)
    cases = [
        (client.get("/v1/rooms?sort=new&color=red", headers=auth("v")), 422, "validation"),
        (client.get("/v1/rooms"), 401, "unauthorized"),
        (client.post(f"/v1/rooms/{room['id']}/close", headers=auth("not-the-anchor")), 403, "forbidden"),
        (client.post(f"/v1/rooms/{room['id']}/activate", headers=auth("anchor")), 409, "conflict"),
        (client.get("/v1/rooms/no%20such", headers=auth("v")), 404, "not-found"),
        (client.get("/v1/nothing-here", headers=auth("v")), 404, "http-404"),
        (client.delete("/v1/rooms", headers=auth("v")), 405, "http-405"),
        (client.post("/v1/admin/rooms/x/ban", json={"reason": "r"}, headers=auth("v")), 403, "forbidden"),
        (client.get("/v1/rooms?sort=hot&cursor=made-up", headers=auth("v")), 400, "bad-request"),
    ]
    for request, status, kind in cases:
        response = await request
        problem = await response.json()
        assert (response.status, problem["type"]) == (status, f"urn:onair:problem:{kind}"), problem
        assert response.content_type == "application/problem+json" and response.headers["X-Request-ID"]
    allowed = (await client.delete("/v1/rooms", headers=auth("v"))).headers["Allow"]
    assert set(allowed.split(",")) == {"GET", "HEAD", "POST"}


async def test_the_lists_query_is_decoded_once(served: tuple[Client, FakeGateway]) -> None:
    """`%26` in a value is an `&` in that value, not a second parameter."""
    client, _ = served
    response = await client.get("/v1/rooms?category=a%26color%3Dred", headers=auth("v"))
    problem = await response.json()
    assert response.status == 422 and [error["field"] for error in problem["errors"]] == ["category"], problem


async def test_a_ban_closes_the_room_and_leaves_the_list(served: tuple[Client, FakeGateway]) -> None:
    client, fake = served
    room = await live_room(client)
    banned = await client.post(f"/v1/admin/rooms/{room['id']}/ban", json={"reason": "spam"},
                               headers=auth("mod", admin=True))
    assert banned.status == 202
    accepted = BanAccepted.model_validate(await banned.json())
    assert accepted.closed_room_ids == [room["id"]] and fake.moderation.bans[0][:2] == (room["id"], "mod")
    closed = Room.model_validate(fake.rooms.rooms[room["id"]].model_dump())
    fake.gateway.directory.apply(closed)  # as its room.closed event would (handlers.py)
    listed = RoomList.model_validate_json(await (await client.get("/v1/rooms", headers=auth("v"))).read())
    assert listed.rooms == []


async def test_a_closed_rooms_live_updates_end_with_events_of_the_documented_models(
        served: tuple[Client, FakeGateway]) -> None:
    client, fake = served
    room = await live_room(client)
    await client.post(f"/v1/rooms/{room['id']}/close", headers=auth("anchor"))
    fake.gateway.directory.apply(fake.rooms.rooms[room["id"]])
    stream = await client.get(f"/v1/rooms/{room['id']}/events?access_token={auth('v')['Authorization'][7:]}")
    text = (await stream.read()).decode()
    models = {event.EVENT: event for event in LIVE_EVENTS}
    events = [block.split("\n") for block in text.strip().split("\n\n")]
    assert [lines[0] for lines in events] == ["event: counters", "event: closed"]
    for name, data in events:
        models[name.removeprefix("event: ")].model_validate_json(data.removeprefix("data: "))


def test_the_openapi_document_describes_every_public_route() -> None:
    fake = fake_gateway(GatewaySettings(jwt_secret=SECRET))
    served = {(r.method.lower(), r.path) for r in fake.gateway.routes
              if r.path.startswith("/v1/") and not r.path.startswith("/v1/callbacks/")}  # not the console's files
    documented = {(op.method, op.path) for op in [*OPERATIONS, *STREAMS]}
    assert served - {("get", "/v1/openapi.json"), ("get", "/v1/docs")} == documented


async def test_a_closed_rooms_replays_are_signed_and_a_bans_are_for_moderators_only(
        served: tuple[Client, FakeGateway]) -> None:
    client, fake = served
    room = await live_room(client)
    for minute, banned in ((0, False), (1, True)):
        started = datetime(2026, 11, 30, 8, minute, tzinfo=UTC)
        await fake.replays.insert(Replay(
            id=f"p{minute}", room_id=room["id"], anchor_id="anchor", stream_id=room["stream_id"],
            source="nginx-rtmp", location=f"{room['stream_id']}/{room['stream_id']}-{minute}.mp4",
            started_at=started, ended_at=started + timedelta(seconds=50), duration_seconds=50, size_bytes=9,
            banned=banned, expires_at=started + timedelta(days=30)), unannounced_since=started)
    await client.post(f"/v1/rooms/{room['id']}/close", headers=auth("anchor"))

    seen = RoomView.model_validate_json(await (await client.get(f"/v1/rooms/{room['id']}", headers=auth("v"))).read())
    assert seen.thumbnail_url is None and [r.id for r in seen.replays or []] == ["p0"]
    assert "/recordings/" in seen.replays[0].url and "txSecret=" in seen.replays[0].url  # type: ignore[index]
    moderated = RoomView.model_validate_json(
        await (await client.get(f"/v1/rooms/{room['id']}", headers=auth("mod", admin=True))).read())
    assert [(r.id, r.hidden) for r in moderated.replays or []] == [("p0", False), ("p1", True)]
    page = ReplayList.model_validate_json(await (await client.get("/v1/anchors/anchor/replays",
                                                                  headers=auth("v"))).read())
    assert [r.id for r in page.replays] == ["p0"] and page.next_cursor is None
    for bad, status in (({"limit": "0"}, 422), ({"cursor": "made-up"}, 400), ({"sort": "new"}, 422)):
        assert (await client.get("/v1/anchors/anchor/replays", params=bad, headers=auth("v"))).status == status
    hidden = await client.post("/v1/admin/replays/p0/hide", headers=auth("mod", admin=True))
    assert hidden.status == 200 and (await hidden.json())["hidden"] is True
    assert (await client.post("/v1/admin/replays/p0/hide", headers=auth("v"))).status == 403


async def test_the_record_hook_takes_only_the_media_servers_well_formed_reports(
        served: tuple[Client, FakeGateway]) -> None:
    client, fake = served
    token = fake.gateway.settings.media_hook_token.get_secret_value()
    form = {"name": "s1", "location": "s1/s1-1764489600.mp4", "started": "1764489600", "ended": "1764489620",
            "duration": "20.1", "size": "123456"}
    url = "/v1/hooks/nginx-rtmp/record_done"
    assert (await client.post(url, params={"token": "wrong"}, data=form)).status == 403
    for bad in ({"location": "../etc/passwd"}, {"duration": "-1"}, {"started": "soon"}):
        assert (await client.post(url, params={"token": token}, data={**form, **bad})).status == 400
    assert (await client.post(url, params={"token": token}, data=form)).status == 200
    [event] = [e for e in fake.events.events if e.type == "stream.recorded"]
    assert event.id == "recorded:s1/s1-1764489600.mp4" and event.payload["duration_seconds"] == 20.1


async def test_follows_the_following_tab_categories_and_the_go_live_alert(
        served: tuple[Client, FakeGateway]) -> None:
    client, fake = served
    gateway = fake.gateway
    bad = await client.post("/v1/rooms", json={"title": "x", "cover_url": "https://x/c.jpg", "category": "nope"},
                            headers=auth("a0"))
    assert bad.status == 422
    rooms = {}
    for i, category in enumerate(("music", "games", "music")):
        created = await client.post("/v1/rooms", json={"title": "x", "cover_url": "https://x/c.jpg",
                                                       "category": category}, headers=auth(f"a{i}"))
        room = (await created.json())["room"]
        rooms[f"a{i}"] = room["id"]
        await client.post(f"/v1/rooms/{room['id']}/activate", headers=auth(f"a{i}"))
        gateway.directory.apply(fake.rooms.rooms[room["id"]])  # as its room.activated event would
    for anchor in ("a0", "a1", "a0"):  # the second follow of a0 changes nothing
        followed = await client.put(f"/v1/me/following/{anchor}", headers=auth("fan"))
        assert followed.status == 200 and (await followed.json())["following"] is True
    assert (await (await client.get("/v1/anchors/a0", headers=auth("v"))).json())["followers"] == 1

    async def tab(**params: str) -> list[str]:
        page = RoomList.model_validate_json(await (await client.get("/v1/rooms", params=params,
                                                                    headers=auth("fan"))).read())
        return [room.id for room in page.rooms]

    assert await tab(following="true") == [rooms["a1"], rooms["a0"]]
    assert await tab(following="true", category="music") == [rooms["a0"]]
    assert set(await tab(category="music", sort="hot")) == {rooms["a0"], rooms["a2"]}
    assert await tab(category="music") == [rooms["a2"], rooms["a0"]]
    assert (await client.get("/v1/rooms", params={"following": "true", "sort": "near", "lat": "1", "lng": "1"},
                             headers=auth("fan"))).status == 422
    await client.delete("/v1/me/following/a1", headers=auth("fan"))
    assert await tab(following="true") == [rooms["a0"]]
    listed = await (await client.get("/v1/me/following", headers=auth("fan"))).json()
    assert [(f["anchor_id"], f["live_room"]["id"]) for f in listed["following"]] == [("a0", rooms["a0"])]
    categories = await (await client.get("/v1/categories", headers=auth("v"))).json()
    assert {c["name"]: c["live"] for c in categories["categories"]}["music"] == 2

    events = await client.get("/v1/me/events", headers=auth("fan"))
    assert events.status == 200 and await events.content.readexactly(13) == b": connected\n\n"
    handler = RoomEvents(gateway.directory, gateway.live, gateway.presence, gateway.follow_sets, gateway.alerts)
    went_live = AnchorWentLive(anchor_id="a0", room=fake.rooms.rooms[rooms["a0"]])
    handler.apply(went_live)
    handler.apply(went_live)  # redelivered: not alerted twice
    handler.apply(AnchorWentLive(anchor_id="a1", room=fake.rooms.rooms[rooms["a1"]]))  # unfollowed: no alert
    lines = [await events.content.readline() for _ in range(3)]
    assert lines[0] == b"event: followed_live\n" and lines[2] == b"\n"
    FollowedLiveEvent.model_validate_json(lines[1].removeprefix(b"data: "))
    assert gateway.alerts.went_live(went_live) == 0
    events.close()
