"""One active status watcher among replicas: the RabbitMQ exclusive-queue leader lock."""

from __future__ import annotations

import asyncio
import uuid

from shared.leader import LeaderLock


async def test_only_one_replica_leads_and_another_takes_over(amqp_url: str) -> None:
    name = f"test-leader-{uuid.uuid4().hex[:8]}"
    leading: list[str] = []

    def duty(replica: str):  # type: ignore[no-untyped-def]
        async def run() -> None:
            leading.append(replica)
            await asyncio.Event().wait()  # lead until cancelled

        return run

    first = asyncio.create_task(LeaderLock(amqp_url, name, retry_seconds=0.2).lead(duty("a")))
    await asyncio.sleep(0.5)
    second = asyncio.create_task(LeaderLock(amqp_url, name, retry_seconds=0.2).lead(duty("b")))
    await asyncio.sleep(1.0)
    assert leading == ["a"], "two replicas led at once"

    first.cancel()  # the leader dies: its connection (and the lock) goes with it
    await asyncio.gather(first, return_exceptions=True)
    for _ in range(50):
        if leading == ["a", "b"]:
            break
        await asyncio.sleep(0.1)
    assert leading == ["a", "b"], "no replica took over"
    second.cancel()
    await asyncio.gather(second, return_exceptions=True)
