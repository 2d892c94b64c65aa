"""Room rules with no I/O: the state machine, ids, and counter coalescing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from shared.contracts import CloseReason, CounterEntry, ErrorCode, Room, RoomStatus
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
    return {"close_reason": reason, "closed_at": at}


def transitioned(room: Room, target: RoomStatus, fields: dict[str, object]) -> Room:
    """The room after a transition `decide` allowed: new state, new fields, next version."""
    return room.model_copy(update={**fields, "status": target, "version": room.version + 1})


# --- counters -----------------------------------------------------------------------------


def coalesce_counters(batch: list[tuple[str, list[CounterEntry]]]) -> dict[str, dict[str, tuple[int, int]]]:
    """Group increments by room, then by receipt: `{room: {receipt: (viewers, likes)}}`.

    The receipt of an entry is its client key when it has one (a retried request counts once,
    even across gateways), else the id of the message that carried it (a redelivered message
    counts once, even when both copies land in one batch). `batch` holds (message id, entries).
    """
    rooms: dict[str, dict[str, tuple[int, int]]] = {}
    seen: set[str] = set()
    for message_id, entries in batch:
        if message_id in seen:
            continue
        seen.add(message_id)
        for entry in entries:
            parts = rooms.setdefault(entry.room_id, {})
            if entry.key is not None:
                parts.setdefault(f"k:{entry.room_id}:{entry.key}", (entry.viewers, entry.likes))
            else:
                viewers, likes = parts.get(f"m:{message_id}", (0, 0))
                parts[f"m:{message_id}"] = (viewers + entry.viewers, likes + entry.likes)
    return rooms
