"""A reconnect that hangs while restoring its channels (the node answers heartbeats, never a
channel open) is cut off and started again, so the service comes back instead of waiting
forever; meanwhile it does not call itself connected."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from shared.bus import Binding, Bus
from shared.contracts import Contract, Envelope, Room, RoomCreated, RoomStatus
from tests.fakes.amqp_proxy import StallingProxy

STUCK_SECONDS = 4.0


async def test_a_restore_that_hangs_is_started_again(amqp_url: str) -> None:
    proxy = StallingProxy(amqp_url)
    namespace = f"stuck-{uuid.uuid4().hex[:8]}"
    bus = Bus(await proxy.start(), namespace=namespace, stuck_seconds=STUCK_SECONDS)
    publisher = Bus(amqp_url, namespace=namespace)
    await bus.connect(attempts=3)
    await publisher.connect(attempts=3)
    received: asyncio.Queue[str] = asyncio.Queue()

    async def handler(_: Envelope, event: Contract) -> None:
        assert isinstance(event, RoomCreated)
        await received.put(event.room.id)

    try:
        await bus.subscribe([Binding("events", RoomCreated.TYPE)], handler)
        proxy.stall_channel_opens = True
        proxy.cut()
        await asyncio.sleep(2.5)  # reconnected, its channel opens swallowed
        assert proxy.swallowed >= 1 and not bus.connected
        proxy.stall_channel_opens = False
        lost = asyncio.get_running_loop().time()
        while not bus.connected:
            assert asyncio.get_running_loop().time() - lost < STUCK_SECONDS + 5, "the restore stayed stuck"
            await asyncio.sleep(0.1)
        room = Room(id="r1", anchor_id="a", title="t", cover_url="https://x/c", status=RoomStatus.UNACTIVE,
                    created_at=datetime.now(UTC), stream_id="s")
        await publisher.publish_event(RoomCreated(room=room))
        assert await asyncio.wait_for(received.get(), 5) == "r1"  # its private queue and consumer are back
    finally:
        await bus.close()
        await publisher.close()
        await proxy.close()
