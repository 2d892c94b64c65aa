from datetime import UTC, datetime

import pytest

from services.rooms.domain import decide
from shared.contracts import CloseReason, ErrorCode, Room, RoomStatus
from shared.errors import DomainError


def room(status: RoomStatus, anchor: str = "alice") -> Room:
    return Room(id="r1", anchor_id=anchor, title="t", cover_url="https://x/c.jpg", status=status,
                close_reason=CloseReason.ANCHOR if status is RoomStatus.CLOSED else None,
                created_at=datetime.now(UTC), stream_id="s")


@pytest.mark.parametrize(("source", "target", "applies"), [
    (RoomStatus.UNACTIVE, RoomStatus.ACTIVE, True),
    (RoomStatus.ACTIVE, RoomStatus.ACTIVE, False),
    (RoomStatus.UNACTIVE, RoomStatus.CLOSED, True),
    (RoomStatus.ACTIVE, RoomStatus.CLOSED, True),
    (RoomStatus.CLOSED, RoomStatus.CLOSED, False),
])
def test_allowed_and_idempotent_transitions(source: RoomStatus, target: RoomStatus, applies: bool) -> None:
    assert decide(room(source), target, actor_id="alice").apply is applies


def test_closed_is_final() -> None:
    with pytest.raises(DomainError) as err:
        decide(room(RoomStatus.CLOSED), RoomStatus.ACTIVE, actor_id="alice")
    assert err.value.code is ErrorCode.CONFLICT
    assert err.value.extra["room_status"] == "closed"


def test_only_the_anchor_may_transition() -> None:
    with pytest.raises(DomainError) as err:
        decide(room(RoomStatus.UNACTIVE), RoomStatus.ACTIVE, actor_id="mallory")
    assert err.value.code is ErrorCode.FORBIDDEN


def test_system_closes_need_no_actor() -> None:
    assert decide(room(RoomStatus.ACTIVE), RoomStatus.CLOSED, actor_id=None).apply


def test_unknown_room() -> None:
    with pytest.raises(DomainError) as err:
        decide(None, RoomStatus.ACTIVE, actor_id="alice")
    assert err.value.code is ErrorCode.NOT_FOUND


def test_counters_coalesce_by_room_and_receipt() -> None:
    from services.rooms.domain import coalesce_counters
    from shared.contracts import CounterEntry

    batch = [
        ("m1", [CounterEntry(room_id="a", likes=2), CounterEntry(room_id="b", viewers=1)]),
        ("m2", [CounterEntry(room_id="a", likes=3, viewers=1)]),
        ("m1", [CounterEntry(room_id="a", likes=2), CounterEntry(room_id="b", viewers=1)]),  # redelivered copy
        ("m3", [CounterEntry(room_id="a", likes=5, key="tap"), CounterEntry(room_id="a", likes=5, key="tap")]),
    ]
    assert coalesce_counters(batch) == {
        "a": {"m:m1": (0, 2, 0), "m:m2": (1, 3, 0), "k:a:tap": (0, 5, 0)},
        "b": {"m:m1": (1, 0, 0)},
    }
