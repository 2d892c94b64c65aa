"""The room directory, measured: opening rooms, the list in every order, staleness, memory.

    make bench-directory                      # with `make run` going (see README: no watcher closes)
    make bench-directory ARGS="--rooms 0 --samples 10 --no-growth"   # the list again, same rooms
    .venv/bin/python -m bench.directory --rooms 2000 --seconds 3     # a quicker look

1. Opens N live rooms through the public API (create + activate, 16 anchors at once, half the
   rooms with a location) and prints the opening rate at 100, 1,000, 2,500, 5,000, 10,000 rooms.
2. Starts a second gateway process and measures staleness: from the 200 of an activate (or a
   close) on one gateway to the change showing in the first list page of the other.
3. Measures the first list page of each order (new, hot, near at 1,000 viewer points, and near at
   a new point each request: the page rendered nearly every time) with wrk, 32
   connections, against one gateway process (after 2 s of warm-up) and, in alternating rounds in
   the same run, against a bare aiohttp handler returning the same bytes (at 1,000 places, each
   place's own page; at a new point each request, one page); prints medians and the ratio.
4. Builds directories of 1,000 / 10,000 / 100,000 rooms in this process (no API) and prints the
   memory per room and the cost of each order's first page as the directory grows.
5. The same for the Following tab's first page, with 20 / 200 / 2,000 followed anchors on air
   (`bench/following_cost.py`).
Traffic goes only to the given gateway (loopback by default).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import uvloop

from bench.directory_memory import memory_and_cost_table
from bench.following import follow_many, live_anchors
from bench.following_cost import cold_row as following_cold_row
from bench.following_cost import cost_table as following_cost_table
from services.gateway.http.auth import mint_token
from shared.settings import GatewaySettings

MILESTONES = (100, 1000, 2500, 5000, 10_000)
CATEGORIES = GatewaySettings().category_names  # each bench room has one, in turn
CITIES = [(31.23, 121.47), (39.90, 116.41), (22.54, 114.06), (23.13, 113.26), (30.57, 104.07), (34.34, 108.94),
          (29.56, 106.55), (30.27, 120.15), (36.07, 120.38), (41.80, 123.43), (1.35, 103.82), (35.68, 139.69),
          (37.57, 126.98), (40.71, -74.01), (51.51, -0.13), (-23.55, -46.63), (19.43, -99.13), (28.61, 77.21)]
REPO = Path(__file__).resolve().parents[1]


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


def near_points(count: int, seed: int = 11) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    return [(round(lat + rng.gauss(0, 0.3), 4), round(lng + rng.gauss(0, 0.3), 4))
            for lat, lng in (rng.choice(CITIES) for _ in range(count))]


# --- 1. opening rooms -----------------------------------------------------------------------

async def open_rooms(http: aiohttp.ClientSession, base: str, secret: str, n: int, anchors: int) -> list[float]:
    """Open n rooms; returns the completion time of each, in order."""
    run, numbers, done = uuid.uuid4().hex[:6], itertools.count(), []
    points = near_points(n, seed=5)

    async def anchor() -> None:
        while (i := next(numbers)) < n:
            headers = {"Authorization": f"Bearer {mint_token(secret, f'bench-{run}-{i}')}"}
            body: dict[str, object] = {"title": f"bench room {i}", "cover_url": "https://img.example.com/c.jpg",
                                       "category": CATEGORIES[i % len(CATEGORIES)]}
            if i % 2 == 0:
                body["location"] = {"lat": points[i][0], "lng": points[i][1]}
            async with http.post(f"{base}/v1/rooms", json=body, headers=headers) as created:
                if created.status != 201:
                    raise SystemExit(f"create failed: {created.status} {await created.text()}")
                room_id = (await created.json())["room"]["id"]
            async with http.post(f"{base}/v1/rooms/{room_id}/activate", headers=headers) as activated:
                if activated.status != 200:
                    raise SystemExit(f"activate failed: {activated.status} {await activated.text()}")
            done.append(time.monotonic())
            if len(done) % 1000 == 0:
                print(f"  ... {len(done)} rooms open", flush=True)

    await asyncio.gather(*(anchor() for _ in range(anchors)))
    return done


def opening_rates(done: list[float]) -> dict[int, float]:
    """Rooms per second over the last tenth (at least 80 rooms) before each milestone; the first
    20 rooms (connections opening, first tokens) are left out."""
    rates = {}
    for milestone in (m for m in MILESTONES if m <= len(done)):
        window = max(80, milestone // 10)
        start = max(20, milestone - 1 - window)
        rates[milestone] = (milestone - 1 - start) / (done[milestone - 1] - done[start])
    return rates


# --- 2. staleness between two gateway processes ---------------------------------------------

async def wait_ready(http: aiohttp.ClientSession, base: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            async with http.get(f"{base}/readyz") as ready:
                if ready.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise SystemExit(f"{base} not ready within {seconds} s")


async def staleness(http: aiohttp.ClientSession, a: str, b: str, secret: str, samples: int) -> dict[str, list[float]]:
    seen: dict[str, list[float]] = {"activate": [], "close": []}
    viewer = {"Authorization": f"Bearer {mint_token(secret, 'bench-viewer')}"}

    async def first_page_has(room_id: str) -> bool:
        async with http.get(f"{b}/v1/rooms?limit=5", headers=viewer) as page:
            return room_id in {r["id"] for r in (await page.json())["rooms"]}

    async def until(room_id: str, present: bool) -> float:
        started = time.monotonic()
        while await first_page_has(room_id) is not present:
            if time.monotonic() - started > 30:
                raise SystemExit("the second gateway never saw the change")
        return time.monotonic() - started

    for i in range(samples):
        anchor = {"Authorization": f"Bearer {mint_token(secret, f'bench-stale-{uuid.uuid4().hex[:8]}-{i}')}"}
        async with http.post(f"{a}/v1/rooms", json={"title": "stale", "cover_url": "https://x/c.jpg"},
                             headers=anchor) as created:
            room_id = (await created.json())["room"]["id"]
        async with http.post(f"{a}/v1/rooms/{room_id}/activate", headers=anchor) as activated:
            assert activated.status == 200
        seen["activate"].append(await until(room_id, True))
        async with http.post(f"{a}/v1/rooms/{room_id}/close", headers=anchor) as closed:
            assert closed.status == 200
        seen["close"].append(await until(room_id, False))
    return seen


# --- 3. the list under wrk, beside the bare handler ------------------------------------------

def wrk(url: str, token: str, seconds: int, connections: int, script: Path | None) -> tuple[float, float, float]:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s",
           "-H", f"Authorization: Bearer {token}", url]
    if script is not None:
        cmd[1:1] = ["-s", str(script)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def latency(p: str) -> float:
        value, unit = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return rps, latency("50"), latency("99")


def near_script(points: list[tuple[float, float]], workdir: Path, *, fresh: bool = False) -> Path:
    """A wrk script asking `near` around the given points: one of them a request (viewers in many
    places, each back again), or, `fresh`, a new point a few km from one each request (about 100,000
    cells in all, of which the page cache holds the last 1,024: the page is rendered nearly every
    time)."""
    script = workdir / f"near{'-fresh' if fresh else ''}.lua"
    rows = ",".join(f"{{{lat},{lng}}}" for lat, lng in points)
    jitter = "+ (math.random() - 0.5) * 0.1" if fresh else ""
    script.write_text(f"""math.randomseed(7)
