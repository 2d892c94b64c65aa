"""The bus's one settling policy: what each kind of failure leads to, and how deliveries are counted."""

from __future__ import annotations

from typing import cast

import pytest
from aio_pika.abc import AbstractIncomingMessage

from shared.bus import Outcome
from shared.bus.settle import DeliveryCounts, decide, error_reply
from shared.contracts import ErrorCode, GetRoom, InvalidMessage
from shared.errors import BusUnavailable, DomainError
from tests.fakes.amqp import Delivery

REFUSED = DomainError(ErrorCode.CONFLICT, "no")


@pytest.mark.parametrize(("failure", "asked", "delivery", "outcome"), [
    (None, False, 1, Outcome.ACKED),
    (None, True, 1, Outcome.ACKED),
    (REFUSED, True, 1, Outcome.REFUSED),  # answered with its error
    (REFUSED, False, 1, Outcome.REJECTED),  # dead-lettered at once, never retried
    (InvalidMessage("bad"), False, 1, Outcome.REJECTED),
    (ConnectionError("store away"), True, 1, Outcome.ANSWERED_UNAVAILABLE),  # the asker retries, not the queue
    (BusUnavailable("broker away"), False, 1, Outcome.REQUEUED),
    (ConnectionError("store away"), False, 3, Outcome.REQUEUED),
    (ConnectionError("store away"), False, 4, Outcome.DEAD_LETTERED),  # past a limit of 3 redeliveries
])
def test_decide(failure: Exception | None, asked: bool, delivery: int, outcome: Outcome) -> None:
    assert decide(failure, asked=asked, delivery=delivery, delivery_limit=3) is outcome


def test_an_asker_learns_what_went_wrong() -> None:
    refused, invalid, away = (error_reply(e).error for e in (REFUSED, InvalidMessage("bad"), OSError("x")))
    assert refused is not None and (refused.code, refused.detail) == (ErrorCode.CONFLICT, "no")
    assert invalid is not None and invalid.code is ErrorCode.INVALID
    assert away is not None and away.code is ErrorCode.UNAVAILABLE


def message(delivery: Delivery) -> AbstractIncomingMessage:
    return cast(AbstractIncomingMessage, delivery)


def test_quorum_queues_count_deliveries_in_a_header() -> None:
    counts = DeliveryCounts(from_header=True)
    assert counts.delivery(message(Delivery(GetRoom(room_id="r")))) == 1
    assert counts.delivery(message(Delivery(GetRoom(room_id="r"), deliveries_before=2))) == 3


def test_private_queues_count_failures_here_and_forget_what_settled() -> None:
    counts = DeliveryCounts(from_header=False)
    failing = message(Delivery(GetRoom(room_id="r"), message_id="m1"))
    for expected in (1, 2, 3):
        assert counts.delivery(failing) == expected
        counts.record(failing, Outcome.REQUEUED)
    counts.record(failing, Outcome.DEAD_LETTERED)
    assert counts.delivery(failing) == 1


def test_the_private_count_is_bounded() -> None:
    counts = DeliveryCounts(from_header=False)
    for n in range(DeliveryCounts.KEPT + 10):
        counts.record(message(Delivery(GetRoom(room_id="r"), message_id=f"m{n}")), Outcome.REQUEUED)
    assert counts.delivery(message(Delivery(GetRoom(room_id="r"), message_id="m0"))) == 1  # the oldest went
    assert counts.delivery(message(Delivery(GetRoom(room_id="r"), message_id=f"m{DeliveryCounts.KEPT}"))) == 2
