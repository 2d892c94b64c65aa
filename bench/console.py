"""The moderation console's wall at scale (issue targets: usable within 1 s with 1,000 live
rooms, keeping up with 10 room changes a second), in headless Chromium against `make run`:

    ONAIR_WATCH_INTERVAL=86400 make run      # the bench's rooms have no push
    make bench-console                       # ARGS="--rooms 1000 --seconds 30"

1. First screen: from navigation to the first card and to the full first page (50 cards), beside
   the page's own DOMContentLoaded (its ceiling: what the wall adds on top of loading the page).
2. Changes: 10 a second (every 100 ms a room opens or a room on the first page closes) for
   `--seconds`; each change timed from its API call's answer to the card on the wall (a
   MutationObserver in the page), beside the API's own first `hot` page showing it (polled every
   25 ms). `hot` is ranked every 5 s, so a new room waits for the next ranking there, while the
   wall's "Just live" shows it from the `new` order at its next read: the wall may be faster than
   this ceiling for new rooms; for closed ones it cannot be.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
import uuid
from collections.abc import Sequence
from typing import Any

import aiohttp
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from bench.directory import open_rooms, wait_ready
from services.gateway.http.auth import mint_token
from shared.settings import GatewaySettings

PAGE = 50
# Installed before the page's own scripts: which cards are on the wall, and when each came or went.
OBSERVER = """
window.__wall = {first: null, full: null, changes: []};
const present = new Set();
new MutationObserver(() => {
  const now = Date.now(), shown = new Set();  // "Just live" and the hot page
  for (const card of document.querySelectorAll("#wall .card[data-room-id]")) shown.add(card.dataset.roomId);
  for (const id of shown) if (!present.has(id)) { present.add(id); window.__wall.changes.push(["+", id, now]); }
  for (const id of [...present]) if (!shown.has(id)) { present.delete(id); window.__wall.changes.push(["-", id, now]); }
  if (shown.size && window.__wall.first === null) window.__wall.first = performance.now();
  if (shown.size >= PAGE && window.__wall.full === null) window.__wall.full = performance.now();
}).observe(document, {childList: true, subtree: true});
""".replace("PAGE", str(PAGE))


def chrome() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": OBSERVER})
    return driver


def first_screen(driver: webdriver.Chrome, url: str) -> tuple[float, float, float]:
    """(DOMContentLoaded, first card, full first page) in ms from navigation start."""
    driver.get("about:blank")
    driver.get(url)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        got = driver.execute_script("return [performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,"
                                    " window.__wall.first, window.__wall.full]")
        if got[2] is not None:
            return float(got[0]), float(got[1]), float(got[2])
        time.sleep(0.02)
    raise SystemExit("the wall never showed a full first page")


def median_ms(values: list[float]) -> str:
    return f"{statistics.median(values):.0f}"


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


async def first_page(http: aiohttp.ClientSession, base: str, token: str) -> list[dict[str, Any]]:
    async with http.get(f"{base}/v1/rooms", params={"sort": "hot", "limit": str(PAGE)},
                        headers={"Authorization": f"Bearer {token}"}) as page:
        return list((await page.json())["rooms"])


async def churn(http: aiohttp.ClientSession, base: str, secret: str, viewer: str, seconds: float,
                done: list[tuple[str, str, int]]) -> None:
    """A change every 100 ms: a room opens, then a room of the first page closes, in turn."""
    rng, tick = random.Random(7), 0
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        due = started + tick * 0.1
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        if tick % 2 == 0:
            anchor = {"Authorization": f"Bearer {mint_token(secret, f'wall-{uuid.uuid4().hex[:10]}')}"}
            async with http.post(f"{base}/v1/rooms", json={"title": "churn", "cover_url": "https://x/c.jpg"},
                                 headers=anchor) as created:
                room_id = (await created.json())["room"]["id"]
            async with http.post(f"{base}/v1/rooms/{room_id}/activate", headers=anchor) as activated:
                assert activated.status == 200, await activated.text()
            done.append(("+", room_id, int(time.time() * 1000)))
        else:
            room = rng.choice(await first_page(http, base, viewer))
            owner = {"Authorization": f"Bearer {mint_token(secret, room['anchor_id'])}"}
            async with http.post(f"{base}/v1/rooms/{room['id']}/close", headers=owner) as closed:
                assert closed.status == 200, await closed.text()
            done.append(("-", room["id"], int(time.time() * 1000)))
        tick += 1


async def watch_api(http: aiohttp.ClientSession, base: str, viewer: str, stop: asyncio.Event,
                    seen: list[tuple[str, str, int]]) -> None:
    """The ceiling: when the API's own first page showed each room come and go."""
    before: set[str] = {room["id"] for room in await first_page(http, base, viewer)}
    while not stop.is_set():
        now_ids = {room["id"] for room in await first_page(http, base, viewer)}
        at = int(time.time() * 1000)
        seen += [("+", room_id, at) for room_id in now_ids - before]
        seen += [("-", room_id, at) for room_id in before - now_ids]
        before = now_ids
        await asyncio.sleep(0.025)


