"""The rooms service's guarantees at its own boundary: idempotent redelivery, the outbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import pytest
from pymongo import AsyncMongoClient, monitoring

from services.rooms.anchor_bans import AnchorBanView
from services.rooms.bootstrap import RoomsService, command_routes
from services.rooms.domain import now_ms, transitioned
from services.rooms.outbox import Outbox
from services.rooms.repository import RoomRepository
from shared.bus import Routes
from shared.contracts import ActivateRoom, CloseReason, CloseRoom, CreateRoom, Room, RoomActivated, RoomStatus, wrap
from shared.settings import RoomsSettings
from tests.fixtures import new_user, received, spy_queue


@pytest.fixture
async def room_events(rooms_settings: RoomsSettings) -> AsyncIterator[aio_pika.abc.AbstractQueue]:
    """A private queue bound to every room.* event of the test namespace."""
    async with spy_queue(rooms_settings.amqp_url, f"{rooms_settings.bus_namespace}.events", ["room.*"]) as queue:
        yield queue


def commands(service: RoomsService) -> Routes:
    """The rooms service's command handlers, wired as its bootstrap wires them."""
    return command_routes(service.rooms, service.anchor_bans, service.outbox)


async def drain(queue: aio_pika.abc.AbstractQueue, seconds: float = 1.0) -> list[tuple[str, str]]:
    """(event type, event id) of everything that arrives within `seconds`."""
    return [(envelope.type, envelope.id) for envelope in await received(queue, seconds)]


async def test_redelivered_create_returns_the_same_room_and_one_event(
    rooms_service: RoomsService, room_events: aio_pika.abc.AbstractQueue
) -> None:
    command = CreateRoom(anchor_id=new_user(), title="t", cover_url="https://x/c.jpg")
    envelope = wrap(command)
    first = await commands(rooms_service)[CreateRoom](envelope, command)
    again = await commands(rooms_service)[CreateRoom](envelope, command)  # the same message, delivered twice
    assert isinstance(first, Room)
    assert again == first
    events = await drain(room_events)
    assert events == [("room.created", f"{first.id}:room.created")]


async def test_outbox_event_left_by_a_crash_is_published_by_the_sweep(
    rooms_service: RoomsService, room_events: aio_pika.abc.AbstractQueue
) -> None:
    command = CreateRoom(anchor_id=new_user(), title="t", cover_url="https://x/c.jpg")
    room = await commands(rooms_service)[CreateRoom](wrap(command), command)
    assert isinstance(room, Room)
    await drain(room_events, 0.3)
    # The write happens, then the process "dies" before flushing its outbox.
    activated = transitioned(room, RoomStatus.ACTIVE, {"activated_at": now_ms()})
    event = wrap(RoomActivated(room=activated), message_id=f"{room.id}:room.activated")
    assert await rooms_service.rooms.transition(room, activated, event)
    # The maintenance loop of the running service (every 0.5 s here) publishes it.
    events = await drain(room_events, 8.0)
    assert ("room.activated", f"{room.id}:room.activated") in events
    stored = await rooms_service.rooms.get_for_write(room.id)
    assert stored is not None and stored.outbox == [] and stored.room.version == 2


async def test_concurrent_activations_emit_one_event(
    rooms_service: RoomsService, room_events: aio_pika.abc.AbstractQueue
) -> None:
    anchor = new_user()
    command = CreateRoom(anchor_id=anchor, title="t", cover_url="https://x/c.jpg")
    room = await commands(rooms_service)[CreateRoom](wrap(command), command)
    assert isinstance(room, Room)
    activate = ActivateRoom(room_id=room.id, actor_id=anchor)
    results = await asyncio.gather(*[commands(rooms_service)[ActivateRoom](wrap(activate), activate)
                                     for _ in range(8)])
    assert {r.status for r in results if isinstance(r, Room)} == {RoomStatus.ACTIVE}
    assert len({r.activated_at for r in results if isinstance(r, Room)}) == 1
    events = [e for e in await drain(room_events) if e[0] == "room.activated"]
    assert events == [("room.activated", f"{room.id}:room.activated")]


class CommandCounter(monitoring.CommandListener):
    """Counts the commands a client sends to the store (its round trips)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.names.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def test_create_activate_and_close_cost_three_store_round_trips_each(
    rooms_service: RoomsService, rooms_settings: RoomsSettings
) -> None:
    counter = CommandCounter()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(rooms_settings.mongodb_url, tz_aware=True,
                                                                event_listeners=[counter])
    try:
        db = client[rooms_settings.mongodb_db]
        await db.command("ping")
        repository = RoomRepository(db["rooms"])
        routes = command_routes(repository, AnchorBanView(db["anchor_bans"]), Outbox(repository, rooms_service.bus))
        anchor = new_user()
        counter.names.clear()
        create = CreateRoom(anchor_id=anchor, title="t", cover_url="https://x/c.jpg")
        room = await routes[CreateRoom](wrap(create), create)
        assert isinstance(room, Room)
        costs = {"create": list(counter.names)}
        counter.names.clear()
        activate = ActivateRoom(room_id=room.id, actor_id=anchor)
        await routes[ActivateRoom](wrap(activate), activate)
        costs["activate"] = list(counter.names)
        counter.names.clear()
        close = CloseRoom(room_id=room.id, reason=CloseReason.ANCHOR, actor_id=anchor)
        await routes[CloseRoom](wrap(close), close)
        costs["close"] = list(counter.names)
        # ban check, insert with its event, outbox clear, ban check again (a ban that landed in
        # between) / read, conditional write, outbox clear
        assert costs == {"create": ["find", "insert", "update", "find"], "activate": ["find", "update", "update"],
                         "close": ["find", "update", "update"]}
    finally:
        await client.close()
