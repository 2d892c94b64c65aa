"""The console's server side, through aiohttp with the in-memory ports: its files (a versioned,
immutable path; the page with its CSP), the moderators' close and anchor record, and who may
use them."""

from __future__ import annotations

import re

from services.gateway.console.serving import CSP
from shared.contracts import RoomStatus
from tests.fakes.gateway import FakeGateway
from tests.unit.test_views import Client, auth, live_room, served

__all__ = ["served"]  # the fixture, used by name

HTML_WRITERS = r"\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function"


async def test_the_page_names_its_files_by_version_and_forbids_inline_script(
        served: tuple[Client, FakeGateway]) -> None:
    client, _ = served
    assert (await client.get("/console", allow_redirects=False)).headers["Location"] == "/console/"
    page = await client.get("/console/")
    html = await page.text()
    assert page.status == 200 and page.headers["Content-Security-Policy"] == CSP
    assert page.headers["Cache-Control"] == "no-cache" and "'unsafe-inline'" not in CSP and "script-src 'self'" in CSP
    assert "<script>" not in html and "onclick=" not in html  # no inline script of any kind
    assets = re.findall(r'(?:src|href)="(/console/v/[0-9a-f]{12}/[\w.]+)"', html)
    assert {path.rsplit("/", 1)[1] for path in assets} == {"console.css", "hls.min.js", "app.js"}
    for path in assets:
        asset = await client.get(path)
        assert asset.status == 200 and "immutable" in asset.headers["Cache-Control"]
    app = await client.get(assets[-1])
    assert app.content_type in ("text/javascript", "application/javascript")
    stale = re.sub(r"/v/[0-9a-f]{12}/", "/v/000000000000/", assets[-1])
    assert (await client.get(stale)).status == 404  # an old release's path: not served as the new one
    assert (await client.get(assets[-1].rsplit("/", 1)[0] + "/secrets.py")).status == 404


async def test_the_console_never_writes_html_from_values(served: tuple[Client, FakeGateway]) -> None:
    client, _ = served
    html = await (await client.get("/console/")).text()
    [base] = re.findall(r'src="(/console/v/[0-9a-f]{12})/app.js"', html)
    for name in ("app.js", "api.js", "dom.js", "wall.js", "cards.js", "room.js", "cases.js", "anchors.js"):
        source = await (await client.get(f"{base}/{name}")).text()
        assert not re.search(HTML_WRITERS, source), name


async def test_a_moderator_closes_a_room_without_a_ban(served: tuple[Client, FakeGateway]) -> None:
    client, fake = served
    room = await live_room(client, "anchor-c")
    assert (await client.post(f"/v1/admin/rooms/{room['id']}/close", headers=auth("anchor-c"))).status == 403
    closed = await client.post(f"/v1/admin/rooms/{room['id']}/close", headers=auth("mod", admin=True))
    body = await closed.json()
    assert closed.status == 200 and (body["status"], body["close_reason"]) == ("closed", "moderator")
    assert fake.rooms.rooms[room["id"]].status is RoomStatus.CLOSED and not fake.moderation.bans
    assert (await client.post("/v1/admin/rooms/nope/close", headers=auth("mod", admin=True))).status == 404


async def test_an_anchors_record_shows_rooms_bans_and_who_lifted_them(served: tuple[Client, FakeGateway]) -> None:
    client, _ = served
    room = await live_room(client, "anchor-r")
    assert (await client.get("/v1/admin/anchors/anchor-r", headers=auth("anchor-r"))).status == 403
    await client.post(f"/v1/admin/rooms/{room['id']}/ban", json={"reason": "spam", "duration_hours": 2},
                      headers=auth("mod-a", admin=True))
    record = await (await client.get("/v1/admin/anchors/anchor-r", headers=auth("mod-b", admin=True))).json()
    assert [r["id"] for r in record["rooms"]] == [room["id"]] and record["rooms"][0]["status"] == "closed"
    [ban] = record["bans"]
    assert (ban["reason"], ban["by"], ban["lifted_by"]) == ("spam", "mod-a", None) and record["banned_until"]
    await client.post("/v1/admin/anchors/anchor-r/unban", headers=auth("mod-b", admin=True))
    record = await (await client.get("/v1/admin/anchors/anchor-r", headers=auth("mod-b", admin=True))).json()
    assert record["banned_until"] is None and record["bans"][0]["lifted_by"] == "mod-b"
