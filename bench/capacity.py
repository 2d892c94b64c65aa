"""What each unit of work costs each tier, in CPU: the numbers docs/capacity.md is built from.

    ONAIR_WATCH_INTERVAL=86400 make run     # then:
    .venv/bin/python -m bench.capacity

Against a running system (`make run`), it reads every process's CPU time from /proc (the four
services, the broker's Erlang VM, the embedded store) around each kind of load, and divides by
the units done:
1. at rest, 10 s: what each tier costs per second doing nothing (presence reports every 2 s,
   heartbeats, the watcher's empty cycles);
2. the room list, wrk for 5 s: per list request;
3. likes, a closed loop over 20 rooms for 10 s: per accepted like (each gateway batch, each
   counter transaction and each room.counters event included);
4. rooms opened (create + activate, 8 anchors at once): per room.
Each figure is the median of three rounds. The machine is shared: the rest figures are
subtracted from the loaded ones.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import uvloop

from services.gateway.http.auth import mint_token
from shared.settings import GatewaySettings

TIERS = {"gateway": "services.gateway", "rooms": "services.rooms", "moderation": "services.moderation",
         "watcher": "services.status_watcher", "broker": "beam.smp", "store": "secantusd"}
TICKS = os.sysconf("SC_CLK_TCK")


def pids() -> dict[str, list[int]]:
    found: dict[str, list[int]] = {tier: [] for tier in TIERS}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        for tier, needle in TIERS.items():
            if needle in command and "bench.capacity" not in command:
                found[tier].append(int(entry.name))
    return found


def cpu_seconds(of: dict[str, list[int]]) -> dict[str, float]:
    spent = {}
    for tier, ids in of.items():
        total = 0
        for pid in ids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
            except OSError:
                pass
        spent[tier] = total / TICKS
    return spent


async def measured(of: dict[str, list[int]], work: Callable[[], Awaitable[int]]) -> tuple[dict[str, float], int, float]:
    """(CPU seconds per tier, units done, wall seconds) of `work`."""
    before, started = cpu_seconds(of), time.monotonic()
    units = await work()
    after = cpu_seconds(of)
    return {tier: after[tier] - before[tier] for tier in of}, units, time.monotonic() - started


def headers(user: str, secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(secret, user)}"}


async def open_room(http: aiohttp.ClientSession, base: str, secret: str) -> str:
    anchor = headers(f"cap-{uuid.uuid4().hex[:10]}", secret)
    async with http.post(f"{base}/v1/rooms", json={"title": "capacity", "cover_url": "https://x/c.jpg"},
                         headers=anchor) as created:
        assert created.status == 201, await created.text()
        room_id = str((await created.json())["room"]["id"])
    async with http.post(f"{base}/v1/rooms/{room_id}/activate", headers=anchor) as activated:
        assert activated.status == 200, await activated.text()
    return room_id


async def main(args: argparse.Namespace) -> None:
    secret = GatewaySettings().jwt_secret.get_secret_value()
    base, of = args.gateway.rstrip("/"), pids()
    missing = [tier for tier, ids in of.items() if not ids and tier != "moderation"]
    if missing:
        raise SystemExit(f"not running: {missing} (start `make run` first)")
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as http:
        rooms = [await open_room(http, base, secret) for _ in range(20)]
        fans = [headers(f"fan-{n}", secret) for n in range(2000)]

        async def rest() -> int:
            await asyncio.sleep(10)
            return 10

        async def listing() -> int:
            auth = headers("viewer", secret)["Authorization"]
            out = await asyncio.to_thread(subprocess.run, ["wrk", "-t1", "-c16", "-d5s", "-H", f"Authorization: {auth}",
                                                           f"{base}/v1/rooms"], capture_output=True, text=True)
            return int(out.stdout.split(" requests in")[0].split()[-1])

        async def likes() -> int:
            done, deadline = 0, time.monotonic() + 10

            async def client(n: int) -> None:
                nonlocal done
                for i in itertools.count(n):
                    if time.monotonic() > deadline:
                        return
                    # 2,000 fans, so that no one of them meets the per-user like limit
                    async with http.post(f"{base}/v1/rooms/{rooms[i % len(rooms)]}/likes",
                                         headers=fans[(i * 32 + n) % len(fans)]) as liked:
                        done += liked.status == 202

            await asyncio.gather(*(client(n) for n in range(32)))
            await asyncio.sleep(1)  # the last batches written and announced
            return int(done)

        async def opening() -> int:
            semaphore = asyncio.Semaphore(8)

            async def one() -> None:
                async with semaphore:
                    await open_room(http, base, secret)

            await asyncio.gather(*(one() for _ in range(args.rooms)))
            return int(args.rooms)

        idle: list[dict[str, float]] = []
        rows = []
        for name, unit, work in (("at rest", "second", rest), ("list request", "request", listing),
                                 ("like accepted", "like", likes), ("room opened", "room", opening)):
            per_unit: dict[str, list[float]] = {tier: [] for tier in of}
            for _ in range(args.rounds):
                cpu, units, wall = await measured(of, work)
                if name == "at rest":
                    idle.append({tier: spent / wall for tier, spent in cpu.items()})
                base_rate = {tier: statistics.median(i[tier] for i in idle) for tier in of}
                for tier in of:
                    loaded = cpu[tier] - (0 if name == "at rest" else base_rate[tier] * wall)
                    per_unit[tier].append(max(0.0, loaded) / units * 1e6)
            cells = " | ".join(f"{statistics.median(per_unit[tier]):,.0f}" for tier in of)
            rows.append(f"| {name} | µs per {unit} | {cells} |")
            print(rows[-1], flush=True)
    print("| work | unit | " + " | ".join(of) + " |")
    print("|---|---|" + "---|" * len(of))
    print("\n".join(rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gateway", default=f"http://127.0.0.1:{os.environ.get('ONAIR_GATEWAY_PORT', '8000')}")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rooms", type=int, default=100, help="rooms opened per round")
    uvloop.run(main(parser.parse_args()))
