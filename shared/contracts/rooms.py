"""The rooms context: the room, its commands, queries and events, and its counts."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import ClassVar

from pydantic import Field

from shared.contracts.base import Contract, Query, Request


class RoomStatus(enum.StrEnum):
    UNACTIVE = "unactive"
    ACTIVE = "active"
    CLOSED = "closed"


class CloseReason(enum.StrEnum):
    ANCHOR = "anchor"
    BLACK_SCREEN = "black_screen"
    BANNED = "banned"
    EXPIRED = "expired"
    MODERATOR = "moderator"  # closed by a moderator without a ban (the console's Close)


class LiveState(enum.StrEnum):
    """Whether an active room's push is on air (`live`) or stopped within the grace (`interrupted`)."""

    LIVE = "live"
    INTERRUPTED = "interrupted"


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
    category: str | None = Field(None, description="One of the configured categories (`GET /v1/categories`)")
    status: RoomStatus
    close_reason: CloseReason | None = None
    viewers: int = 0
    likes: int = 0
    created_at: datetime
    activated_at: datetime | None = None
    closed_at: datetime | None = None
    stream_id: str
    stream_state: LiveState | None = Field(
        None, description="Active rooms only: `live`, or `interrupted` when the push stopped (not listed then)")
    interrupted_at: datetime | None = Field(None, description="When the push stopped, while `interrupted`")
    thumbnail_url: str | None = Field(
        None, description="A frame of what is on air, refreshed every few seconds at this same URL (active rooms)")
    version: int = Field(1, ge=1, description="Bumped by every change (state or counts); events carry it, "
                         "so a reader never moves a room backwards")


# --- commands ---------------------------------------------------------------------------


class CreateRoom(Request[Room]):
    TYPE: ClassVar[str] = "rooms.create"
    anchor_id: str = Field(min_length=1, max_length=128)
    title: str = Field(min_length=1, max_length=100)
    # The gateway takes URLs of up to 2,048 characters; normalising one (a trailing slash) may add a few.
    cover_url: str = Field(min_length=1, max_length=2100)
    location: Location | None = None
    category: str | None = Field(None, min_length=1, max_length=32)


class ActivateRoom(Request[Room]):
    TYPE: ClassVar[str] = "rooms.activate"
    room_id: str
    actor_id: str = Field(description="User asking; must be the room's anchor")


class CloseRoom(Request[Room]):
    TYPE: ClassVar[str] = "rooms.close"
    room_id: str
    reason: CloseReason
    actor_id: str | None = Field(
        None, description="User asking (reason `anchor`): must be the room's anchor. None for system closes."
    )


class BannedRooms(Contract):
    closed: list[Room] = Field(description="The anchor's rooms this ban closed (none if none was open)")


class BanAnchor(Request[BannedRooms]):
    """Moderation's ban of an anchor, asked before the ban is accepted: rooms records it (no create
    from then on) and closes the anchor's open room as `banned`, so no window is left."""

    TYPE: ClassVar[str] = "rooms.ban_anchor"
    anchor_id: str
    ban_id: str
    reason: str = Field(min_length=1, max_length=500)
    until: datetime


class GetRoom(Query[Room]):
    TYPE: ClassVar[str] = "rooms.get"
    room_id: str


class GetRoomByStream(Query[Room]):
    TYPE: ClassVar[str] = "rooms.get_by_stream"
    stream_id: str = Field(min_length=1, max_length=256)


class LiveRoomPage(Contract):
    rooms: list[Room]
    last_id: str | None = Field(description="Pass as `after_id` for the next page; None at the end")


class ListLiveRooms(Query[LiveRoomPage]):
    """Active rooms in pages ordered by id: the snapshot the gateways' room directories and the
    status watcher are built from (served by the `(status, _id)` index)."""

    TYPE: ClassVar[str] = "rooms.live"
    limit: int = Field(5000, ge=1, le=5000)
    after_id: str | None = Field(None, description="The last id of the previous page")


class AnchorRooms(Contract):
    rooms: list[Room]


class ListAnchorRooms(Query[AnchorRooms]):
    """An anchor's rooms, newest first (the moderation console's anchor page; `(anchor_id,
    created_at)` index)."""

    TYPE: ClassVar[str] = "rooms.anchor_rooms"
    anchor_id: str = Field(min_length=1, max_length=128)
    limit: int = Field(20, ge=1, le=100)


class CounterEntry(Contract):
    room_id: str
    likes: int = Field(0, ge=0)
    viewers: int = Field(0, ge=0)
    likers: int = Field(0, ge=0, description="People who liked (one per person and window: `sort=hot` counts people)")
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


class RoomInterrupted(Contract):
    """An active room's push stopped: it leaves the lists until it resumes or closes."""

    TYPE: ClassVar[str] = "room.interrupted"
    room: Room


class RoomResumed(Contract):
    """An interrupted room's push is back: it is listed again, in the same place."""

    TYPE: ClassVar[str] = "room.resumed"
    room: Room


class RoomCounts(Contract):
    room_id: str
    version: int
    viewers: int
    likes: int
    viewers_added: int
    likes_added: int
    likers_added: int = Field(0, description="People who liked for the first time in the window (`sort=hot`)")


class RoomCountersChanged(Contract):
    """The counts of every room one coalesced write changed (a couple of these per second).

    One event per write, not per room: every gateway reads them all. Snapshots: a lost one is
    superseded by the next, so they are published without an outbox.
    """

    TYPE: ClassVar[str] = "room.counters"
    rooms: list[RoomCounts]


