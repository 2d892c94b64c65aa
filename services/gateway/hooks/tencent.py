"""Callbacks Tencent Cloud Live posts to us (CLOUD.md §3): push started/stopped, recordings
(`event_type` 100: a replay), screenshots (200) and content detection.

Each carries `t` (expiry, Unix seconds) and `sign = md5(callback_key + t)`. A forged or expired
callback is refused with 401 and publishes nothing. Accepted ones are answered `{"code": 0}` at
once and published as typed events whose message ids are derived from the callback, so
Tencent's retries produce the same event id and consumers can drop the repeat.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime
from typing import Any

import structlog
from aiohttp import web
from pydantic import ValidationError

from services.gateway.http.problems import Problem, unauthorized
from services.gateway.http.requests import field_errors, read_json
from services.gateway.http.serving import Route, correlation_id
from services.gateway.ports import EventPublisher
from shared.contracts import Contract, DetectionReported, RecordingSaved, StreamStarted, StreamStopped

log = structlog.get_logger(__name__)
SOURCE = "tencent"
OK = {"code": 0}
RECORDED, SCREENSHOT = 100, 200  # event_type of the record and screenshot callbacks


def callback_sign(key: str, t: int | str) -> str:
    return hashlib.md5(f"{key}{t}".encode(), usedforsecurity=False).hexdigest()


# Tencent signs callbacks valid for 10 minutes: a `t` further ahead is not one of its signatures
# (or is a leaked pair made to last), and is refused.
MAX_T_AHEAD_SECONDS = 600


def verify_callback(body: dict[str, Any], key: str, *, now: float) -> bool:
    """True when `sign` is md5(key + t) and the expiry `t` is neither past nor more than ten
    minutes ahead. Never raises, whatever the body holds."""
    t, sign = body.get("t"), body.get("sign")
    if not isinstance(sign, str) or not sign.isascii() or isinstance(t, bool) or not isinstance(t, (int, str)):
        return False
    if isinstance(t, str) and not (t.isascii() and t.isdigit() and len(t) <= 12):
        return False
    if not now <= int(t) <= now + MAX_T_AHEAD_SECONDS:
        return False
    return hmac.compare_digest(callback_sign(key, t).encode(), sign.lower().encode())


def _when(unix: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(unix), UTC) if unix is not None else None
    except (TypeError, ValueError, OverflowError):
        return None


async def _verified_body(request: web.Request, key: str) -> dict[str, Any]:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise Problem(400, "malformed-json", "Malformed JSON", "the body must be a JSON object")
    if not verify_callback(body, key, now=time.time()):
        log.warning("callback.refused", path=request.path, reason="bad sign or expired t")
        raise unauthorized("bad or expired callback signature")
    return body


def _typed(model: type[Contract], **fields: Any) -> Contract:
    try:
        return model(**fields)
    except ValidationError as exc:
        raise Problem(422, "validation", "Invalid callback", "the callback has invalid fields",
                      errors=field_errors(exc)) from exc


class TencentCallbacks:
    def __init__(self, callback_key: str, events: EventPublisher) -> None:
        self._key, self._events = callback_key, events

    def routes(self) -> list[Route]:
        return [Route("POST", "/v1/callbacks/tencent/stream", self.stream),
                Route("POST", "/v1/callbacks/tencent/detection", self.detection)]

    async def _publish(self, request: web.Request, event: Contract, message_id: str) -> web.Response:
        await self._events.publish_event(event, message_id=message_id, correlation_id=correlation_id(request))
        log.info("callback.accepted", event_type=event.TYPE, message_id=message_id)
        return web.json_response(OK)

    async def stream(self, request: web.Request) -> web.Response:
        body = await _verified_body(request, self._key)
        event_type = body.get("event_type")
        stream = str(body.get("stream_id") or body.get("channel_id") or "")
        if event_type == RECORDED and stream:
            return await self._recorded(request, stream, body)
        if event_type == SCREENSHOT and stream:
            # The thumbnail URL is the screenshot template's overwrite-mode path, fixed per stream
            # (ONAIR_THUMBNAIL_URL_TEMPLATE): a new frame changes nothing in the list.
            log.debug("callback.screenshot", stream_id=stream, pic_url=body.get("pic_full_url"))
            return web.json_response(OK)
        if event_type not in (0, 1) or not stream:
            log.info("callback.ignored", event_type=event_type)
            return web.json_response(OK)  # not ours to handle: do not make Tencent retry it
        sequence = str(body["sequence"]) if body.get("sequence") is not None else None
        message_id = f"tencent:{stream}:{sequence}:{event_type}"
        if event_type == 1:
            event = _typed(StreamStarted, stream_id=stream, source=SOURCE, sequence=sequence,
                           event_time=_when(body.get("event_time")))
        else:
            event = _typed(StreamStopped, stream_id=stream, source=SOURCE, sequence=sequence,
                           event_time=_when(body.get("event_time")), errcode=body.get("errcode"),
                           errmsg=body.get("errmsg"))
        return await self._publish(request, event, message_id)

    async def _recorded(self, request: web.Request, stream: str, body: dict[str, Any]) -> web.Response:
        """A recording of one push session, stored in VOD (`video_url`, `file_id`)."""
        started, ended = _when(body.get("start_time")), _when(body.get("end_time"))
        event = _typed(RecordingSaved, stream_id=stream, source=SOURCE, location=body.get("video_url"),
                       file_id=str(body["file_id"]) if body.get("file_id") is not None else None,
                       started_at=started, ended_at=ended, duration_seconds=body.get("duration"),
                       size_bytes=body.get("file_size"))
        return await self._publish(request, event, f"tencent-record:{stream}:{body.get('file_id')}")

    async def detection(self, request: web.Request) -> web.Response:
        body = await _verified_body(request, self._key)
        stream = str(body.get("streamId") or body.get("channelId") or body.get("stream_id") or "")
        if not stream:
            raise Problem(422, "validation", "Invalid callback", "no streamId", errors=[
                {"field": "streamId", "message": "required", "code": "missing"}])
        kinds = body.get("type") or []
        event = _typed(
            DetectionReported, stream_id=stream, suggestion=body.get("suggestion"),
            score=body.get("confidence", body.get("score")), types=kinds if isinstance(kinds, list) else [kinds],
            label=body.get("label"), img=body.get("img"), screenshot_time=_when(body.get("screenshotTime")),
        )
        identity = f"{stream}|{body.get('screenshotTime')}|{body.get('img')}"
        message_id = "tencent-detect:" + hashlib.sha256(identity.encode()).hexdigest()[:32]
        return await self._publish(request, event, message_id)
