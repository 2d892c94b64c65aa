"""What the gateway needs of the world, as Protocols: the other services (over the bus, by
`shared.clients`), the bus itself for the events the gateway publishes, and the batcher that
carries likes and views to rooms. In production bootstrap.py wires the real ones; the unit
tests wire in-memory fakes (tests/fakes/gateway.py) and need no broker."""

from __future__ import annotations

from typing import Protocol

from shared.contracts import (
    Anchor,
    AnchorBans,
    BanAccepted,
    Case,
    CaseAction,
    CasePage,
    CaseStatus,
    CloseReason,
    Contract,
    Envelope,
    FollowingPage,
    FollowState,
    ListReplays,
    LiveRoomPage,
    Location,
    Replay,
    ReplayPage,
    Room,
)


class RoomReader(Protocol):
    """Rooms' reads: None when there is no such room."""

    async def get(self, room_id: str, *, correlation_id: str | None = None) -> Room | None: ...

    async def get_by_stream(self, stream_id: str, *, correlation_id: str | None = None) -> Room | None: ...


class Rooms(RoomReader, Protocol):
    """The rooms service (shared.clients.RoomsClient). A refused write raises its DomainError."""

    async def create(self, anchor_id: str, *, title: str, cover_url: str, location: Location | None,
                     category: str | None = None, command_id: str | None = None,
                     correlation_id: str | None = None) -> Room: ...

    async def activate(self, room_id: str, *, actor_id: str, correlation_id: str | None = None) -> Room: ...

    async def close(self, room_id: str, *, reason: CloseReason, actor_id: str | None,
                    correlation_id: str | None = None) -> Room: ...


class Replays(Protocol):
    """Rooms' replays (shared.clients.RoomsClient)."""

    async def replays(self, query: ListReplays, *, correlation_id: str | None = None) -> ReplayPage: ...

    async def delete_replay(self, replay_id: str, *, actor_id: str, correlation_id: str | None = None) -> Replay: ...

    async def hide_replay(self, replay_id: str, *, moderator_id: str, hidden: bool,
                          correlation_id: str | None = None) -> Replay: ...


class Follows(Protocol):
    """Rooms' follows (shared.clients.RoomsClient)."""

    async def follow(self, user_id: str, anchor_id: str, *, following: bool,
                     correlation_id: str | None = None) -> FollowState: ...

    async def following(self, user_id: str, *, limit: int, after: str | None,
                        correlation_id: str | None = None) -> FollowingPage: ...

    async def anchor(self, anchor_id: str, *, correlation_id: str | None = None) -> Anchor: ...

    async def anchor_rooms(self, anchor_id: str, *, limit: int, correlation_id: str | None = None) -> list[Room]:
        """The anchor's rooms, newest first (moderators' anchor page)."""


class LivePages(Protocol):
    """Rooms' active rooms in pages (the directory's snapshots)."""

    async def live_page(self, *, after_id: str | None, limit: int = 5000,
                        timeout: float | None = None) -> LiveRoomPage: ...


class Moderation(Protocol):
    """The moderation service (shared.clients.ModerationClient)."""

    async def ban_room(self, room_id: str, *, reason: str, duration_hours: int, by: str,
                       command_id: str | None = None, correlation_id: str | None = None) -> BanAccepted: ...

    async def cases(self, *, status: CaseStatus | None, limit: int, correlation_id: str | None = None) -> CasePage: ...

    async def resolve_case(self, case_id: str, *, action: CaseAction, by: str, reason: str | None,
                           duration_hours: int, correlation_id: str | None = None) -> Case: ...

    async def unban_anchor(self, anchor_id: str, *, by: str, correlation_id: str | None = None) -> None: ...

    async def anchor_bans(self, anchor_id: str, *, limit: int, correlation_id: str | None = None) -> AnchorBans: ...


class Counters(Protocol):
    """Views and likes on their way to rooms (counters.py: batched, confirmed by the broker)."""

    async def add(self, room_id: str, *, viewers: int = 0, likes: int = 0, key: str | None = None,
                  liker: str | None = None) -> None: ...


class EventPublisher(Protocol):
    """Events the gateway publishes: the media server's and the cloud's reports, presence."""

    async def publish_event(self, payload: Contract, *, correlation_id: str | None = None,
                            message_id: str | None = None) -> Envelope: ...
