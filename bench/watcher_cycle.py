"""One status-watcher poll cycle over many watched rooms, against a batch adapter with no network.

    .venv/bin/python bench/watcher_cycle.py [--rooms 100000] [--offline 0.01]

Prints CPU time and wall time of the cycle (state lookup, strike bookkeeping and the events it
publishes into a counting stand-in for the bus), and the memory the watched set takes.
Target (issue 6): at most 2 s of CPU for 100,000 rooms.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import time
import tracemalloc
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from services.status_watcher.domain import StrikeBook
from services.status_watcher.watch import StatusWatch
from shared.clients import RoomsClient
from shared.cloud import CloudPort, StreamState


class BatchCloud(CloudPort):
    """A batch adapter answering from a prepared online set: one 'call' per cycle."""

    name = "bench"

    def __init__(self, offline: set[str]) -> None:
        self.offline = offline
        self.calls = 0

    async def stream_states(self, streams: Sequence[str]) -> dict[str, StreamState]:
        self.calls += 1
        offline, online, down = self.offline, StreamState.ONLINE, StreamState.OFFLINE
        return {s: down if s in offline else online for s in streams}

    async def forbid(self, stream: str, *, reason: str, resume_at: datetime) -> None:
        raise NotImplementedError("not used by the watcher")

    async def drop(self, stream: str) -> None:
        raise NotImplementedError("not used by the watcher")

    async def resume(self, stream: str) -> None:
        raise NotImplementedError("not used by the watcher")


class CountingBus:
    def __init__(self) -> None:
        self.published = 0

    async def publish_event(self, payload: Any, **_: Any) -> None:
        payload.model_dump_json()  # pay the serialisation a real publish would
        self.published += 1

    async def publish_command(self, payload: Any, **_: Any) -> None:
        await self.publish_event(payload)


async def main(rooms: int, offline_share: float, cycles: int) -> None:
    activated = datetime.now(UTC) - timedelta(minutes=5)
    gc.collect()
    tracemalloc.start()
    book = StrikeBook(3, grace=timedelta(seconds=10))
    for i in range(rooms):
        book.watch(f"{i:032x}", f"onair_{i:032x}", activated, now=0.0)
    memory = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    offline = {f"onair_{i:032x}" for i in random.Random(7).sample(range(rooms), int(rooms * offline_share))}
    bus = CountingBus()
    watcher = StatusWatch(events=bus, rooms=RoomsClient(bus, timeout=5), publisher=bus,  # type: ignore[arg-type]
                          cloud=BatchCloud(offline), book=book, interval=10, resync_every=60)
    print(f"{rooms} watched rooms, {len(offline)} offline; watched set takes {memory / 2**20:.1f} MiB")
    for n in range(1, cycles + 1):
        cpu, wall = time.process_time(), time.perf_counter()
        stats = await watcher.poll_once()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        print(f"cycle {n}: cpu {cpu:.3f} s  wall {wall:.3f} s  polled {stats.polled}  cloud calls {stats.cloud_calls}"
              f"  struck {stats.struck}  closed {stats.closed}  events published {bus.published}")


if __name__ == "__main__":
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rooms", type=int, default=100_000)
    parser.add_argument("--offline", type=float, default=0.01, help="share of streams answered offline")
    parser.add_argument("--cycles", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.rooms, args.offline, args.cycles))
