"""The moderation console in a real browser (headless Chromium), against a real gateway, rooms
and moderation on the bus, real pushes (ffmpeg) into a real media server (nginx-rtmp): sign in,
see a pushing room on the wall, play it, open a case from a detection callback, ban from the
case and from the wall, close a third, and see each room leave the wall and its push stop; a
hostile title is shown as text, a viewer's token is told it is not a moderator's.

Screenshots go to `ONAIR_CONSOLE_SCREENSHOTS` when set (`make console-screenshots` writes
docs/console/), else to the test's temporary folder."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

from services.gateway.hooks.tencent import callback_sign
from services.gateway.http.auth import mint_token
from shared.cloud import StreamState
from shared.cloud.nginx_rtmp import NginxRtmpCloud
from shared.settings import GatewaySettings
from tests.e2e.browser import Browser, browser
from tests.e2e.conftest import Auth, ffmpeg_push, wait_state
from tests.fixtures import JWT_SECRET, Client, MediaServer, new_user

__all__ = ["browser"]  # the fixture, used by name

HOSTILE = "<img src=x onerror=alert(1)>"
BAN_BOUND_SECONDS = 5.0  # from the Ban click to the room off the wall and its push stopped
CALLBACK_KEY = GatewaySettings().callback_key.get_secret_value()


async def pushing_room(client: Client, auth: Auth, cloud: NginxRtmpCloud, pushes: list[subprocess.Popen[bytes]],
                       title: str) -> dict[str, Any]:
    anchor = new_user()
    response = await client.post("/v1/rooms", json={"title": title, "cover_url": "https://x/c.jpg"},
                                 headers=auth(anchor))
    assert response.status == 201
    created = await response.json()
    pushes.append(ffmpeg_push(created["push_url"]))
    assert await wait_state(cloud, created["room"]["stream_id"], StreamState.ONLINE, 10), "the push never showed"
    activated = await client.post(f"/v1/rooms/{created['room']['id']}/activate", headers=auth(anchor))
    assert activated.status == 200
    return dict(await activated.json())  # live: with its thumbnail URL


async def open_case(client: Client, auth: Auth, room: dict[str, Any]) -> str:
    """A detection callback (Tencent event 317, `Review`) for the room's stream: one open case."""
    t = int(time.time()) + 600
    body = {"event_type": 317, "streamId": room["stream_id"], "suggestion": "Review", "confidence": 71,
            "label": "Porn", "type": [1], "img": room["thumbnail_url"] or "https://shots.example.com/s.jpg",
            "screenshotTime": int(time.time()), "t": t, "sign": callback_sign(CALLBACK_KEY, t)}
    assert (await client.post("/v1/callbacks/tencent/detection", json=body)).status == 200
    for _ in range(100):
        cases = await (await client.get("/v1/admin/cases", params={"status": "open"},
                                        headers=auth("mod", admin=True))).json()
        found = [case["id"] for case in cases["cases"] if case["stream_id"] == room["stream_id"]]
        if found:
            return str(found[0])
        await _sleep(0.1)
    raise AssertionError("no case opened")


async def _sleep(seconds: float) -> None:
    import asyncio
    await asyncio.sleep(seconds)


