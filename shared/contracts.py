"""The message contract: every command, event and reply that crosses the bus.

Commands are imperative (`CreateRoom`), events are past tense (`RoomActivated`). Each model's
`TYPE` is its envelope type and, for commands, the routing key on the commands exchange; for
events, the routing key on the events topic exchange.
"""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION: Literal[1] = 1


class Contract(BaseModel):
    """Base of every payload: frozen, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    TYPE: ClassVar[str]


class Query(Contract):
    """A read that changes nothing. Queries travel apart from commands: non-persistent, on a queue
    of their own, never dead-lettered, expiring with the request (a late answer has no reader)."""


class RoomStatus(enum.StrEnum):
    UNACTIVE = "unactive"
    ACTIVE = "active"
    CLOSED = "closed"


class CloseReason(enum.StrEnum):
    ANCHOR = "anchor"
    BLACK_SCREEN = "black_screen"
    BANNED = "banned"
    EXPIRED = "expired"


class Location(Contract):
    # Strict: a number, never `false` or "31" (JSON booleans would pass as 0 in lax mode).
    lat: float = Field(ge=-90, le=90, strict=True, allow_inf_nan=False, description="Latitude in degrees")
    lng: float = Field(ge=-180, le=180, strict=True, allow_inf_nan=False, description="Longitude in degrees")
    name: str | None = Field(None, max_length=100, description="Human-readable place name")


class Room(Contract):
    """A room as the rooms service owns it (play URLs are added by the gateway per request)."""

    id: str
    anchor_id: str
    title: str
    cover_url: str
    location: Location | None = None
    status: RoomStatus
    close_reason: CloseReason | None = None
    viewers: int = 0
    likes: int = 0
    created_at: datetime
    activated_at: datetime | None = None
    closed_at: datetime | None = None
    stream_id: str
    version: int = Field(1, ge=1, description="Bumped by every change (state or counts); events carry it, "
                         "so a reader never moves a room backwards")


# --- commands ---------------------------------------------------------------------------


class CreateRoom(Contract):
    TYPE: ClassVar[str] = "rooms.create"
    anchor_id: str = Field(min_length=1, max_length=128)
    title: str = Field(min_length=1, max_length=100)
    # The gateway takes URLs of up to 2,048 characters; normalising one (a trailing slash) may add a few.
    cover_url: str = Field(min_length=1, max_length=2100)
    location: Location | None = None


class ActivateRoom(Contract):
    TYPE: ClassVar[str] = "rooms.activate"
    room_id: str
    actor_id: str = Field(description="User asking; must be the room's anchor")


class CloseRoom(Contract):
    TYPE: ClassVar[str] = "rooms.close"
    room_id: str
    reason: CloseReason
    actor_id: str | None = Field(
        None, description="User asking (reason `anchor`): must be the room's anchor. None for system closes."
    )


class GetRoom(Query):
    TYPE: ClassVar[str] = "rooms.get"
    room_id: str


class GetRoomByStream(Query):
    TYPE: ClassVar[str] = "rooms.get_by_stream"
    stream_id: str = Field(min_length=1, max_length=256)


class ListLiveRooms(Query):
    """Active rooms in pages ordered by id: the snapshot the gateways' room directories and the
    status watcher are built from (served by the `(status, _id)` index)."""

    TYPE: ClassVar[str] = "rooms.live"
    limit: int = Field(5000, ge=1, le=5000)
    after_id: str | None = Field(None, description="The last id of the previous page")


class LiveRoomPage(Contract):
    rooms: list[Room]
    last_id: str | None = Field(description="Pass as `after_id` for the next page; None at the end")


class CounterEntry(Contract):
    room_id: str
    likes: int = Field(0, ge=0)
    viewers: int = Field(0, ge=0)
    key: str | None = Field(None, max_length=256,
                            description="The client's Idempotency-Key scoped to user and route: a retry counts once")


class RecordCounters(Contract):
    """Viewer and like increments one gateway collected over a few milliseconds.

    The message id is the deduplication key: a redelivered or re-published batch counts once.
    """

    TYPE: ClassVar[str] = "rooms.counters"
    entries: list[CounterEntry] = Field(min_length=1, max_length=10_000)


# --- events -----------------------------------------------------------------------------


class RoomCreated(Contract):
    TYPE: ClassVar[str] = "room.created"
    room: Room


class RoomActivated(Contract):
    TYPE: ClassVar[str] = "room.activated"
    room: Room


class RoomClosed(Contract):
    TYPE: ClassVar[str] = "room.closed"
    room: Room


class RoomCounts(Contract):
    room_id: str
    version: int
    viewers: int
    likes: int
    viewers_added: int
    likes_added: int


class PresenceReport(Contract):
    """One gateway's open live-update streams per room (`viewers_now`): the rooms that changed
    since its last report, or all of them (`full`). Sent every couple of seconds even when nothing
    changed, so the others know it is alive; `hello` on its first, asking them for full reports."""

    TYPE: ClassVar[str] = "gateway.presence"
    instance: str = Field(min_length=1, max_length=64)
    rooms: dict[str, Annotated[int, Field(ge=0)]]
    full: bool = False
    hello: bool = False


class RoomCountersChanged(Contract):
    """The counts of every room one coalesced write changed (a couple of these per second).

    One event per write, not per room: every gateway reads them all. Snapshots: a lost one is
    superseded by the next, so they are published without an outbox.
    """

    TYPE: ClassVar[str] = "room.counters"
    rooms: list[RoomCounts]


class StreamStarted(Contract):
    """The cloud (or the local media server) reports that a push began."""

    TYPE: ClassVar[str] = "stream.started"
    stream_id: str
    source: str = Field(description="`tencent` or `nginx-rtmp`")
    sequence: str | None = Field(None, description="Push session id: pairs a start with its stop")
    event_time: datetime | None = None


class StreamStopped(Contract):
    """The cloud (or the local media server) reports that a push ended."""

    TYPE: ClassVar[str] = "stream.stopped"
    stream_id: str
    source: str
    sequence: str | None = None
    event_time: datetime | None = None
    errcode: int | None = Field(None, description="Tencent stop code (1-4 anchor, 8/20 no data, 21 our drop...)")
    errmsg: str | None = None


class StreamStruck(Contract):
    """The status watcher saw an active room's stream explicitly offline `count` polls in a row."""

    TYPE: ClassVar[str] = "stream.offline_strike"
    room_id: str
    stream_id: str
    count: int = Field(ge=1)


