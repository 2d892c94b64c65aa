"""In-memory implementations of the moderation service's ports (services/moderation/ports.py)
and a recording cloud (events and commands out: tests/fakes/publisher.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.moderation.repository import ban_record
from shared.cloud import CloudPort, CloudUnavailable, StreamState
from shared.contracts import BanRecord, Case, CaseStatus, CloseReason, Room, RoomStatus

Doc = dict[str, Any]


def _attempt(records: dict[str, Doc], key: str, fields: Doc, error: str | None) -> int:
    """One more attempt on an audit record, as the repository keeps them; the attempts so far."""
    record = records.setdefault(key, {"attempts": 0, "errors": []})
    record.update(fields)
    record["attempts"] += 1
    if error is not None:
        record["errors"].append(error)
    return int(record["attempts"])


class InMemoryModerationStore:
    def __init__(self) -> None:
        self.cases: dict[str, Case] = {}
        self.audit: dict[str, Doc] = {}
        self.anchor_bans: dict[str, Doc] = {}
        self.cuts: dict[str, Doc] = {}

    async def add_case(self, case: Case) -> bool:
        if case.id in self.cases:
            return False
        self.cases[case.id] = case
        return True

    async def get_case(self, case_id: str) -> Case | None:
        return self.cases.get(case_id)

    async def resolve_case(self, case_id: str, status: CaseStatus, by: str, at: datetime) -> Case | None:
        case = self.cases.get(case_id)
        if case is None or case.status is not CaseStatus.OPEN:
            return None
        self.cases[case_id] = case.model_copy(update={"status": status, "resolved_by": by, "resolved_at": at})
        return self.cases[case_id]

    async def list_cases(self, status: CaseStatus | None, limit: int) -> list[Case]:
        cases = sorted(self.cases.values(), key=lambda c: c.created_at, reverse=True)
        return [c for c in cases if status is None or c.status is status][:limit]

    async def auto_bans_since(self, since: datetime) -> int:
        return sum(1 for c in self.cases.values()
                   if c.status is CaseStatus.BANNED and c.resolved_by is None and c.created_at >= since)

    async def audit_ban(self, ban_id: str, fields: Doc, *, attempt_error: str | None = None) -> None:
        _attempt(self.audit, ban_id, fields, attempt_error)

    async def audit_cut(self, room_id: str, fields: Doc, *, attempt_error: str | None = None) -> int:
        return _attempt(self.cuts, room_id, fields, attempt_error)

    async def ban_anchor(self, anchor_id: str, until: datetime, reason: str, ban_id: str, stream_id: str) -> None:
        self.anchor_bans[anchor_id] = {"until": until, "reason": reason, "ban_id": ban_id, "stream_id": stream_id}

    async def unban_anchor(self, anchor_id: str, by: str, at: datetime) -> Doc | None:
        for record in self.audit.values():
            if record.get("anchor_id") == anchor_id and record.get("until", at) > at and "lifted_at" not in record:
                record.update(lifted_by=by, lifted_at=at)
        return self.anchor_bans.pop(anchor_id, None)

    async def banned_until(self, anchor_id: str, now: datetime) -> datetime | None:
        ban = self.anchor_bans.get(anchor_id)
        return ban["until"] if ban and ban["until"] > now else None

    async def bans_of(self, anchor_id: str, limit: int) -> list[BanRecord]:
        records = [{"_id": ban_id, **record} for ban_id, record in self.audit.items()
                   if record.get("anchor_id") == anchor_id and "until" in record]
        return [ban_record(doc) for doc in sorted(records, key=lambda d: d["at"], reverse=True)[:limit]]


class InMemoryRoomsClient:
    """The rooms service as moderation sees it (shared.clients.RoomsClient)."""

    def __init__(self, *rooms: Room) -> None:
        self.rooms = {room.id: room for room in rooms}
        self.banned: dict[str, datetime] = {}

    async def get(self, room_id: str, *, correlation_id: str | None = None) -> Room | None:
        return self.rooms.get(room_id)

    async def get_by_stream(self, stream_id: str, *, correlation_id: str | None = None) -> Room | None:
        return next((room for room in self.rooms.values() if room.stream_id == stream_id), None)

    async def ban_anchor(self, anchor_id: str, *, ban_id: str, reason: str, until: datetime,
                         correlation_id: str | None = None) -> list[Room]:
        self.banned[anchor_id] = until
        closed = []
        for room in list(self.rooms.values()):
            if room.anchor_id == anchor_id and room.status is not RoomStatus.CLOSED:
                closed.append(room.model_copy(update={"status": RoomStatus.CLOSED,
                                                      "close_reason": CloseReason.BANNED}))
                self.rooms[room.id] = closed[-1]
        return closed


class RecordingCloud(CloudPort):
    """Records every action; `failures` makes that many next actions fail as the cloud would."""

    name = "recording"

    def __init__(self) -> None:
        self.actions: list[tuple[str, str]] = []
        self.failures = 0

    def _act(self, action: str, stream: str) -> None:
        if self.failures:
            self.failures -= 1
            raise CloudUnavailable(f"{action} failed")
        self.actions.append((action, stream))

    async def stream_states(self, streams: Sequence[str]) -> dict[str, StreamState]:
        return dict.fromkeys(streams, StreamState.UNKNOWN)

    async def forbid(self, stream: str, *, reason: str, resume_at: datetime) -> None:
        self._act("forbid", stream)

    async def drop(self, stream: str) -> None:
        self._act("drop", stream)

    async def resume(self, stream: str) -> None:
        self._act("resume", stream)
