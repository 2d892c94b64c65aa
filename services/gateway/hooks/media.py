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

`record_done` reports a push session's recording (a replay); `play_recording` (`auth_request`
for the recordings) allows a replay's file only with the signature the gateway gave it.

`publish` and `publish_done` are reported as `stream.started` / `stream.stopped` with the push
session (the media server's `node` and nginx's `clientid`), which rooms uses to mark the room
`interrupted` at once and `live` again when the push is back.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from aiohttp import web
from multidict import MultiDict, MultiMapping
from pydantic import ValidationError
from yarl import URL

from services.gateway.http.problems import Problem, forbidden
from services.gateway.http.serving import Route, correlation_id
from services.gateway.live.on_air import OnAir
from services.gateway.ports import EventPublisher, RoomReader
from shared.contracts import RecordingSaved, RoomStatus, StreamStarted, StreamStopped
from shared.signing import verify_tx_secret

log = structlog.get_logger(__name__)
SOURCE = "nginx-rtmp"


@dataclass(frozen=True)
class HookKeys:
    token: str  # the media server's: in every hook URL
    push: str  # signs push URLs
    play: str  # signs play URLs


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


def _session(request: web.Request, form: dict[str, str]) -> str | None:
    """The push session: nginx's client id on this media-server process (ids restart with it)."""
    client = form.get("clientid")
    return f"{request.query.get('node', '')[:128]}/{client}" if client else None


# /{app}/{stream}.m3u8 or /{app}/{stream}-{n}.ts, as nginx-rtmp writes HLS
_HLS_FILE = re.compile(r"/[^/]+/(?P<stream>[A-Za-z0-9_.-]+?)(?:-\d+\.ts|\.m3u8)")
# {stream}/{stream}-{unix time}.mp4, as the record script stores them
_RECORDING = re.compile(r"[A-Za-z0-9_-]{1,256}/[A-Za-z0-9_-]{1,256}-\d{1,12}\.mp4")


