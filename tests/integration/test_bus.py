"""The bus against the real broker: replies, dead-lettering, retries, unroutable, timeouts."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aio_pika
import pytest

from shared.bus import DEAD_LETTERS_ARGUMENTS, Binding, Bus
from shared.contracts import (
    CloseReason,
    CloseRoom,
    Contract,
    CounterEntry,
    Envelope,
    ErrorCode,
    GetRoom,
    RecordCounters,
    Room,
    RoomCreated,
    RoomStatus,
    decode,
)
from shared.errors import BusUnavailable, DomainError, RequestTimedOut
from tests.fixtures import delete_namespace

QUEUES = ["work", "reads", "asks", "batched", "dead-letters", "events.unrouted"]


@pytest.fixture
async def buses(amqp_url: str) -> AsyncIterator[tuple[Bus, Bus]]:
    ns = f"bustest-{uuid.uuid4().hex[:8]}"
    server = Bus(amqp_url, namespace=ns, delivery_limit=2)
    client = Bus(amqp_url, namespace=ns)
    await server.connect(attempts=3)
    await client.connect(attempts=3)
    yield server, client
    await client.close()
    await server.close()
    await delete_namespace(amqp_url, ns, QUEUES)


async def dead_letters(amqp_url: str, namespace: str, expect: int, timeout: float = 10) -> list[bytes]:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(f"{namespace}.dead-letters")
        bodies: list[bytes] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while len(bodies) < expect and asyncio.get_running_loop().time() < deadline:
            message = await queue.get(fail=False)
            if message is None:
                await asyncio.sleep(0.1)
                continue
            bodies.append(message.body)
            await message.ack()
        return bodies


def a_room(room_id: str, title: str = "t") -> Room:
    return Room(id=room_id, anchor_id="a", title=title, cover_url="https://x/c", status=RoomStatus.UNACTIVE,
                created_at=datetime.now(UTC), stream_id="s")


async def test_request_reply_and_domain_errors(buses: tuple[Bus, Bus]) -> None:
    server, client = buses

    async def handler(env: Envelope, msg: Contract) -> Contract:
        assert isinstance(msg, GetRoom)
        if msg.room_id == "missing":
            raise DomainError(ErrorCode.NOT_FOUND, "no such room", room_id=msg.room_id)
        return a_room(msg.room_id, title=env.correlation_id or "")

    await server.serve("reads", [GetRoom], handler)
    room = await client.ask(GetRoom(room_id="r1"), timeout=5, correlation_id="corr-1")
    assert isinstance(room, Room) and (room.id, room.title) == ("r1", "corr-1")  # typed by the request
    with pytest.raises(DomainError) as err:
        await client.ask(GetRoom(room_id="missing"), timeout=5)
    assert err.value.code is ErrorCode.NOT_FOUND and err.value.extra == {"room_id": "missing"}


async def test_concurrent_first_requests_share_one_reply_consumer(buses: tuple[Bus, Bus]) -> None:
    server, client = buses

    async def handler(env: Envelope, msg: Contract) -> Contract:
        assert isinstance(msg, GetRoom)
        return a_room(msg.room_id)

    await server.serve("reads", [GetRoom], handler)
    results = await asyncio.gather(*[client.ask(GetRoom(room_id=str(i)), timeout=5) for i in range(20)])
    assert [room.id for room in results] == [str(i) for i in range(20)]


async def test_invalid_message_goes_to_the_dead_letter_queue_once(amqp_url: str, buses: tuple[Bus, Bus]) -> None:
    server, _ = buses
    handled: list[str] = []

    async def handler(env: Envelope, msg: Contract) -> None:
        handled.append(env.id)

    await server.consume("work", [Binding("commands", "rooms.get")], handler)
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(f"{server.namespace}.commands")
        await exchange.publish(aio_pika.Message(b"{not json"), routing_key="rooms.get")
    assert await dead_letters(amqp_url, server.namespace, expect=1) == [b"{not json"]
    assert handled == []


async def test_failing_handler_is_retried_then_dead_lettered(amqp_url: str, buses: tuple[Bus, Bus]) -> None:
    server, client = buses
    attempts: list[str] = []

    async def handler(env: Envelope, msg: Contract) -> None:
        attempts.append(env.id)
        raise ConnectionError("database down")

    await server.consume("work", [Binding("commands", GetRoom.TYPE)], handler)
    sent = await client.publish_command(GetRoom(room_id="r1"))
    letters = await dead_letters(amqp_url, server.namespace, expect=1, timeout=15)
    assert len(letters) == 1 and sent.id in letters[0].decode()
    assert attempts == [sent.id] * 3  # first delivery + delivery limit of 2 redeliveries


async def test_a_retry_that_succeeds_is_handled_once(buses: tuple[Bus, Bus]) -> None:
    server, client = buses
    attempts: list[str] = []
    done = asyncio.Event()

    async def handler(env: Envelope, msg: Contract) -> None:
        attempts.append(env.id)
        if len(attempts) == 1:
            raise ConnectionError("transient")
        done.set()

    await server.consume("work", [Binding("commands", GetRoom.TYPE)], handler)
    await client.publish_command(GetRoom(room_id="r1"))
    await asyncio.wait_for(done.wait(), 10)
    await asyncio.sleep(0.5)
    assert len(attempts) == 2


async def test_unroutable_command_is_an_error(buses: tuple[Bus, Bus]) -> None:
    _, client = buses
    with pytest.raises(BusUnavailable):
        await client.publish_command(GetRoom(room_id="nobody-listens"))


async def test_events_without_subscribers_are_kept_not_refused(amqp_url: str, buses: tuple[Bus, Bus]) -> None:
    _, client = buses
    sent = await client.publish_event(RoomCreated(room=a_room("r")))  # not an error: pub/sub
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        held = await channel.get_queue(f"{client.namespace}.events.unrouted")
        message = await held.get(timeout=5)
        assert decode(message.body)[0].id == sent.id  # kept in the bounded holding queue, not dropped
        await message.ack()


async def test_an_expired_request_is_dropped_not_dead_lettered(amqp_url: str, buses: tuple[Bus, Bus]) -> None:
    server, client = buses

    async def never(env: Envelope, msg: Contract) -> None:
        raise AssertionError("nobody serves requests in this test")

    asks = await server.serve("asks", [CloseRoom], never)
    await asks.cancel()  # the service is down: the request waits in its queue until it expires
    with pytest.raises(RequestTimedOut):
        await client.ask(CloseRoom(room_id="r1", reason=CloseReason.ANCHOR, actor_id="a"), timeout=0.3)
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        for _ in range(30):
            left = await channel.declare_queue(f"{server.namespace}.asks", passive=True)
            if left.declaration_result.message_count == 0:
                break
            await asyncio.sleep(0.1)
        dead = await channel.declare_queue(f"{server.namespace}.dead-letters", passive=True)
        assert (left.declaration_result.message_count, dead.declaration_result.message_count) == (0, 0)


async def test_a_failing_subscriber_meets_the_delivery_limit(amqp_url: str, buses: tuple[Bus, Bus]) -> None:
    """A private queue keeps no delivery count (classic): the bus counts, so a failing event
    handler is dead-lettered after the limit instead of being redelivered forever."""
    server, client = buses
    attempts: list[str] = []

    async def failing(env: Envelope, msg: Contract) -> None:
        attempts.append(env.id)
        raise ConnectionError("this replica cannot apply it")

    await server.subscribe([Binding("events", RoomCreated.TYPE)], failing)
    sent = await client.publish_event(RoomCreated(room=a_room("r")))
    letters = await dead_letters(amqp_url, server.namespace, expect=1, timeout=15)
    assert len(letters) == 1 and sent.id in letters[0].decode()
    assert attempts == [sent.id] * 3  # first delivery + delivery limit of 2 redeliveries


async def test_request_without_reply_times_out(buses: tuple[Bus, Bus]) -> None:
    server, client = buses

    async def slow(env: Envelope, msg: Contract) -> None:
        await asyncio.sleep(2)

    await server.serve("reads", [GetRoom], slow)
    with pytest.raises(RequestTimedOut):
        await client.ask(GetRoom(room_id="r1"), timeout=0.3)


async def test_bus_down_is_unavailable() -> None:
    bus = Bus("amqp://guest:guest@127.0.0.1:1/", namespace="nowhere")
    with pytest.raises(BusUnavailable):
        await bus.ask(GetRoom(room_id="r1"), timeout=1)
    with pytest.raises(BusUnavailable):
        await bus.connect(attempts=1)


async def test_queries_ride_a_transient_queue_and_are_never_dead_lettered(amqp_url: str,
                                                                         buses: tuple[Bus, Bus]) -> None:
    server, client = buses
    seen: list[aio_pika.abc.DeliveryMode | None] = []

    async def failing(env: Envelope, msg: Contract) -> Contract:
        raise ConnectionError("the store is away")

    reads = await server.serve("reads", [GetRoom], failing)
    started = asyncio.get_running_loop().time()
    with pytest.raises(BusUnavailable):  # answered "unavailable" at once, not retried, not timed out
        await client.ask(GetRoom(room_id="x"), timeout=5)
    assert asyncio.get_running_loop().time() - started < 1
    await reads.cancel()
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(f"{server.namespace}.reads")

        async def silent(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            seen.append(message.delivery_mode)
            await message.ack()

        tag = await queue.consume(silent)
        with pytest.raises(RequestTimedOut):
            await client.ask(GetRoom(room_id="y"), timeout=0.3)
        assert seen == [aio_pika.DeliveryMode.NOT_PERSISTENT]  # a read is never written to disk
        await queue.cancel(tag)
        # Nobody serves reads now: the query expires with its wait and is dropped, not dead-lettered.
        with pytest.raises(RequestTimedOut):
            await client.ask(GetRoom(room_id="z"), timeout=0.3)
        await asyncio.sleep(0.5)
        left = await channel.declare_queue(f"{server.namespace}.reads", passive=True)
        dead = await channel.declare_queue(f"{server.namespace}.dead-letters", passive=True)
        assert (left.declaration_result.message_count, dead.declaration_result.message_count) == (0, 0)


async def test_one_bad_message_in_a_batch_is_dead_lettered_alone(amqp_url: str, buses: tuple[Bus, Bus]) -> None:
    server, client = buses
    applied: list[str] = []

    async def handler(batch: list[tuple[Envelope, Contract]]) -> None:
        rooms = [entry.room_id for _, msg in batch if isinstance(msg, RecordCounters) for entry in msg.entries]
        if "poison" in rooms:
            raise ValueError("this message can never be written")
        applied.extend(rooms)

    await server.consume_batches("batched", [Binding("commands", RecordCounters.TYPE)], handler,
                                 max_batch=50, max_wait=0.3, retry_delay=lambda delivery: 0.05)
    rooms = [f"room-{i}" for i in range(9)]
    for room in [*rooms[:4], "poison", *rooms[4:]]:
        await client.publish_command(RecordCounters(entries=[CounterEntry(room_id=room, likes=1)]))
    dead = await dead_letters(amqp_url, server.namespace, expect=1)
    assert [decode(body)[1] for body in dead] == [RecordCounters(entries=[CounterEntry(room_id="poison", likes=1)])]
    assert sorted(applied) == sorted(rooms)  # every good one, once


async def test_a_full_queue_refuses_publishes_instead_of_growing(buses: tuple[Bus, Bus]) -> None:
    server, client = buses

    async def never(env: Envelope, msg: Contract) -> None:
        raise AssertionError("no consumer runs in this test")

    subscription = await server.consume("work", [Binding("commands", GetRoom.TYPE)], never, max_length=3)
    await subscription.cancel()  # nobody consumes: the queue fills
    refused = 0
    for n in range(6):  # a quorum queue may take one past its limit before it refuses
        try:
            await client.publish_command(GetRoom(room_id=f"r{n}"))
        except BusUnavailable:  # reject-publish: the gateway's 503
            refused += 1
    assert refused >= 2


async def test_the_dead_letter_queue_is_bounded(amqp_url: str, buses: tuple[Bus, Bus]) -> None:
    server, _ = buses
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        # Declaring an existing queue succeeds only with the very arguments it was made with.
        channel = await connection.channel()
        await channel.declare_queue(f"{server.namespace}.dead-letters", durable=True, arguments=DEAD_LETTERS_ARGUMENTS)
        unbounded = await connection.channel()
        with pytest.raises(aio_pika.exceptions.ChannelPreconditionFailed):
            await unbounded.declare_queue(f"{server.namespace}.dead-letters", durable=True,
                                          arguments={"x-queue-type": "quorum"})


async def test_a_queue_made_without_bounds_is_used_as_it_is(amqp_url: str, buses: tuple[Bus, Bus]) -> None:
    """An older version's queue (no length limit) keeps working after an upgrade: a warning, not
    a crash (RabbitMQ cannot change a queue's arguments; a policy can add the bound)."""
    server, client = buses
    handled: list[str] = []

    async def handler(env: Envelope, msg: Contract) -> None:
        handled.append(env.id)

    await server.consume("work", [Binding("commands", GetRoom.TYPE)], handler)
    await server.consume("work", [Binding("commands", GetRoom.TYPE)], handler, max_length=3)
    sent = await client.publish_command(GetRoom(room_id="r1"))
    for _ in range(50):
        if sent.id in handled:
            break
        await asyncio.sleep(0.1)
    assert sent.id in handled


async def test_a_retired_binding_no_longer_delivers(buses: tuple[Bus, Bus], amqp_url: str) -> None:
    """An upgraded service unbinds what its older version bound: a durable queue keeps bindings."""
    server, client = buses
    seen: list[str] = []

    async def handle(env: Envelope, message: Contract) -> None:
        seen.append(env.type)

    old = await server.consume("work", [Binding("events", RoomCreated.TYPE)], handle)
    await old.cancel()
    await server.consume("work", [Binding("commands", CloseRoom.TYPE)], handle,
                         retired=[Binding("events", RoomCreated.TYPE)])
    await client.publish_event(RoomCreated(room=a_room("r1")))  # no queue takes it any more
    await client.publish_command(CloseRoom(room_id="r1", reason=CloseReason.ANCHOR))
    for _ in range(50):
        if seen:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.3)
    assert seen == [CloseRoom.TYPE]