def lags(done: list[tuple[str, str, int]], seen: Sequence[Sequence[Any]]) -> dict[tuple[str, str], int]:
    """Each change's lag in ms, from its answer to the first sighting of it (the same kind, later)."""
    first: dict[tuple[str, str], int] = {}
    answered = {(kind, room_id): at for kind, room_id, at in done}
    for kind, room_id, at in seen:
        key = (kind, room_id)
        if key in answered and at >= answered[key] and key not in first:
            first[key] = at - answered[key]
    return first


async def main(args: argparse.Namespace) -> None:
    secret = GatewaySettings().jwt_secret.get_secret_value()
    base = args.gateway.rstrip("/")
    viewer, moderator = mint_token(secret, "bench-viewer"), mint_token(secret, "bench-mod", admin=True)
    async with aiohttp.ClientSession() as http:
        await wait_ready(http, base, 10)
        print(f"== opening {args.rooms:,} rooms", flush=True)
        await open_rooms(http, base, secret, args.rooms, 16)
        driver = await asyncio.to_thread(chrome)
        try:
            url = f"{base}/console/#token={moderator}"
            loads = [await asyncio.to_thread(first_screen, driver, url) for _ in range(args.loads)]
            print(f"== 1. first screen, {args.loads} loads, medians in ms from navigation (1,000+ live rooms)")
            print("| DOMContentLoaded (ceiling) | first card | full first page (50 cards) |\n|---|---|---|")
            print(f"| {median_ms([x[0] for x in loads])} | {median_ms([x[1] for x in loads])} "
                  f"| {median_ms([x[2] for x in loads])} |", flush=True)

            print(f"== 2. {args.seconds} s of 10 room changes a second", flush=True)
            done: list[tuple[str, str, int]] = []
            api_seen: list[tuple[str, str, int]] = []
            stop = asyncio.Event()
            watcher = asyncio.create_task(watch_api(http, base, viewer, stop, api_seen))
            await churn(http, base, secret, viewer, args.seconds, done)
            await asyncio.sleep(8)  # the last ranking refresh and the wall's next read
            stop.set()
            await watcher
            wall_seen = await asyncio.to_thread(driver.execute_script, "return window.__wall.changes")
        finally:
            await asyncio.to_thread(driver.quit)
    api, wall = lags(done, api_seen), lags(done, wall_seen)
    missed = [key for key in api if key not in wall]
    print(f"changes made {len(done)}; on the API's first page {len(api)}; on the wall {len(wall)}; "
          f"on the API's first page but never on the wall {len(missed)}")
    print("| lag from the API's answer, ms | p50 | p99 | max | changes |\n|---|---|---|---|---|")
    for kind, what in (("+", "a room went live"), ("-", "a room closed")):
        ceiling = [lag for (k, _), lag in api.items() if k == kind]
        shown = [lag for (k, _), lag in wall.items() if k == kind]
        for name, values in ((f"{what}: API first page (ceiling)", ceiling), (f"{what}: wall", shown)):
            if values:
                print(f"| {name} | {pct(values, 50):.0f} | {pct(values, 99):.0f} | {max(values):.0f} | {len(values)} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gateway", default=f"http://127.0.0.1:{os.environ.get('ONAIR_GATEWAY_PORT', '8000')}")
    parser.add_argument("--rooms", type=int, default=1000)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=30)
    asyncio.run(main(parser.parse_args()))