async def test_a_moderator_watches_a_pushing_room_and_bans_it_from_its_case_and_from_the_wall(
    e2e_gateway: tuple[Client, MediaServer], auth: Auth, cloud: NginxRtmpCloud, media_moderation: NginxRtmpCloud,
    pushes: list[subprocess.Popen[bytes]], browser: Browser, tmp_path: Path,
) -> None:
    client, _ = e2e_gateway
    shots = Path(os.environ.get("ONAIR_CONSOLE_SCREENSHOTS") or tmp_path)
    hostile = await pushing_room(client, auth, cloud, pushes, HOSTILE)
    other = await pushing_room(client, auth, cloud, pushes, "Evening music")
    third = await pushing_room(client, auth, cloud, pushes, "Morning chat")
    console = str(client.make_url("/console/"))

    await browser.open(f"{console}#token={mint_token(JWT_SECRET, 'just-a-viewer')}")
    await browser.until(lambda: _has(browser, "#notice", "not a moderator"), 5, "a viewer's token was not refused")
    assert await browser.find("#sign-in:not([hidden])") and "token=" not in browser.driver.current_url

    await browser.open(f"{console}#token={mint_token(JWT_SECRET, 'mod-ada', admin=True)}")
    card = f'#wall .card[data-room-id="{hostile["id"]}"]'
    await browser.until(lambda: browser.find(card), 5, "the pushing room is not on the wall")
    assert await browser.text(f"{card} .title") == HOSTILE  # the characters, not an element
    assert not await browser.find(f"{card} .title *") and not await browser.alert_shown()
    assert "token=" not in browser.driver.current_url  # the fragment left the address bar

    await browser.click(card)
    await browser.until(lambda: _playing(browser), 30, "the room's video never played")
    assert await browser.text("#room-title") == HOSTILE
    await browser.screenshot(shots / "room.png")
    await browser.click("#room-back")
    await browser.until(lambda: _pictured(browser, f"{card} img"), 20, "the room's live thumbnail never showed")
    await browser.screenshot(shots / "wall.png")

    case_id = await open_case(client, auth, hostile)
    await browser.click('#tabs button[data-tab="cases"]')
    case = f'#cases-list [data-case-id="{case_id}"]'
    await browser.until(lambda: browser.find(case), 5, "the open case is not listed")
    assert hostile["id"] in await browser.text(case) and "score 71" in await browser.text(case)
    await browser.screenshot(shots / "cases.png")
    await browser.click(f"{case} button.danger")  # Ban
    clicked = time.monotonic()
    await browser.click('#tabs button[data-tab="wall"]')
    await browser.until(lambda: _gone(browser, card), BAN_BOUND_SECONDS, "the banned room stayed on the wall")
    assert await wait_state(media_moderation, hostile["stream_id"], StreamState.OFFLINE,
                            BAN_BOUND_SECONDS - (time.monotonic() - clicked)), "the banned room's push was not cut"
    assert time.monotonic() - clicked < BAN_BOUND_SECONDS
    print(f"ban from a case: off the wall and its push cut {time.monotonic() - clicked:.2f} s after the click")

    other_card = f'#wall .card[data-room-id="{other["id"]}"]'  # a ban from the wall, through the room
    await browser.until(lambda: browser.find(other_card), 5, "the second room is not on the wall")
    await browser.click(other_card)
    await browser.until(lambda: _has(browser, "#room-title", "Evening music"), 5, "the room did not open")
    await browser.type('#room-ban input[name="reason"]', "spam in the stream")
    await browser.click("#room-ban button")
    clicked = time.monotonic()
    await browser.until(lambda: _gone(browser, other_card), BAN_BOUND_SECONDS, "the room banned from the wall stayed")
    assert await wait_state(media_moderation, other["stream_id"], StreamState.OFFLINE,
                            BAN_BOUND_SECONDS - (time.monotonic() - clicked)), "its push was not cut"
    print(f"ban from the wall: off the wall and its push cut {time.monotonic() - clicked:.2f} s after the click")

    await browser.click('#tabs button[data-tab="anchors"]')
    await browser.type("#anchor-id", other["anchor_id"])
    await browser.click("#anchor-form button")
    await browser.until(lambda: _has(browser, "#anchor-record", "Banned until"), 5, "the anchor's ban is not shown")
    record = await browser.text("#anchor-record")
    assert "spam in the stream" in record and "mod-ada" in record and other["id"] in record
    await browser.screenshot(shots / "anchors.png")
    await browser.click("#anchor-record .banned button")  # Unban
    await browser.until(lambda: _has(browser, "#anchor-record", "Not banned"), 5, "the unban is not shown")
    assert "by mod-ada" in await browser.text("#anchor-record")  # the ban, lifted by whom

    await browser.click('#tabs button[data-tab="wall"]')  # Close: no ban, the push cut all the same
    third_card = f'#wall .card[data-room-id="{third["id"]}"]'
    await browser.until(lambda: browser.find(third_card), 5, "the third room is not on the wall")
    await browser.click(third_card)
    await browser.until(lambda: _has(browser, "#room-title", "Morning chat"), 5, "the room did not open")
    await browser.click("#room-close")
    await browser.until(lambda: _gone(browser, third_card), BAN_BOUND_SECONDS, "the closed room stayed on the wall")
    assert await wait_state(media_moderation, third["stream_id"], StreamState.OFFLINE, BAN_BOUND_SECONDS)
    closed = await (await client.get(f"/v1/rooms/{third['id']}", headers=auth("viewer"))).json()
    assert closed["close_reason"] == "moderator"
    assert not [error for error in browser.console_errors() if "Content Security Policy" in error]


async def _has(browser: Browser, css: str, text: str) -> bool:
    return text in await browser.text(css)


async def _gone(browser: Browser, css: str) -> bool:
    return not await browser.find(css)


async def _pictured(browser: Browser, css: str) -> bool:
    """The image shows a frame from the media server (not the cover: its host does not resolve)."""
    return bool(await browser.script("const i = document.querySelector(arguments[0]); "
                                     "return i && i.complete && i.naturalWidth > 0 && i.src.includes('/thumbnails/')",
                                     css))


async def _playing(browser: Browser) -> bool:
    return float(await browser.script("return document.getElementById('player').currentTime") or 0) > 1.0
