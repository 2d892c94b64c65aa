"""Room rules with no I/O: the state machine, ids, and counter coalescing."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import NamedTuple

from shared.contracts import (
    CloseReason,
    CounterEntry,
    ErrorCode,
    LiveState,
    Room,
    RoomStatus,
    StreamOfflineStrike,
    StreamRecovered,
    StreamStarted,
    StreamStopped,
)
from shared.errors import DomainError

# Target state -> states it may be entered from. `closed` is final.
ALLOWED_SOURCES: dict[RoomStatus, frozenset[RoomStatus]] = {
    RoomStatus.ACTIVE: frozenset({RoomStatus.UNACTIVE}),
    RoomStatus.CLOSED: frozenset({RoomStatus.UNACTIVE, RoomStatus.ACTIVE}),
}
OPEN_STATES = frozenset({RoomStatus.UNACTIVE, RoomStatus.ACTIVE})


def now_ms() -> datetime:
    """Current UTC time at MongoDB's precision (ms), so stored and cursor times compare equal."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def stream_id_for(room_id: str) -> str:
    # One fresh stream per room: rooms never share or reuse a stream name.
    return f"onair_{room_id}"


@dataclass(frozen=True)
class Decision:
    """What a transition request amounts to, given the room as it is now."""

    apply: bool  # True: perform the transition; False: it already happened (idempotent no-op)


def decide(room: Room | None, target: RoomStatus, *, actor_id: str | None) -> Decision:
    """Check a transition request; raise DomainError when it is refused.

    Repeating a transition that already happened is harmless: close on a closed room and
    activate on an active room succeed without a change.
    """
    if room is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no such room")
    if actor_id is not None and room.anchor_id != actor_id:
        raise DomainError(ErrorCode.FORBIDDEN, "only the room's anchor may do this")
    if room.status == target:
        return Decision(apply=False)
    if room.status not in ALLOWED_SOURCES[target]:
        raise DomainError(
            ErrorCode.CONFLICT,
            f"a {room.status.value} room cannot become {target.value}",
            room_status=room.status.value,
            close_reason=room.close_reason.value if room.close_reason else None,
        )
    return Decision(apply=True)


def closing_fields(reason: CloseReason, at: datetime) -> dict[str, object]:
    return {"close_reason": reason, "closed_at": at, "stream_state": None, "interrupted_at": None}


def activation_fields(push: PushMark | None, at: datetime) -> dict[str, object]:
    """An activated room is live, unless its push is known to have stopped already."""
    return {"activated_at": at, **stream_fields(push)}


def stream_fields(push: PushMark | None) -> dict[str, object]:
    if push is not None and not push.on:
        return {"stream_state": LiveState.INTERRUPTED, "interrupted_at": push.at}
    return {"stream_state": LiveState.LIVE, "interrupted_at": None}


# --- pushes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PushMark:
    """The newest thing known about a room's push: which session (nginx's client id on a media
    server process, Tencent's `sequence`; None for what a poll saw), when, and whether it is on."""

    session: str | None
    at: datetime
    on: bool


PushReport = StreamStarted | StreamStopped | StreamOfflineStrike | StreamRecovered


def reported_push(report: PushReport, sent_at: datetime) -> PushMark:
    """What a report says of the push. Sessions are qualified by their source (nginx client ids
    and Tencent sequences never compare); polls have none. `sent_at` when the report has no time."""
    if isinstance(report, StreamStarted | StreamStopped):
        session = f"{report.source}:{report.sequence}" if report.sequence is not None else None
        return PushMark(session, report.event_time or sent_at, isinstance(report, StreamStarted))
    return PushMark(None, report.observed_at or sent_at, isinstance(report, StreamRecovered))


def next_push_mark(current: PushMark | None, report: PushMark) -> PushMark | None:
    """The room's push after a report (start, stop, or a poll), or None when the report changes
    nothing: a repeat, a start that arrives after its own stop, or anything older than what is
    known. Reports arrive late, twice and out of order; session identity and time order them:

    - the known session: a stop ends it; a start or a second stop is a repeat;
    - another session (or a poll): a start wins from the same instant on (a reconnect follows
      the old session's end within the same second), a stop only when strictly newer (the stop
      of an old session that lands after a new session's start never interrupts the new one);
    - but a stop never ends a known session that is on but the stop names another: it is the
      stop of an older session, or a forgery (a leaked callback signature covers no body, and
      stream ids are public, sessions are not). A lost stop is the polls' to catch.
    """
    if current is None:
        return report
    if report.session is not None and report.session == current.session:
        if current.on and not report.on:
            return replace(current, on=False, at=max(current.at, report.at))
        return None
    if report.session is None and report.on == current.on:
        return None  # a poll that agrees with what is known adds nothing
    if not report.on and report.session is not None and current.on and current.session is not None:
        return None  # the stop of another session than the one on air
    if report.on:
        return report if report.at >= current.at else None
    return report if report.at > current.at else None


def transitioned(room: Room, target: RoomStatus, fields: dict[str, object]) -> Room:
    """The room after a transition `decide` allowed: new state, new fields, next version."""
    return room.model_copy(update={**fields, "status": target, "version": room.version + 1})


# --- counters -----------------------------------------------------------------------------


class Increment(NamedTuple):
    viewers: int = 0
    likes: int = 0
    likers: int = 0

    def __add__(self, other: tuple[int, ...]) -> Increment:  # type: ignore[override]
        return Increment(*(a + b for a, b in zip(self, other, strict=True)))


def coalesce_counters(batch: list[tuple[str, list[CounterEntry]]]) -> dict[str, dict[str, Increment]]:
    """Group increments by room, then by receipt: `{room: {receipt: Increment}}`.

    The receipt of an entry is its client key when it has one (a retried request counts once,
    even across gateways), else the id of the message that carried it (a redelivered message
    counts once, even when both copies land in one batch). `batch` holds (message id, entries).
    """
    rooms: dict[str, dict[str, Increment]] = {}
    seen: set[str] = set()
    for message_id, entries in batch:
        if message_id in seen:
            continue
        seen.add(message_id)
        for entry in entries:
            parts = rooms.setdefault(entry.room_id, {})
            increment = Increment(entry.viewers, entry.likes, entry.likers)
            if entry.key is not None:
                parts.setdefault(f"k:{entry.room_id}:{entry.key}", increment)
            else:
                parts[f"m:{message_id}"] = parts.get(f"m:{message_id}", Increment()) + increment
    return rooms
