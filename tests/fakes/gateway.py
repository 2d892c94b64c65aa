"""In-memory fakes of the gateway's ports (services/gateway/ports.py): the rooms and moderation
services as their clients see them, the counters batcher, the bus's event side. With these the
gateway's views run in the unit tier, through aiohttp, with no broker."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from services.gateway.bootstrap import Gateway, Ports, assemble
from shared.contracts import (
    Anchor,
    AnchorBans,
    BanAccepted,
    BanRecord,
    Case,
    CaseAction,
    CasePage,
    CaseStatus,
    CloseReason,
    ErrorCode,
    FollowingPage,
    FollowState,
    LiveRoomPage,
    Location,
    Room,
    RoomStatus,
)
from shared.errors import DomainError
from shared.settings import GatewaySettings
from tests.fakes.publisher import RecordingPublisher
from tests.fakes.replays import HandledReplays, InMemoryReplays

_ids = itertools.count(1)


class FakeRooms:
    """The rooms service's rules that the gateway relies on: the anchor's own room, the order
    unactive -> active -> closed, one command per command id. `asked` counts reads."""

    def __init__(self) -> None:
        self.rooms: dict[str, Room] = {}
        self.by_command: dict[str, str] = {}
        self.asked = 0
        self._last = datetime.min.replace(tzinfo=UTC)

    def _now(self) -> datetime:
        """Strictly increasing, a millisecond apart at least: the list orders by the millisecond,
        and tests that activate rooms one after another expect them in that order."""
        self._last = max(datetime.now(UTC), self._last + timedelta(milliseconds=1))
        return self._last

    async def get(self, room_id: str, *, correlation_id: str | None = None) -> Room | None:
        self.asked += 1
        return self.rooms.get(room_id)

    async def get_by_stream(self, stream_id: str, *, correlation_id: str | None = None) -> Room | None:
        self.asked += 1
        return next((room for room in self.rooms.values() if room.stream_id == stream_id), None)

    async def create(self, anchor_id: str, *, title: str, cover_url: str, location: Location | None,
                     category: str | None = None, command_id: str | None = None,
                     correlation_id: str | None = None) -> Room:
        if command_id in self.by_command:
            return self.rooms[self.by_command[command_id]]
        n = next(_ids)
        room = Room(id=f"room{n}", anchor_id=anchor_id, title=title, cover_url=cover_url, location=location,
                    category=category, status=RoomStatus.UNACTIVE, created_at=self._now(),
                    stream_id=f"onair_room{n}", version=1)
        self.rooms[room.id] = room
        if command_id is not None:
            self.by_command[command_id] = room.id
        return room

    def _owned(self, room_id: str, actor_id: str | None) -> Room:
        room = self.rooms.get(room_id)
        if room is None:
            raise DomainError(ErrorCode.NOT_FOUND, "no such room")
        if actor_id is not None and room.anchor_id != actor_id:
            raise DomainError(ErrorCode.FORBIDDEN, "not your room")
        return room

    async def activate(self, room_id: str, *, actor_id: str, correlation_id: str | None = None) -> Room:
        room = self._owned(room_id, actor_id)
        if room.status is not RoomStatus.UNACTIVE:
            raise DomainError(ErrorCode.CONFLICT, f"the room is {room.status.value}")
        return self._put(room, status=RoomStatus.ACTIVE, activated_at=self._now())

    async def close(self, room_id: str, *, reason: CloseReason, actor_id: str | None,
                    correlation_id: str | None = None) -> Room:
        room = self._owned(room_id, actor_id)
        if room.status is RoomStatus.CLOSED:
            return room
        return self._put(room, status=RoomStatus.CLOSED, close_reason=reason, closed_at=self._now())

    def _put(self, room: Room, **changes: object) -> Room:
        self.rooms[room.id] = room.model_copy(update={**changes, "version": room.version + 1})
        return self.rooms[room.id]

    async def live_page(self, *, after_id: str | None, limit: int = 5000, timeout: float | None = None) -> LiveRoomPage:
        live = sorted((r for r in self.rooms.values() if r.status is RoomStatus.ACTIVE), key=lambda r: r.id)
        page = [r for r in live if after_id is None or r.id > after_id][:limit]
        return LiveRoomPage(rooms=page, last_id=page[-1].id if len(page) == limit else None)


class FakeFollows:
    """The rooms service's follow rules: idempotent, one anchor per follow, at most `max_following`."""

    def __init__(self, rooms: FakeRooms, max_following: int = 5000) -> None:
        self.rooms, self.max_following = rooms, max_following
        self.pairs: set[tuple[str, str]] = set()

    async def follow(self, user_id: str, anchor_id: str, *, following: bool,
                     correlation_id: str | None = None) -> FollowState:
        if following and (user_id, anchor_id) not in self.pairs:
            if sum(1 for user, _ in self.pairs if user == user_id) >= self.max_following:
                raise DomainError(ErrorCode.CONFLICT, "following too many")
            self.pairs.add((user_id, anchor_id))
        elif not following:
            self.pairs.discard((user_id, anchor_id))
        return FollowState(anchor_id=anchor_id, following=following,
                           followers=sum(1 for _, anchor in self.pairs if anchor == anchor_id))

    async def following(self, user_id: str, *, limit: int, after: str | None,
                        correlation_id: str | None = None) -> FollowingPage:
        anchors = sorted(a for u, a in self.pairs if u == user_id and (after is None or a > after))
        return FollowingPage(anchor_ids=anchors[:limit], more=len(anchors) > limit)

    async def anchor(self, anchor_id: str, *, correlation_id: str | None = None) -> Anchor:
        open_room = next((r for r in self.rooms.rooms.values()
                          if r.anchor_id == anchor_id and r.status is not RoomStatus.CLOSED), None)
        return Anchor(anchor_id=anchor_id, followers=sum(1 for _, a in self.pairs if a == anchor_id),
                      open_room=open_room)

    async def anchor_rooms(self, anchor_id: str, *, limit: int, correlation_id: str | None = None) -> list[Room]:
        rooms = [r for r in self.rooms.rooms.values() if r.anchor_id == anchor_id]
        return sorted(rooms, key=lambda r: r.created_at, reverse=True)[:limit]


