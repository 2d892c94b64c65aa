"""Likes through the real HTTP gateway of a running system (`make run`), end to end.

    .venv/bin/python bench/likes.py                       # 100 rooms, 60 s
    .venv/bin/python bench/likes.py --hot                 # one hot room, 60 s
    .venv/bin/python bench/likes.py --kill-rooms-at 20    # SIGKILL the rooms service mid-run

Creates and activates the rooms (with --push, each gets a real, cheap RTMP push so the black-
screen watcher keeps them open past 30 s), measures the ceiling of a bare aio-pika publish loop
on the same broker, then sends likes from closed-loop HTTP clients for the given time. Prints
accepted likes/s, accept latency p50/p99/max, errors, and whether the final counts equal what was
accepted. Traffic goes only to the given gateway and broker (loopback by default).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import aio_pika
import aiohttp
import uvloop

from services.gateway.http.auth import mint_token
from shared.settings import GatewaySettings


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


async def publish_ceiling(amqp_url: str, seconds: float, in_flight: int = 256) -> float:
    """Messages/s of a bare aio-pika loop: persistent, with publisher confirms, into a temp queue."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue(exclusive=True, arguments={"x-max-length": 10_000})
        body = b'{"type":"bench","payload":{"room_id":"r","likes":1}}'
        sent = 0
        deadline = time.monotonic() + seconds

        async def loop() -> None:
            nonlocal sent
            while time.monotonic() < deadline:
                await channel.default_exchange.publish(
                    aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT), routing_key=queue.name)
                sent += 1

        started = time.monotonic()
        await asyncio.gather(*[loop() for _ in range(in_flight)])
        return sent / (time.monotonic() - started)


def drive(url: str, fans: list[str], rooms: list[str], seconds: float, concurrency: int, offset: int, rate: float,
          out: multiprocessing.Queue[tuple[list[float], dict[str, int], dict[int, int]]]) -> None:
    """One client process: likes over `rooms` for `seconds`; closed loop over `concurrency`
    connections, or, with `rate` > 0, open loop at `rate` likes/s (latency counted from each
    like's scheduled time, so a stalled server cannot hide its queueing)."""

    async def run() -> None:
        latencies: list[float] = []
        accepted: Counter[str] = Counter()
        statuses: Counter[int] = Counter()
        # Many viewers, as in life: each is held to its own per-user limit (10 like requests a second).
        headers = [{"Authorization": f"Bearer {token}"} for token in fans]
        turns = itertools.count()
        deadline = time.monotonic() + seconds
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(url, connector=connector) as http:
            async def like(room: str, started: float) -> None:
                try:
                    fan = headers[next(turns) % len(headers)]  # a new fan for each request sent
                    async with http.post(f"/v1/rooms/{room}/likes", headers=fan) as response:
                        await response.read()
                        status = response.status
                except aiohttp.ClientError:
                    status = 0
                latencies.append(time.perf_counter() - started)
                statuses[status] += 1
                if status == 202:
                    accepted[room] += 1

            async def open_loop() -> None:
                start, sent, tasks = time.perf_counter(), 0, set()
                while time.monotonic() < deadline:
                    due = start + sent / rate
                    if (wait := due - time.perf_counter()) > 0:
                        await asyncio.sleep(wait)
                    task = asyncio.create_task(like(rooms[(offset + sent) % len(rooms)], due))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                    sent += 1
                await asyncio.gather(*tasks)

            async def worker(n: int) -> None:
                i = offset + n
                while time.monotonic() < deadline:
                    await like(rooms[i % len(rooms)], time.perf_counter())
                    i += concurrency

            if rate > 0:
                await open_loop()
            else:
                await asyncio.gather(*[worker(n) for n in range(concurrency)])
        out.put((latencies, dict(accepted), dict(statuses)))

    uvloop.run(run())


async def setup_rooms(http: aiohttp.ClientSession, secret: str, n: int, push: bool, workdir: Path
                      ) -> tuple[dict[str, str], list[subprocess.Popen[bytes]]]:
    """Create `n` rooms (one anchor each), optionally push to all of them, then activate them."""
    run = uuid.uuid4().hex[:6]
    created: dict[str, tuple[str, dict[str, str]]] = {}
    push_urls: list[str] = []
    for i in range(n):
        anchor = f"bench-likes-{run}-{i}"
        headers = {"Authorization": f"Bearer {mint_token(secret, anchor)}"}
        async with http.post("/v1/rooms", json={"title": f"likes {i}", "cover_url": "https://img.example.com/c.jpg"},
                             headers=headers) as response:
            body = await response.json()
            assert response.status == 201, body
        created[body["room"]["id"]] = (anchor, headers)
        push_urls.append(body["push_url"])
    pushes: list[subprocess.Popen[bytes]] = []
    if push:
        clip = workdir / "clip.flv"
        encode = await asyncio.create_subprocess_exec(
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=160x90:rate=10",
            "-t", "10", "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-pix_fmt", "yuv420p", "-f", "flv",
            str(clip))
        assert await encode.wait() == 0
        # Ten outputs per ffmpeg: it connects them one by one before sending anything, and the
        # media server drops a publisher that stays silent for 10 s.
        pushes.extend(_push_all(clip, push_urls[i:i + 10]) for i in range(0, len(push_urls), 10))
        await asyncio.sleep(3)  # the SDK reports push-begin, then the app activates
    for room_id, (_, headers) in created.items():
        async with http.post(f"/v1/rooms/{room_id}/activate", headers=headers) as response:
            assert response.status == 200
    return {room_id: anchor for room_id, (anchor, _) in created.items()}, pushes


