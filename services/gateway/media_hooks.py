"""Hooks the local media server (nginx + RTMP module) calls around each push and each play.

`on_publish` decides whether a push may start: the txSecret/txTime of the push URL must be
valid and unexpired, and the stream must belong to a room that is not closed (an ended or
banned room's URL no longer works). Any non-2xx answer makes nginx refuse the push; when the
rooms service cannot be asked, the push is refused (fail closed).

`on_play` (RTMP) and `play_hls` (nginx's `auth_request` for every HLS playlist and segment)
allow a play only with a valid, unexpired txSecret/txTime signed with the play key for that
stream, as Tencent's CDN does, and only while the stream's room is active: a closed room's play
URLs stop playing at once, whatever their signature. The room is looked up in the directory (a
dict read: this runs for every segment of every viewer), else asked of rooms (cached 5 s).

`publish` and `publish_done` are reported as `stream.started` / `stream.stopped` with the push
session (the media server's `node` and nginx's `clientid`), which rooms uses to mark the room
`interrupted` at once and `live` again when the push is back.
"""

from __future__ import annotations

import hmac
import re
from datetime import UTC, datetime
from typing import Any

import structlog
from aiohttp import web
from multidict import MultiDict, MultiMapping
from yarl import URL

from services.gateway.context import BUS, DIRECTORY, REQUEST_ID, ROOM_STATUS, ROOMS, SETTINGS
from services.gateway.problems import Problem, forbidden
from shared.contracts import RoomStatus, StreamStarted, StreamStopped
from shared.signing import verify_tx_secret

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()
SOURCE = "nginx-rtmp"


def _check_token(request: web.Request) -> None:
    expected = request.app[SETTINGS].media_hook_token.get_secret_value()
    if not hmac.compare_digest(request.query.get("token", "").encode(), expected.encode()):
        raise forbidden("bad hook token")


async def _form(request: web.Request) -> dict[str, str]:
    form = await request.post()
    return {key: str(value) for key, value in form.items()}


# nginx-rtmp posts its own fields (`name` = the stream it will publish, from the URL path) and then
# appends the client's query string: a client can add a second `name`, `txSecret` or `txTime`.
_SINGLE = ("name", "txSecret", "txTime")


def _signed_fields(fields: MultiMapping[Any], what: str) -> tuple[str, str, str]:
    """The stream, txSecret and txTime of a push or a play, each present exactly once; else 403."""
    values = [fields.getall(field, []) for field in _SINGLE]
    if any(len(found) != 1 or not isinstance(found[0], str) for found in values):
        log.warning(f"{what}.refused", reason="a field missing or given more than once",
                    counts={field: len(found) for field, found in zip(_SINGLE, values, strict=True)})
        raise forbidden(f"the {what} must name one stream and carry one signature")
    name, secret, expires = (str(found[0]) for found in values)
    return name, secret, expires


async def _check_play(request: web.Request, fields: MultiMapping[Any]) -> None:
    stream, secret, expires = _signed_fields(fields, "play")
    key = request.app[SETTINGS].play_key.get_secret_value()
    if not verify_tx_secret(key, stream, expires, secret, now=datetime.now(UTC)):
        log.warning("play.refused", reason="bad or expired txSecret/txTime", stream_id=stream)
        raise forbidden("bad or expired play signature")
    if not await _on_air(request, stream):
        log.info("play.refused", reason="the room is not active", stream_id=stream)
        raise Problem(403, "room-not-live", "Room not live", "the stream's room is not on air")


async def _on_air(request: web.Request, stream: str) -> bool:
    """The stream's room is active: from the directory when it holds it (or saw it close), else
    from rooms, remembered for a few seconds so a player's segment requests ask once."""
    directory = request.app[DIRECTORY]
    if directory.by_stream(stream) is not None:
        return True
    if directory.closed_stream(stream):
        return False
    rooms, correlation_id = request.app[ROOMS], request.get(REQUEST_ID)
    status = await request.app[ROOM_STATUS].status(
        f"stream/{stream}", lambda: rooms.get_by_stream(stream, correlation_id=correlation_id))
    return status is RoomStatus.ACTIVE


@routes.post("/v1/hooks/nginx-rtmp/play")
async def on_play(request: web.Request) -> web.Response:
    """RTMP play: nginx-rtmp posts the stream name and the player's query (txSecret, txTime)."""
    _check_token(request)
    await _check_play(request, await request.post())
    return web.Response(text="ok")


# /{app}/{stream}.m3u8 or /{app}/{stream}-{n}.ts, as nginx-rtmp writes HLS
_HLS_FILE = re.compile(r"/[^/]+/(?P<stream>[A-Za-z0-9_.-]+?)(?:-\d+\.ts|\.m3u8)")


@routes.get("/v1/hooks/nginx-rtmp/play_hls")
async def on_play_hls(request: web.Request) -> web.Response:
    """HLS (nginx `auth_request`): the original request's path names the stream, its query
    carries the signature; segments carry their playlist's query (the media server adds it)."""
    _check_token(request)
    original = URL(request.headers.get("X-Original-URI", ""))
    match = _HLS_FILE.fullmatch(original.path)
    if match is None:
        raise forbidden("not a playlist or segment of a stream")
    fields = MultiDict(original.query)
    fields.extend(name=match["stream"])
    await _check_play(request, fields)
    return web.Response(text="ok")


def _session(request: web.Request, form: dict[str, str]) -> str | None:
    """The push session: nginx's client id on this media-server process (ids restart with it)."""
    client = form.get("clientid")
    return f"{request.query.get('node', '')[:128]}/{client}" if client else None


@routes.post("/v1/hooks/nginx-rtmp/publish")
async def on_publish(request: web.Request) -> web.Response:
    _check_token(request)
    stream, secret, expires = _signed_fields(await request.post(), "push")
    structlog.contextvars.bind_contextvars(stream_id=stream)
    settings = request.app[SETTINGS]
    if not verify_tx_secret(settings.push_key.get_secret_value(), stream, expires, secret, now=datetime.now(UTC)):
        log.warning("push.refused", reason="bad or expired txSecret/txTime")
        raise forbidden("bad or expired push signature")
    room = await request.app[ROOMS].get_by_stream(stream, correlation_id=request.get(REQUEST_ID))
    if room is None:
        log.warning("push.refused", reason="no room has this stream")
        raise forbidden("unknown stream")
    form = await _form(request)
    if room.status is RoomStatus.CLOSED:
        log.warning("push.refused", reason="room closed", room_id=room.id, close_reason=room.close_reason)
        raise Problem(403, "room-closed", "Room closed", f"the room is closed ({room.close_reason})")
    await request.app[BUS].publish_event(
        StreamStarted(stream_id=stream, source=SOURCE, sequence=_session(request, form), event_time=datetime.now(UTC)),
        correlation_id=request.get(REQUEST_ID),
    )
    log.info("push.accepted", room_id=room.id)
    return web.Response(text="ok")


@routes.post("/v1/hooks/nginx-rtmp/publish_done")
async def on_publish_done(request: web.Request) -> web.Response:
    _check_token(request)
    form = await _form(request)
    stream = form.get("name", "")
    await request.app[BUS].publish_event(
        StreamStopped(stream_id=stream, source=SOURCE, sequence=_session(request, form), event_time=datetime.now(UTC)),
        correlation_id=request.get(REQUEST_ID),
    )
    log.info("push.ended", stream_id=stream)
    return web.Response(text="ok")
