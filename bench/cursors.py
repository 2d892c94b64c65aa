"""What a `near` page costs with a genuine cursor and with forged ones, as the directory grows
(in this process, no running system): `.venv/bin/python -m bench.cursors`.

Rows: a genuine first page rendered (uncached, the ceiling a forged cursor must stay under), a
genuine second page, the deepest genuine cursor the list hands out (NEAR_DEPTH rooms away), and
forged cursors: unsigned, edited (its MAC kept), and one at an infinite distance signed with the
key (as if the key had leaked). Medians of 5 rounds, microseconds per request.
"""

from __future__ import annotations

import json
import math
import random
import statistics
from collections.abc import Callable

from bench.directory_memory import build, per_call_us
from services.gateway.directory import RoomLister
from services.gateway.directory.cursors import NearCursor
from services.gateway.directory.listing import NEAR_DEPTH
from shared.errors import DomainError


def refused(call: Callable[[], bytes]) -> Callable[[], None]:
    def run() -> None:
        try:
            call()
        except DomainError:
            return
        raise AssertionError("a forged cursor was taken")

    return run


def costs(lister: RoomLister, rng: random.Random) -> dict[str, float]:
    lat, lng = round(rng.uniform(-50, 60), 2), round(rng.uniform(-170, 170), 2)
    second = json.loads(lister.near(lat, lng, 20, None))["next_cursor"]
    deepest = lister._near(lat, lng, NEAR_DEPTH - 20, None)  # the page that ends at the depth
    last = json.loads(deepest)["rooms"][-1]
    deep = lister.cursors.encode(NearCursor(lat, lng, last["distance_km"], last["id"]))
    payload, mac = second.split(".")
    calls: dict[str, Callable[[], object]] = {
        "genuine first page (rendered, uncached)": lambda: lister._near(lat, lng, 20, None),
        "genuine second page": lambda: lister.near(lat, lng, 20, second),
        f"deepest genuine cursor ({NEAR_DEPTH:,} rooms away)": lambda: lister.near(lat, lng, 20, deep),
        "forged: unsigned": refused(lambda: lister.near(lat, lng, 20, payload)),
        "forged: edited, its MAC kept": refused(lambda: lister.near(lat, lng, 20, payload[:-2] + "fQ." + mac)),
        "forged with the key: infinite distance": refused(lambda: lister.near(
            lat, lng, 20, lister.cursors.encode(NearCursor(lat, lng, math.inf, "x")))),
    }
    return {name: statistics.median(per_call_us(call, 200) for _ in range(5)) for name, call in calls.items()}


def main() -> None:
    rng = random.Random(3)
    sizes = (10_000, 100_000)
    table = {n: costs(build(n), rng) for n in sizes}
    print("| near request, µs | " + " | ".join(f"{n:,} rooms" for n in sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    for name in table[sizes[0]]:
        print(f"| {name} | " + " | ".join(f"{table[n][name]:,.1f}" for n in sizes) + " |")


if __name__ == "__main__":
    main()