def _push_all(clip: Path, urls: list[str]) -> subprocess.Popen[bytes]:
    """One ffmpeg copying a pre-encoded clip in a loop to many push URLs (tee muxer): real pushes
    that cost almost no CPU, so the measurement is of Onair, not of the encoders."""
    outputs = "|".join(f"[f=flv:onfail=ignore]{url}" for url in urls)
    return subprocess.Popen(["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i",
                             str(clip), "-map", "0", "-c", "copy", "-f", "tee", outputs], stdin=subprocess.DEVNULL)


def rooms_service_pid() -> int | None:
    found = subprocess.run(["pgrep", "-n", "-f", "python -m services.rooms"], capture_output=True, text=True)
    return int(found.stdout.split()[0]) if found.stdout.strip() else None


async def main(args: argparse.Namespace) -> int:
    settings = GatewaySettings()
    secret = settings.jwt_secret.get_secret_value()
    run = uuid.uuid4().hex[:6]
    fans = [mint_token(secret, f"bench-fan-{run}-{i}", ttl_seconds=3600) for i in range(1000)]
    n_rooms = 1 if args.hot else args.rooms
    with tempfile.TemporaryDirectory() as tmp:
        async with aiohttp.ClientSession(args.url) as http:
            anchors, pushes = await setup_rooms(http, secret, n_rooms, args.push, Path(tmp))
            rooms = list(anchors)
            try:
                ceiling = await publish_ceiling(settings.amqp_url, args.ceiling_seconds)
                print(f"bare aio-pika publish loop (persistent, confirms): {ceiling:,.0f} msg/s")
                load = (f"open loop at {args.rate:,.0f} likes/s" if args.rate > 0
                        else f"closed loop, {args.procs} x {args.concurrency} connections")
                print(f"driving likes: {n_rooms} room(s), {args.procs} client processes, {load}, {args.duration:.0f} s")
                out: multiprocessing.Queue[tuple[list[float], dict[str, int], dict[int, int]]] = multiprocessing.Queue()
                procs = [multiprocessing.Process(target=drive, args=(args.url, fans[p::args.procs], rooms,
                                                                     args.duration,
                                                                     args.concurrency, p * args.concurrency,
                                                                     args.rate / args.procs, out))
                         for p in range(args.procs)]
                started = time.monotonic()
                for proc in procs:
                    proc.start()
                if args.kill_rooms_at is not None:
                    await asyncio.sleep(args.kill_rooms_at)
                    pid = rooms_service_pid()
                    if pid is not None:
                        os.kill(pid, signal.SIGKILL)
                        print(f"SIGKILLed the rooms service (pid {pid}) at {time.monotonic() - started:.1f} s")
                results = [await asyncio.to_thread(out.get) for _ in procs]
                elapsed = time.monotonic() - started
                for proc in procs:
                    proc.join()
                latencies = [x for r in results for x in r[0]]
                accepted: Counter[str] = Counter()
                statuses: Counter[int] = Counter()
                for _, acc, st in results:
                    accepted.update(acc)
                    statuses.update(st)
                total = sum(accepted.values())
                ms = [x * 1000 for x in latencies]
                print(f"accepted {total:,} likes in {elapsed:.1f} s = {total / elapsed:,.0f} likes/s; "
                      f"statuses {dict(statuses)}")
                print(f"accept latency p50 {percentile(ms, 50):.1f} ms, p99 {percentile(ms, 99):.1f} ms, "
                      f"max {max(ms):.1f} ms")
                exact = await check_counts(http, fans[0], accepted, args.settle_seconds)
            finally:
                for push_proc in pushes:
                    push_proc.terminate()
                for room, anchor in anchors.items():
                    headers = {"Authorization": f"Bearer {mint_token(secret, anchor)}"}
                    async with http.post(f"/v1/rooms/{room}/close", headers=headers):
                        pass
    return 0 if exact else 1


async def check_counts(http: aiohttp.ClientSession, token: str, accepted: Counter[str], seconds: float) -> bool:
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + seconds
    started = time.monotonic()
    wrong: dict[str, tuple[int, int]] = {}
    while time.monotonic() < deadline:
        wrong = {}
        for room, sent in accepted.items():
            async with http.get(f"/v1/rooms/{room}", headers=headers) as response:
                likes = (await response.json())["likes"]
            if likes != sent:
                wrong[room] = (likes, sent)
        if not wrong:
            print(f"final counts exact: {len(accepted)} rooms, {sum(accepted.values()):,} likes "
                  f"(settled {time.monotonic() - started:.1f} s after the run)")
            return True
        await asyncio.sleep(0.5)
    print(f"final counts WRONG in {len(wrong)} rooms, e.g. {list(wrong.items())[:5]} (counted, accepted)")
    return False


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--rooms", type=int, default=100)
    parser.add_argument("--hot", action="store_true", help="all likes into one room")
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--procs", type=int, default=2, help="client processes")
    parser.add_argument("--concurrency", type=int, default=32, help="connections per client process")
    parser.add_argument("--rate", type=float, default=0.0, help="open loop at this many likes/s (0: closed loop)")
    parser.add_argument("--push", action="store_true", help="keep a real RTMP push on every room")
    parser.add_argument("--kill-rooms-at", type=float, default=None, help="SIGKILL the rooms service after N s")
    parser.add_argument("--ceiling-seconds", type=float, default=5.0)
    parser.add_argument("--settle-seconds", type=float, default=60.0)
    sys.exit(asyncio.run(main(parser.parse_args())))
