"""A MongoDB replica-set election, as the services meet it: the store fails the way PyMongo fails
(`NotPrimaryError` before a write, `AutoReconnect` after a write that did commit, a network
timeout) for a while, then answers again. Every such failure is transient: a told message is
handed back and redelivered (within the delivery limit), an asked one answered "unavailable"
(the gateway's 503, which the client retries). Counts end up counted exactly once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from pymongo.errors import AutoReconnect, NetworkTimeout, NotPrimaryError, PyMongoError

from services.rooms.bootstrap import command_routes
from services.rooms.counters import apply_counter_batch
from shared.bus.settle import Outcome, decide
from shared.contracts import ActivateRoom, Contract, CounterEntry, CreateRoom, Envelope, RecordCounters, Room, wrap
from tests.fakes.publisher import RecordingPublisher
from tests.fakes.rooms_store import InMemoryBans, InMemoryCounters, InMemoryRooms, RecordingOutbox

ELECTION: list[PyMongoError] = [NotPrimaryError("not primary"), AutoReconnect("connection closed"),
                                NetworkTimeout("timed out")]
DELIVERY_LIMIT = 5


class Electing:
    """Wraps a store port: the next `failures` calls fail (after the call, for `after_commit`
    ones: the write happened, the answer was lost), then it answers again."""

    def __init__(self, inner: Any, failures: list[PyMongoError], *, after_commit: bool = False) -> None:
        self._inner, self._failures, self._after = inner, list(failures), after_commit

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if not callable(target):
            return target

        async def call(*args: Any, **kwargs: Any) -> Any:
            if self._failures and not self._after:
                raise self._failures.pop(0)
            result = await target(*args, **kwargs)
            if self._failures and self._after:
                raise self._failures.pop(0)
            return result

        return call


async def delivered(handle: Callable[[], Awaitable[Any]], *, asked: bool) -> tuple[Any, list[Outcome]]:
    """Deliver until the handler succeeds, settling each failure as the bus does; the outcomes."""
    outcomes = []
    for delivery in range(1, DELIVERY_LIMIT + 1):
        try:
            result = await handle()
        except Exception as exc:
            outcomes.append(decide(exc, asked=asked, delivery=delivery, delivery_limit=DELIVERY_LIMIT))
            continue
        outcomes.append(Outcome.ACKED)
        return result, outcomes
    return None, outcomes


@pytest.mark.parametrize("after_commit", [False, True], ids=["before the write", "after the write committed"])
async def test_a_counter_batch_through_an_election_counts_once(after_commit: bool) -> None:
    rooms, bans = InMemoryRooms(), InMemoryBans()
    routes = command_routes(rooms, bans, RecordingOutbox(rooms))
    room = await routes[CreateRoom](wrap(CreateRoom(anchor_id="a", title="t", cover_url="https://x/c.jpg")),
                                    CreateRoom(anchor_id="a", title="t", cover_url="https://x/c.jpg"))
    assert isinstance(room, Room)
    await routes[ActivateRoom](wrap(ActivateRoom(room_id=room.id, actor_id="a")), ActivateRoom(room_id=room.id,
                                                                                                actor_id="a"))
    counters, events = InMemoryCounters(rooms), RecordingPublisher()
    electing = Electing(counters, ELECTION, after_commit=after_commit)
    command = RecordCounters(entries=[CounterEntry(room_id=room.id, likes=7)])
    batch: list[tuple[Envelope, Contract]] = [(wrap(command, message_id="m1"), command)]
    _, outcomes = await delivered(lambda: apply_counter_batch(batch, counters=electing, events=events), asked=False)
    assert outcomes == [Outcome.REQUEUED] * len(ELECTION) + [Outcome.ACKED]  # within the delivery limit
    stored = await rooms.get(room.id)
    assert stored is not None and stored.likes == 7  # once, however often it was tried
    assert events.events  # and announced


async def test_an_asked_command_during_an_election_is_answered_unavailable_then_done() -> None:
    rooms, bans = InMemoryRooms(), InMemoryBans()
    routes = command_routes(Electing(rooms, ELECTION[:2]), bans, RecordingOutbox(rooms))
    command = CreateRoom(anchor_id="a", title="t", cover_url="https://x/c.jpg")
    envelope = wrap(command, message_id="create-1")  # the client's retry carries the same command id
    room, outcomes = await delivered(lambda: routes[CreateRoom](envelope, command), asked=True)
    assert outcomes == [Outcome.ANSWERED_UNAVAILABLE] * 2 + [Outcome.ACKED]
    assert isinstance(room, Room) and len(rooms.docs) == 1


def test_every_election_error_is_transient_and_bounded() -> None:
    for error in ELECTION:
        assert decide(error, asked=False, delivery=1, delivery_limit=DELIVERY_LIMIT) is Outcome.REQUEUED
        assert decide(error, asked=True, delivery=1, delivery_limit=DELIVERY_LIMIT) is Outcome.ANSWERED_UNAVAILABLE
        # past the limit it is kept for a human (dead-lettered), not retried forever nor dropped
        assert decide(error, asked=False, delivery=DELIVERY_LIMIT + 1, delivery_limit=DELIVERY_LIMIT) \
            is Outcome.DEAD_LETTERED

