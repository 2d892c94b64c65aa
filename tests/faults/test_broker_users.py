"""Least privilege on the broker: the whole system runs as one RabbitMQ user per service
(scripts/broker_users.sh, what `make run` sets up on the local broker), each refused what its
service must not do. On a private node."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import aio_pika
import aiohttp
import aiormq
import pytest

from services.gateway.http.auth import mint_token
from tests.faults.harness import REPO, SERVICES, Stack
from tests.faults.likes import LikeLoad
from tests.faults.parts import PrivateBroker
from tests.fixtures import JWT_SECRET


async def test_each_service_runs_as_its_own_broker_user_and_is_refused_the_rest(
    broker: PrivateBroker, mongodb_url: str, tmp_path: Path
) -> None:
    """scripts/broker_users.sh (what `make run` runs on the local broker): the whole system works
    under its four users, and each user is refused what its service must not do."""
    system = Stack(broker.url, mongodb_url, tmp_path)
    namespace = system.env["ONAIR_BUS_NAMESPACE"]
    await asyncio.to_thread(subprocess.run, ["bash", str(REPO / "scripts/broker_users.sh"), namespace, "faults"],
                            env=broker.ctl_env(), check=True, capture_output=True, timeout=120)
    system.amqp_urls = {name: broker.url_of(f"onair-{name.replace('_', '-')}", f"faults-{name.replace('_', '-')}")
                        for name in SERVICES}
    system.start_all()
    try:
        async with aiohttp.ClientSession() as http:
            await system.wait_ready(http)
            load = LikeLoad(system.base)
            await load.open_rooms(http, 2)
            await load.run(http, seconds=3, rate=50)
            await load.settle(http)
            async with http.post(f"{system.base}/v1/admin/rooms/{load.rooms[0]}/ban", json={"reason": "x"},
                                 headers={"Authorization": f"Bearer {mint_token(JWT_SECRET, 'mod', admin=True)}"}
                                 ) as banned:
                assert banned.status == 202, await banned.text()
    finally:
        system.stop_all()
    assert load.counts.accepted > 0 and load.counts.lost == 0 and load.counts.duplicated == 0

    refused = {
        # the gateway: no room events, no moderation events, no other service's queue
        ("gateway", "publish", "events", "room.closed"),
        ("gateway", "publish", "events", "moderation.anchor_banned"),
        ("gateway", "consume", "rooms.commands", ""),
        # rooms: no moderation or stream-strike events; the watcher: no room events
        ("rooms", "publish", "events", "moderation.anchor_unbanned"),
        ("status-watcher", "publish", "events", "room.activated"),
        ("moderation", "consume", "rooms.counters", ""),
    }
    for user, action, target, key in sorted(refused):
        connection = await aio_pika.connect(broker.url_of(f"onair-{user}", f"faults-{user}"))
        async with connection:
            channel = await connection.channel()
            with pytest.raises(aiormq.exceptions.ChannelAccessRefused):
                if action == "publish":
                    exchange = await channel.get_exchange(f"{namespace}.{target}", ensure=False)
                    await exchange.publish(aio_pika.Message(b"{}"), routing_key=key)
                else:
                    queue = await channel.get_queue(f"{namespace}.{target}", ensure=False)
                    await queue.get(fail=False)
                await channel.get_queue(f"{namespace}.dead-letters", ensure=True)  # a round trip: the refusal lands
