"""Moderation through the gateway, the bus, rooms and the Tencent adapter (against the fake API)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import pytest
from pydantic import SecretStr

from services.gateway.hooks.tencent import callback_sign
from services.moderation.bootstrap import ModerationService
from shared.cloud.tencent import TencentCloud
from shared.settings import CloudSettings, GatewaySettings, RoomsSettings
from tests.fakes.tencent_api import FakeTencentLive
from tests.fixtures import Client, SwitchableCloud, new_user

Auth = Callable[..., dict[str, str]]
CALLBACK_KEY = GatewaySettings().callback_key.get_secret_value()


@pytest.fixture
async def tencent(moderation_cloud: SwitchableCloud, moderation_service: ModerationService
                  ) -> AsyncIterator[FakeTencentLive]:
    api = FakeTencentLive()
    await api.start()
    adapter = TencentCloud(CloudSettings(
        cloud="tencent", tencent_secret_id=api.secret_id, tencent_secret_key=SecretStr(api.secret_key),
        tencent_endpoint=api.endpoint, tencent_scheme="http", push_domain="push.example.com"))
    moderation_cloud.target = adapter
    yield api
    moderation_cloud.target = None
    await adapter.close()
    await api.stop()


async def live_room(gateway: Client, auth: Auth, api: FakeTencentLive) -> tuple[str, dict[str, Any]]:
    user = new_user()
    response = await gateway.post("/v1/rooms", json={"title": "t", "cover_url": "https://x/c.jpg"}, headers=auth(user))
    assert response.status == 201
    room = (await response.json())["room"]
    api.online.add(room["stream_id"])
    response = await gateway.post(f"/v1/rooms/{room['id']}/activate", headers=auth(user))
    assert response.status == 200
    return user, room


async def eventually(check: Callable[[], Any], seconds: float = 10) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.1)


async def room_of(gateway: Client, auth: Auth, room_id: str) -> dict[str, Any]:
    return dict(await (await gateway.get(f"/v1/rooms/{room_id}", headers=auth("someone"))).json())


async def test_only_moderators_may_ban(gateway: Client, auth: Auth, tencent: FakeTencentLive) -> None:
    _, room = await live_room(gateway, auth, tencent)
    path = f"/v1/admin/rooms/{room['id']}/ban"
    assert (await gateway.post(path, json={"reason": "x"})).status == 401
    assert (await gateway.post(path, json={"reason": "x"}, headers=auth(room["anchor_id"]))).status == 403
    assert (await gateway.post("/v1/admin/rooms/0123abcd/ban", json={"reason": "x"},
                               headers=auth("mod", admin=True))).status == 404
    for body in ({}, {"reason": ""}, {"reason": "x", "duration_hours": 0}, {"reason": "x", "duration_hours": 2161},
                 {"reason": "x", "extra": 1}):
        assert (await gateway.post(path, json=body, headers=auth("mod", admin=True))).status == 422, body
    assert (await room_of(gateway, auth, room["id"]))["status"] == "active"
    assert tencent.calls_of("ForbidLiveStream") == []


async def test_a_ban_holds_at_its_202_then_the_push_is_forbidden_and_dropped(
    gateway: Client, auth: Auth, tencent: FakeTencentLive
) -> None:
    anchor, room = await live_room(gateway, auth, tencent)
    response = await gateway.post(f"/v1/admin/rooms/{room['id']}/ban",
                                  json={"reason": "nudity", "duration_hours": 48}, headers=auth("mod", admin=True))
    assert response.status == 202
    accepted = await response.json()
    assert (accepted["status"], accepted["anchor_id"]) == ("accepted", anchor)

    async def create() -> tuple[int, dict[str, Any]]:
        r = await gateway.post("/v1/rooms", json={"title": "again", "cover_url": "https://x/c.jpg"},
                               headers=auth(anchor))
        return r.status, await r.json()

    # From the 202 on, with no wait: the room is closed and the anchor cannot open another.
    assert accepted["closed_room_ids"] == [room["id"]]
    assert (await room_of(gateway, auth, room["id"]))["status"] == "closed"
    status, problem = await create()
    assert status == 409 and datetime.fromisoformat(problem["banned_until"]) > datetime.now(UTC) + timedelta(hours=47)

    assert await eventually(lambda: _dropped_times(tencent, 1))
    assert (await room_of(gateway, auth, room["id"]))["close_reason"] == "banned"
    forbid = tencent.calls_of("ForbidLiveStream")[0]
    assert forbid["StreamName"] == room["stream_id"] and forbid["Reason"] == "room closed: banned"
    resume = datetime.strptime(forbid["ResumeTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    # The stream is forbidden as long as its push URL could still be used (rooms never reuse one).
    assert abs(resume - (datetime.now(UTC) + timedelta(hours=24))) < timedelta(minutes=1)
    assert [name for name, _ in tencent.calls] == ["ForbidLiveStream", "DropLiveStream"]  # forbid before drop

    assert (await gateway.post(f"/v1/admin/anchors/{anchor}/unban", headers=auth(anchor))).status == 403
    response = await gateway.post(f"/v1/admin/anchors/{anchor}/unban", headers=auth("mod", admin=True))
    assert response.status == 200 and (await response.json())["banned"] is False
    status, _ = await eventually(lambda: _created(create))
    assert status == 201
    assert tencent.calls_of("ResumeLiveStream") == []  # the banned room's stream stays forbidden


async def _created(create: Callable[[], Any]) -> Any:
    status, body = await create()
    return (status, body) if status == 201 else None


async def test_banning_twice_is_harmless(gateway: Client, auth: Auth, tencent: FakeTencentLive) -> None:
    _, room = await live_room(gateway, auth, tencent)
    closed = []
    for _ in range(2):
        response = await gateway.post(f"/v1/admin/rooms/{room['id']}/ban", json={"reason": "spam"},
                                      headers=auth("mod", admin=True))
        assert response.status == 202
        closed.append((await response.json())["closed_room_ids"])
    assert closed == [[room["id"]], []]  # the second found nothing left open
    assert await eventually(lambda: _dropped_times(tencent, 1))
    current = await room_of(gateway, auth, room["id"])
    assert (current["status"], current["close_reason"]) == ("closed", "banned")


async def _dropped_times(api: FakeTencentLive, n: int) -> bool:
    return len(api.calls_of("DropLiveStream")) >= n


async def test_a_ban_during_a_cloud_outage_waits_for_the_cloud(
    gateway: Client, auth: Auth, tencent: FakeTencentLive, moderation_service: ModerationService
) -> None:
    _, room = await live_room(gateway, auth, tencent)
    tencent.faults = ["InternalError"] * 4  # the adapter's 3 tries fail, then the redelivery's first
    response = await gateway.post(f"/v1/admin/rooms/{room['id']}/ban", json={"reason": "outage"},
                                  headers=auth("mod", admin=True))
    assert response.status == 202
    assert await eventually(lambda: _dropped_times(tencent, 1), seconds=20)

    async def cut_recorded() -> dict[str, Any] | None:  # written just after the drop answers
        record = await moderation_service.repo.cut_record(room["id"])
        return record if record is not None and record.get("cut_at") is not None else None

    record = await eventually(cut_recorded, seconds=5)
    assert record is not None and record["attempts"] == 2
    assert len(record["errors"]) == 1 and "InternalError" in record["errors"][0]


async def test_a_ban_that_keeps_failing_is_dead_lettered(
    gateway: Client, auth: Auth, tencent: FakeTencentLive, rooms_settings: RoomsSettings
) -> None:
    _, room = await live_room(gateway, auth, tencent)
    tencent.faults = ["InternalError"] * 1000
    response = await gateway.post(f"/v1/admin/rooms/{room['id']}/ban", json={"reason": "doomed"},
                                  headers=auth("mod", admin=True))
    assert response.status == 202
    connection = await aio_pika.connect(rooms_settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        dead_letters = await channel.get_queue(f"{rooms_settings.bus_namespace}.dead-letters")

        async def find() -> bool:
            message = await dead_letters.get(fail=False)
            if message is None:
                return False
            await message.ack()
            return f'"{room["id"]}:room.closed"' in message.body.decode()

        assert await eventually(find, seconds=40), "the failing cut never reached the dead-letter queue"
    tencent.faults = []


def detection(stream: str, **fields: Any) -> dict[str, Any]:
    t = int(time.time()) + 600
    return {"event_type": 317, "streamId": stream, "img": f"https://shots.example.com/{stream}-{time.time()}.jpg",
            "type": [1], "screenshotTime": int(time.time()), "t": t, "sign": callback_sign(CALLBACK_KEY, t), **fields}


async def cases(gateway: Client, auth: Auth, status: str) -> list[dict[str, Any]]:
    response = await gateway.get("/v1/admin/cases", params={"status": status}, headers=auth("mod", admin=True))
    assert response.status == 200
    return list((await response.json())["cases"])


async def test_detection_block_bans_automatically(gateway: Client, auth: Auth, tencent: FakeTencentLive) -> None:
    _, room = await live_room(gateway, auth, tencent)
    body = detection(room["stream_id"], suggestion="Block", confidence=97, label="Porn")
    assert (await gateway.post("/v1/callbacks/tencent/detection", json=body)).status == 200

    async def closed() -> bool:
        return bool((await room_of(gateway, auth, room["id"]))["close_reason"] == "banned")

    assert await eventually(closed)
    banned = [c for c in await cases(gateway, auth, "banned") if c["stream_id"] == room["stream_id"]]
    assert len(banned) == 1 and banned[0]["score"] == 97


async def test_detection_review_opens_a_case_a_moderator_resolves(
    gateway: Client, auth: Auth, tencent: FakeTencentLive
) -> None:
    _, room = await live_room(gateway, auth, tencent)
    body = detection(room["stream_id"], suggestion="Review", confidence=60)
    for _ in range(2):  # Tencent retries: one case
        assert (await gateway.post("/v1/callbacks/tencent/detection", json=body)).status == 200

    async def opened() -> list[dict[str, Any]]:
        return [c for c in await cases(gateway, auth, "open") if c["stream_id"] == room["stream_id"]]

    [case] = await eventually(opened)
    assert (await gateway.get("/v1/admin/cases", headers=auth(room["anchor_id"]))).status == 403
    path = f"/v1/admin/cases/{case['id']}/resolve"
    assert (await gateway.post(path, json={"action": "maybe"}, headers=auth("mod", admin=True))).status == 422
    response = await gateway.post(path, json={"action": "dismiss"}, headers=auth("mod", admin=True))
    resolved = await response.json()
    assert response.status == 200 and resolved["status"] == "dismissed" and resolved["resolved_by"] == "mod"
    assert (await gateway.post(path, json={"action": "ban"}, headers=auth("mod", admin=True))).status == 409
    assert (await room_of(gateway, auth, room["id"]))["status"] == "active"


async def test_a_case_ban_reaches_the_anchors_newer_room(gateway: Client, auth: Auth,
                                                        tencent: FakeTencentLive) -> None:
    """A case on R1; the anchor closed R1 and went live in R2; the case resolved as a ban: R2 is
    closed as banned by the time the moderator gets the answer, and its push is cut."""
    anchor, first = await live_room(gateway, auth, tencent)
    assert (await gateway.post("/v1/callbacks/tencent/detection",
                               json=detection(first["stream_id"], suggestion="Review", confidence=70))).status == 200

    async def opened() -> list[dict[str, Any]]:
        return [c for c in await cases(gateway, auth, "open") if c["stream_id"] == first["stream_id"]]

    [case] = await eventually(opened)
    assert (await gateway.post(f"/v1/rooms/{first['id']}/close", headers=auth(anchor))).status == 200
    response = await gateway.post("/v1/rooms", json={"title": "t2", "cover_url": "https://x/c.jpg"},
                                  headers=auth(anchor))
    second = (await response.json())["room"]
    tencent.online.add(second["stream_id"])
    assert (await gateway.post(f"/v1/rooms/{second['id']}/activate", headers=auth(anchor))).status == 200

    response = await gateway.post(f"/v1/admin/cases/{case['id']}/resolve", json={"action": "ban", "reason": "nsfw"},
                                  headers=auth("mod", admin=True))
    assert response.status == 200 and (await response.json())["status"] == "banned"
    current = await room_of(gateway, auth, second["id"])
    assert (current["status"], current["close_reason"]) == ("closed", "banned")

    async def cut() -> bool:
        return any(call["StreamName"] == second["stream_id"] for call in tencent.calls_of("DropLiveStream"))

    assert await eventually(cut)


async def test_detection_pass_is_recorded_only(gateway: Client, auth: Auth, tencent: FakeTencentLive) -> None:
    _, room = await live_room(gateway, auth, tencent)
    body = detection(room["stream_id"], suggestion="Pass", confidence=5)
    assert (await gateway.post("/v1/callbacks/tencent/detection", json=body)).status == 200

    async def recorded() -> list[dict[str, Any]]:
        return [c for c in await cases(gateway, auth, "recorded") if c["stream_id"] == room["stream_id"]]

    assert await eventually(recorded)
    assert (await room_of(gateway, auth, room["id"]))["status"] == "active"
