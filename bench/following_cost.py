"""The Following tab's page, in this process (no API): its cost as the directory grows and as
more of the followed anchors are on air, beside the cost of the kept first `new` page; and the
memory a cached follow set takes per follow, with the index of the followed anchors on air.

    .venv/bin/python -m bench.following_cost            # 1,000 / 10,000 / 100,000 live rooms

Each page is the first one, uncached: the viewer's followed rooms on air are passed as the
gateway passes them (`follows/on_air.py`). A `new` page reads them; `lookup` or `walk` is what
the `hot` page chose (`filtered.py`).
Medians of 5 runs of 300 pages each; the machine is shared, so read the ratios. Last, the same
pages each after the CPU's caches were flushed (8 MB written, a JSON document encoded), as a
served page finds them after aiohttp and the kernel ran between two of them: the gap between
the two is why a page costs more served than in this loop.
"""

from __future__ import annotations

import asyncio
import gc
import json
import random
import statistics
import sys
import time
import tracemalloc

from bench.directory_memory import _render_all, build
from services.gateway.directory.filtered import Filter, FilteredPages
from services.gateway.follows.on_air import EntryOf, FollowedOnAir, OnAirFollows
from services.gateway.follows.sets import FollowSets

ON_AIR = (20, 200, 2000)  # followed anchors on air


def per_page_us(call: object, repeat: int = 300, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        for _ in range(repeat):
            call()  # type: ignore[operator]
        times.append((time.perf_counter() - started) / repeat * 1e6)
    return statistics.median(times)


def cost_table(sizes: tuple[int, ...]) -> list[str]:
    rows = ["| live rooms | kept `new` page µs | " + " | ".join(
        f"{n:,} on air: new µs | hot µs (way)" for n in ON_AIR) + " |", "|---|---|" + "---|---|" * len(ON_AIR)]
    for size in sizes:
        lister = build(size)
        _render_all(lister)
        pages, rng = FilteredPages(lister), random.Random(size)
        anchors = [sys.intern(f"anchor-{i}") for i in range(size)]
        gc.freeze()
        cells = [f"{per_page_us(lambda lister=lister: lister.newest(20, None)):.1f}"]
        for count in ON_AIR:
            followed = FollowedOnAir.of(rng.sample(anchors, min(count, size)), lister.directory.listed_anchors.entry_of)
            only = Filter(None, followed)
            way = "walk" if pages._walk_pays(followed, None, 21) else "lookup"
            new = per_page_us(lambda o=only, p=pages: p.newest(20, None, o))
            hot = per_page_us(lambda o=only, p=pages: p.hot(20, None, o))
            cells.append(f"{new:.1f} | {hot:.1f} ({way})")
        gc.unfreeze()
        rows.append(f"| {size:,} | " + " | ".join(cells) + " |")
    return rows


async def bytes_per_follow(users: int = 1000, follows: int = 200, pool: int = 20_000,
                           entry_of: EntryOf = lambda _: None) -> float:
    """A cached follow set with its share of the on-air index, per follow: `users` viewers each
    following `follows` of `pool` anchors `anchor-0`... (each anchor followed by users x follows /
    pool), whose rooms `entry_of` finds (none by default: all off air)."""
    rng = random.Random(1)
    pool_ids = [f"anchor-{i}" for i in range(pool)]

    async def load(user: str) -> list[str]:
        return [anchor.encode().decode() for anchor in rng.sample(pool_ids, follows)]  # new strings, as decoded

    sets = FollowSets(load, on_air=OnAirFollows(entry_of), max_users=users)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(users):
        await sets.of(f"viewer-{i}")
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return used / (users * follows)


def cold_us(call: object, pages: int = 200) -> float:
    """Median cost of `call` right after the caches were flushed."""
    junk, document = bytearray(8 << 20), {f"k{i}": [i, str(i), {"a": i}] for i in range(3000)}
    times = []
    for _ in range(pages):
        junk[::64] = b"\1" * (len(junk) // 64)
        json.dumps(document)
        started = time.perf_counter()
        call()  # type: ignore[operator]
        times.append((time.perf_counter() - started) * 1e6)
    return statistics.median(times)


def cold_row(size: int = 10_000, on_air: int = 2000) -> str:
    lister = build(size)
    _render_all(lister)
    pages = FilteredPages(lister)
    anchors = random.Random(size).sample([sys.intern(f"anchor-{i}") for i in range(size)], on_air)
    only = Filter(None, FollowedOnAir.of(anchors, lister.directory.listed_anchors.entry_of))
    cells = {name: f"{cold_us(call):.1f} ({per_page_us(call):.1f})" for name, call in (
        ("kept `new`", lambda: lister.newest(20, None)), ("following `new`", lambda: pages.newest(20, None, only)),
        ("following `hot`", lambda: pages.hot(20, None, only)))}
    return (f"{size:,} live rooms, {on_air:,} followed on air, µs after a cache flush (warm loop): "
            + ", ".join(f"{name} {cell}" for name, cell in cells.items()))


if __name__ == "__main__":
    for row in cost_table((1000, 10_000, 100_000)):
        print(row, flush=True)
    print(cold_row(), flush=True)
    print(f"cached follow set with its on-air index: {asyncio.run(bytes_per_follow()):.0f} bytes per follow "
          "(1,000 viewers following 200 of 20,000 anchors, all off air)")
    live = build(20_000).directory.listed_anchors.entry_of
    print(f"the same, every followed anchor on air: {asyncio.run(bytes_per_follow(entry_of=live)):.0f} bytes a follow")
