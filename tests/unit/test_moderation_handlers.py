"""Every moderation handler, wired as the bootstrap wires them, on in-memory ports: milliseconds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from services.moderation.bootstrap import cut_routes, request_routes, work_routes
from services.moderation.ports import DetectionPolicy
from shared import contracts as msg
from shared.bus import Routes
from shared.cloud import CloudUnavailable
from shared.errors import DomainError
from tests.fakes.moderation import InMemoryModerationStore, InMemoryRoomsClient, RecordingCloud
from tests.fakes.publisher import RecordingPublisher


def live_room(room_id: str = "r1", anchor: str = "alice") -> msg.Room:
    return msg.Room(id=room_id, anchor_id=anchor, title="t", cover_url="https://x/c.jpg", status=msg.RoomStatus.ACTIVE,
                    created_at=datetime.now(UTC), stream_id=f"onair_{room_id}", stream_state=msg.LiveState.LIVE)


@dataclass
class Moderation:
    store: InMemoryModerationStore
    rooms: InMemoryRoomsClient
    cloud: RecordingCloud
    bus: RecordingPublisher
    routes: Routes

    async def send(self, message: msg.Contract, message_id: str | None = None) -> msg.Contract | None:
        return await self.routes[type(message)](msg.wrap(message, message_id=message_id), message)

    async def report(self, suggestion: msg.Suggestion, report_id: str, stream: str = "onair_r1") -> msg.Case:
        report = msg.DetectionReported(stream_id=stream, suggestion=suggestion, score=50.0)
        await self.send(report, message_id=report_id)
        return self.store.cases[report_id]


@pytest.fixture
def moderation() -> Moderation:
    store, rooms, cloud, bus = (InMemoryModerationStore(), InMemoryRoomsClient(live_room()), RecordingCloud(),
                                RecordingPublisher())
    policy = DetectionPolicy(ban_score=90.0, ban_hours=24, auto_bans_per_minute=3)
    return Moderation(store, rooms, cloud, bus, {**work_routes(store, rooms, bus, policy),
                                                 **cut_routes(store, cloud, bus, timedelta(hours=24)),
                                                 **request_routes(store, rooms, bus)})


def refused(code: msg.ErrorCode) -> pytest.RaisesExc[DomainError]:
    return pytest.raises(DomainError, check=lambda exc: exc.code is code)


async def test_a_ban_is_recorded_and_closes_the_anchors_rooms_before_it_is_answered(moderation: Moderation) -> None:
    accepted = await moderation.send(msg.BanRoom(room_id="r1", reason="spam", by="mod"), message_id="ban-1")
    assert isinstance(accepted, msg.BanAccepted)
    assert (accepted.ban_id, accepted.anchor_id, accepted.closed_room_ids) == ("ban-1", "alice", ["r1"])
    assert moderation.rooms.rooms["r1"].close_reason is msg.CloseReason.BANNED
    assert moderation.rooms.banned["alice"] == accepted.until  # rooms' copy: no create from now on
    assert moderation.store.anchor_bans["alice"]["ban_id"] == "ban-1"
    assert moderation.store.audit["ban-1"]["rooms_closed"] == ["r1"]
    assert moderation.cloud.actions == []  # the cut follows the room's close (below), not the ban
    [event] = moderation.bus.events
    assert (event.type, event.id, event.payload["anchor_id"]) == (msg.AnchorBanned.TYPE, "ban-1:anchor_banned", "alice")
    with refused(msg.ErrorCode.NOT_FOUND):
        await moderation.send(msg.BanRoom(room_id="nope", reason="spam", by="mod"))


async def test_every_close_cuts_the_push_retried_until_the_cloud_agrees(moderation: Moderation) -> None:
    room = live_room().model_copy(update={"status": msg.RoomStatus.CLOSED, "close_reason": msg.CloseReason.ANCHOR})
    moderation.cloud.failures = 1
    with pytest.raises(CloudUnavailable):  # transient: the bus hands it back, with back-off
        await moderation.send(msg.RoomClosed(room=room))
    assert moderation.store.cuts["r1"]["attempts"] == 1 and len(moderation.store.cuts["r1"]["errors"]) == 1
    assert moderation.bus.events == []
    await moderation.send(msg.RoomClosed(room=room))  # the redelivery
    assert moderation.cloud.actions == [("forbid", "onair_r1"), ("drop", "onair_r1")]
    cut_record = moderation.store.cuts["r1"]
    assert (cut_record["attempts"], cut_record["reason"]) == (2, "room closed: anchor")
    [cut] = moderation.bus.events
    assert (cut.type, cut.payload["attempts"]) == (msg.StreamCut.TYPE, 2)


async def test_a_ban_reaches_the_anchors_newer_room(moderation: Moderation) -> None:
    """A case on R1; the anchor closed R1 and went live in R2: banning R1 bans the anchor, R2 closes."""
    moderation.rooms.rooms["r1"] = live_room().model_copy(update={"status": msg.RoomStatus.CLOSED,
                                                                  "close_reason": msg.CloseReason.ANCHOR})
    moderation.rooms.rooms["r2"] = live_room("r2")
    accepted = await moderation.send(msg.BanRoom(room_id="r1", reason="spam", by="mod"), message_id="ban-1")
    assert isinstance(accepted, msg.BanAccepted) and accepted.closed_room_ids == ["r2"]
    assert moderation.rooms.rooms["r2"].close_reason is msg.CloseReason.BANNED


async def test_an_unban_lifts_the_ban_and_resumes_nothing(moderation: Moderation) -> None:
    await moderation.send(msg.BanRoom(room_id="r1", reason="spam", by="mod"), message_id="ban-1")
    assert await moderation.send(msg.UnbanAnchor(anchor_id="alice", by="mod")) == msg.AnchorUnbanned(anchor_id="alice")
    assert moderation.store.anchor_bans == {}
    assert await moderation.send(msg.UnbanAnchor(anchor_id="alice", by="mod")) == msg.AnchorUnbanned(anchor_id="alice")
    assert moderation.cloud.actions == []  # a closed room's stream stays forbidden: streams are never reused
    banned, unbanned = msg.AnchorBanned.TYPE, msg.AnchorUnbanned.TYPE
    assert [e.type for e in moderation.bus.events] == [banned, unbanned, unbanned]


async def test_a_blocked_stream_is_banned_once_a_doubtful_one_waits_for_a_human(moderation: Moderation) -> None:
    blocked = await moderation.report(msg.Suggestion.BLOCK, "report-1")
    await moderation.report(msg.Suggestion.BLOCK, "report-1")  # Tencent retries its callback
    assert blocked.status is msg.CaseStatus.BANNED and (blocked.room_id, blocked.anchor_id) == ("r1", "alice")
    [ban] = moderation.bus.commands
    assert (ban.type, ban.id, ban.payload["by"], ban.payload["duration_hours"]) == (
        msg.BanRoom.TYPE, "ban-for-report-1", "detection", 24)
    review = await moderation.report(msg.Suggestion.REVIEW, "report-2")
    passed = await moderation.report(msg.Suggestion.PASS, "report-3")
    unknown = await moderation.report(msg.Suggestion.BLOCK, "report-4", stream="onair_unknown")
    statuses = [c.status for c in (review, passed, unknown)]
    assert statuses == [msg.CaseStatus.OPEN, msg.CaseStatus.RECORDED, msg.CaseStatus.RECORDED]
    assert len(moderation.bus.commands) == 1
    page = await moderation.send(msg.ListCases(status=msg.CaseStatus.OPEN))
    assert isinstance(page, msg.CasePage) and [c.id for c in page.cases] == ["report-2"]


async def test_resolving_a_case_bans_only_after_the_resolution_won(moderation: Moderation) -> None:
    case = await moderation.report(msg.Suggestion.REVIEW, "report-1")
    ban = msg.ResolveCase(case_id=case.id, action=msg.CaseAction.BAN, by="mod", reason="nudity")
    resolved = await moderation.send(ban)
    assert isinstance(resolved, msg.Case) and (resolved.status, resolved.resolved_by) == (msg.CaseStatus.BANNED, "mod")
    assert moderation.rooms.rooms["r1"].close_reason is msg.CloseReason.BANNED  # banned before the answer
    assert moderation.store.audit["ban-for-report-1"]["reason"] == "nudity"
    assert await moderation.send(ban) == resolved  # a retry makes the same ban again (one ban per case)
    assert list(moderation.store.audit) == ["ban-for-report-1"]
    assert moderation.bus.commands == []
    with refused(msg.ErrorCode.CONFLICT):
        await moderation.send(msg.ResolveCase(case_id=case.id, action=msg.CaseAction.DISMISS, by="mod"))
    with refused(msg.ErrorCode.NOT_FOUND):
        await moderation.send(msg.ResolveCase(case_id="nope", action=msg.CaseAction.DISMISS, by="mod"))


async def test_a_moderator_who_lost_the_race_bans_nothing(moderation: Moderation) -> None:
    case = await moderation.report(msg.Suggestion.REVIEW, "report-1")
    read_case = moderation.store.get_case

    async def read_then_lose(case_id: str) -> msg.Case | None:
        seen = await read_case(case_id)  # the case as this moderator read it: open
        await moderation.store.resolve_case(case_id, msg.CaseStatus.DISMISSED, "other-mod", datetime.now(UTC))
        return seen

    moderation.store.get_case = read_then_lose  # type: ignore[method-assign]
    with refused(msg.ErrorCode.CONFLICT):
        await moderation.send(msg.ResolveCase(case_id=case.id, action=msg.CaseAction.BAN, by="mod"))
    assert moderation.bus.commands == [] and moderation.store.audit == {}
    assert moderation.store.cases[case.id].resolved_by == "other-mod"


async def test_a_leaked_callback_pair_bans_at_most_the_budget_a_minute(moderation: Moderation) -> None:
    """Block reports for every live stream (a leaked callback pair): 3 bans, then cases for humans."""
    for n in range(2, 9):
        moderation.rooms.rooms[f"r{n}"] = live_room(f"r{n}", anchor=f"anchor-{n}")
    cases = [await moderation.report(msg.Suggestion.BLOCK, f"report-{n}", stream=f"onair_r{n}") for n in range(1, 9)]
    assert [c.status for c in cases] == [msg.CaseStatus.BANNED] * 3 + [msg.CaseStatus.OPEN] * 5
    assert len(moderation.bus.commands) == 3


async def test_only_a_room_live_now_is_banned_by_a_callback(moderation: Moderation) -> None:
    moderation.rooms.rooms["r1"] = live_room().model_copy(update={"stream_state": msg.LiveState.INTERRUPTED})
    off_air = await moderation.report(msg.Suggestion.BLOCK, "report-1")
    moderation.rooms.rooms["r2"] = live_room("r2", "bob").model_copy(
        update={"status": msg.RoomStatus.UNACTIVE, "stream_state": None})
    unactive = await moderation.report(msg.Suggestion.BLOCK, "report-2", stream="onair_r2")
    assert (off_air.status, unactive.status) == (msg.CaseStatus.OPEN, msg.CaseStatus.OPEN)  # for a human
    assert moderation.bus.commands == []
