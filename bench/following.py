"""The Following tab's set-up for `bench/directory.py`: a viewer who follows `count` of the live
anchors. The follows are asked of the rooms service over the bus (as the gateway does), not
through the API: its per-user write limit would make 2,000 follows take half an hour."""

from __future__ import annotations

import asyncio
import random

import aiohttp

from shared.bus import Bus
from shared.clients import RoomsClient
from shared.settings import GatewaySettings


async def live_anchors(http: aiohttp.ClientSession, base: str, token: str) -> list[str]:
    """Every live room's anchor, paging the list."""
    anchors, cursor = [], None
    while True:
        params = {"limit": "50", **({"cursor": cursor} if cursor else {})}
        async with http.get(f"{base}/v1/rooms", params=params, headers={"Authorization": f"Bearer {token}"}) as page:
            body = await page.json()
        anchors += [room["anchor_id"] for room in body["rooms"]]
        if (cursor := body["next_cursor"]) is None:
            return anchors


async def follow_many(settings: GatewaySettings, fan: str, anchors: list[str], count: int, *, off_air: int = 0,
                      seed: int = 3) -> int:
    """`fan` follows `count` of `anchors`, and `off_air` anchors that have no live room."""
    chosen = random.Random(seed).sample(anchors, min(count, len(anchors)))
    chosen += [f"bench-off-air-{fan}-{i}" for i in range(off_air)]
    bus = Bus(settings.amqp_url, namespace=settings.bus_namespace)
    await bus.connect(attempts=3)
    try:
        rooms = RoomsClient(bus, timeout=30)
        for start in range(0, len(chosen), 100):
            await asyncio.gather(*(rooms.follow(fan, anchor, following=True) for anchor in chosen[start:start + 100]))
    finally:
        await bus.close()
    return len(chosen)
