"""Directory memory per room, and the cost of each order's first page, as the directory grows.

Builds the directory in this process from synthetic rooms (half with a location, all rendered
once, one hot ranking cut), so it needs no running system: RSS before and after, per room.
"""

from __future__ import annotations

import gc
import random
import resource
import time
from datetime import UTC, datetime, timedelta

from services.gateway.directory import RoomDirectory, RoomLister
from shared.contracts import Location, Room, RoomCounts, RoomStatus
from shared.settings import SigningSettings
from shared.signing import UrlSigner

T0 = datetime(2026, 11, 24, tzinfo=UTC)


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def build(n: int, seed: int = 1) -> RoomLister:
    rng = random.Random(seed)
    directory = RoomDirectory()
    directory.finish_snapshot([])
    for i in range(n):
        location = Location(lat=rng.uniform(-60, 70), lng=rng.uniform(-180, 180)) if i % 2 == 0 else None
        room_id = f"{rng.getrandbits(128):032x}"
        room = Room(id=room_id, anchor_id=f"anchor-{i}", title=f"room number {i} live now", location=location,
                    cover_url=f"https://img.example.com/covers/{i}.jpg", status=RoomStatus.ACTIVE, created_at=T0,
                    activated_at=T0 + timedelta(milliseconds=i), stream_id=f"onair_{room_id}", version=2)
        directory.apply(room)
        directory.apply_counts(RoomCounts(room_id=room_id, version=3, viewers=rng.randint(0, 5000),
                                          likes=rng.randint(0, 50_000), viewers_added=0,
                                          likes_added=rng.randint(0, 100)))
    return RoomLister(directory, UrlSigner(SigningSettings()))


def per_call_us(call: object, repeat: int = 300) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        call()  # type: ignore[operator]
    return (time.perf_counter() - started) / repeat * 1e6


def _row(n: int, rng: random.Random) -> str:
    gc.collect()
    before = rss_bytes()
    lister = build(n)
    gc.collect()
    held = rss_bytes() - before
    for _, room_id in list(lister.directory.scores()):  # every room rendered once, as a full scroll would
        entry = lister.directory.live(room_id)
        assert entry is not None
        lister.fragment(entry)
    lister.hot(20, None)
    gc.collect()
    rendered = rss_bytes() - before
    new = per_call_us(lambda: lister._newest(20, None))  # uncached, as after every change
    hot = per_call_us(lambda: lister._hot(lister.rankings.current(lister.directory.scores(), 0.0), 0, 20))
    spots = iter([(rng.uniform(-60, 70), rng.uniform(-180, 180)) for _ in range(300)])
    near = per_call_us(lambda: lister.near(*next(spots), 20, None))
    return f"| {n:,} | {held / n:,.0f} B | {rendered / n:,.0f} B | {new:.0f} | {hot:.0f} | {near:.0f} |"


def memory_and_cost_table(sizes: tuple[int, ...]) -> list[str]:
    rows = ["| live rooms | memory / room (held) | memory / room (all rendered) | new µs | hot µs | near µs |",
            "|---|---|---|---|---|---|"]
    rng = random.Random(2)
    return rows + [_row(n, rng) for n in sizes]


if __name__ == "__main__":
    for row in memory_and_cost_table((1000, 10_000, 100_000)):
        print(row)
