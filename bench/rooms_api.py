"""Benchmark the room lifecycle hot paths through the real HTTP gateway of a running system.

    make run            # in one terminal
    make bench-rooms    # in another (or: .venv/bin/python bench/rooms_api.py --help)

Creates (and activates) N rooms with distinct anchors at a given concurrency, then lists
rooms pages from many concurrent viewers. Prints throughput and p50/p90/p99 latencies, and
closes the rooms it made. Bounded in count; talks to the gateway URL given (loopback default).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

import aiohttp

from services.gateway.http.auth import mint_token
from shared.settings import GatewaySettings


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def report(name: str, latencies: list[float], wall: float, errors: int) -> None:
    ms = [x * 1000 for x in latencies]
    print(f"{name:<10} n={len(ms):>5} errors={errors:>3} rate={len(ms) / wall:8.1f}/s  "
          f"p50={percentile(ms, 50):6.1f} ms  p90={percentile(ms, 90):6.1f} ms  "
          f"p99={percentile(ms, 99):6.1f} ms  mean={statistics.fmean(ms):6.1f} ms")


async def timed_batch(n: int, concurrency: int, op: Callable[[int], Awaitable[bool]]) -> tuple[list[float], float, int]:
    latencies: list[float] = []
    errors = 0
    queue = iter(range(n))

    async def worker() -> None:
        nonlocal errors
        for i in queue:
            started = time.perf_counter()
            ok = await op(i)
            latencies.append(time.perf_counter() - started)
            errors += not ok

    started = time.perf_counter()
    await asyncio.gather(*[worker() for _ in range(concurrency)])
    return latencies, time.perf_counter() - started, errors


async def main(args: argparse.Namespace) -> None:
    secret = GatewaySettings().jwt_secret.get_secret_value()
    run = uuid.uuid4().hex[:6]
    anchors = [f"bench-{run}-{i}" for i in range(args.rooms)]
    tokens = {a: {"Authorization": f"Bearer {mint_token(secret, a)}"} for a in anchors}
    viewer = {"Authorization": f"Bearer {mint_token(secret, f'viewer-{run}')}"}
    room_ids: dict[int, str] = {}
    connector = aiohttp.TCPConnector(limit=args.concurrency * 2)
    async with aiohttp.ClientSession(args.url, connector=connector) as http:
        async def create(i: int) -> bool:
            body = {"title": f"bench room {i}", "cover_url": "https://img.example.com/c.jpg"}
            async with http.post("/v1/rooms", json=body, headers=tokens[anchors[i]]) as response:
                if response.status != 201:
                    return False
                room_ids[i] = (await response.json())["room"]["id"]
                return True

        async def activate(i: int) -> bool:
            async with http.post(f"/v1/rooms/{room_ids[i]}/activate", headers=tokens[anchors[i]]) as response:
                return response.status == 200

        async def list_page(i: int) -> bool:
            async with http.get("/v1/rooms", params={"limit": str(args.page)}, headers=viewer) as response:
                await response.read()
                return response.status == 200

        async def close(i: int) -> bool:
            async with http.post(f"/v1/rooms/{room_ids[i]}/close", headers=tokens[anchors[i]]) as response:
                return response.status == 200

        print(f"gateway {args.url}: {args.rooms} rooms, concurrency {args.concurrency}, "
              f"{args.lists} list requests of {args.page}")
        report("create", *await timed_batch(args.rooms, args.concurrency, create))
        report("activate", *await timed_batch(len(room_ids), args.concurrency, activate))
        report("list", *await timed_batch(args.lists, args.concurrency, list_page))
        if not args.keep:
            report("close", *await timed_batch(len(room_ids), args.concurrency, close))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--rooms", type=int, default=300)
    parser.add_argument("--lists", type=int, default=2000)
    parser.add_argument("--page", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--keep", action="store_true", help="leave the rooms live (to measure a long list)")
    asyncio.run(main(parser.parse_args()))
