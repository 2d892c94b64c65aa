"""The HTTP contract of API v1 through the real gateway, bus and rooms service."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aio_pika
import jwt
import pytest
from aiohttp.test_utils import TestClient, TestServer

from services.gateway.bootstrap import BUS, create_app, create_hooks_app
from shared.settings import GatewaySettings
from shared.signing import verify_tx_secret
from tests.fixtures import JWT_SECRET, Client, gateway_settings, new_user, spy_queue

Auth = Callable[..., dict[str, str]]
COVER = "https://img.example.com/cover.jpg"


async def create(gateway: Client, auth: Auth, user: str, **body: Any) -> Any:
    response = await gateway.post("/v1/rooms", json={"title": "My show", "cover_url": COVER, **body},
                                  headers=auth(user))
    return response.status, await response.json()


async def live_room(gateway: Client, auth: Auth, user: str | None = None) -> dict[str, Any]:
    user = user or new_user()
    status, body = await create(gateway, auth, user)
    assert status == 201, body
    response = await gateway.post(f"/v1/rooms/{body['room']['id']}/activate", headers=auth(user))
    assert response.status == 200
    return dict(await response.json())


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def test_create_returns_an_unactive_room_and_a_signed_push_url(gateway: Client, auth: Auth) -> None:
    user = new_user()
    status, body = await create(gateway, auth, user, location={"lat": 31.2, "lng": 121.5, "name": "Shanghai"})
    assert status == 201
    room = body["room"]
    assert room["status"] == "unactive" and room["anchor_id"] == user and room["play_urls"] is None
    assert room["location"] == {"lat": 31.2, "lng": 121.5, "name": "Shanghai"}
    assert (room["viewers"], room["likes"], room["close_reason"]) == (0, 0, None)
    push = urlsplit(body["push_url"])
    assert push.scheme == "rtmp" and push.path == f"/live/{room['stream_id']}"
    q = query_of(body["push_url"])
    settings = GatewaySettings()
    assert verify_tx_secret(settings.push_key.get_secret_value(), room["stream_id"], q["txTime"], q["txSecret"],
                            now=datetime.now(UTC))
    expires = datetime.fromisoformat(body["push_url_expires_at"])
    assert int(expires.timestamp()) == int(q["txTime"], 16)


async def test_each_room_gets_a_fresh_stream(gateway: Client, auth: Auth) -> None:
    first, second = await live_room(gateway, auth), await live_room(gateway, auth)
    assert first["stream_id"] != second["stream_id"]


async def test_one_open_room_per_anchor(gateway: Client, auth: Auth) -> None:
    user = new_user()
    _, first = await create(gateway, auth, user)
    status, problem = await create(gateway, auth, user)
    assert status == 409 and problem["open_room_id"] == first["room"]["id"]
    await gateway.post(f"/v1/rooms/{first['room']['id']}/close", headers=auth(user))
    status, _ = await create(gateway, auth, user)
    assert status == 201


async def test_concurrent_creates_by_one_anchor_make_one_room(gateway: Client, auth: Auth) -> None:
    user = new_user()
    results = await asyncio.gather(*[create(gateway, auth, user) for _ in range(10)])
    created = [body for status, body in results if status == 201]
    conflicts = [body for status, body in results if status == 409]
    assert len(created) == 1 and len(conflicts) == 9
    assert {c["open_room_id"] for c in conflicts} == {created[0]["room"]["id"]}


async def test_idempotency_key_makes_create_retries_safe(gateway: Client, auth: Auth) -> None:
    user = new_user()
    headers = {**auth(user), "Idempotency-Key": "create-1"}
    body = {"title": "retry", "cover_url": COVER}
    first = await gateway.post("/v1/rooms", json=body, headers=headers)
    again = await gateway.post("/v1/rooms", json=body, headers=headers)
    assert (first.status, again.status) == (201, 201)
    assert (await first.json())["room"]["id"] == (await again.json())["room"]["id"]


async def test_lifecycle_activate_and_close(gateway: Client, auth: Auth) -> None:
    user, other = new_user(), new_user()
    _, body = await create(gateway, auth, user)
    room_id = body["room"]["id"]
    assert (await gateway.post(f"/v1/rooms/{room_id}/activate", headers=auth(other))).status == 403
    response = await gateway.post(f"/v1/rooms/{room_id}/activate", headers=auth(user))
    room = await response.json()
    assert response.status == 200 and room["status"] == "active" and room["activated_at"]
    assert set(room["play_urls"]) == {"rtmp", "flv", "hls"}
    assert room["play_urls"]["flv"].split("?")[0].endswith(f"/live/{room['stream_id']}.flv")
    assert room["play_urls"]["hls"].split("?")[0].endswith(f"/live/{room['stream_id']}.m3u8")
    repeat = await gateway.post(f"/v1/rooms/{room_id}/activate", headers=auth(user))
    assert repeat.status == 200 and (await repeat.json())["activated_at"] == room["activated_at"]

    assert (await gateway.post(f"/v1/rooms/{room_id}/close", headers=auth(other))).status == 403
    closed = await gateway.post(f"/v1/rooms/{room_id}/close", headers=auth(user))
    closed_room = await closed.json()
    assert closed.status == 200
    assert (closed_room["status"], closed_room["close_reason"], closed_room["play_urls"]) == ("closed", "anchor", None)
    again = await gateway.post(f"/v1/rooms/{room_id}/close", headers=auth(user))
    assert again.status == 200 and (await again.json())["closed_at"] == closed_room["closed_at"]
    reopen = await gateway.post(f"/v1/rooms/{room_id}/activate", headers=auth(user))
    assert reopen.status == 409
    fetched = await gateway.get(f"/v1/rooms/{room_id}", headers=auth(other))
    assert fetched.status == 200 and (await fetched.json())["status"] == "closed"


async def test_unknown_room_is_404(gateway: Client, auth: Auth) -> None:
    user = new_user()
    for method, path in [("GET", "/v1/rooms/0123abcd"), ("POST", "/v1/rooms/0123abcd/activate"),
                         ("POST", "/v1/rooms/0123abcd/close"), ("GET", "/v1/rooms/bad%20id")]:
        response = await gateway.request(method, path, headers=auth(user))
        assert response.status == 404
        assert response.content_type == "application/problem+json"


async def page_through(gateway: Client, auth: Auth, limit: int,
                       between_pages: Callable[[], Any] | None = None) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": str(limit), **({"cursor": cursor} if cursor else {})}
        response = await gateway.get("/v1/rooms", params=params, headers=auth(new_user()))
        assert response.status == 200
        page = await response.json()
        assert len(page["rooms"]) <= limit
        seen.extend(page["rooms"])
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
        if between_pages is not None:
            await between_pages()


async def test_list_is_active_rooms_newest_first_with_play_urls(gateway: Client, auth: Auth) -> None:
    rooms = [await live_room(gateway, auth) for _ in range(4)]
    pending_user = new_user()
    _, pending = await create(gateway, auth, pending_user)
    listed = await page_through(gateway, auth, limit=50)
    ids = [r["id"] for r in listed]
    assert pending["room"]["id"] not in ids
    mine = [i for i in ids if i in {r["id"] for r in rooms}]
    assert mine == [r["id"] for r in reversed(rooms)]  # most recently activated first
    assert all(r["status"] == "active" and r["play_urls"] for r in listed)
    keys = [(datetime.fromisoformat(r["activated_at"]), r["id"]) for r in listed]  # as times: "17Z" is after "17.6Z"
    assert keys == sorted(keys, reverse=True)


async def test_paging_while_the_list_changes_never_repeats_a_room(gateway: Client, auth: Auth) -> None:
    stable = [await live_room(gateway, auth) for _ in range(7)]
    doomed = [await live_room(gateway, auth) for _ in range(3)]

    async def churn() -> None:
        await live_room(gateway, auth)  # a new room goes live at the top
        if doomed:
            room = doomed.pop()
            await gateway.post(f"/v1/rooms/{room['id']}/close", headers=auth(room["anchor_id"]))

    seen = await page_through(gateway, auth, limit=3, between_pages=churn)
    ids = [r["id"] for r in seen]
    assert len(ids) == len(set(ids)), "a room appeared twice"
    assert {r["id"] for r in stable} <= set(ids), "a room live throughout was skipped"


async def test_list_parameters_are_validated(gateway: Client, auth: Auth) -> None:
    headers = auth(new_user())
    for params in ({"limit": "0"}, {"limit": "51"}, {"limit": "ten"}):
        response = await gateway.get("/v1/rooms", params=params, headers=headers)
        assert response.status == 422, params
        assert (await response.json())["errors"][0]["field"] == "limit"
    for cursor in ("not-a-cursor", "WzEsMl0", "%%%"):
        response = await gateway.get("/v1/rooms", params={"cursor": cursor}, headers=headers)
        assert response.status == 400, cursor
    default = await (await gateway.get("/v1/rooms", headers=headers)).json()
    assert len(default["rooms"]) <= 20


@pytest.fixture
async def spied_creates(rooms_settings: Any) -> AsyncIterator[aio_pika.abc.AbstractQueue]:
    """A queue that receives a copy of every rooms.create command published."""
    async with spy_queue(rooms_settings.amqp_url, f"{rooms_settings.bus_namespace}.requests",
                         ["rooms.create"]) as queue:
        yield queue


async def test_bad_requests_get_problems_and_publish_nothing(
    gateway: Client, auth: Auth, spied_creates: aio_pika.abc.AbstractQueue
) -> None:
    user = new_user()
    headers = auth(user)
    cases: list[tuple[dict[str, Any], int, str | None]] = [
        ({"data": b"{not json", "headers": {**headers, "Content-Type": "application/json"}}, 400, None),
        ({"data": b"[1, 2]", "headers": {**headers, "Content-Type": "application/json"}}, 422, "(body)"),
        ({"data": b"[" * 3000, "headers": {**headers, "Content-Type": "application/json"}}, 400, None),
        ({"data": b"title=x", "headers": {**headers, "Content-Type": "application/x-www-form-urlencoded"}}, 415, None),
        ({"data": b'{"title": "' + b"x" * 5000 + b'"}', "headers": {**headers, "Content-Type": "application/json"}},
         413, None),
        ({"json": {"title": "", "cover_url": COVER}, "headers": headers}, 422, "title"),
        ({"json": {"title": "x" * 101, "cover_url": COVER}, "headers": headers}, 422, "title"),
        ({"json": {"title": "ok", "cover_url": "ftp://x/y"}, "headers": headers}, 422, "cover_url"),
        ({"json": {"title": "ok"}, "headers": headers}, 422, "cover_url"),
        ({"json": {"title": "ok", "cover_url": COVER, "extra": 1}, "headers": headers}, 422, "extra"),
        ({"json": {"title": "ok", "cover_url": COVER, "location": {"lat": 91, "lng": 0}}, "headers": headers},
         422, "location.lat"),
        ({"json": {"title": "ok", "cover_url": COVER, "location": {"lat": 0, "lng": -181}}, "headers": headers},
         422, "location.lng"),
        ({"json": {"title": "ok", "cover_url": COVER}}, 401, None),
        ({"json": {"title": "ok", "cover_url": COVER}, "headers": {"Authorization": "Bearer junk"}}, 401, None),
    ]
    # A token in the URL is taken only by the live-update stream (EventSource cannot send headers).
    in_url = headers["Authorization"].split(" ", 1)[1]
    assert (await gateway.get("/v1/rooms", params={"access_token": in_url})).status == 401
    for kwargs, status, field in cases:
        response = await gateway.post("/v1/rooms", **kwargs)
        assert response.status == status, (kwargs, await response.text())
        assert response.content_type == "application/problem+json"
        problem = await response.json()
        assert problem["status"] == status and problem["type"].startswith("urn:onair:problem:")
        assert problem["title"] and problem["detail"]
        if field:
            assert field in [e["field"] for e in problem["errors"]]
    await asyncio.sleep(0.3)
    assert await spied_creates.get(fail=False) is None, "a bad request published a command"


async def test_expired_token_is_401(gateway: Client) -> None:
    past_the_leeway = int(time.time()) - 120
    token = jwt.encode({"sub": "alice", "exp": past_the_leeway}, JWT_SECRET, algorithm="HS256")
    response = await gateway.get("/v1/rooms", headers={"Authorization": f"Bearer {token}"})
    assert response.status == 401


async def test_bus_down_is_503(auth: Auth) -> None:
    app = create_app(gateway_settings("amqp://guest:guest@127.0.0.1:1/", "nowhere"))
    async with TestClient(TestServer(app)) as client:
        response = await client.post("/v1/rooms", json={"title": "x", "cover_url": COVER}, headers=auth("u"))
        assert response.status == 503
        assert (await client.get("/readyz")).status == 503


async def test_no_reply_in_time_is_504(amqp_url: str, auth: Auth) -> None:
    from tests.fixtures import delete_namespace

    namespace = f"test-silent-{new_user()}"
    app = create_app(gateway_settings(amqp_url, namespace, request_timeout_seconds=0.5))
    async with TestClient(TestServer(app)) as client:
        # The gateway connects; it is not ready (no rooms service answers its directory snapshot).
        for _ in range(100):
            if app[BUS].connected:
                break
            await asyncio.sleep(0.05)
        assert (await client.get("/readyz")).status == 503
        # A queue takes the query, but no rooms service consumes it.
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(exclusive=True)
            await queue.bind(f"{namespace}.requests", routing_key="rooms.get")
            response = await client.get("/v1/rooms/abc", headers=auth("u"))
            assert response.status == 504
    await delete_namespace(amqp_url, namespace, ["dead-letters", "events.unrouted"])


async def test_media_hooks_live_on_their_own_port_only(amqp_url: str, namespace: str) -> None:
    """The public port (what the Ingress routes) has no media-server hooks; the hooks port has only them."""
    app = create_app(gateway_settings(amqp_url, namespace, hooks_port=8010))
    async with TestClient(TestServer(app)) as public, TestClient(TestServer(create_hooks_app(app))) as hooks:
        for path in ("/v1/hooks/nginx-rtmp/publish", "/v1/hooks/nginx-rtmp/play"):
            assert (await public.post(f"{path}?token=guess")).status == 404, path
            assert (await hooks.post(f"{path}?token=guess")).status == 403, path  # there, and token-checked
        assert (await public.get("/v1/hooks/nginx-rtmp/play_hls?token=guess")).status == 404
        assert (await hooks.get("/v1/rooms")).status == 404  # the API is not on the hooks port


async def test_json_numbers_are_numbers_and_unknown_parameters_are_errors(gateway: Client, auth: Auth) -> None:
    """`21.0` is the integer 21 (JSON and JSON Schema say so); `true` and `"3"` are not numbers; a
    query parameter the API does not know is a mistake, answered 422 rather than ignored."""
    room = await live_room(gateway, auth)
    fan = auth(new_user())
    assert (await gateway.post(f"/v1/rooms/{room['id']}/likes", json={"count": 21.0}, headers=fan)).status == 202
    for count in (2.5, True, "3"):
        assert (await gateway.post(f"/v1/rooms/{room['id']}/likes", json={"count": count}, headers=fan)).status == 422
    assert (await gateway.get("/v1/rooms", params={"limit": "5", "sortt": "hot"}, headers=fan)).status == 422
    mod = auth("mod", admin=True)
    assert (await gateway.get("/v1/admin/cases", params={"stauts": "open"}, headers=mod)).status == 422
