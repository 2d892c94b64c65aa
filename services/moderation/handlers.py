"""One async function per moderation command or event, each taking only the ports it uses
(services/moderation/ports.py); the bootstrap wires them to the bus."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog

from services.moderation.domain import CASE_STATUS, Verdict, admit, detection_reason, judge
from services.moderation.ports import DetectionPolicy, ModerationStore, Publisher, Rooms
from shared.cloud import CloudPort, CloudUnavailable
from shared.contracts import (
    AnchorBanned,
    AnchorBans,
    AnchorUnbanned,
    BanAccepted,
    BanRoom,
    Case,
    CaseAction,
    CasePage,
    CaseStatus,
    DetectionReported,
    ErrorCode,
    ListAnchorBans,
    ListCases,
    ResolveCase,
    RoomClosed,
    StreamCut,
    UnbanAnchor,
)
from shared.errors import DomainError
from shared.metrics import DETECTION_BANS_DEFERRED, STREAM_CUTS

log = structlog.get_logger(__name__)

AUTO_BAN_WINDOW = timedelta(minutes=1)


def _ban_for(case: Case, *, reason: str, duration_hours: int, by: str) -> tuple[BanRoom, str]:
    """The ban a case leads to, and its message id: one ban per case, however often it is sent."""
    assert case.room_id is not None
    return BanRoom(room_id=case.room_id, reason=reason, duration_hours=duration_hours, by=by,
                   case_id=case.id), f"ban-for-{case.id}"


async def ban_room(cmd: BanRoom, *, ban_id: str, correlation_id: str | None, rooms: Rooms, store: ModerationStore,
                   events: Publisher) -> BanAccepted:
    """Ban the room's anchor, in an order that leaves no window: record the ban (moderation's own
    record and rooms' copy, which refuses creates from then on), close every open room of the
    anchor as `banned`, and only then answer (the gateway's 202). Cutting the pushes follows from
    the rooms' `room.closed` events (`cut_stream`), retried until the cloud agrees.

    `ban_id` is the command's message id: a repeated or redelivered ban repeats the same,
    idempotent steps. The banned room may be closed already (a case resolved after the anchor
    moved to a new room): the ban is the anchor's, so the new room closes too."""
    structlog.contextvars.bind_contextvars(room_id=cmd.room_id, ban_id=ban_id)
    room = await rooms.get(cmd.room_id, correlation_id=correlation_id)
    if room is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no such room")
    now = datetime.now(UTC)
    until = now + timedelta(hours=cmd.duration_hours)
    await store.ban_anchor(room.anchor_id, until, cmd.reason, ban_id, room.stream_id)
    closed = await rooms.ban_anchor(room.anchor_id, ban_id=ban_id, reason=cmd.reason, until=until,
                                    correlation_id=correlation_id)
    closed_ids = [closed_room.id for closed_room in closed]
    await store.audit_ban(ban_id, {"room_id": room.id, "anchor_id": room.anchor_id, "stream_id": room.stream_id,
                                   "reason": cmd.reason, "by": cmd.by, "case_id": cmd.case_id, "at": now,
                                   "until": until, "rooms_closed": closed_ids})
    await events.publish_event(
        AnchorBanned(anchor_id=room.anchor_id, ban_id=ban_id, room_id=room.id, reason=cmd.reason, until=until),
        message_id=f"{ban_id}:anchor_banned", correlation_id=correlation_id,
    )
    log.warning("moderation.banned", anchor_id=room.anchor_id, by=cmd.by, until=until.isoformat(),
                reason=cmd.reason, rooms_closed=closed_ids)
    return BanAccepted(ban_id=ban_id, room_id=room.id, anchor_id=room.anchor_id, until=until,
                       closed_room_ids=closed_ids)


async def cut_stream(event: RoomClosed, *, cloud: CloudPort, store: ModerationStore, events: Publisher,
                     forbid_for: timedelta) -> None:
    """Every close ends the stream: the push is forbidden (Tencent: an encoder that reconnects with
    its still-valid push URL is refused; rooms never reuse a stream) and dropped (nginx: on every
    media-server process). A failure is audited and raised: the bus retries with back-off."""
    room = event.room
    structlog.contextvars.bind_contextvars(room_id=room.id, stream_id=room.stream_id)
    reason = f"room closed: {room.close_reason.value if room.close_reason else 'closed'}"
    fields = {"room_id": room.id, "stream_id": room.stream_id, "reason": reason, "cloud": cloud.name,
              "closed_at": room.closed_at}
    try:
        await cloud.stop_push(room.stream_id, reason=reason, resume_at=datetime.now(UTC) + forbid_for)
    except CloudUnavailable as exc:
        await store.audit_cut(room.id, fields, attempt_error=str(exc))
        STREAM_CUTS.labels("failed").inc()
        log.warning("moderation.cut_failed", error=str(exc))
        raise
    attempts = await store.audit_cut(room.id, {**fields, "cut_at": datetime.now(UTC)})
    STREAM_CUTS.labels("done").inc()
    await events.publish_event(StreamCut(room_id=room.id, stream_id=room.stream_id, close_reason=reason,
                                         attempts=attempts), message_id=f"{room.id}:stream_cut")
    log.info("moderation.stream_cut", reason=reason, attempts=attempts)


async def unban_anchor(cmd: UnbanAnchor, *, correlation_id: str | None, store: ModerationStore,
                       events: Publisher) -> AnchorUnbanned:
    """Lift the anchor's ban: it may open new rooms. Its closed rooms stay closed, their streams
    forbidden (a stream is never reused, so nothing is resumed)."""
    lifted = await store.unban_anchor(cmd.anchor_id, cmd.by, datetime.now(UTC))
    unbanned = AnchorUnbanned(anchor_id=cmd.anchor_id)
    await events.publish_event(unbanned, correlation_id=correlation_id)
    log.info("moderation.unbanned", anchor_id=cmd.anchor_id, by=cmd.by, was_banned=lifted is not None)
    return unbanned


async def detected(report: DetectionReported, *, case_id: str, correlation_id: str | None, rooms: Rooms,
                   store: ModerationStore, commands: Publisher, policy: DetectionPolicy) -> None:
    """A case per report (`case_id`: the report's message id, so a repeated callback is one case)."""
    room = await rooms.get_by_stream(report.stream_id, correlation_id=correlation_id)
    wanted = judge(report, ban_score=policy.ban_score)
    recent = (await store.auto_bans_since(datetime.now(UTC) - AUTO_BAN_WINDOW)) if wanted is Verdict.BAN else 0
    verdict = admit(wanted, room, recent_auto_bans=recent, budget=policy.auto_bans_per_minute)
    if wanted is Verdict.BAN and verdict is Verdict.REVIEW and recent >= policy.auto_bans_per_minute:
        DETECTION_BANS_DEFERRED.inc()
        log.warning("moderation.auto_ban_deferred", stream_id=report.stream_id, recent_auto_bans=recent,
                    budget=policy.auto_bans_per_minute)
    case = Case(id=case_id, stream_id=report.stream_id, room_id=room.id if room else None,
                anchor_id=room.anchor_id if room else None, suggestion=report.suggestion, score=report.score,
                label=report.label, img=report.img, status=CASE_STATUS[verdict], created_at=datetime.now(UTC))
    if not await store.add_case(case):
        return  # the same report again (Tencent retries callbacks)
    log.info("moderation.case", case_id=case.id, verdict=verdict.value, stream_id=report.stream_id)
    if verdict is Verdict.BAN:
        ban, ban_id = _ban_for(case, reason=detection_reason(report), duration_hours=policy.ban_hours, by="detection")
        await commands.publish_command(ban, message_id=ban_id, correlation_id=correlation_id)


async def anchor_bans(query: ListAnchorBans, *, store: ModerationStore) -> AnchorBans:
    until = await store.banned_until(query.anchor_id, datetime.now(UTC))
    bans = await store.bans_of(query.anchor_id, query.limit)
    return AnchorBans(anchor_id=query.anchor_id, banned_until=until, bans=bans)


async def list_cases(query: ListCases, *, store: ModerationStore) -> CasePage:
    return CasePage(cases=await store.list_cases(query.status, query.limit))


async def resolve_case(cmd: ResolveCase, *, correlation_id: str | None, store: ModerationStore, rooms: Rooms,
                       events: Publisher) -> Case:
    """Resolve an open case; the ban is made only after the resolution won (a moderator who lost
    the race to another bans nothing), and before the answer, so it holds once the moderator sees
    it. Repeating a ban resolution makes the same ban again (one ban per case, by its id), so a
    retry after a failure half-way completes it."""
    case = await store.get_case(cmd.case_id)
    if case is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no such case")
    status = CaseStatus.BANNED if cmd.action is CaseAction.BAN else CaseStatus.DISMISSED
    repeated_ban = case.status is CaseStatus.BANNED and status is CaseStatus.BANNED and case.resolved_by is not None
    if case.status is not CaseStatus.OPEN and not repeated_ban:
        raise DomainError(ErrorCode.CONFLICT, f"the case is already {case.status.value}", case_status=case.status.value)
    if status is CaseStatus.BANNED and case.room_id is None:
        raise DomainError(ErrorCode.CONFLICT, "the case has no room to ban")
    if not repeated_ban:
        resolved = await store.resolve_case(case.id, status, cmd.by, datetime.now(UTC))
        if resolved is None:
            raise DomainError(ErrorCode.CONFLICT, "the case was resolved meanwhile")
        case = resolved
    if status is CaseStatus.BANNED:
        ban, ban_id = _ban_for(case, reason=cmd.reason or f"moderator review of case {case.id}",
                               duration_hours=cmd.duration_hours, by=cmd.by)
        await ban_room(ban, ban_id=ban_id, correlation_id=correlation_id, rooms=rooms, store=store, events=events)
    return case