class StreamRecovered(Contract):
    """A struck stream was seen online again; its strikes are reset."""

    TYPE: ClassVar[str] = "stream.recovered"
    room_id: str
    stream_id: str
    strikes_before: int = Field(ge=1)


class Suggestion(enum.StrEnum):
    BLOCK = "Block"
    REVIEW = "Review"
    PASS = "Pass"


class DetectionReported(Contract):
    """The cloud's content detection flagged a stream (Tencent event 317)."""

    TYPE: ClassVar[str] = "moderation.detected"
    stream_id: str
    suggestion: Suggestion | None = None
    score: float | None = Field(None, ge=0, le=100, description="Confidence 0-100")
    types: list[int] = Field(default_factory=list, description="1 = porn, ...")
    label: str | None = None
    img: str | None = Field(None, description="Screenshot URL")
    screenshot_time: datetime | None = None


# --- moderation -------------------------------------------------------------------------


class BanRoom(Contract):
    """Ban a room: the cloud forbids and drops its stream, the room closes as `banned`, and its
    anchor may not open a new room until the ban ends."""

    TYPE: ClassVar[str] = "moderation.ban"
    room_id: str
    reason: str = Field(min_length=1, max_length=500)
    duration_hours: int = Field(168, ge=1, le=2160, description="Tencent allows at most 90 days")
    by: str = Field(description="Moderator's user id, or `detection` for automatic bans")
    case_id: str | None = None


class UnbanAnchor(Contract):
    TYPE: ClassVar[str] = "moderation.unban"
    anchor_id: str
    by: str


class AnchorBanned(Contract):
    TYPE: ClassVar[str] = "moderation.anchor_banned"
    anchor_id: str
    ban_id: str
    room_id: str
    reason: str
    until: datetime


class AnchorUnbanned(Contract):
    TYPE: ClassVar[str] = "moderation.anchor_unbanned"
    anchor_id: str


