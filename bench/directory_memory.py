"""Directory memory per room, and the cost of each order's first page, as the directory grows.

Builds the directory in this process from synthetic rooms (half with a location), so it needs no
running system. Memory per room: what the directory holds as built (`held`: Python and numpy
allocations, traced), the same after every room was rendered once, one hot ranking cut and the
k-d tree built (`all rendered`, the steady state of a gateway that serves every page), and the
process's RSS growth (which adds the allocator's own overhead). Page costs are uncached.
"""

from __future__ import annotations

import gc
import random
import resource
import time
import tracemalloc
from datetime import UTC, datetime, timedelta

from services.gateway.directory import CursorCodec, RoomDirectory, RoomLister
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
    return RoomLister(directory, UrlSigner(SigningSettings()), CursorCodec(b"bench"))


def per_call_us(call: object, repeat: int = 300) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        call()  # type: ignore[operator]
    return (time.perf_counter() - started) / repeat * 1e6


def _rss_and_costs(n: int, rng: random.Random) -> tuple[float, float, float, float]:
    """RSS growth per room for a directory of n rooms, all rendered, and each order's page cost
    on it, uncached (no tracing here: it would add its own memory and slow every call)."""
    gc.collect()
    before = rss_bytes()
    lister = build(n)
    _render_all(lister)
    gc.collect()
    rss = (rss_bytes() - before) / n
    gc.freeze()  # as the gateway does after each snapshot: full collections skip the directory
    new = per_call_us(lambda: lister._newest(20, None))
    hot = per_call_us(lambda: lister._hot(lister.rankings.current(lister.directory.scores, 0.0), 0, 20))
    points = [(rng.uniform(-60, 70), rng.uniform(-180, 180)) for _ in range(300)]
    for lat, lng in points:  # warm: the rooms these pages show have their play URLs signed
        lister.near(lat, lng, 20, None)
    spots = iter(points)
    near = per_call_us(lambda: lister._near(*next(spots), 20, None))
    gc.unfreeze()
    return rss, new, hot, near


def _render_all(lister: RoomLister) -> None:
    for entry in lister.directory.scores()[0]:  # every room rendered once, as a full scroll would
        lister.fragment(entry)
    lister.hot(20, None)
    lister.near(0.0, 0.0, 20, None)  # the k-d tree built


def _row(n: int, rng: random.Random) -> str:
    rss, new, hot, near = _rss_and_costs(n, rng)
    gc.collect()
    tracemalloc.start()
    lister = build(n)
    gc.collect()
    held = tracemalloc.get_traced_memory()[0]
    _render_all(lister)
    gc.collect()
    rendered = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (f"| {n:,} | {held / n:,.0f} B | {rendered / n:,.0f} B | {rss:,.0f} B | {new:.0f} | {hot:.0f} "
            f"| {near:.0f} |")


def memory_and_cost_table(sizes: tuple[int, ...]) -> list[str]:
    rows = ["| live rooms | held / room | all rendered / room | RSS growth / room | new µs | hot µs | near µs |",
            "|---|---|---|---|---|---|---|"]
    rng = random.Random(2)
    return rows + [_row(n, rng) for n in sizes]


if __name__ == "__main__":
    for row in memory_and_cost_table((1000, 10_000, 100_000)):
        print(row)