@dataclass
class FakeModeration:
    rooms: FakeRooms
    bans: list[tuple[str, str, str]] = field(default_factory=list)  # (room, by, command id)
    records: list[BanRecord] = field(default_factory=list)

    async def ban_room(self, room_id: str, *, reason: str, duration_hours: int, by: str,
                       command_id: str | None = None, correlation_id: str | None = None) -> BanAccepted:
        room = self.rooms.rooms.get(room_id)
        if room is None:
            raise DomainError(ErrorCode.NOT_FOUND, "no such room")
        self.bans.append((room_id, by, command_id or ""))
        closed = await self.rooms.close(room_id, reason=CloseReason.BANNED, actor_id=None)
        ban_id, now = command_id or f"ban{len(self.bans)}", datetime.now(UTC)
        until = now + timedelta(hours=duration_hours)
        self.records.insert(0, BanRecord(ban_id=ban_id, room_id=room_id, reason=reason, by=by, at=now, until=until))
        return BanAccepted(ban_id=ban_id, room_id=room_id, anchor_id=room.anchor_id, until=until,
                           closed_room_ids=[closed.id])

    async def cases(self, *, status: CaseStatus | None, limit: int, correlation_id: str | None = None) -> CasePage:
        return CasePage(cases=[])

    async def resolve_case(self, case_id: str, *, action: CaseAction, by: str, reason: str | None,
                           duration_hours: int, correlation_id: str | None = None) -> Case:
        raise DomainError(ErrorCode.NOT_FOUND, "no such case")

    async def unban_anchor(self, anchor_id: str, *, by: str, correlation_id: str | None = None) -> None:
        now = datetime.now(UTC)
        self.records = [r.model_copy(update={"lifted_by": by, "lifted_at": now}) if self._of(r, anchor_id)
                        and r.until > now and r.lifted_at is None else r for r in self.records]

    def _of(self, record: BanRecord, anchor_id: str) -> bool:
        room = self.rooms.rooms.get(record.room_id)
        return room is not None and room.anchor_id == anchor_id

    async def anchor_bans(self, anchor_id: str, *, limit: int, correlation_id: str | None = None) -> AnchorBans:
        now = datetime.now(UTC)
        bans = [r for r in self.records if self._of(r, anchor_id)][:limit]
        until = max((r.until for r in bans if r.until > now and r.lifted_at is None), default=None)
        return AnchorBans(anchor_id=anchor_id, banned_until=until, bans=bans)


class RecordingCounters:
    def __init__(self) -> None:
        self.added: list[dict[str, object]] = []

    async def add(self, room_id: str, *, viewers: int = 0, likes: int = 0, key: str | None = None,
                  liker: str | None = None) -> None:
        self.added.append({"room_id": room_id, "viewers": viewers, "likes": likes, "key": key, "liker": liker})


@dataclass
class FakeGateway:
    gateway: Gateway
    rooms: FakeRooms
    moderation: FakeModeration
    counters: RecordingCounters
    events: RecordingPublisher
    replays: InMemoryReplays
    follows: FakeFollows


def fake_gateway(settings: GatewaySettings) -> FakeGateway:
    rooms, counters, events = FakeRooms(), RecordingCounters(), RecordingPublisher()
    moderation = FakeModeration(rooms)
    replays, follows = InMemoryReplays(), FakeFollows(rooms)
    ports = Ports(rooms=rooms, replays=HandledReplays(replays), follows=follows, live_pages=rooms,
                  moderation=moderation, counters=counters, events=events, connected=lambda: True)
    return FakeGateway(assemble(settings, ports), rooms, moderation, counters, events, replays, follows)