local points = {{{rows}}}
request = function()
  local p = points[math.random(#points)]
  return wrk.format("GET", string.format("/v1/rooms?sort=near&lat=%.4f&lng=%.4f", p[1] {jitter}, p[2] {jitter}))
end
""")
    return script


def near_query(lat: float, lng: float) -> str:
    return f"sort=near&lat={lat:.4f}&lng={lng:.4f}"  # as the wrk script writes it


async def load_pages(http: aiohttp.ClientSession, gateway: str, bare: str, token: str, queries: list[str]) -> None:
    """Give the bare handler the gateway's page for each query, so it answers each with its own."""
    pages = {}
    for query in queries:
        async with http.get(f"{gateway}/v1/rooms?{query}", headers={"Authorization": f"Bearer {token}"}) as page:
            assert page.status == 200, f"{query}: {page.status}"
            pages[query] = (await page.read()).decode()
    async with http.put(f"{bare}/pages", json=pages) as put:
        assert put.status == 200


async def list_table(http: aiohttp.ClientSession, gateway: str, bare: str, viewer_token: str, args: argparse.Namespace,
                     workdir: Path, fan_token: str, sparse_fan_token: str) -> list[str]:
    points = near_points(1000)
    tokens = {"following, new": fan_token, "following, hot": fan_token,
              "following 2,000, 20 of them live, new": sparse_fan_token,
              "following 2,000, 20 of them live, hot": sparse_fan_token}
    orders = {"new": ("/v1/rooms", None), "hot": ("/v1/rooms?sort=hot", None),
              "new, one category": (f"/v1/rooms?category={CATEGORIES[1]}", None),
              "hot, one category": (f"/v1/rooms?sort=hot&category={CATEGORIES[1]}", None),
              "following, new": ("/v1/rooms?following=true", None),
              "following, hot": ("/v1/rooms?following=true&sort=hot", None),
              "following 2,000, 20 of them live, new": ("/v1/rooms?following=true", None),
              "following 2,000, 20 of them live, hot": ("/v1/rooms?following=true&sort=hot", None),
              "near": (f"/v1/rooms?sort=near&lat={points[0][0]}&lng={points[0][1]}", near_script(points, workdir)),
              "near, a new point each request": (f"/v1/rooms?sort=near&lat={points[0][0]}&lng={points[0][1]}",
                                                 near_script(points, workdir, fresh=True))}
    rows = ["| order | gateway req/s | p50 ms | p99 ms | bare req/s | bare p50 ms | bare p99 ms | ratio |",
            "|---|---|---|---|---|---|---|---|"]
    for order, (path, script) in orders.items():
        if args.only and args.only not in order:
            continue
        token = tokens.get(order, viewer_token)
        async with http.get(gateway + path, headers={"Authorization": f"Bearer {token}"}) as page:
            body = await page.read()
            # An error page (a follow set the rooms service was too busy to read, say) would be
            # measured as if it were the list: stop instead.
            assert page.status == 200, f"{order}: {page.status} {body[:200]!r}"
        async with http.put(f"{bare}/body", data=body) as put:
            assert put.status == 200
        if order == "near":  # each place's own page, on both sides
            await load_pages(http, gateway, bare, token, [near_query(lat, lng) for lat, lng in points])
        ours, ceiling = [], []
        # Warm-up, not measured: the first request of each near cell renders its page.
        await asyncio.to_thread(wrk, gateway + path, token, 2, args.connections, script)
        for _ in range(args.rounds):  # alternating, so both see the same noise
            # The same client work on both sides (the near script picks a point per request).
            ceiling.append(await asyncio.to_thread(wrk, bare + path, token, args.seconds, args.connections,
                                                   script))
            ours.append(await asyncio.to_thread(wrk, gateway + path, token, args.seconds, args.connections, script))
        o = [statistics.median(r[k] for r in ours) for k in range(3)]
        c = [statistics.median(r[k] for r in ceiling) for k in range(3)]
        rows.append(f"| {order} | {o[0]:,.0f} | {o[1]:.2f} | {o[2]:.2f} | {c[0]:,.0f} | {c[1]:.2f} | {c[2]:.2f} "
                    f"| {o[0] / c[0]:.2f} |")
        print(rows[-1], f"({len(body):,} bytes a page)", flush=True)
    return rows


# --- main -------------------------------------------------------------------------------------

async def main(args: argparse.Namespace) -> None:
    settings = GatewaySettings()
    secret = settings.jwt_secret.get_secret_value()
    base = args.gateway.rstrip("/")
    token = mint_token(secret, "bench-viewer")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        second_port, bare_port = args.second_port, args.bare_port
        env = {**os.environ, "ONAIR_GATEWAY_PORT": str(second_port), "ONAIR_OPS_PORT": "0",  # beside the first
               "ONAIR_HOOKS_PORT": "0",
               "ONAIR_LOG_LEVEL": "WARNING"}
        second = subprocess.Popen([sys.executable, "-m", "services.gateway"], cwd=REPO, env=env)
        (workdir / "empty.json").write_bytes(b"{}")
        bare = subprocess.Popen([sys.executable, str(REPO / "bench/bare_server.py"), str(bare_port),
                                 str(workdir / "empty.json")])
        try:
            connector = aiohttp.TCPConnector(limit=64)
            async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as http:
                await wait_ready(http, base, 10)
                print(f"== 1. opening {args.rooms:,} rooms ({args.anchors} anchors at once)", flush=True)
                started = time.monotonic()
                done = await open_rooms(http, base, secret, args.rooms, args.anchors)
                rates = opening_rates(done)
                print(f"opened {len(done):,} rooms in {time.monotonic() - started:.0f} s")
                print("| live rooms | " + " | ".join(f"{m:,}" for m in rates) + " |")
                print("|---|" + "---|" * len(rates))
                print("| rooms/s | " + " | ".join(f"{r:.1f}" for r in rates.values()) + " |")
                if len(rates) > 1:
                    first, last = min(rates), max(rates)
                    print(f"rate at {last:,} / rate at {first:,}: {rates[last] / rates[first]:.2f}")

                print("== 2. staleness between two gateway processes", flush=True)
                await wait_ready(http, f"http://127.0.0.1:{second_port}", 120)
                stale = await staleness(http, base, f"http://127.0.0.1:{second_port}", secret, args.samples)
                for what, samples in stale.items():
                    ms = [s * 1000 for s in samples]
                    print(f"{what}: p50 {percentile(ms, 50):.1f} ms, p99 {percentile(ms, 99):.1f} ms, "
                          f"max {max(ms):.1f} ms ({len(ms)} samples)")

                fan, sparse_fan = f"bench-fan-{uuid.uuid4().hex[:6]}", f"bench-sparse-fan-{uuid.uuid4().hex[:6]}"
                anchors = await live_anchors(http, base, token)
                followed = await follow_many(settings, fan, anchors, args.following)
                await follow_many(settings, sparse_fan, anchors, 20, off_air=args.following - 20)
                print(f"== 3. first list page, {args.connections} connections, {args.rounds} rounds of "
                      f"{args.seconds} s each (median); the Following tab of a viewer following {followed:,} "
                      f"live anchors; a category is one room in {len(CATEGORIES)}", flush=True)
                for row in await list_table(http, base, f"http://127.0.0.1:{bare_port}", token, args, workdir,
                                            mint_token(secret, fan), mint_token(secret, sparse_fan)):
                    print(row)
        finally:
            for proc in (second, bare):
                proc.terminate()
                proc.wait(10)
    if args.growth:
        print("== 4. directory memory and page cost as it grows (in this process, no API)", flush=True)
        for row in memory_and_cost_table((1000, 10_000, 100_000)):
            print(row)
        print("== 5. the Following tab's first page as the directory grows (in this process, no API)", flush=True)
        for row in following_cost_table((1000, 10_000, 100_000)):
            print(row)
        print(following_cold_row())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gateway", default=f"http://127.0.0.1:{os.environ.get('ONAIR_GATEWAY_PORT', '8000')}")
    parser.add_argument("--rooms", type=int, default=10_000)
    parser.add_argument("--anchors", type=int, default=16)
    parser.add_argument("--samples", type=int, default=100, help="staleness samples")
    parser.add_argument("--only", default="", help="measure only the orders whose name holds this (e.g. following)")
    parser.add_argument("--following", type=int, default=2000, help="live anchors the Following tab's viewer follows")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--second-port", type=int, default=8001)
    parser.add_argument("--bare-port", type=int, default=8002)
    parser.add_argument("--no-growth", dest="growth", action="store_false",
                        help="skip part 4 (again on a running system: `--rooms 0 --samples 10 --no-growth`)")
    uvloop.run(main(parser.parse_args()))
