"""Tencent's callbacks at the gateway: verified, answered {"code":0}, published as typed events."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aio_pika
import pytest

from services.gateway.hooks.tencent import callback_sign, verify_callback
from shared.settings import GatewaySettings, RoomsSettings
from tests.fixtures import Client, new_user, received, spy_queue

KEY = GatewaySettings().callback_key.get_secret_value()


@pytest.fixture
async def events(rooms_settings: RoomsSettings) -> AsyncIterator[aio_pika.abc.AbstractQueue]:
    async with spy_queue(rooms_settings.amqp_url, f"{rooms_settings.bus_namespace}.events",
                         ["stream.*", "moderation.detected"]) as queue:
        yield queue


async def published(queue: aio_pika.abc.AbstractQueue) -> list[tuple[str, str, dict[str, Any]]]:
    return [(envelope.type, envelope.id, envelope.payload) for envelope in await received(queue)]


def signed(body: dict[str, Any], *, key: str = KEY, ttl: int = 600) -> dict[str, Any]:
    t = int(time.time()) + ttl
    return {**body, "t": t, "sign": callback_sign(key, t)}


PUSH_START = {"app": "push.example.com", "appid": 12345678, "appname": "live", "channel_id": "s-cb",
              "errcode": 0, "errmsg": "ok", "event_time": 1545115790, "event_type": 1, "node": "100.121.160.92",
              "sequence": "6674468118806626493", "stream_id": "s-cb", "stream_param": "stream_param=test",
              "user_ip": "119.29.94.245"}


def test_the_documented_sign_rule() -> None:
    body = {"t": 1545030873, "sign": callback_sign("key", 1545030873)}
    assert verify_callback(body, "key", now=1545030873 - 300)
    assert not verify_callback(body, "key", now=1545030874)  # expired
    assert not verify_callback(body, "other", now=1545030000)
    assert not verify_callback({"t": True, "sign": body["sign"]}, "key", now=0)
    assert not verify_callback(body, "key", now=1545030873 - 601)  # more than ten minutes ahead
    assert not verify_callback({"t": body["t"], "sign": "é" * 32}, "key", now=1545030000)  # cannot raise
    assert not verify_callback({"t": "١٥٤٥٠٣٠٨٧٣", "sign": body["sign"]}, "key", now=1545030000)  # Arabic digits


async def test_push_started_and_stopped(gateway: Client, events: aio_pika.abc.AbstractQueue) -> None:
    response = await gateway.post("/v1/callbacks/tencent/stream", json=signed(PUSH_START))
    assert response.status == 200 and await response.json() == {"code": 0}
    stop = {**PUSH_START, "event_type": 0, "errcode": 21, "errmsg": "drop by api", "push_duration": "1000"}
    assert (await gateway.post("/v1/callbacks/tencent/stream", json=signed(stop))).status == 200
    got = await published(events)
    assert [(t, p["stream_id"], p["sequence"]) for t, _, p in got] == [
        ("stream.started", "s-cb", "6674468118806626493"), ("stream.stopped", "s-cb", "6674468118806626493")]
    assert got[1][2]["errcode"] == 21 and got[0][2]["source"] == "tencent"


async def test_a_repeated_callback_keeps_its_event_id(gateway: Client, events: aio_pika.abc.AbstractQueue) -> None:
    for _ in range(2):
        assert (await gateway.post("/v1/callbacks/tencent/stream", json=signed(PUSH_START))).status == 200
    ids = [event_id for _, event_id, _ in await published(events)]
    assert len(ids) == 2 and ids[0] == ids[1]


@pytest.mark.parametrize("body", [
    signed(PUSH_START, key="forged-key"),
    signed(PUSH_START, ttl=-1),
    {**PUSH_START, "t": int(time.time()) + 600},
    {**signed(PUSH_START), "sign": "0" * 32},
])
async def test_forged_or_expired_callbacks_are_refused_and_publish_nothing(
    gateway: Client, events: aio_pika.abc.AbstractQueue, body: dict[str, Any]
) -> None:
    for path in ("/v1/callbacks/tencent/stream", "/v1/callbacks/tencent/detection"):
        response = await gateway.post(path, json=body)
        assert response.status == 401
    assert await published(events) == []


# Tencent's record callback (event_type 100), as its documentation lists the fields.
RECORDED = {"event_type": 100, "stream_id": "s-rec", "channel_id": "s-rec", "appname": "live", "file_format": "mp4",
            "file_id": "5285890781763144364", "file_size": 9749353, "start_time": 1545115790, "end_time": 1545116000,
            "duration": 210, "video_url": "http://1234.vod2.myqcloud.com/8e4c9b/f0.mp4", "task_id": "1234"}


async def test_a_record_callback_is_a_recording_once_and_a_screenshot_changes_nothing(
        gateway: Client, events: aio_pika.abc.AbstractQueue) -> None:
    for _ in range(2):  # Tencent retries: the same event id
        response = await gateway.post("/v1/callbacks/tencent/stream", json=signed(RECORDED))
        assert response.status == 200 and await response.json() == {"code": 0}
    shot = {"event_type": 200, "stream_id": "s-rec", "pic_url": "/shots/s-rec.jpg",
            "pic_full_url": "http://shots.example.com/shots/s-rec.jpg", "create_time": 1545115800}
    assert (await gateway.post("/v1/callbacks/tencent/stream", json=signed(shot))).status == 200
    assert (await gateway.post("/v1/callbacks/tencent/stream",
                               json=signed({**RECORDED, "video_url": None}))).status == 422
    got = await published(events)
    assert [t for t, _, _ in got] == ["stream.recorded"] * 2 and got[0][1] == got[1][1]
    payload = got[0][2]
    assert (payload["location"], payload["file_id"], payload["duration_seconds"], payload["size_bytes"],
            payload["source"]) == (RECORDED["video_url"], "5285890781763144364", 210.0, 9749353, "tencent")


async def test_detection_callback(gateway: Client, events: aio_pika.abc.AbstractQueue) -> None:
    body = signed({"event_type": 317, "streamId": "s-porn", "img": "https://shots.example.com/1.jpg",
                   "type": [1], "confidence": 91, "suggestion": "Block", "label": "Porn",
                   "screenshotTime": 1545115790})
    response = await gateway.post("/v1/callbacks/tencent/detection", json=body)
    assert response.status == 200 and await response.json() == {"code": 0}
    [(event_type, _, payload)] = await published(events)
    assert event_type == "moderation.detected"
    assert (payload["stream_id"], payload["suggestion"], payload["score"], payload["types"]) == (
        "s-porn", "Block", 91.0, [1])


async def test_malformed_callbacks(gateway: Client, events: aio_pika.abc.AbstractQueue) -> None:
    for junk in (b"{nope", b"[" * 3000):  # broken, and nested deeper than the parser goes
        response = await gateway.post("/v1/callbacks/tencent/stream", data=junk,
                                      headers={"Content-Type": "application/json"})
        assert response.status == 400
    for body in (signed(PUSH_START, ttl=30 * 24 * 3600), {**signed(PUSH_START), "sign": "é" * 32}):
        assert (await gateway.post("/v1/callbacks/tencent/stream", json=body)).status == 401
    response = await gateway.post("/v1/callbacks/tencent/detection",
                                  json=signed({"event_type": 317, "streamId": "s", "suggestion": "Maybe"}))
    assert response.status == 422
    assert await published(events) == []


async def test_tencent_pushes_move_a_live_room_off_the_list_and_back_whatever_their_order(
    gateway: Client, auth: Callable[..., dict[str, str]]
) -> None:
    """Through the gateway, the bus and rooms: Tencent's stop interrupts the room; the next
    session's start resumes it; the old session's stop, retried late, changes nothing."""
    anchor = new_user()
    created = await (await gateway.post("/v1/rooms", json={"title": "t", "cover_url": "https://x/c.jpg"},
                                        headers=auth(anchor))).json()
    room_id, stream = created["room"]["id"], created["room"]["stream_id"]
    assert (await gateway.post(f"/v1/rooms/{room_id}/activate", headers=auth(anchor))).status == 200
    now = int(time.time())

    def callback(event_type: int, sequence: str, at: int) -> dict[str, Any]:
        return signed({**PUSH_START, "stream_id": stream, "channel_id": stream, "event_type": event_type,
                       "sequence": sequence, "event_time": at})

    async def state_becomes(want: str) -> bool:
        for _ in range(100):
            room = await (await gateway.get(f"/v1/rooms/{room_id}", headers=auth("viewer"))).json()
            if room["stream_state"] == want:
                return True
            await asyncio.sleep(0.05)
        return False

    for body in (callback(1, "seq-1", now), callback(0, "seq-1", now + 1)):
        assert (await gateway.post("/v1/callbacks/tencent/stream", json=body)).status == 200
    assert await state_becomes("interrupted")
    assert (await gateway.post("/v1/callbacks/tencent/stream", json=callback(1, "seq-2", now + 1))).status == 200
    assert await state_becomes("live")
    for late in (callback(0, "seq-1", now + 1), callback(1, "seq-1", now)):  # Tencent's retries, late
        assert (await gateway.post("/v1/callbacks/tencent/stream", json=late)).status == 200
    await asyncio.sleep(0.5)
    assert await state_becomes("live")
    page = await (await gateway.get("/v1/rooms", params={"limit": "50"}, headers=auth("viewer"))).json()
    assert room_id in [room["id"] for room in page["rooms"]]