class CaseStatus(enum.StrEnum):
    OPEN = "open"  # waiting for a human (suggestion Review)
    BANNED = "banned"  # banned automatically or by a moderator
    DISMISSED = "dismissed"  # a moderator found nothing wrong
    RECORDED = "recorded"  # suggestion Pass, or nothing left to act on


class Case(Contract):
    id: str
    stream_id: str
    room_id: str | None
    anchor_id: str | None
    suggestion: Suggestion | None
    score: float | None
    label: str | None
    img: str | None
    status: CaseStatus
    created_at: datetime
    resolved_by: str | None = None
    resolved_at: datetime | None = None


class ListCases(Contract):
    TYPE: ClassVar[str] = "moderation.list_cases"
    status: CaseStatus | None = None
    limit: int = Field(50, ge=1, le=100)


class CasePage(Contract):
    cases: list[Case]


class CaseAction(enum.StrEnum):
    BAN = "ban"
    DISMISS = "dismiss"


class ResolveCase(Contract):
    TYPE: ClassVar[str] = "moderation.resolve_case"
    case_id: str
    action: CaseAction
    by: str
    reason: str | None = Field(None, max_length=500)
    duration_hours: int = Field(168, ge=1, le=2160)


# --- replies ----------------------------------------------------------------------------


class ErrorCode(enum.StrEnum):
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    CONFLICT = "conflict"
    INVALID = "invalid"
    UNAVAILABLE = "unavailable"  # the answering service could not reach its store: retry later


class ReplyError(Contract):
    code: ErrorCode
    detail: str
    extra: dict[str, Any] = Field(default_factory=dict, description="Machine-readable details")


class Reply(Contract):
    """The answer to a request: exactly one of `result` and `error`."""

    TYPE: ClassVar[str] = "reply"
    ok: bool
    result: dict[str, Any] | None = None
    error: ReplyError | None = None


# --- envelope ---------------------------------------------------------------------------


class Envelope(BaseModel):
    """What actually travels: identity, type and time around a typed payload."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(default_factory=lambda: uuid.uuid4().hex, description="Unique message id; idempotency key")
    type: str
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    correlation_id: str | None = None
    schema_version: Literal[1] = SCHEMA_VERSION
    payload: dict[str, Any]


MESSAGE_TYPES: dict[str, type[Contract]] = {
    model.TYPE: model
    for model in (
        CreateRoom,
        ActivateRoom,
        CloseRoom,
        GetRoom,
        GetRoomByStream,
        ListLiveRooms,
        RoomCreated,
        RoomActivated,
        RoomClosed,
        RecordCounters,
        RoomCountersChanged,
        PresenceReport,
        StreamStarted,
        StreamStopped,
        StreamStruck,
        StreamRecovered,
        DetectionReported,
        BanRoom,
        UnbanAnchor,
        AnchorBanned,
        AnchorUnbanned,
        ListCases,
        ResolveCase,
        Reply,
    )
}


class InvalidMessage(ValueError):
    """A message that can never be handled: bad JSON, unknown type, invalid payload."""


def wrap(payload: Contract, *, correlation_id: str | None = None, message_id: str | None = None) -> Envelope:
    fields: dict[str, Any] = {
        "type": payload.TYPE,
        "payload": payload.model_dump(mode="json"),
        "correlation_id": correlation_id,
    }
    if message_id is not None:
        fields["id"] = message_id
    return Envelope(**fields)


def encode(envelope: Envelope) -> bytes:
    return envelope.model_dump_json().encode()


def decode(body: bytes) -> tuple[Envelope, Contract]:
    """Parse bytes into the envelope and its typed payload, or raise InvalidMessage."""
    try:
        envelope = Envelope.model_validate_json(body)
    except ValueError as exc:
        raise InvalidMessage(f"bad envelope: {exc}") from exc
    model = MESSAGE_TYPES.get(envelope.type)
    if model is None:
        raise InvalidMessage(f"unknown message type {envelope.type!r}")
    try:
        return envelope, model.model_validate(envelope.payload)
    except ValueError as exc:
        raise InvalidMessage(f"invalid {envelope.type} payload: {exc}") from exc
