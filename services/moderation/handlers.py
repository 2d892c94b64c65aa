"""One async function per moderation command or event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog

from services.moderation.domain import CASE_STATUS, Verdict, detection_reason, judge
from services.moderation.repository import ModerationRepository
from shared.bus import Bus, TypedHandler
from shared.cloud import CloudPort, CloudUnavailable
from shared.contracts import (
    AnchorBanned,
    AnchorUnbanned,
    BanRoom,
    Case,
    CaseAction,
    CasePage,
    CaseStatus,
    CloseReason,
    CloseRoom,
    Contract,
    DetectionReported,
    Envelope,
    ErrorCode,
    GetRoom,
    GetRoomByStream,
    ListCases,
    ResolveCase,
    Room,
    RoomStatus,
    UnbanAnchor,
)
from shared.errors import DomainError

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ModerationPorts:
    repo: ModerationRepository
    bus: Bus
    cloud: CloudPort
    request_timeout: float
    detection_ban_score: float
    detection_ban_hours: int


async def _ask_room(ports: ModerationPorts, query: GetRoom | GetRoomByStream) -> Room | None:
    try:
        return Room.model_validate(await ports.bus.request(query, timeout=ports.request_timeout))
    except DomainError as exc:
        if exc.code is ErrorCode.NOT_FOUND:
            return None
        raise


async def ban_room(env: Envelope, cmd: BanRoom, ports: ModerationPorts) -> None:
    """Close the room, then have the cloud forbid and drop its stream; ack only once the cloud agreed.

    The room is closed first so that every local check (the media server's publish hook, the
    list) refuses it at once, even while the cloud call is still being retried.
    """
    ban_id = env.id  # a redelivered ban command repeats the same, idempotent steps
    structlog.contextvars.bind_contextvars(room_id=cmd.room_id, ban_id=ban_id)
    room = await _ask_room(ports, GetRoom(room_id=cmd.room_id))
    if room is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no such room")
    now = datetime.now(UTC)
    until = now + timedelta(hours=cmd.duration_hours)
    audit = {"room_id": room.id, "anchor_id": room.anchor_id, "stream_id": room.stream_id, "reason": cmd.reason,
             "by": cmd.by, "case_id": cmd.case_id, "at": now, "until": until, "cloud": ports.cloud.name}
    await ports.bus.request(CloseRoom(room_id=room.id, reason=CloseReason.BANNED), timeout=ports.request_timeout)
    try:
        await ports.cloud.stop_push(room.stream_id, reason=cmd.reason, resume_at=until)
    except CloudUnavailable as exc:
        await ports.repo.audit_ban(ban_id, {**audit, "cloud_answer": "failed"}, attempt_error=str(exc))
        log.warning("moderation.ban_cloud_failed", error=str(exc))
        raise  # transient: the bus retries with back-off, then dead-letters
    await ports.repo.audit_ban(ban_id, {**audit, "cloud_answer": "accepted"})
    await ports.repo.ban_anchor(room.anchor_id, until, cmd.reason, ban_id, room.stream_id)
    await ports.bus.publish_event(
        AnchorBanned(anchor_id=room.anchor_id, ban_id=ban_id, room_id=room.id, reason=cmd.reason, until=until),
        message_id=f"{ban_id}:anchor_banned", correlation_id=env.correlation_id,
    )
    log.warning("moderation.banned", anchor_id=room.anchor_id, stream_id=room.stream_id, by=cmd.by,
                until=until.isoformat(), reason=cmd.reason)


async def unban_anchor(env: Envelope, cmd: UnbanAnchor, ports: ModerationPorts) -> Contract | None:
    lifted = await ports.repo.unban_anchor(cmd.anchor_id)
    await ports.bus.publish_event(AnchorUnbanned(anchor_id=cmd.anchor_id), correlation_id=env.correlation_id)
    if lifted is not None:
        try:
            await ports.cloud.resume(lifted["stream_id"])
        except CloudUnavailable as exc:  # the stream's room is closed for good; resuming is tidiness
            log.warning("moderation.resume_failed", stream_id=lifted["stream_id"], error=str(exc))
    log.info("moderation.unbanned", anchor_id=cmd.anchor_id, by=cmd.by, was_banned=lifted is not None)
    return None


async def detected(env: Envelope, report: DetectionReported, ports: ModerationPorts) -> None:
    room = await _ask_room(ports, GetRoomByStream(stream_id=report.stream_id))
    verdict = judge(report, ban_score=ports.detection_ban_score)
    if verdict is Verdict.BAN and (room is None or room.status is RoomStatus.CLOSED):
        verdict = Verdict.RECORD  # nothing live to ban
    case = Case(id=env.id, stream_id=report.stream_id, room_id=room.id if room else None,
                anchor_id=room.anchor_id if room else None, suggestion=report.suggestion, score=report.score,
                label=report.label, img=report.img, status=CASE_STATUS[verdict], created_at=datetime.now(UTC))
    if not await ports.repo.add_case(case):
        return  # the same report again (Tencent retries callbacks)
    log.info("moderation.case", case_id=case.id, verdict=verdict.value, stream_id=report.stream_id)
    if verdict is Verdict.BAN and room is not None:
        await ports.bus.publish_command(
            BanRoom(room_id=room.id, reason=detection_reason(report), duration_hours=ports.detection_ban_hours,
                    by="detection", case_id=case.id),
            message_id=f"ban-for-{case.id}", correlation_id=env.correlation_id,
        )


async def list_cases(env: Envelope, cmd: ListCases, ports: ModerationPorts) -> CasePage:
    return CasePage(cases=await ports.repo.list_cases(cmd.status, cmd.limit))


async def resolve_case(env: Envelope, cmd: ResolveCase, ports: ModerationPorts) -> Case:
    case = await ports.repo.get_case(cmd.case_id)
    if case is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no such case")
    if case.status is not CaseStatus.OPEN:
        raise DomainError(ErrorCode.CONFLICT, f"the case is already {case.status.value}", case_status=case.status.value)
    if cmd.action is CaseAction.BAN:
        if case.room_id is None:
            raise DomainError(ErrorCode.CONFLICT, "the case has no room to ban")
        await ports.bus.publish_command(
            BanRoom(room_id=case.room_id, reason=cmd.reason or f"moderator review of case {case.id}",
                    duration_hours=cmd.duration_hours, by=cmd.by, case_id=case.id),
            message_id=f"ban-for-{case.id}", correlation_id=env.correlation_id,
        )
    status = CaseStatus.BANNED if cmd.action is CaseAction.BAN else CaseStatus.DISMISSED
    resolved = await ports.repo.resolve_case(case.id, status, cmd.by, datetime.now(UTC))
    if resolved is None:
        raise DomainError(ErrorCode.CONFLICT, "the case was resolved meanwhile")
    return resolved



COMMAND_HANDLERS: dict[type[Contract], TypedHandler[ModerationPorts]] = {
    BanRoom: ban_room,
    UnbanAnchor: unban_anchor,
    ListCases: list_cases,
    ResolveCase: resolve_case,
}
EVENT_HANDLERS: dict[type[Contract], TypedHandler[ModerationPorts]] = {DetectionReported: detected}
