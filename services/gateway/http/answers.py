"""What the gateway answers: the models every JSON answer and live-update event is built from,
and the OpenAPI document is generated from (`openapi.py`), so the two cannot drift.

The room list is the one answer rendered without them, for speed: the directory keeps each
room's JSON ready (`directory/entry.py`). Its shape is `RoomList`, and the unit tests validate
rendered pages against it (extra members forbidden)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from shared.contracts import CloseReason, LiveState, Room, RoomStatus


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def response(self, status: int = 200) -> web.Response:
        return web.Response(body=self.model_dump_json(), status=status, content_type="application/json")


class PlayUrls(Answer):
    rtmp: str
    flv: str
    hls: str


class ReplayView(Answer):
    """One recorded part of a show, with a URL signed by the server (it expires: ask again)."""

    id: str
    room_id: str
    anchor_id: str
    url: str = Field(description="MP4 (index at the front), signed; refused once `url_expires_at` passes")
    url_expires_at: datetime
    started_at: datetime
    ended_at: datetime
    duration_seconds: float
    size_bytes: int
    hidden: bool = Field(False, description="Moderators only: hidden from everyone else (banned room, or hidden)")


class ReplayList(Answer):
    replays: list[ReplayView]
    next_cursor: str | None


class RoomView(Room):
    """A room as clients see it: play URLs signed by the server while it is live; a closed
    room's replays when it is read alone."""

    model_config = ConfigDict(extra="forbid")

    play_urls: PlayUrls | None
    replays: list[ReplayView] | None = Field(None, description="`GET /v1/rooms/{id}` of a closed room: its "
                                             "recorded parts, in order")
    viewers_now: int = Field(0, ge=0, description="Open live-update streams of the room across every gateway "
                             "(within a few seconds); `viewers` counts distinct viewers who ever entered")
    hot_score: float | None = Field(None, description="In `sort=hot` lists: the score it was ranked with")
    distance_km: float | None = Field(None, description="In `sort=near` lists: great-circle distance from the "
                                      "viewer's point on a 0.01-degree grid (lat and lng rounded to two decimals)")


class RoomList(Answer):
    rooms: list[RoomView]
    next_cursor: str | None


class CreatedRoom(Answer):
    room: RoomView
    push_url: str
    push_url_expires_at: datetime


class CountAccepted(Answer):
    room_id: str
    accepted: dict[str, int]


class BanAccepted(Answer):
    """The ban is in force when this is answered: recorded, and the anchor's open rooms closed."""

    ban_id: str
    room_id: str
    anchor_id: str
    banned_until: datetime
    closed_room_ids: list[str] = Field(description="The anchor's rooms this ban closed (their pushes are cut next)")
    status: str


class Unbanned(Answer):
    anchor_id: str
    banned: bool


class Health(Answer):
    status: str
    failing: list[str] = Field(default_factory=list, description="The checks that failed")


class FieldError(Answer):
    field: str
    message: str
    code: str


class ProblemDetails(BaseModel):
    """RFC 9457 problem details (`http/problems.py` answers every error with one); extension
    members (e.g. `open_room_id`, `room_status`) may follow."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


# --- live updates (Server-Sent Events): `event: <EVENT>` then `data: <the model's JSON>` -----------

class LiveEvent(Answer):
    EVENT: ClassVar[str]

    def sse(self) -> bytes:
        return b"event: %s\ndata: %s\n\n" % (self.EVENT.encode(), self.model_dump_json().encode())


class CountersEvent(LiveEvent):
    """The room's counts; `*_added`: what was added since this stream's previous `counters`."""

    EVENT: ClassVar[str] = "counters"
    viewers: int
    viewers_now: int
    likes: int
    viewers_added: int
    likes_added: int


class InterruptedEvent(LiveEvent):
    """The anchor's push stopped; the room stays listed for reads and closes if it stays off."""

    EVENT: ClassVar[str] = "interrupted"
    stream_state: LiveState
    interrupted_at: datetime | None


class ResumedEvent(LiveEvent):
    EVENT: ClassVar[str] = "resumed"
    stream_state: LiveState


class ClosedEvent(LiveEvent):
    """The last event of a stream: the room closed."""

    EVENT: ClassVar[str] = "closed"
    status: RoomStatus
    close_reason: CloseReason | None
    closed_at: datetime | None


class ExpiredEvent(LiveEvent):
    """The last event of a stream: the token expired; reconnect with a fresh one."""

    EVENT: ClassVar[str] = "expired"
    detail: str


LIVE_EVENTS: tuple[type[LiveEvent], ...] = (CountersEvent, InterruptedEvent, ResumedEvent, ClosedEvent, ExpiredEvent)


def stream_event(room: Room) -> InterruptedEvent | ResumedEvent:
    """What a viewer is told of the room's push: it stopped, or it is back."""
    if room.stream_state is LiveState.INTERRUPTED:
        return InterruptedEvent(stream_state=room.stream_state, interrupted_at=room.interrupted_at)
    return ResumedEvent(stream_state=LiveState.LIVE)


def closed_event(room: Room) -> ClosedEvent:
    return ClosedEvent(status=room.status, close_reason=room.close_reason, closed_at=room.closed_at)


def room_view(room: Room, play_urls: dict[str, Any] | None, replays: list[ReplayView] | None = None) -> RoomView:
    """A room the directory does not hold (not live): nobody is watching it now, and its
    thumbnail only while it is active."""
    fields = dict(room)
    if room.status is not RoomStatus.ACTIVE:
        fields["thumbnail_url"] = None
    return RoomView(**fields, play_urls=PlayUrls(**play_urls) if play_urls else None, viewers_now=0, replays=replays)