class MediaHooks:
    def __init__(self, keys: HookKeys, rooms: RoomReader, on_air: OnAir, events: EventPublisher) -> None:
        self._keys, self._rooms, self._on_air, self._events = keys, rooms, on_air, events

    def routes(self) -> list[Route]:
        return [Route("POST", "/v1/hooks/nginx-rtmp/publish", self.publish),
                Route("POST", "/v1/hooks/nginx-rtmp/publish_done", self.publish_done),
                Route("POST", "/v1/hooks/nginx-rtmp/play", self.play),
                Route("GET", "/v1/hooks/nginx-rtmp/play_hls", self.play_hls, quiet=True),
                Route("POST", "/v1/hooks/nginx-rtmp/record_done", self.record_done),
                Route("GET", "/v1/hooks/nginx-rtmp/play_recording", self.play_recording, quiet=True)]

    def _check_token(self, request: web.Request) -> None:
        if not hmac.compare_digest(request.query.get("token", "").encode(), self._keys.token.encode()):
            raise forbidden("bad hook token")

    async def _check_play(self, request: web.Request, fields: MultiMapping[Any]) -> None:
        stream, secret, expires = _signed_fields(fields, "play")
        if not verify_tx_secret(self._keys.play, stream, expires, secret, now=datetime.now(UTC)):
            log.warning("play.refused", reason="bad or expired txSecret/txTime", stream_id=stream)
            raise forbidden("bad or expired play signature")
        if not await self._on_air.stream_playable(stream, correlation_id(request)):
            log.info("play.refused", reason="the room is not active", stream_id=stream)
            raise Problem(403, "room-not-live", "Room not live", "the stream's room is not on air")

    async def play(self, request: web.Request) -> web.Response:
        """RTMP play: nginx-rtmp posts the stream name and the player's query (txSecret, txTime)."""
        self._check_token(request)
        await self._check_play(request, await request.post())
        return web.Response(text="ok")

    async def play_hls(self, request: web.Request) -> web.Response:
        """HLS (nginx `auth_request`): the original request's path names the stream, its query
        carries the signature; segments carry their playlist's query (the media server adds it)."""
        self._check_token(request)
        original = URL(request.headers.get("X-Original-URI", ""))
        match = _HLS_FILE.fullmatch(original.path)
        if match is None:
            raise forbidden("not a playlist or segment of a stream")
        fields = MultiDict(original.query)
        fields.extend(name=match["stream"])
        await self._check_play(request, fields)
        return web.Response(text="ok")

    async def record_done(self, request: web.Request) -> web.Response:
        """The media server's record script (deploy/media/record_done.sh): one push session's
        recording, remuxed to MP4 and stored at `location` under its recordings. Published as
        `stream.recorded` with an id derived from the location: a retried hook is one replay."""
        self._check_token(request)
        form = await _form(request)
        location = form.get("location", "")
        if _RECORDING.fullmatch(location) is None:
            raise Problem(400, "invalid-recording", "Invalid recording", "location is not a recording path")
        try:
            saved = RecordingSaved(stream_id=form.get("name", ""), source=SOURCE, location=location,
                                   started_at=datetime.fromtimestamp(float(form.get("started", "")), UTC),
                                   ended_at=datetime.fromtimestamp(float(form.get("ended", "")), UTC),
                                   duration_seconds=float(form.get("duration", "")),
                                   size_bytes=int(form.get("size", "")))
        except (ValueError, OverflowError, ValidationError) as exc:
            raise Problem(400, "invalid-recording", "Invalid recording", str(exc)[:500]) from exc
        await self._events.publish_event(saved, correlation_id=correlation_id(request),
                                         message_id=f"recorded:{location}")
        log.info("recording.saved", stream_id=saved.stream_id, location=location, duration=saved.duration_seconds)
        return web.Response(text="ok")

    async def play_recording(self, request: web.Request) -> web.Response:
        """A replay's file (nginx `auth_request` for every range request): the txSecret/txTime the
        gateway signed over its location with the play key (shared/signing.py `replay_url`)."""
        self._check_token(request)
        original = URL(request.headers.get("X-Original-URI", ""))
        location = original.path.removeprefix("/recordings/")
        if location == original.path or _RECORDING.fullmatch(location) is None:
            raise forbidden("not a recording")
        fields = MultiDict(original.query)
        fields.extend(name=location)
        name, secret, expires = _signed_fields(fields, "replay")
        if not verify_tx_secret(self._keys.play, name, expires, secret, now=datetime.now(UTC)):
            log.warning("replay.refused", reason="bad or expired txSecret/txTime", location=location)
            raise forbidden("bad or expired replay signature")
        return web.Response(text="ok")

    async def publish(self, request: web.Request) -> web.Response:
        self._check_token(request)
        stream, secret, expires = _signed_fields(await request.post(), "push")
        plog = log.bind(stream_id=stream)
        if not verify_tx_secret(self._keys.push, stream, expires, secret, now=datetime.now(UTC)):
            plog.warning("push.refused", reason="bad or expired txSecret/txTime")
            raise forbidden("bad or expired push signature")
        room = await self._rooms.get_by_stream(stream, correlation_id=correlation_id(request))
        if room is None:
            plog.warning("push.refused", reason="no room has this stream")
            raise forbidden("unknown stream")
        form = await _form(request)
        if room.status is RoomStatus.CLOSED:
            plog.warning("push.refused", reason="room closed", room_id=room.id, close_reason=room.close_reason)
            raise Problem(403, "room-closed", "Room closed", f"the room is closed ({room.close_reason})")
        started = StreamStarted(stream_id=stream, source=SOURCE, sequence=_session(request, form),
                                event_time=datetime.now(UTC))
        await self._events.publish_event(started, correlation_id=correlation_id(request))
        plog.info("push.accepted", room_id=room.id)
        return web.Response(text="ok")

    async def publish_done(self, request: web.Request) -> web.Response:
        self._check_token(request)
        form = await _form(request)
        stream = form.get("name", "")
        stopped = StreamStopped(stream_id=stream, source=SOURCE, sequence=_session(request, form),
                                event_time=datetime.now(UTC))
        await self._events.publish_event(stopped, correlation_id=correlation_id(request))
        log.info("push.ended", stream_id=stream)
        return web.Response(text="ok")
