"""Go-live alerts at scale, against a running system (`make run`):

    ONAIR_WATCH_INTERVAL=86400 make run     # in one terminal
    make bench-alerts                        # .venv/bin/python -m bench.alerts --followers 100000

1. `--followers` users follow one anchor (asked of the rooms service over the bus, as the gateway
   does: the API's per-user write limit is not what is measured).
2. One of them opens `GET /v1/me/events`; a spy queue takes `anchor.*` from the bus.
3. The anchor creates and activates a room. Prints: the activation's own latency beside the
   median of `--samples` activations of anchors nobody follows, the time from the activation's
   200 to `followed_live` on the follower's stream, and to the last follower batch on the bus.
4. The memory of a cached follow set, in bytes per follow (tracemalloc, in this process).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid

import aio_pika
import aiohttp
import uvloop

from bench.following_cost import bytes_per_follow
from services.gateway.http.auth import mint_token
from shared.bus import Bus
from shared.clients import RoomsClient
from shared.contracts import decode
from shared.settings import GatewaySettings


async def follow_all(settings: GatewaySettings, anchor: str, followers: list[str]) -> float:
    bus = Bus(settings.amqp_url, namespace=settings.bus_namespace)
    await bus.connect(attempts=3)
    started = time.monotonic()
    try:
        rooms = RoomsClient(bus, timeout=60)
        for start in range(0, len(followers), 500):
            await asyncio.gather(*(rooms.follow(f, anchor, following=True) for f in followers[start:start + 500]))
            if start and start % 20_000 == 0:
                print(f"  ... {start:,} follows", flush=True)
    finally:
        await bus.close()
    return time.monotonic() - started


async def go_live(http: aiohttp.ClientSession, base: str, secret: str, anchor: str) -> float:
    """Create and activate the anchor's room; the activation's latency."""
    headers = {"Authorization": f"Bearer {mint_token(secret, anchor)}"}
    async with http.post(f"{base}/v1/rooms", json={"title": "alerts", "cover_url": "https://x/c.jpg"},
                         headers=headers) as created:
        room_id = (await created.json())["room"]["id"]
    started = time.monotonic()
    async with http.post(f"{base}/v1/rooms/{room_id}/activate", headers=headers) as activated:
        assert activated.status == 200, await activated.text()
    return time.monotonic() - started


async def main(args: argparse.Namespace) -> None:
    settings = GatewaySettings()
    secret, base = settings.jwt_secret.get_secret_value(), args.gateway.rstrip("/")
    run = uuid.uuid4().hex[:6]
    anchor = f"star-{run}"
    followers = [f"fan-{run}-{i}" for i in range(args.followers)]
    print(f"== 1. {args.followers:,} followers of one anchor", flush=True)
    print(f"followed in {await follow_all(settings, anchor, followers):.0f} s")
    async with aiohttp.ClientSession() as http:
        quiet = [await go_live(http, base, secret, f"nobody-follows-{run}-{i}") for i in range(args.samples)]
        connection = await aio_pika.connect(settings.amqp_url)
        async with connection:
            channel = await connection.channel()
            spy = await channel.declare_queue(exclusive=True)
            await spy.bind(f"{settings.bus_namespace}.events", routing_key="anchor.followers_to_alert")
            stream = await http.get(f"{base}/v1/me/events",
                                    headers={"Authorization": f"Bearer {mint_token(secret, followers[0])}"})
            await stream.content.readline()
            activation = await go_live(http, base, secret, anchor)
            activated = time.monotonic()
            while not (await stream.content.readline()).startswith(b"event: followed_live"):
                pass
            alerted = time.monotonic() - activated
            batches, alerted_ids = 0, 0
            async with spy.iterator() as messages:
                async for message in messages:
                    envelope = decode(message.body)[0]
                    batches, alerted_ids = batches + 1, alerted_ids + len(envelope.payload["follower_ids"])
                    await message.ack()
                    if envelope.payload["last"]:
                        break
            on_bus = time.monotonic() - activated
            stream.close()
    print("== 2. the anchor goes live")
    quiet_ms = statistics.median(quiet) * 1000
    print(f"activation: {activation * 1000:.1f} ms (anchors nobody follows: median {quiet_ms:.1f} ms, {args.samples})")
    print(f"followed_live on a follower's stream {alerted:.2f} s after the activation's 200 (target 1 s)")
    print(f"{alerted_ids:,} followers in {batches} batches on the bus {on_bus:.2f} s after it (target 5 s)")
    print(f"== 3. a cached follow set with its on-air index: {await bytes_per_follow():.0f} bytes per follow "
          "(1,000 viewers following 200 of 20,000 anchors)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gateway", default="http://127.0.0.1:8000")
    parser.add_argument("--followers", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=20)
    uvloop.run(main(parser.parse_args()))
