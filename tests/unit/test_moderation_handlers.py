"""Every moderation handler, wired as the bootstrap wires them, on in-memory ports: milliseconds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from services.moderation.bootstrap import request_routes, work_routes
from services.moderation.ports import DetectionPolicy
from shared.bus import Routes
from shared.cloud import CloudUnavailable
from shared.contracts import (
    AnchorBanned,
    AnchorUnbanned,
    BanRoom,
    Case,
    CaseAction,
    CasePage,
    CaseStatus,
    CloseReason,
    Contract,
    DetectionReported,
    ErrorCode,
    ListCases,
    ResolveCase,
    Room,
    RoomStatus,
    Suggestion,
    UnbanAnchor,
    wrap,
)
from shared.errors import DomainError
from tests.fakes.moderation import InMemoryModerationStore, InMemoryRoomsClient, RecordingCloud, RecordingPublisher


def live_room(room_id: str = "r1", anchor: str = "alice") -> Room:
    return Room(id=room_id, anchor_id=anchor, title="t", cover_url="https://x/c.jpg", status=RoomStatus.ACTIVE,
                created_at=datetime.now(UTC), stream_id=f"onair_{room_id}")


@dataclass
class Moderation:
    store: InMemoryModerationStore
    rooms: InMemoryRoomsClient
    cloud: RecordingCloud
    bus: RecordingPublisher
    routes: Routes

    async def send(self, message: Contract, message_id: str | None = None) -> Contract | None:
        return await self.routes[type(message)](wrap(message, message_id=message_id), message)

    async def report(self, suggestion: Suggestion, report_id: str, stream: str = "onair_r1") -> Case:
        await self.send(DetectionReported(stream_id=stream, suggestion=suggestion, score=50.0), message_id=report_id)
        return self.store.cases[report_id]


@pytest.fixture
def moderation() -> Moderation:
    store, rooms, cloud, bus = InMemoryModerationStore(), InMemoryRoomsClient(live_room()), RecordingCloud(), \
        RecordingPublisher()
    policy = DetectionPolicy(ban_score=90.0, ban_hours=24)
    return Moderation(store, rooms, cloud, bus, {**work_routes(store, rooms, cloud, bus, policy),
                                                 **request_routes(store, cloud, bus)})


def refused(code: ErrorCode) -> pytest.RaisesExc[DomainError]:
    return pytest.raises(DomainError, check=lambda exc: exc.code is code)


async def test_a_ban_closes_the_room_stops_the_push_and_bans_the_anchor(moderation: Moderation) -> None:
    await moderation.send(BanRoom(room_id="r1", reason="spam", by="mod"), message_id="ban-1")
    assert moderation.rooms.rooms["r1"].close_reason is CloseReason.BANNED
    assert moderation.cloud.actions == [("forbid", "onair_r1"), ("drop", "onair_r1")]
    assert moderation.store.audit["ban-1"]["cloud_answer"] == "accepted"
    assert moderation.store.anchor_bans["alice"]["ban_id"] == "ban-1"
    [event] = moderation.bus.events
    assert (event.type, event.id, event.payload["anchor_id"]) == (AnchorBanned.TYPE, "ban-1:anchor_banned", "alice")
    with refused(ErrorCode.NOT_FOUND):
        await moderation.send(BanRoom(room_id="nope", reason="spam", by="mod"))


async def test_a_ban_the_cloud_refused_is_retried_and_announced_once(moderation: Moderation) -> None:
    moderation.cloud.failures = 1
    ban = BanRoom(room_id="r1", reason="spam", by="mod")
    with pytest.raises(CloudUnavailable):  # transient: the bus hands it back
        await moderation.send(ban, message_id="ban-1")
    assert moderation.bus.events == [] and "alice" not in moderation.store.anchor_bans
    await moderation.send(ban, message_id="ban-1")  # the redelivery
    assert moderation.store.audit["ban-1"]["attempts"] == 2 and len(moderation.store.audit["ban-1"]["errors"]) == 1
    assert [e.type for e in moderation.bus.events] == [AnchorBanned.TYPE]


async def test_an_unban_lifts_the_ban_and_resumes_the_stream(moderation: Moderation) -> None:
    await moderation.send(BanRoom(room_id="r1", reason="spam", by="mod"), message_id="ban-1")
    moderation.cloud.failures = 1  # resuming is tidiness: a cloud failure does not fail the unban
    assert await moderation.send(UnbanAnchor(anchor_id="alice", by="mod")) == AnchorUnbanned(anchor_id="alice")
    assert moderation.store.anchor_bans == {}
    assert await moderation.send(UnbanAnchor(anchor_id="alice", by="mod")) == AnchorUnbanned(anchor_id="alice")
    assert moderation.cloud.actions[-1] == ("drop", "onair_r1")  # the second unban had nothing to resume
    assert [e.type for e in moderation.bus.events] == [AnchorBanned.TYPE, AnchorUnbanned.TYPE, AnchorUnbanned.TYPE]


async def test_a_blocked_stream_is_banned_once_a_doubtful_one_waits_for_a_human(moderation: Moderation) -> None:
    blocked = await moderation.report(Suggestion.BLOCK, "report-1")
    await moderation.report(Suggestion.BLOCK, "report-1")  # Tencent retries its callback
    assert blocked.status is CaseStatus.BANNED and (blocked.room_id, blocked.anchor_id) == ("r1", "alice")
    [ban] = moderation.bus.commands
    assert (ban.type, ban.id, ban.payload["by"], ban.payload["duration_hours"]) == (
        BanRoom.TYPE, "ban-for-report-1", "detection", 24)
    review = await moderation.report(Suggestion.REVIEW, "report-2")
    passed = await moderation.report(Suggestion.PASS, "report-3")
    unknown = await moderation.report(Suggestion.BLOCK, "report-4", stream="onair_unknown")
    assert [c.status for c in (review, passed, unknown)] == [CaseStatus.OPEN, CaseStatus.RECORDED, CaseStatus.RECORDED]
    assert len(moderation.bus.commands) == 1
    page = await moderation.send(ListCases(status=CaseStatus.OPEN))
    assert isinstance(page, CasePage) and [c.id for c in page.cases] == ["report-2"]


async def test_resolving_a_case_bans_only_after_the_resolution_won(moderation: Moderation) -> None:
    case = await moderation.report(Suggestion.REVIEW, "report-1")
    ban = ResolveCase(case_id=case.id, action=CaseAction.BAN, by="mod", reason="nudity")
    resolved = await moderation.send(ban)
    assert isinstance(resolved, Case) and (resolved.status, resolved.resolved_by) == (CaseStatus.BANNED, "mod")
    assert [(c.id, c.payload["reason"]) for c in moderation.bus.commands] == [("ban-for-report-1", "nudity")]
    assert await moderation.send(ban) == resolved  # a retry sends the same ban again (one ban per case)
    assert [c.id for c in moderation.bus.commands] == ["ban-for-report-1"] * 2
    with refused(ErrorCode.CONFLICT):
        await moderation.send(ResolveCase(case_id=case.id, action=CaseAction.DISMISS, by="mod"))
    with refused(ErrorCode.NOT_FOUND):
        await moderation.send(ResolveCase(case_id="nope", action=CaseAction.DISMISS, by="mod"))


async def test_a_moderator_who_lost_the_race_bans_nothing(moderation: Moderation) -> None:
    case = await moderation.report(Suggestion.REVIEW, "report-1")
    read_case = moderation.store.get_case

    async def read_then_lose(case_id: str) -> Case | None:
        seen = await read_case(case_id)  # the case as this moderator read it: open
        await moderation.store.resolve_case(case_id, CaseStatus.DISMISSED, "other-mod", datetime.now(UTC))
        return seen

    moderation.store.get_case = read_then_lose  # type: ignore[method-assign]
    with refused(ErrorCode.CONFLICT):
        await moderation.send(ResolveCase(case_id=case.id, action=CaseAction.BAN, by="mod"))
    assert moderation.bus.commands == []
    assert moderation.store.cases[case.id].resolved_by == "other-mod"
