"""The moderation context: content detection, cases, bans."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import ClassVar

from pydantic import Field

from shared.contracts.base import Contract, Query, Request


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


class BanAccepted(Contract):
    """A ban recorded and in force: the anchor can no longer create, activate or push, and the
    rooms it closed have their pushes cut (by their `room.closed` events)."""

    ban_id: str
    room_id: str
    anchor_id: str
    until: datetime
    closed_room_ids: list[str]


class BanRoom(Request[BanAccepted]):
    """Ban a room's anchor: the ban is recorded, every open room of the anchor closes as `banned`
    (its push cut and forbidden), and the anchor may not open a new room until the ban ends.
    Asked by the gateway (the 202 follows the record), told by automatic detection bans."""

    TYPE: ClassVar[str] = "moderation.ban"
    room_id: str
    reason: str = Field(min_length=1, max_length=500)
    duration_hours: int = Field(168, ge=1, le=2160, description="Tencent allows at most 90 days")
    by: str = Field(description="Moderator's user id, or `detection` for automatic bans")
    case_id: str | None = None


class AnchorUnbanned(Contract):
    TYPE: ClassVar[str] = "moderation.anchor_unbanned"
    anchor_id: str


class UnbanAnchor(Request[AnchorUnbanned]):
    TYPE: ClassVar[str] = "moderation.unban"
    anchor_id: str
    by: str


class StreamCut(Contract):
    """A closed room's push was cut at the media server or the cloud (audited by moderation)."""

    TYPE: ClassVar[str] = "moderation.stream_cut"
    room_id: str
    stream_id: str
    close_reason: str
    attempts: int


class AnchorBanned(Contract):
    TYPE: ClassVar[str] = "moderation.anchor_banned"
    anchor_id: str
    ban_id: str
    room_id: str
    reason: str
    until: datetime


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


class CasePage(Contract):
    cases: list[Case]


class ListCases(Query[CasePage]):
    TYPE: ClassVar[str] = "moderation.list_cases"
    status: CaseStatus | None = None
    limit: int = Field(50, ge=1, le=100)


class CaseAction(enum.StrEnum):
    BAN = "ban"
    DISMISS = "dismiss"


class ResolveCase(Request[Case]):
    TYPE: ClassVar[str] = "moderation.resolve_case"
    case_id: str
    action: CaseAction
    by: str
    reason: str | None = Field(None, max_length=500)
    duration_hours: int = Field(168, ge=1, le=2160)




class BanRecord(Contract):
    """One ban from the audit trail: who, why, from when until when, and who lifted it early."""

    ban_id: str
    room_id: str
    reason: str
    by: str = Field(description="The moderator's user id, or `detection`")
    case_id: str | None = None
    at: datetime
    until: datetime
    lifted_by: str | None = None
    lifted_at: datetime | None = None


class AnchorBans(Contract):
    anchor_id: str
    banned_until: datetime | None = Field(None, description="The ban in force ends then; None: not banned")
    bans: list[BanRecord] = Field(description="Newest first")


class ListAnchorBans(Query[AnchorBans]):
    TYPE: ClassVar[str] = "moderation.anchor_bans"
    anchor_id: str = Field(min_length=1, max_length=128)
    limit: int = Field(20, ge=1, le=100)
