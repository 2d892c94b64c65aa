"""What the moderation handlers need of the world, as Protocols: MongoDB, the bus, the rooms
service and the cloud in production; in-memory fakes in the unit tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from shared.contracts import BanRecord, Case, CaseStatus, Contract, Envelope, Room

Doc = dict[str, Any]


class ModerationStore(Protocol):
    async def add_case(self, case: Case) -> bool:
        """Store a new case; False when it exists already (a repeated detection callback)."""

    async def get_case(self, case_id: str) -> Case | None: ...

    async def resolve_case(self, case_id: str, status: CaseStatus, by: str, at: datetime) -> Case | None:
        """Resolve an open case; None when it is not open (any more)."""

    async def list_cases(self, status: CaseStatus | None, limit: int) -> list[Case]: ...

    async def auto_bans_since(self, since: datetime) -> int:
        """Cases banned by detection alone (no moderator) opened since then."""

    async def audit_ban(self, ban_id: str, fields: Doc, *, attempt_error: str | None = None) -> None: ...

    async def audit_cut(self, room_id: str, fields: Doc, *, attempt_error: str | None = None) -> int:
        """Record a cut of a closed room's push (or a failed attempt at it); the attempts so far."""

    async def ban_anchor(self, anchor_id: str, until: datetime, reason: str, ban_id: str, stream_id: str) -> None: ...

    async def unban_anchor(self, anchor_id: str, by: str, at: datetime) -> Doc | None:
        """Lift the anchor's ban (the bans in force are marked lifted by `by`); the ban lifted, or None."""

    async def banned_until(self, anchor_id: str, now: datetime) -> datetime | None: ...

    async def bans_of(self, anchor_id: str, limit: int) -> list[BanRecord]: ...


class Rooms(Protocol):
    """The rooms service (shared.clients.RoomsClient)."""

    async def get(self, room_id: str, *, correlation_id: str | None = None) -> Room | None: ...

    async def get_by_stream(self, stream_id: str, *, correlation_id: str | None = None) -> Room | None: ...

    async def ban_anchor(self, anchor_id: str, *, ban_id: str, reason: str, until: datetime,
                         correlation_id: str | None = None) -> list[Room]:
        """Rooms records the ban and closes the anchor's open rooms; the rooms it closed."""


class Publisher(Protocol):
    """Events and commands out (the bus)."""

    async def publish_event(self, payload: Contract, *, correlation_id: str | None = None,
                            message_id: str | None = None) -> Envelope: ...

    async def publish_command(self, payload: Contract, *, correlation_id: str | None = None,
                              message_id: str | None = None) -> Envelope: ...


@dataclass(frozen=True)
class DetectionPolicy:
    ban_score: float  # a detection score at or over this bans automatically
    ban_hours: int
    auto_bans_per_minute: int  # past this, a ban verdict opens a case for a human instead
